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
    assert topic.level is L.NOT_GRADED


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
        ("Eculizumab: A Review in Generalized Myasthenia Gravis", "", L.EXPERT_OPINION),
        ("", "This review summarizes the evidence on PCSK9 inhibitors.", L.EXPERT_OPINION),
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


def test_nothing_known_is_not_graded_and_not_a_guess() -> None:
    verdict = evidence.assess(title="Bile acids and the gut")
    assert (verdict.level, verdict.inferred) == (L.NOT_GRADED, False)
    assert verdict.reason == "no study design stated or detected"


def test_unknown_explicit_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown evidence level"):
        evidence.parse_level("gold standard")


def test_levels_rank_highest_first() -> None:
    ranks = [level.rank for level in L]
    assert ranks == sorted(ranks)
    assert L.GUIDELINE.rank == 1 and L.PATIENT_EDUCATION.rank == 7


@pytest.mark.parametrize(
    "text",
    [
        "In a randomised, placebo-controlled, double-blind, cross-over study, we ...",
        "This was a prospective, cross-over, randomized, single-masked (participant), short-term "
        "clinical trial where 52 participants ...",
        "Forty eight students were randomized to use either an electronic stethoscope or ...",
        "We randomized 389 patients with stable coronary artery disease to ramipril or placebo.",
        "DEVTA, a cluster-randomised trial of vitamin A in north India",
        "They were divided into three equal groups randomly.",
        "Pain scores 13-16 weeks after randomisation were lower with the drug.",
        "We performed a blind, randomized, placebo\u2010controlled APC therapy trial in pigs.",
        "A prospective, placebo-controlled, double-blind study of filgrastim.",
    ],
)
def test_the_trials_own_randomization_is_a_trial_cue(text: str) -> None:
    for verdict in (evidence.assess(title=text), evidence.assess(abstract=text)):
        assert (verdict.level, verdict.inferred) == (L.RCT, True), verdict


@pytest.mark.parametrize(
    "text",
    [
        "In this prospective non-randomized study, 43 patients received ranibizumab.",
        "Improving stroke care: a non-randomised controlled trial",
        "Randomized trials have shown that statins lower LDL cholesterol.",
        "A large randomized trial is needed to confirm these findings.",
        "Trial registration: International Standard Randomised Controlled Trial Number ISRCTN1234",
        "A Mendelian randomization study of body mass index and asthma",
        "The results of a recent randomised phase 3 clinical trial show that darolutamide ...",
        "Schools were randomly selected from the district register.",
        "The active X chromosome is also randomly distributed among lobes.",
    ],
)
def test_other_studies_randomization_is_not_a_trial_cue(text: str) -> None:
    assert evidence.assess(title=text).level is not L.RCT
    assert evidence.assess(abstract=text).level is not L.RCT


@pytest.mark.parametrize(
    "title",
    [
        "Reslizumab in Eosinophilic Asthma: A Review.",
        "A Narrative Review of the Clinical Practicalities of Bamlanivimab",
        "Guillain-Barré syndrome and Covid-19: a close relationship or a coincidence? (Review).",
        "Fluorescence imaging in thoracic surgery: a literature review.",
        "Listeria monocytogenes brain abscess: two cases and review of the literature.",
        "Review of rotavirus vaccine trials in Finland.",
        "An Overview of Bimekizumab for the Treatment of Psoriatic Arthritis",
        "Historical perspective on the use of methotrexate",
    ],
)
def test_a_title_that_names_its_own_genre_is_a_review(title: str) -> None:
    verdict = evidence.assess(title=title)
    assert (verdict.level, verdict.inferred) == (L.EXPERT_OPINION, True), verdict


@pytest.mark.parametrize(
    "title",
    [
        "Effect of a pharmacist-led medication review on hospital readmissions",
        "VIPER: a web application for rapid expert review of variant calls.",
        "Variant Review with the Integrative Genomics Viewer.",
        "Inspiratory Muscle Training in the Intensive Care Unit: A New Perspective",
        "Adjudication of myocardial infarction in a clinical trial: review of the PURSUIT study",
        "Estimating the value of erenumab for migraine: a US societal perspective.",
    ],
)
def test_review_as_an_activity_in_a_title_is_not_a_review(title: str) -> None:
    assert evidence.assess(title=title).level is not L.EXPERT_OPINION


