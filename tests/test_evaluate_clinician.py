"""The clinician benchmark: the question set validates against the shared data (every gold
exists and holds its answer), its split is fixed, and `osler eval clinician` runs end to end on a
small real corpus (the gallbladder PDQ summary, an NGC guideline, trials with their Evidence
Inference prompts); the flagship checks are computed from the answer."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import cli_env

from osler.evaluate import clinician as ev
from osler.evaluate import clinician_set as cs
from osler.evaluate.retrieval import SPLITS, split_of
from osler.index.lexical import LexicalIndex
from osler.ingest.pipeline import ingest
from osler.models import (
    Answer,
    AnswerSection,
    Audience,
    EvidenceLevel,
    EvidenceRow,
    Reference,
    Statement,
)
from osler.settings import load
from osler.store import open_store

SHARED = load().shared_data
#: The small corpus: the gallbladder HP PDQ summary, the ASCO metastatic pancreatic cancer
#: guideline, and three trials with Evidence Inference prompts (14 prompts).
SMALL_FILES = (
    "nci_pdq/pdq/types-gallbladder-hp-gallbladder-treatment-pdq.md",
    "guidelines_ngc/ngc-11045.xml",
    "pmc_rct/xml/PMC59610.nxml",
    "pmc_rct/xml/PMC3580299.nxml",
    "pmc_rct/xml/PMC4722945.nxml",
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding SMALL_FILES, ingested and indexed."""
    data_dir = tmp_path_factory.mktemp("clinician-data")
    store = open_store(data_dir)
    try:
        summary = ingest(store, [SHARED / f for f in SMALL_FILES])
        assert summary.documents == len(SMALL_FILES), summary.skipped
        LexicalIndex.at(data_dir).sync(store)
    finally:
        store.close()
    return data_dir


@pytest.fixture(scope="module")
def gold() -> cs.SharedGold:
    return cs.load_gold(load().shared_data)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return cs.read_clinician()


# --- the question set -------------------------------------------------------------------------


def test_the_clinician_set_validates(rows: list[dict], gold: cs.SharedGold) -> None:
    check = cs.check_clinician(rows, gold)
    assert check.ok, check.errors[:10]
    counts = check.counts
    assert counts["questions"] >= cs.MIN_QUESTIONS
    assert all(counts["types"][t] >= cs.MIN_PER_TYPE for t in cs.TYPES), counts["types"]
    assert set(counts["source_kinds"]) == set(cs.SOURCE_KINDS)
    assert min(counts["splits"].values()) >= 0.4 * counts["questions"]


def test_the_check_finds_each_fault(rows: list[dict], gold: cs.SharedGold) -> None:
    bad = [dict(r) for r in rows[:6]]
    bad[0]["answer"] = ["gemcitabine monotherapy is the only option"]
    bad[1]["gold"] = ["nci:types/nowhere/hp/nothing-pdq"]
    bad[2]["split"] = "tune" if bad[2]["split"] == "held_out" else "held_out"
    bad[3]["source_kind"] = "trial"
    bad[4]["question"] = bad[5]["question"]
    bad.append({k: v for k, v in rows[6].items() if k != "answer"})
    errors = "\n".join(cs.check_clinician(bad, gold).errors)
    assert "no gold holds the answer 'gemcitabine monotherapy" in errors
    assert "gold nci:types/nowhere/hp/nothing-pdq is not in the shared data" in errors
    assert "but its id hashes to" in errors
    assert "source kind trial but no gold of that kind" in errors
    assert f"same question as {bad[5]['id']}" not in errors  # the first of a pair is kept
    assert f"same question as {bad[4]['id']}" in errors
    assert "missing answer" in errors
    assert "fewer than" in errors  # 7 questions


