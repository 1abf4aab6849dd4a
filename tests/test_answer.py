"""Answers: verbatim cited statements, templates, abstention, safety, renderers, the ask CLI."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import cli_env, statements

from osler.compose import safety
from osler.compose.answer import title_for
from osler.compose.extractive import refers_elsewhere
from osler.ingest.pipeline import ingest
from osler.ingest.sentences import sentence_spans
from osler.models import Answer
from osler.render import render
from osler.retrieve.analyse import analyse
from osler.service import Osler
from osler.settings import load
from osler.store import Store, review_store
from osler.text import stems


def assert_faithful(answer: Answer, store: Store) -> None:
    """Every statement is verbatim in the quote it cites; every quote is its document's span."""
    numbers = [r.n for r in answer.references]
    assert numbers == list(range(1, len(numbers) + 1))
    first_use: list[int] = []
    for statement in statements(answer):
        assert statement.citations, statement.text
        for n in statement.citations:
            ref = answer.references[n - 1]
            assert statement.text in ref.quote, (statement.text, ref.quote)
            first_use += [n] if n not in first_use else []
    assert first_use == numbers  # numbered in order of first use
    for ref in answer.references:
        doc = store.get_document(ref.document_id)
        assert doc is not None and doc.text[ref.start : ref.end] == ref.quote


def test_treatment_answer_is_cited_verbatim_and_templated(osler: Osler) -> None:
    answer = osler.ask("What are the treatments for gallbladder cancer?")
    assert not answer.abstained
    assert answer.title == "Treatment of Gallbladder Cancer"
    assert answer.question_type == "treatment"
    assert answer.sections and answer.sections[0].kind == "primary"
    assert {s.kind for s in answer.sections} <= {
        "primary", "evidence", "selection", "pitfalls", "steps", "other", "prognosis", "trials"
    }
    assert all(s.items for s in answer.sections)  # empty sections are left out
    assert all("gallbladder" in (r.title + r.quote).lower() for r in answer.references)
    assert_faithful(answer, osler.store)
    assert sum(answer.evidence_summary.values()) == len(answer.references)
    assert answer.composer == "extractive" and answer.status == "pending_review"
    assert answer.corpus_version == osler.store.corpus_version()
    # each reference names the section its passage lies in, and the renderers show it
    pdq = [r for r in answer.references if r.document_id.startswith("medquad:CancerGov:")]
    assert pdq and all((r.section or "").startswith("Treatment") for r in pdq)
    assert all("Surgery Gallbladder" not in r.quote for r in pdq)  # sub-headings split off
    assert f"({pdq[0].section})" in render(answer, "markdown")


@pytest.mark.parametrize(
    ("question", "qtype"),
    [
        ("What are the symptoms of asthma?", "symptoms"),
        ("How is gout diagnosed?", "diagnosis"),
        ("What causes Parkinson's disease?", "causes"),
        ("What is the outlook for pancreatic cancer?", "prognosis"),
        ("How can hepatitis B be prevented?", "prevention"),
        ("What are the side effects of amiodarone?", "side_effects"),
        ("What is sickle cell disease?", "definition"),
        ("What research is being done for Dandy-Walker syndrome?", "research"),
        ("Are gut microbiota profiles altered by irradiation?", "yes_no"),
    ],
)
def test_every_question_type_gets_a_faithful_answer(osler: Osler, question: str, qtype: str) -> None:
    answer = osler.ask(question)
    assert answer.question_type == qtype
    assert not answer.abstained, answer.abstain_reason
    assert_faithful(answer, osler.store)
    texts = [s.text for s in statements(answer)]
    assert len(texts) == len(set(texts))  # no duplicates
    assert not any(t.startswith(("Key Points", "Check the list of")) for t in texts)


def test_off_corpus_question_abstains_with_closest_sources(osler: Osler) -> None:
    answer = osler.ask("What is the treatment for Zorblaxian fever?")
    assert answer.abstained and "zorblaxian" in (answer.abstain_reason or "")
    assert [s.kind for s in answer.sections] == ["closest"]
    assert answer.references


def test_symptom_table_of_a_gard_page_answers_as_a_cited_list(osler: Osler) -> None:
    """GARD symptom pages hold a phenotype table; it is laid out as a list and cited."""
    answer = osler.ask("What are the symptoms of Snyder-Robinson syndrome?")
    assert not answer.abstained, answer.abstain_reason
    assert_faithful(answer, osler.store)
    lists = [s for s in statements(answer) if s.text.startswith("Signs and Symptoms") and " - " in s.text]
    assert lists
    cited = answer.references[lists[0].citations[0] - 1]
    assert cited.document_id.startswith("medquad:GARD:") and "Snyder-Robinson" in cited.title


