"""Inline annotations: markers a parser writes become passage metadata, never stored text."""

from __future__ import annotations

import pytest

from osler import citations
from osler.ingest import chunking
from osler.ingest.annotations import OPEN, mark
from osler.models import Document, Passage, Section
from osler.retrieve.editions import page_key, superseded
from osler.settings import load


def test_markers_are_lifted_onto_the_passages_they_follow() -> None:
    filler = " ".join(["word"] * 12)
    body = (
        f"Cisplatin plus gemcitabine is the reference standard {filler}." + mark("cite", "5.10")
        + mark("loe", "A1") + f" The median OS was 11.7 months vs. 8.1 months {filler}."
        + mark("cite", "5.11")
        + f"\nA second paragraph on another matter, long enough to stand alone {filler}."
        + mark("cite", "5.12")
    )
    text, passages = chunking.build(
        "d", [Section(heading="Systemic therapy", text=mark("page", "3") + body),
              Section(heading="Other", text=mark("page", "4") + "Text of page four." + mark("cite", "6.1"))]
    )
    assert OPEN not in text
    assert all(OPEN not in p.text and text[p.start : p.end] == p.text for p in passages)
    first, second, third = passages
    assert first.extra == {"cites": "5.10,5.11", "loe": "A1", "page": "3"}
    assert second.extra == {"cites": "5.12", "page": "3"}
    assert third.extra == {"cites": "6.1", "page": "4"}
    assert [p.id for p in passages] == ["d#0", "d#1", "d#2"]


def test_a_citation_cut_off_its_sentence_goes_back_to_it() -> None:
    """A marker that chunking left at the start of the next passage qualifies the one before."""
    words = " ".join(["word"] * 70)
    body = f"First statement {words}." + f" {mark('cite', '1.1')}Second statement {words}."
    _, passages = chunking.build("d", [Section(heading="", text=body)])
    assert len(passages) == 2
    assert passages[0].extra.get("cites") == "1.1" and "cites" not in passages[1].extra


def test_pages_of_a_passage_that_spans_two_pages() -> None:
    text, passages = chunking.build(
        "d", [Section(heading="", text=mark("page", "7") + "Starts on seven and " + mark("page", "8") + "ends on eight.")]
    )
    assert text == "Starts on seven and ends on eight."
    assert passages[0].extra["page"] == "7-8"


def test_reference_labels_and_supporting_references() -> None:
    valle = {
        "text": "Valle J, Wasan H, Palmer DH, et al.: Cisplatin plus gemcitabine versus gemcitabine "
        "for biliary tract cancer. N Engl J Med 362 (14): 1273-81, 2010.",
        "pmid": "20375404",
    }
    assert citations.reference_label(valle) == "Valle 2010, N Engl J Med, PMID 20375404"
    doc = Document(
        id="d", title="t", source="NCI PDQ", source_type="guideline-summary",
        extra={"references": '{"5.10": ' + __import__("json").dumps(valle) + "}"},
    )
    passage = Passage(id="d#0", document_id="d", section="", ordinal=0, text="x", start=0, end=1,
                      extra={"cites": "5.10,9.9", "loe": "A1"})
    assert citations.supported_by(doc, passage.extra) == ["Valle 2010, N Engl J Med, PMID 20375404"]
    assert citations.grade(doc, passage.extra) == "Level of evidence A1"


def test_a_newer_edition_of_the_same_page_supersedes_the_older() -> None:
    old = Document(id="medquad:CancerGov:1", title="a", source="s", source_type="consumer-health",
                   url="https://www.cancer.gov/types/x/patient/x-treatment-pdq")
    new = old.model_copy(update={"id": "nci:types/x/patient/x-treatment-pdq",
                                 "url": "http://cancer.gov/types/x/patient/x-treatment-pdq/",
                                 "extra": {"collected": "2025-12-30"}})
    other = old.model_copy(update={"id": "other", "url": "https://www.cancer.gov/types/y"})
    assert page_key(old.url) == page_key(new.url)
    assert superseded([old, new, other]) == {old.id: new.id}
    assert superseded([old, old.model_copy(update={"id": "twin"})]) == {}


def test_an_aged_guideline_is_flagged_past_the_configured_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import date

    from osler.models import EvidenceLevel

    doc = Document(id="ngc:1", title="t", source="NGC", source_type="guideline", year=2014,
                   evidence_level=EvidenceLevel.GUIDELINE)
    today = date(2026, 12, 1)
    assert citations.age_note(doc, today) == (
        "guideline from 2014, over 5 years old: check for updates"
    )
    monkeypatch.setenv("OSLER_GUIDELINE_MAX_AGE_YEARS", "15")
    assert citations.age_note(doc, today, max_age=load().guideline_max_age_years) is None
    trial = doc.model_copy(update={"evidence_level": EvidenceLevel.RCT})
    assert citations.age_note(trial, today, max_age=1) is None