def test_gold_of_every_kind_is_read_from_the_shared_data(gold: cs.SharedGold) -> None:
    pdq = "nci:types/gallbladder/hp/gallbladder-treatment-pdq"
    assert cs.is_hp_summary(pdq) and not cs.is_hp_summary("nci:types/gallbladder")
    assert gold.holds(pdq, "cisplatin plus gemcitabine is considered the reference standard")
    assert gold.holds("ngc:10192", "adults aged 55 to 80 years")
    assert gold.holds("pmc:PMC59610", "as safe with respect to the occurrence of major bleeding")
    assert gold.holds("cochrane:CD000370", "interferon 3 MU thrice weekly")
    assert not gold.holds("cochrane:CD000370:pls", "Peto odds ratio")
    pdf = "guideline_pdfs/nice/nice_lisinopril_guideline_hypertension_2019.pdf"
    assert gold.holds(pdf, "a thiazide-like diuretic")
    assert {cs.gold_kind(g) for g in (pdq, "ngc:1", "pmc:PMC1", "cochrane:CD1", pdf)} == set(
        cs.SOURCE_KINDS
    )
    for missing in ("ngc:1", "pmc:PMC1", "cochrane:CD1", "guideline_pdfs/nice/none.pdf", "x:y"):
        assert not gold.exists(missing)


def test_a_pdf_gold_is_resolved_by_its_file_name() -> None:
    class Doc:
        def __init__(self, file: str = "") -> None:
            self.extra = {"file": file} if file else {}

    documents = {
        "pdf:nice-lisinopril-guideline-hypertension-2019-1a2b3c4d": Doc(
            "nice_lisinopril_guideline_hypertension_2019.pdf"
        ),
        "pdf:fda-warfarin-label-2025-00ff00ff": Doc(),  # no file recorded: its id's slug
        "ngc:10192": Doc(),
    }
    pdfs = cs.pdf_documents(documents)
    hypertension = "guideline_pdfs/nice/nice_lisinopril_guideline_hypertension_2019.pdf"
    assert cs.resolve(hypertension, documents, pdfs).startswith("pdf:nice-lisinopril")
    assert cs.resolve("guideline_pdfs/fda/fda_warfarin_label_2025.pdf", documents, pdfs) == (
        "pdf:fda-warfarin-label-2025-00ff00ff"
    )
    assert (
        cs.resolve("guideline_pdfs/fda/fda_metformin_highlights_2026.pdf", documents, pdfs) is None
    )
    assert cs.resolve("ngc:10192", documents, pdfs) == "ngc:10192"
    assert cs.resolve("ngc:1", documents, pdfs) is None


def test_the_split_is_the_hash_of_the_id_and_never_moves(rows: list[dict]) -> None:
    for r in rows:
        assert r["split"] == split_of(r["id"]) == SPLITS[zlib.crc32(r["id"].encode()) % 2]
    # pinned: a change of the hash or of the ids would move questions between the halves
    assert [r["split"] for r in rows[:6]] == [split_of(f"c{n:03d}") for n in range(1, 7)]
    assert sum(r["split"] == "held_out" for r in rows) == 92


def test_evidence_inference_prompts_carry_their_evidence(shared: Path) -> None:
    prompts = cs.evidence_prompts(shared)
    assert len(prompts) == 1449
    first = next(p for p in prompts if p.id == "11164")
    assert first.document_id == "pmc:PMC59610"
    assert first.question == (
        "Does LMWH compared with Unfractionated heparin change Recurrent venous thromboembolism?"
    )
    # only the annotation judged valid: the table row of the first annotator is not
    assert any("as effective as unfractionated heparin" in e for e in first.evidence)
    assert not any(e.startswith("Recurrent venous thromboembolism 96/2212") for e in first.evidence)
    assert "no significant difference" in first.labels


# --- what is measured on an answer ------------------------------------------------------------