def test_a_sibling_page_does_not_answer_for_its_neighbour(osler: Osler) -> None:
    """A page on "... autosomal recessive type" never answers for the autosomal dominant form,
    and a hyphenated or possessive focus still matches its own page."""
    recessive = "medquad:GARD:0001638"  # Craniometaphyseal dysplasia, autosomal recessive type
    answer = osler.ask("What causes craniometaphyseal dysplasia, autosomal dominant?")
    assert recessive not in {r.document_id for r in answer.references if not answer.abstained}
    answer = osler.ask("What causes craniometaphyseal dysplasia, autosomal recessive type?")
    assert not answer.abstained and recessive in {r.document_id for r in answer.references}
    answer = osler.ask("Who is at risk for Iron-Deficiency Anemia?")
    assert not answer.abstained, answer.abstain_reason


def test_a_sentence_about_a_sibling_named_just_before_it_is_left_out(osler: Osler) -> None:
    """A pronoun sentence speaks of the subject of the sentence before it: on the gout pages,
    after a sentence led by another name ("X has similar symptoms and is sometimes confused with
    gout"), "However, it is caused by ..." is about X and stays out of the gout answer, while a
    pronoun sentence after one led by "Gout" may be used."""
    answer = osler.ask("What causes gout?", "patient")
    assert not answer.abstained
    said = " ".join(s.text for s in [answer.bottom_line, *[i for x in answer.sections for i in x.items]])
    focus = stems("gout")
    elsewhere, own = [], []
    for hit in osler.search("gout", k=30, audience="patient"):
        spans = [hit.text[a:b] for a, b in sentence_spans(hit.text)]
        for before, sentence in itertools.pairwise(spans):
            if refers_elsewhere(sentence, before, focus):
                elsewhere.append(sentence)
            elif before.lower().startswith("gout") and sentence.startswith(("It ", "They ")):
                own.append(sentence)
    assert elsewhere and all(sentence not in said for sentence in elsewhere)
    assert own  # the rule left these alone


def test_a_treatment_question_is_not_answered_with_symptoms(osler: Osler) -> None:
    """Pages on cyclic neutropenia and craniofacial microsomia list treatment resources but say
    nothing of treatment: their symptom sentences ("people with this condition often develop
    open sores ...", "breathing may also be affected") must not stand in for an answer."""
    treatment_words = re.compile(r"treat|therap|surgery|manag|medic|drug|transplant", re.I)
    for focus in ("cyclic neutropenia", "craniofacial microsomia", "Donnai-Barrow syndrome"):
        answer = osler.ask(f"What are the treatments for {focus}?")
        if answer.abstained:
            assert (answer.abstain_reason or "").startswith("Insufficient evidence")
            continue
        for s in statements(answer):
            ref = answer.references[s.citations[0] - 1]
            assert treatment_words.search(s.text) or treatment_words.search(ref.section or ""), s.text
    assert osler.ask("What are the treatments for cyclic neutropenia?").abstained
    assert not osler.ask("What are the treatments for Donnai-Barrow syndrome?").abstained


def test_a_narrower_question_is_answered_from_the_broader_page(osler: Osler) -> None:
    """"Liver metastases from gallbladder cancer": the PDQ page is titled "Gallbladder Cancer"
    and is a broader page, not a sibling. Its statements must name the narrower topic (or
    continue a sentence that does); the localized-cancer surgery it also holds is no answer."""
    answer = osler.ask(
        "What is the recommended treatment for liver metastases from gallbladder cancer?"
    )
    assert not answer.abstained, answer.abstain_reason
    assert_faithful(answer, osler.store)
    cited = {r.document_id for r in answer.references}
    assert any(d.startswith("medquad:CancerGov:") for d in cited)
    for s in statements(answer):
        quote = answer.references[s.citations[0] - 1].quote.lower()
        assert "metasta" in quote, s.text
        assert "localized" not in s.text.lower()
    # the PDQ list of options runs past its passage; the answer carries it whole, verbatim
    from osler.lists import split_items

    lead, items = split_items(answer.bottom_line.text)
    assert lead.endswith(":") and len(items) >= 4 and "Chemotherapy." in items, items
    assert "Check the list of" not in answer.bottom_line.text  # page furniture ends the list
    assert "\n- Chemotherapy.\n" in render(answer, "markdown")


