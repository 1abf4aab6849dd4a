"""Audiences: one profile per reader changes sources, sentences, vocabulary and wording."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import pytest
from conftest import SHARED, cli_env, statements

from osler import audience
from osler.audience import PROFILES, READERS, UnknownAudience, profile_for
from osler.compose import templates
from osler.compose.llm import build_messages
from osler.evaluate.audience import answer_grade, consumer_refs, questions, run_audience
from osler.glossary import Glossary, normalise
from osler.models import Audience, Document, EvidenceLevel
from osler.readability import ensure_cmudict, grade, plain_lines
from osler.render import render
from osler.retrieve import rank, search
from osler.retrieve.analyse import analyse
from osler.service import Osler


def is_consumer(osler: Osler, document_id: str) -> bool:
    return osler.documents[document_id].audience is Audience.CONSUMER


# --- profiles -------------------------------------------------------------------------


def test_one_profile_per_audience_and_unknown_names_fail_clearly() -> None:
    assert set(PROFILES) == {"clinician", "student", "patient"}
    assert tuple(PROFILES) == READERS
    assert profile_for("patient").label == "Patient or caregiver"
    assert profile_for(PROFILES["student"]) is PROFILES["student"]
    with pytest.raises(ValueError, match="unknown audience 'robot'; use one of clinician"):
        profile_for("robot")
    assert issubclass(UnknownAudience, ValueError) and search.UnknownAudience is UnknownAudience
    with pytest.raises(UnknownAudience):
        profile_for(None)  # type: ignore[arg-type]


def test_profiles_differ_where_the_issue_says() -> None:
    clinician, student, patient = (PROFILES[n] for n in ("clinician", "student", "patient"))
    assert clinician.document_audience is Audience.PROFESSIONAL
    assert patient.document_audience is Audience.CONSUMER
    assert student.document_audience is None
    assert patient.evidence(EvidenceLevel.PATIENT_EDUCATION) == 1.0
    assert clinician.evidence(EvidenceLevel.PATIENT_EDUCATION) == 0.0
    assert clinician.evidence(EvidenceLevel.GUIDELINE) == 1.0
    assert clinician.evidence(EvidenceLevel.GUIDELINE, inferred=True) == 0.75
    assert patient.readability_target is not None and clinician.readability_target is None
    assert patient.readability_penalty(3.0) == 0.0 < patient.readability_penalty(14.0)
    assert clinician.readability_penalty(20.0) == 0.0
    assert patient.glossary and student.glossary and not clinician.glossary
    assert patient.disclaimer == audience.PATIENT_DISCLAIMER != clinician.disclaimer
    assert patient.heading("primary", "Primary treatment approach") == "Treatment options"
    assert clinician.heading("primary", "Primary treatment approach") == "Primary treatment approach"
    assert not hasattr(templates, "PATIENT_HEADINGS")  # the profile owns the patient wording
    assert patient.questions_for("treatment") and not clinician.questions_for("treatment")
    # the care-team questions are questions, not claims: each ends in "?" and names no topic
    for qs in audience.PATIENT_QUESTIONS.values():
        assert all(q.endswith("?") for q in qs)


def test_ranking_reads_the_profile() -> None:
    consumer = Document(id="c", title="t", source="MedlinePlus", source_type="consumer-health",
                        audience=Audience.CONSUMER)
    assert rank.audience_factor(consumer, "patient") == 1.0
    assert rank.audience_factor(consumer, "clinician") == 0.0
    assert rank.audience_factor(consumer, "student") == 0.5
    assert rank.evidence_factor(EvidenceLevel.PATIENT_EDUCATION, False, "patient") == 1.0
    assert rank.evidence_factor(EvidenceLevel.RCT, False, "clinician") == pytest.approx(4 / 6)


def test_llm_prompt_uses_the_profile() -> None:
    messages = build_messages(analyse("How is gout treated?"), [], "patient", nonce="n")
    assert "patients and caregivers" in messages[0]["content"]
    assert "- Treatment options" in messages[1]["content"]
    clinician = build_messages(analyse("How is gout treated?"), [], "clinician", nonce="n")
    assert "- Primary treatment approach" in clinician[1]["content"]


# --- readability ----------------------------------------------------------------------


def test_readability_grades_offline_and_lists_as_lines() -> None:
    root = ensure_cmudict()
    assert ensure_cmudict() == root  # idempotent
    assert (root / "corpora" / "cmudict" / "cmudict").is_file()
    plain = grade("Gout is a form of arthritis. It makes joints hurt.")
    hard = grade(
        "Neurodegeneration with brain iron accumulation is a heterogeneous group of inherited "
        "neurological disorders characterized by abnormal accumulation of iron in the basal ganglia."
    )
    assert plain < 8.0 < hard
    assert grade("") == 0.0 and grade("12 34") == 0.0
    assert plain_lines("Signs include: - fever - joint pain") == "Signs include. fever. joint pain."


# --- answers on the real corpus -------------------------------------------------------


def test_patient_and_clinician_get_different_sources(osler: Osler) -> None:
    question = "How is asthma treated?"
    patient = osler.ask(question, audience="patient")
    clinician = osler.ask(question, audience="clinician")
    assert not patient.abstained and not clinician.abstained
    assert {r.passage_id for r in patient.references} != {r.passage_id for r in clinician.references}
    p_consumer, p_total = consumer_refs(patient, osler)
    c_consumer, c_total = consumer_refs(clinician, osler)
    assert p_consumer / p_total > c_consumer / c_total
    assert is_consumer(osler, patient.references[patient.bottom_line.citations[0] - 1].document_id)


def test_patient_answers_are_plainer_on_real_medquad_questions(osler: Osler) -> None:
    texts = questions(osler, SHARED, 12, seed=13)
    report = run_audience(osler, texts, ("patient", "clinician"))
    both = [
        (row["patient"]["grade"], row["clinician"]["grade"])
        for row in report["questions"]
        if row["patient"]["grade"] is not None and row["clinician"]["grade"] is not None
    ]
    assert len(both) >= 8
    assert statistics.fmean(p for p, _ in both) < statistics.fmean(c for _, c in both)
    assert sum(p <= c for p, c in both) >= 0.75 * len(both)
    summary = report["summary"]["audiences"]
    assert summary["patient"]["consumer_ref_share"] >= summary["clinician"]["consumer_ref_share"]
    assert summary["patient"]["glossary_terms"] == summary["patient"]["glossary_verbatim"] > 0


def test_patient_answer_wording_headings_disclaimer_and_questions(osler: Osler) -> None:
    question = "What are the treatments for gallbladder cancer?"
    patient = osler.ask(question, audience="patient")
    clinician = osler.ask(question, audience="clinician")
    assert patient.disclaimer == PROFILES["patient"].disclaimer != clinician.disclaimer
    patient_headings = {s.heading for s in patient.sections}
    assert patient_headings <= set(audience.PATIENT_HEADINGS.values())
    assert "Primary treatment approach" in {s.heading for s in clinician.sections}
    assert patient.questions_to_ask == list(audience.PATIENT_QUESTIONS["treatment"])
    assert clinician.questions_to_ask == [] and clinician.glossary == []
    assert answer_grade(patient) < answer_grade(clinician)


def test_glossary_comes_from_the_corpus_and_is_cited(osler: Osler) -> None:
    glossary = osler.composer.glossary
    assert isinstance(glossary, Glossary) and len(glossary) > 1000
    gout = glossary.get("Gout")
    assert gout is not None and gout.sentence.startswith("Gout is")
    store = osler.store
    doc = store.get_document(gout.hit.document_id)
    assert doc is not None and doc.audience is Audience.CONSUMER
    assert gout.sentence in doc.text[gout.hit.start : gout.hit.end]
    assert normalise("Gallbladder Cancers") == "gallbladder cancer"

    answer = osler.ask("What are the treatments for gallbladder cancer?", audience="patient")
    assert answer.glossary
    terms = [normalise(g.term) for g in answer.glossary]
    assert "gallbladder cancer" in terms and len(set(terms)) == len(terms)
    said = " ".join(s.text for s in statements(answer)).lower()
    for entry in answer.glossary:
        assert normalise(entry.term) in normalise(said)  # a term the answer uses
        ref = answer.references[entry.citation - 1]
        assert ref.n == entry.citation and entry.definition in ref.quote
        assert is_consumer(osler, ref.document_id)
        stored = store.get_document(ref.document_id)
        assert stored is not None and stored.text[ref.start : ref.end] == ref.quote
    # references stay numbered in order of first use: statements first, then definitions
    first_use: list[int] = []
    for n in [c for s in statements(answer) for c in s.citations] + [g.citation for g in answer.glossary]:
        first_use += [n] if n not in first_use else []
    assert first_use == [r.n for r in answer.references]


def test_student_gets_glossary_but_professional_wording(osler: Osler) -> None:
    answer = osler.ask("What are the treatments for breast cancer?", audience="student")
    assert not answer.abstained and answer.glossary
    assert answer.disclaimer == audience.DISCLAIMER and answer.questions_to_ask == []
    for entry in answer.glossary:
        assert entry.definition in answer.references[entry.citation - 1].quote


def test_renderers_show_terms_and_questions(osler: Osler) -> None:
    answer = osler.ask("What are the treatments for gallbladder cancer?", audience="patient")
    first = answer.glossary[0]
    md = render(answer, "markdown")
    assert "## Terms used" in md and f"[{first.citation}]" in md
    assert f"## {audience.QUESTIONS_HEADING}" in md and audience.QUESTIONS_NOTE in md
    html = render(answer, "html")
    assert 'class="glossary"' in html and f'href="#ref-{first.citation}"' in html
    assert audience.QUESTIONS_HEADING in html
    text = render(answer, "text")
    assert "Terms used" in text and audience.QUESTIONS_HEADING in text
    clinician = render(osler.ask("What are the treatments for gallbladder cancer?"), "markdown")
    assert "Terms used" not in clinician and audience.QUESTIONS_HEADING not in clinician


def test_unknown_audience_is_refused_by_ask(osler: Osler) -> None:
    with pytest.raises(UnknownAudience):
        osler.ask("How is gout treated?", audience="robot")


def test_eval_audience_command(base_corpus, tmp_path: Path) -> None:
    out = tmp_path / "audience.json"
    run = subprocess.run(
        ["osler", "eval", "audience", "--limit", "4", "--data-dir", str(base_corpus[0]),
         "--json", str(out)],
        capture_output=True, text=True, env=cli_env(base_corpus[0]),
    )
    assert run.returncode == 0, run.stderr
    assert "Patient vs clinician" in run.stdout
    report = json.loads(out.read_text())
    assert report["summary"]["questions"] == 4 and len(report["questions"]) == 4
    assert set(report["summary"]["audiences"]) == {"patient", "student", "clinician"}
    assert "patient_below_share" in report["summary"]["patient_vs_clinician"]


def test_patient_lists_are_shorter_and_hard_sentences_give_way(osler: Osler) -> None:
    """A patient sees the first items of a long list; with no sentence plain enough, the plainest
    of the best-scoring ones answers alone; every statement stays verbatim."""
    from osler.compose import extractive

    patient = PROFILES["patient"]
    assert patient.list_items is not None and patient.list_items < extractive.MAX_BULLETS
    question = "What are the symptoms of Snyder-Robinson syndrome?"
    lists = {}
    for name in ("patient", "clinician"):
        answer = osler.ask(question, audience=name)
        assert not answer.abstained
        for s in [answer.bottom_line, *[i for sec in answer.sections for i in sec.items]]:
            assert s.text in answer.references[s.citations[0] - 1].quote
            if s.text.startswith("Signs and Symptoms"):
                lists[name] = s.text
    assert lists["clinician"].startswith(lists["patient"])
    assert lists["patient"].count(" - ") == patient.list_items < lists["clinician"].count(" - ")
    hit = osler.search(question, k=1)[0]
    texts = [
        "Neurodegeneration with brain iron accumulation is a heterogeneous group of inherited "
        "neurological disorders characterized by abnormal accumulation of iron in the basal ganglia.",
        "Hypertrophic cardiomyopathy necessitates echocardiographic surveillance.",
        "Affected individuals gradually develop extreme muscle stiffness (spasticity) and "
        "exaggerated reflexes.",
    ]
    grades = [grade(t) for t in texts]
    assert min(grades) > (patient.readability_limit or 0)  # nothing is plain enough
    order = sorted(range(3), key=lambda i: -grades[i])  # hardest first
    best = extractive.Candidate(texts[order[0]], hit, 0, score=1.0, grade=grades[order[0]])
    close = extractive.Candidate(texts[order[1]], hit, 1, score=0.95, grade=grades[order[1]])
    far = extractive.Candidate(texts[order[2]], hit, 2, score=0.5, grade=grades[order[2]])
    assert extractive.select([best, close, far], limit=5, profile=patient) == [close]
    assert extractive.select([best, close, far], limit=5)[0] is best
