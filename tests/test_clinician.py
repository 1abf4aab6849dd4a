"""Clinician answers on the whole shared corpus: the professional evidence leads, with numbers."""

from __future__ import annotations

import re

import pytest
from test_answer import assert_faithful

from osler.compose.figures import figures_of
from osler.models import Audience, EvidenceLevel
from osler.render import render
from osler.service import Osler
from osler.store import Store

FLAGSHIP = "What is the recommended treatment for liver metastases{} from gallbladder cancer?"


@pytest.mark.parametrize("gloss", ["", " (mets)"])
def test_the_flagship_question_is_answered_from_the_pdq_summary(
    whole_osler: Osler, gloss: str
) -> None:
    answer = whole_osler.ask(FLAGSHIP.format(gloss))
    assert not answer.abstained, answer.abstain_reason
    assert answer.title == "Treatment of Liver Metastases from Gallbladder Cancer"
    assert_faithful(answer, whole_osler.store)
    docs = whole_osler.documents
    cited = [docs[r.document_id] for r in answer.references]
    # guideline first: the health-professional PDQ summary, and no patient page for a clinician
    assert answer.references[0].document_id == "nci:types/gallbladder/hp/gallbladder-treatment-pdq"
    assert all(d.audience is Audience.PROFESSIONAL for d in cited), [d.id for d in cited]
    assert answer.references[0].evidence_level is EvidenceLevel.GUIDELINE
    # the bottom line comes from the section on metastatic disease
    assert "metastatic" in answer.bottom_line.text.lower()
    text = render(answer, "markdown")
    assert "cisplatin plus gemcitabine" in text
    # the evidence with its numbers, each row traceable to its cited statement
    rows = answer.evidence_table
    assert rows, "no evidence at a glance"
    valle = [r for r in rows if "PMID 20375404" in r.study]
    assert valle and len(valle[0].figures) >= 3, rows
    for row in rows:
        quote = answer.references[row.citation - 1].quote
        assert row.statement in quote
        assert all(value in row.statement for value in row.figures.values())
    assert "Evidence at a glance" in text and "Level of evidence A1" in text
    # a reference says what its passage rests on
    assert any("Valle 2010, N Engl J Med, PMID 20375404" in r.supported_by for r in answer.references)


def test_figures_are_verbatim_spans_of_their_sentence() -> None:
    sentence = (
        "The primary end point of median OS was 12.9 months in the durvalumab group and 11.3 "
        "months in the placebo group (HR, 0.76; 95% CI, 0.64–0.91)."
    )
    found = figures_of(sentence)
    assert found == {
        "survival": "median OS was 12.9 months",
        "effect": "HR, 0.76",
        "ci": "95% CI, 0.64–0.91",
    }
    assert figures_of("Gallbladder cancer is uncommon.") == {}


def test_a_newer_edition_of_a_page_replaces_the_older_in_search(
    whole_osler: Osler, whole_store: Store
) -> None:
    """MedQuAD's 2017 copy of the PDQ patient page and the 2025 NCI page share a URL: the newer
    one is searched, the older stays in the store."""
    searcher = whole_osler.searcher
    old = [d for d in searcher.documents.values() if d.id.startswith("medquad:CancerGov:")
           and d.url == "https://www.cancer.gov/types/gallbladder/patient/gallbladder-treatment-pdq"]
    assert old and old[0].id in searcher.superseded
    assert searcher.superseded[old[0].id] == "nci:types/gallbladder/patient/gallbladder-treatment-pdq"
    assert whole_store.get_document(old[0].id) is not None
    hits = searcher.search("What are the treatments for gallbladder cancer?", k=30, audience="patient")
    assert not any(h.document_id in searcher.superseded for h in hits)


#: Markup a parser must not leave behind: Markdown links and images, PDQ citation and level
#: markers, HTML tags and entities, annotation markers. (Authors' own bracketed citations such
#: as "[[8,9], and [10]]" and "P < .05" are text.)
_MARKUP = re.compile(
    r"\]\((?:https?:|/|#)|\[\[\d+\]\(#cit|\[Level of evidence|"
    r"</?(?:a|p|div|span|br|ul|ol|li|table|tr|td|th|b|i|em|strong|sup|sub|h[1-6])\b[^>]*>|"
    r"&(?:lt|gt|amp|nbsp|quot);|\u27e6"
)


def test_no_passage_of_the_whole_corpus_carries_markup(whole_store: Store) -> None:
    bad = [(p.id, p.text[:80]) for p in whole_store.iter_passages() if _MARKUP.search(p.text)]
    assert len(bad) == 0, bad[:10]


def test_professional_sources_have_true_levels(whole_store: Store) -> None:
    stats = whole_store.stats()
    by_dataset = stats["by_dataset"]
    assert by_dataset["nci_pdq"]["documents"] > 1000
    levels = stats["by_evidence_level"]
    assert levels["1-guideline"]["documents"] >= 249 + 1000  # PDQ HP summaries + NGC
    assert levels["2-systematic-review"]["documents"] >= 891  # Cochrane results