def test_a_side_effect_question_is_not_answered_with_dosing(osler: Osler) -> None:
    """Side effects share the drug template with dosage, whose section comes first; a sentence
    must still speak of side effects ("Metformin ... tablets should generally be given once
    daily" answered this question before)."""
    from osler.compose import templates
    from osler.retrieve.rank import SECTION_CUES

    assert templates.lead_kind("side_effects") == "side_effects"
    assert templates.lead_kind("dosage") == "dosage" and templates.lead_kind("treatment") == "primary"
    for drug in ("metformin", "amiodarone", "warfarin"):
        answer = osler.ask(f"What are the side effects of {drug}?")
        if answer.abstained:
            continue
        for s in statements(answer):
            ref = answer.references[s.citations[0] - 1]
            assert templates.CUES["side_effects"].search(s.text) or SECTION_CUES[
                "side_effects"
            ].search(ref.section or ""), s.text
            assert drug in ref.title.lower() or ref.document_id.startswith(("bioasq:", "pubmed"))
    answer = osler.ask("What are the side effects of amiodarone?")
    assert answer.sections[0].kind == "side_effects"  # before dosage in the shared drug template
    assert "serious" in answer.bottom_line.text  # not "Amiodarone may cause other side effects."


def test_a_research_question_is_answered_with_research(osler: Osler) -> None:
    """MedQuAD asks "what research (or clinical trials) is being done for X" of 356 pages;
    the answer leads with what researchers are studying, not with what X is."""
    answer = osler.ask("what research (or clinical trials) is being done for Dandy-Walker Syndrome ?")
    assert answer.question_type == "research" and answer.title == "Research on Dandy-Walker Syndrome"
    assert not answer.abstained and answer.sections[0].kind == "trials"
    assert "research" in answer.bottom_line.text.lower()
    assert not any(s.text.startswith("The mission of") for s in statements(answer))  # NINDS furniture


def test_an_abstention_is_labelled_once_in_every_renderer(osler: Osler) -> None:
    answer = osler.ask("What are the treatments for cyclic neutropenia?")
    assert answer.abstained and answer.bottom_line.text.startswith("Insufficient evidence:")
    shown = [render(answer, fmt) for fmt in ("markdown", "html", "text")]
    for text in shown:
        assert text.count("Insufficient evidence") == 1, text[:300]


def test_a_definition_is_not_a_sentence_naming_the_focus_in_passing(osler: Osler) -> None:
    answer = osler.ask("What is (are) Kaposi's Sarcoma?")
    assert not answer.abstained
    for s in statements(answer):
        ref = answer.references[s.citations[0] - 1]
        if ref.document_id.startswith("medquad:"):
            assert "kaposi" in ref.title.lower()
        else:  # an abstract: the sentence must define the focus
            assert "kaposi" in s.text.lower().split(" is ")[0].split(" are ")[0]


def test_focus_words_key_words_siblings_and_definitions() -> None:
    from osler.compose import extractive as X

    query = analyse("What causes Craniometaphyseal dysplasia, autosomal dominant?")
    specific = X.specific_focus(query)
    assert specific == ["craniometaphyseal", "dysplasia", "autosomal", "dominant"]
    question = X.token_set(query.question)
    sibling = X.token_set("Craniometaphyseal dysplasia, autosomal recessive type")
    narrower = X.token_set("Craniometaphyseal dysplasia, autosomal dominant, severe form")
    assert X.names_another_topic(specific, question, sibling)
    assert not X.names_another_topic(specific, question, narrower)
    # qualifiers of the treatment and research phrasing are not the topic
    assert analyse("What is the first-line treatment for type 2 diabetes?").focus == "type 2 diabetes"
    research = analyse("what research (or clinical trials) is being done for Dandy-Walker Syndrome ?")
    assert research.focus == "Dandy-Walker Syndrome"
    pitt = analyse("Is Pitt-Hopkins syndrome inherited?")
    like = X.token_set("Pitt-Hopkins-like syndrome")  # a condition of its own
    assert X.names_another_topic(X.specific_focus(pitt), X.token_set(pitt.question), like)
    assert not X.names_another_topic(
        X.specific_focus(pitt), X.token_set("Is Pitt-Hopkins-like syndrome inherited?"), like
    )
    assert X.specific_focus(analyse("Who is at risk for Iron-Deficiency Anemia?")) == [
        "iron", "deficiency", "anemia"
    ]
    assert "c" in X.specific_focus(analyse("What is protein C deficiency?"))
    assert X.key_terms(["myh7", "scapuloperoneal", "myopathy"]) == ["myh7", "scapuloperoneal"]
    rarity = {"cortisone": 1, "reductase": 9, "deficiency": 500}
    assert "cortisone" in X.key_terms(["cortisone", "reductase", "deficiency"], rarity)
    assert X.same_word("dystrophy", "dystrophies") and not X.same_word("hydroxylase", "hydroxysteroid")
    assert X.same_word("metastases", "metastatic")
    focus = ["kaposi", "sarcoma"]
    assert X.defines("Kaposi sarcoma (KS) is a cancer that forms in the lining of blood vessels.", focus)
    assert not X.defines(
        "In the immunosuppressed population, the spectrum of oral disease is broader, "
        "encompassing candidiasis and Kaposi's sarcoma.",
        focus,
    )