@pytest.mark.parametrize(
    "abstract",
    [
        "This review summarizes current knowledge of circRNAs.",
        "Here we review the interplay between six RNA-binding proteins.",
        "This article reviews the clinical features of congenital muscular dystrophies.",
        "In this article, we review the progress on stem cell therapies for arthritis.",
        "We reviewed the literature on the use of methotrexate in rheumatoid arthritis.",
    ],
)
def test_an_abstract_that_calls_the_article_a_review(abstract: str) -> None:
    verdict = evidence.assess(abstract=abstract)
    assert (verdict.level, verdict.inferred) == (L.EXPERT_OPINION, True), verdict


@pytest.mark.parametrize(
    "abstract",
    [
        "We reviewed physician-reported data from patients admitted to the hospital.",
        "The protocol was reviewed and approved by the ethics committee.",
        "The study was approved by our institutional review board.",
        "This retrospective review of 120 charts found no difference.",
        "Its role in autophagy has been reviewed elsewhere.",
        "Several reviews have discussed the role of TNF in sepsis.",
        "In this article, we explore the antitumoral activity of a novel degrader.",
    ],
)
def test_review_in_passing_in_an_abstract_is_not_a_review(abstract: str) -> None:
    assert evidence.assess(abstract=abstract).level is not L.EXPERT_OPINION


def test_a_reviews_own_genre_wins_over_the_trials_it_mentions() -> None:
    abstract = (
        "Tebentafusp improved survival in a randomized phase III trial. The aim of this "
        "comprehensive review is to summarize evidence of Gp-100 as a therapeutic target."
    )
    assert evidence.assess(abstract=abstract).level is L.EXPERT_OPINION


def test_a_title_naming_one_trial_wins_over_a_guideline_it_tests() -> None:
    title = "Implementing a guideline for type 2 diabetes: a cluster-randomised controlled trial"
    assert evidence.assess(title=title).level is L.RCT


def test_methods_section_cues_come_after_title_and_abstract() -> None:
    methods = "Participants were randomly assigned to the simulator or the control group."
    verdict = evidence.assess(title="Teaching surgical skills", methods=methods)
    assert (verdict.level, verdict.inferred) == (L.RCT, True)
    assert verdict.reason == "methods section mentions 'randomly assigned'"
    cohort = evidence.assess(abstract="In this cohort of 412 patients", methods=methods)
    assert cohort.level is L.OBSERVATIONAL  # the abstract's own words come first
    survey = evidence.assess(title="Teaching surgical skills", methods="A survey was sent.")
    assert survey.level is L.NOT_GRADED  # only allocation counts in a methods section


def test_prospective_says_observational_only_when_nothing_says_randomized() -> None:
    methods = "Patients were randomly assigned to prone or supine position first."
    prospective = "Enteral feeding in the critically ill: a prospective crossover study"
    assert evidence.assess(title=prospective).level is L.OBSERVATIONAL
    assert evidence.assess(title=prospective, methods=methods).level is L.RCT
    assert evidence.assess(abstract="This prospective study of 76 women").level is L.OBSERVATIONAL


def test_bioasq_snippets_without_a_cue_are_not_graded_and_a_trial_cue_is_rct() -> None:
    from osler.ingest import bioasq

    objective = (
        "Objective: To compare the efficacy of capecitabine plus irinotecan (CAPIRI) vs "
        "irinotecan (IRI) alone in patients with advanced gallbladder cancer (GBC) who have "
        "disease progression after gemcitabine-based first-line treatment."
    )
    doc = bioasq.build("33270098", "", [objective]).document
    assert (doc.evidence_level, doc.evidence_inferred) == (L.NOT_GRADED, False)
    trial = "Sixty patients were randomly assigned to CAPIRI or IRI."
    doc = bioasq.build("33270098", "", [objective, trial]).document
    assert (doc.evidence_level, doc.evidence_inferred) == (L.RCT, True)
    assert doc.evidence_reason == "abstract mentions 'randomly assigned'"
    passing = "The role of irinotecan has been reviewed elsewhere."
    assert bioasq.build("1", "", [passing]).document.evidence_level is L.NOT_GRADED


def test_every_level_has_a_label_and_a_rank() -> None:
    from osler.models import EVIDENCE_LABELS

    assert set(EVIDENCE_LABELS) == set(L)
    for level in L:
        assert level.label and 1 <= level.rank <= 7
    assert L.NOT_GRADED.rank == L.EXPERT_OPINION.rank == 6


def test_not_graded_ranks_and_weighs_as_an_inferred_expert_opinion() -> None:
    from osler.audience import PROFILES
    from osler.retrieve.rank import evidence_factor

    for name in PROFILES:
        assert evidence_factor(L.NOT_GRADED, False, name) == evidence_factor(
            L.EXPERT_OPINION, True, name
        )
        assert evidence_factor(L.NOT_GRADED, False, name) < evidence_factor(L.RCT, True, name)