def test_a_statement_overlaps_an_evidence_span_by_f1_or_containment() -> None:
    span = (
        "Randomized studies have shown that LMWHs are as effective as unfractionated heparin in "
        "the prevention of recurrent venous thromboembolism"
    )
    assert ev.span_match(span + ".", span) == (True, 1.0)
    # a statement holding the whole span (and more) matches by containment at any F1
    longer = span + ", and are as safe with respect to the occurrence of major bleeding " * 6
    match, f1 = ev.span_match(longer, span)
    assert match and f1 < ev.SPAN_F1
    # a shared clause of five tokens contained in the other side
    assert ev.span_match(
        "Alfuzosin reduced the time of stone expulsion.", "the time of stone expulsion"
    )[0]
    # too short to count as containment, and too little in common for F1
    assert not ev.span_match("LMWHs are effective.", span)[0]
    assert ev.span_match("", span) == (False, 0.0)
    # F1 over bags of tokens: half the tokens in common
    match, f1 = ev.span_match("a b c d", "a b e f")
    assert f1 == 0.5 and match


def test_numbers_figures_and_professional_sources_of_an_answer() -> None:
    assert (
        ev.numbers_in("median OS 12.9 vs 11.3 months (HR, 0.76; 95% CI, 0.64-0.91), n = 2,550") == 7
    )
    assert ev.numbers_in("no figures here") == 0

    class Doc:
        def __init__(self, audience: Audience) -> None:
            self.audience = audience

    docs = {"pro": Doc(Audience.PROFESSIONAL), "consumer": Doc(Audience.CONSUMER)}
    assert ev.is_professional(_ref(1, "pro"), docs)
    assert not ev.is_professional(_ref(2, "consumer"), docs)
    assert not ev.is_professional(_ref(3, "pro", EvidenceLevel.PATIENT_EDUCATION), docs)
    assert not ev.is_professional(_ref(4, "absent"), docs)
    answer = _flagship_answer()
    assert ev.figure_count(answer) == 5
    assert ev.answer_found(answer, ["Cisplatin plus GEMCITABINE"])
    assert not ev.answer_found(answer, ["capecitabine"])


# --- the flagship checks, from a hand-built answer --------------------------------------------

PDQ = ev.FLAGSHIP_PDQ
TOPAZ = "Oh DY 2022, NEJM Evid, PMID 38319896"
VALLE = "Valle 2010, N Engl J Med, PMID 20375404"


def _ref(n: int, doc: str, level: EvidenceLevel = EvidenceLevel.GUIDELINE, **kw) -> Reference:
    return Reference(
        n=n,
        document_id=doc,
        passage_id=f"{doc}#{n}",
        title="Gallbladder Cancer Treatment (PDQ®)–Health Professional Version",
        source="cancer.gov PDQ",
        evidence_level=level,
        quote="quote",
        start=0,
        end=5,
        **kw,
    )


def _flagship_answer() -> Answer:
    refs = [
        _ref(1, PDQ, supported_by=[VALLE]),
        _ref(2, PDQ, supported_by=[TOPAZ]),
        _ref(3, "ngc:10000"),
        _ref(4, "pmc:PMC1", EvidenceLevel.RCT),
        _ref(5, "cochrane:CD1", EvidenceLevel.SYSTEMATIC_REVIEW),
    ]
    return Answer(
        question=ev.FLAGSHIP.format(""),
        standalone_question=ev.FLAGSHIP.format(""),
        audience="clinician",
        question_type="treatment",
        title="Treatment of Liver Metastases from Gallbladder Cancer",
        bottom_line=Statement(
            text="Cisplatin plus gemcitabine is the reference standard backbone.", citations=[1]
        ),
        sections=[
            AnswerSection(
                heading="Evidence",
                kind="evidence",
                items=[
                    Statement(
                        text="In TOPAZ-1, durvalumab improved median OS (12.8 vs 11.5 months; "
                        "HR, 0.80).",
                        citations=[2],
                    )
                ],
            ),
            AnswerSection(
                heading="Who qualifies",
                kind="selection",
                items=[Statement(text="Resection of liver metastases in selected patients.")],
            ),
        ],
        references=refs,
        evidence_table=[
            EvidenceRow(
                citation=2,
                study=TOPAZ,
                design="Guideline",
                figures={"survival": "median OS", "effect": "HR, 0.80", "n": "685"},
                statement="s",
            ),
            EvidenceRow(
                citation=3,
                study="NGC guideline, 2016",  # the source itself, not a trial it cites
                design="Guideline",
                figures={"rate": "10%", "p": "P = .01"},
                statement="s",
            ),
        ],
    )