def test_non_medical_question_is_refused(osler: Osler) -> None:
    answer = osler.ask("What is the capital of France?")
    assert answer.abstained and answer.abstain_reason == safety.NON_MEDICAL_REASON
    assert not answer.references


def test_emergency_gets_the_notice_first(osler: Osler) -> None:
    answer = osler.ask("My father has crushing chest pain right now, what do I do?")
    assert answer.notice == safety.EMERGENCY_NOTICE
    assert not safety.is_emergency("What are the causes of chest pain?")


def test_titles_read_like_reference_articles() -> None:
    cases = {
        "What is the recommended treatment for liver metastases from gallbladder cancer?":
            "Treatment of Liver Metastases from Gallbladder Cancer",
        "How to diagnose Adult Acute Myeloid Leukemia ?": "Diagnosis of Adult Acute Myeloid Leukemia",
        "What are the symptoms of NSCLC?": "Symptoms of NSCLC",
        "Who is at risk for Gallbladder Cancer? ?": "Risk Factors for Gallbladder Cancer",
    }
    for question, title in cases.items():
        assert title_for(analyse(question)) == title


def test_document_text_is_escaped_in_every_renderer(store: Store, tmp_path: Path) -> None:
    doc = tmp_path / "xss.md"
    doc.write_text(
        "---\ntitle: Gout <script>alert(1)</script>\n---\n## Treatment\n"
        'Gout attacks are treated with colchicine <img src=x onerror="alert(2)"> in adults. '
        "Allopurinol lowers uric acid over months of treatment.\n",
        encoding="utf-8",
    )
    ingest(store, [doc])
    from osler.index.lexical import LexicalIndex
    from osler.retrieve.search import Searcher

    index = LexicalIndex(tmp_path / "lex")
    index.sync(store)
    osler = Osler(load(), store, review_store(store), Searcher(store, index))
    answer = osler.fresh_answer("How is gout treated?")
    assert not answer.abstained
    html_out = render(answer, "html")
    assert "<script>" not in html_out and "<img" not in html_out
    assert "&lt;img src=x onerror=" in html_out
    md = render(answer, "markdown")
    assert "<img" not in md and "<script>" not in md
    assert "alert" in render(answer, "text")  # text is shown, as text


def test_ask_cli_json_contract_and_batch(base_corpus, tmp_path: Path) -> None:
    env = cli_env(base_corpus[0])
    run = subprocess.run(
        ["osler", "ask", "What are the treatments for gallbladder cancer?", "--format", "json"],
        capture_output=True, text=True, env=env,
    )
    data = json.loads(run.stdout)
    assert set(data) >= {
        "question", "standalone_question", "audience", "question_type", "title", "bottom_line",
        "sections", "references", "evidence_summary", "abstained", "abstain_reason", "status",
        "disclaimer", "composer", "generated_at", "corpus_version", "timings_ms",
    }
    assert set(data["references"][0]) >= {
        "n", "document_id", "passage_id", "title", "source", "year", "evidence_level", "url",
        "quote", "start", "end",
    }
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"question": "What causes gout?", "audience": "patient"}\nHow is asthma treated?\n',
        encoding="utf-8",
    )
    run = subprocess.run(
        ["osler", "ask", "--batch", str(batch), "--format", "json"], capture_output=True, text=True, env=env
    )
    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert [a["audience"] for a in answers] == ["patient", "clinician"]
    bad = subprocess.run(["osler", "ask", "x", "--audience", "robot"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "unknown audience" in bad.stderr


def test_a_word_no_passage_holds_is_never_set_aside(osler: Osler) -> None:
    """A made-up drug next to a real topic: the answer does not quietly drop it."""
    question = "quindolexa and birth control"
    assert osler.analyse(question).unknown == ["quindolexa"]
    answer = osler.ask(question, "patient")
    assert answer.abstained and "quindolexa" in (answer.abstain_reason or "")


def test_a_question_without_a_type_cue_is_about_its_topic() -> None:
    """No cue: a definition by default, which a bare topic wants ("afib"); with words beyond the
    topic the sentences need not define it."""
    assert analyse("adjuvant chemo for resected stage III colon cancer").defaulted
    assert analyse("afib").defaulted
    assert not analyse("What is gout?").defaulted
    assert not analyse("How is gout treated?").defaulted
