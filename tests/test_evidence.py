"""The evidence rule table: precedence, publication types, MeSH, text cues."""

from __future__ import annotations

import pytest

from osler import evidence
from osler.models import EvidenceLevel as L


@pytest.mark.parametrize(
    ("types", "level"),
    [
        (["Journal Article", "Practice Guideline"], L.GUIDELINE),
        (["Journal Article", "Meta-Analysis", "Review"], L.SYSTEMATIC_REVIEW),
        (["Randomized Controlled Trial", "Multicenter Study"], L.RCT),
        (["Comparative Study"], L.OBSERVATIONAL),
        (["Case Reports"], L.CASE_REPORT),
        (["Review"], L.EXPERT_OPINION),
        (["Editorial"], L.EXPERT_OPINION),
    ],
)
def test_publication_types_pick_the_strongest_design(types: list[str], level: L) -> None:
    verdict = evidence.assess(publication_types=types, title="A randomized trial")
    assert verdict.level is level
    assert not verdict.inferred


def test_mesh_design_headings_count_but_topic_headings_do_not() -> None:
    assert evidence.assess(mesh_terms=["Humans", "Retrospective Studies"]).level is L.OBSERVATIONAL
    topic = evidence.assess(mesh_terms=["Randomized Controlled Trials as Topic"], title="Opinions")
    assert topic.level is L.EXPERT_OPINION


@pytest.mark.parametrize(
    ("title", "abstract", "level"),
    [
        (
            "Gemcitabine for biliary cancer: a systematic review and meta-analysis",
            "",
            L.SYSTEMATIC_REVIEW,
        ),
        ("", "Patients were randomly assigned to budesonide or placebo.", L.RCT),
        ("", "In this retrospective cohort of 412 patients ...", L.OBSERVATIONAL),
        ("Liver metastases after cholecystectomy: a case report", "", L.CASE_REPORT),
        ("", "We report a 63-year-old woman with jaundice.", L.CASE_REPORT),
        ("ESMO clinical practice guidelines for biliary cancer", "", L.GUIDELINE),
    ],
)
def test_text_cues_infer_a_level_and_say_so(title: str, abstract: str, level: L) -> None:
    verdict = evidence.assess(title=title, abstract=abstract)
    assert verdict.level is level
    assert verdict.inferred
    assert "mentions" in verdict.reason


def test_title_cues_win_over_abstract_cues() -> None:
    verdict = evidence.assess(
        title="A meta-analysis of statin trials", abstract="We pooled randomized controlled trials."
    )
    assert verdict.level is L.SYSTEMATIC_REVIEW


def test_consumer_pages_are_patient_education_and_explicit_levels_win() -> None:
    assert evidence.assess(consumer=True, title="A randomized trial").level is L.PATIENT_EDUCATION
    assert evidence.assess(explicit="guideline", consumer=True).level is L.GUIDELINE
    assert evidence.assess(explicit="3").level is L.RCT


def test_nothing_known_falls_back_to_expert_opinion_marked_inferred() -> None:
    verdict = evidence.assess(title="Bile acids and the gut")
    assert (verdict.level, verdict.inferred) == (L.EXPERT_OPINION, True)


def test_unknown_explicit_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown evidence level"):
        evidence.parse_level("gold standard")


def test_levels_rank_highest_first() -> None:
    ranks = [level.rank for level in L]
    assert ranks == sorted(ranks)
    assert L.GUIDELINE.rank == 1 and L.PATIENT_EDUCATION.rank == 7