class _Doc:
    def __init__(self, audience: Audience = Audience.PROFESSIONAL) -> None:
        self.audience = audience


def _passed(answer: Answer, documents: dict | None = None) -> dict[str, bool]:
    docs = documents or {r.document_id: _Doc() for r in answer.references}
    return {k: c["passed"] for k, c in ev.flagship_checks(answer, docs).items()}


def test_a_flagship_answer_with_everything_passes_every_check() -> None:
    assert _passed(_flagship_answer()) == dict.fromkeys(
        [
            "answered",
            "bottom_line_gem_cis",
            "checkpoint_inhibitor_trial",
            "figures_by_trial",
            "selection_criteria",
            "references_pdq_first",
            "no_patient_education",
        ],
        True,
    )


def test_each_flagship_check_fails_on_its_own_fault() -> None:
    def failing(change) -> set[str]:
        answer = _flagship_answer()
        documents = change(answer)
        return {k for k, ok in _passed(answer, documents).items() if not ok}

    def bottom_line(a: Answer) -> None:
        a.bottom_line = Statement(text="Systemic therapy is an option.", citations=[1])

    def no_trial(a: Answer) -> None:  # durvalumab without its trial
        a.sections[0].items[0].text = "Durvalumab improved median OS (12.8 vs 11.5 months)."
        a.references[1].supported_by = []
        a.evidence_table[0].study = "Gallbladder Cancer Treatment, 2025"

    def wrong_pair(a: Answer) -> None:  # pembrolizumab with durvalumab's trial
        a.sections[0].items[0].text = "In TOPAZ-1, pembrolizumab improved OS."
        a.references[1].supported_by = []
        a.evidence_table[0].study = a.references[1].title

    def few_figures(a: Answer) -> None:
        a.evidence_table[0].figures = {"effect": "HR, 0.80"}

    def no_selection(a: Answer) -> None:
        a.sections = a.sections[:1]

    def guideline_second(a: Answer) -> None:
        a.references = [a.references[2], a.references[0], *a.references[3:], a.references[1]]

    def four_references(a: Answer) -> None:
        a.references = a.references[:4]

    def patient_page(a: Answer) -> dict:
        a.references[4].document_id = "nci:types/gallbladder/patient/gallbladder-treatment-pdq"
        return {r.document_id: _Doc() for r in a.references} | {
            a.references[4].document_id: _Doc(Audience.CONSUMER)
        }

    def patient_level(a: Answer) -> None:
        a.references[3].evidence_level = EvidenceLevel.PATIENT_EDUCATION

    def abstained(a: Answer) -> None:
        a.abstained, a.abstain_reason = True, "No indexed source matches"
        a.references = []

    assert failing(bottom_line) == {"bottom_line_gem_cis"}
    assert failing(no_trial) == {"checkpoint_inhibitor_trial", "figures_by_trial"}
    assert failing(wrong_pair) == {"checkpoint_inhibitor_trial", "figures_by_trial"}
    assert failing(few_figures) == {"figures_by_trial"}
    assert failing(no_selection) == {"selection_criteria"}
    assert failing(guideline_second) == {"references_pdq_first"}
    assert failing(four_references) == {"references_pdq_first"}
    assert failing(patient_page) == {"no_patient_education"}
    assert failing(patient_level) == {"no_patient_education"}
    assert {"answered", "bottom_line_gem_cis", "references_pdq_first"} <= failing(abstained)


# --- end to end -------------------------------------------------------------------------------


def test_run_on_a_small_real_corpus(small: Path, tmp_path: Path) -> None:
    report = ev.run_benchmark(small, shared=SHARED, limit=4)
    questions = report["questions"]
    assert questions["all"]["questions"] == 4 and questions["all"]["gold_in_corpus"] == 4
    assert sum(questions["splits"][s]["questions"] for s in SPLITS) == 4
    for m in [questions["all"], *questions["splits"].values()]:
        for key in ("answered", "gold_cited", "professional_share", "answer_found"):
            assert m[key] is None or 0.0 <= m[key] <= 1.0
    # (on five documents Osler declines most of these questions; the rates are still rates)
    assert questions["all"]["professional_share"] in (None, 1.0)  # no consumer page here
    assert questions["all"]["answers"] == sum(questions["splits"][s]["answers"] for s in SPLITS)
    assert set(questions["types"]) == set(cs.TYPES)
    assert set(questions["source_kinds"]) == set(cs.SOURCE_KINDS)
    assert set(questions["examples_tune"]) == {"not_answered", "gold_not_cited", "patient_sources"}
    evidence = report["evidence"]
    assert evidence["available"] == 1449 and evidence["available_article_in_corpus"] == 14
    assert evidence["all"]["prompts"] == 4 and evidence["all"]["article_in_corpus"] == 4
    for key in ("answered", "article_cited", "span_found", "span_found_citing_article"):
        assert 0.0 <= evidence["all"][key] <= 1.0
    flagship = report["flagship"]
    assert set(flagship["variants"]) == {"plain", "mets"}
    for v in flagship["variants"].values():
        assert set(v["checks"]) == {*_passed(_flagship_answer()), "faithful"}
        assert v["checks"]["answered"]["passed"] and v["checks"]["faithful"]["passed"]
        assert v["checks"]["no_patient_education"]["passed"]
        assert v["references"][0] == ev.FLAGSHIP_PDQ
    assert "(mets)" in flagship["variants"]["mets"]["question"]
    assert flagship["checks"] == 16 and 0 < flagship["passed"] <= 16
    faith = report["faithfulness"]
    assert faith["statements"] > 4 and faith["statements_verbatim"] == 1.0
    assert faith["quotes"] > 4 and faith["quotes_in_document"] == 1.0
    warm = report["latency_ms"]["ask_warm"]
    assert warm["n"] == 4 and 0 < warm["p50"] <= warm["p95"]
    assert report["corpus"]["documents"] == len(SMALL_FILES)
    targets = {t["measure"].split(" (")[0] for t in report["targets"]}
    assert {
        "professional references",
        "the prompt's article cited",
        "a statement overlapping the evidence span",
        "checks passed, both wordings",
        "statements verbatim in their quotes",
        "ask, warm, p50",
    } <= targets
    assert set(report["seconds"]) == {"questions", "evidence", "flagship", "total"}
    assert report["settings"]["evidence_sample"] == 4
    json.dumps(report)  # plain JSON
    assert ev.tables(report)


def test_a_part_runs_alone_and_zero_asks_everything(small: Path) -> None:
    report = ev.run_benchmark(small, shared=SHARED, parts=["evidence"], limit=0)
    assert set(report) >= {"evidence", "faithfulness", "figures"}
    assert "questions" not in report and "flagship" not in report
    assert report["evidence"]["all"]["prompts"] == 14
    assert report["latency_ms"]["ask_warm"] is None
    with pytest.raises(ev.BenchmarkError, match="unknown part"):
        ev.run_benchmark(small, shared=SHARED, parts=["nope"])


def test_osler_eval_clinician_command(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "clinician.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "osler",
            "eval",
            "clinician",
            "--parts",
            "questions,flagship",
            "--limit",
            "2",
            "--data-dir",
            str(small),
            "--shared-data",
            str(SHARED),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "home"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Clinician benchmark" in done.stdout and "Warm ask p50" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["questions"]["all"]["questions"] == 2
    assert report["settings"]["parts"] == ["questions", "flagship"]
    assert "evidence" not in report
