"""The clinician benchmark: the question set validates against the shared data (every gold
exists and holds its answer), its split is fixed, and `osler eval clinician` runs end to end on a
small real corpus (the gallbladder PDQ summary, an NGC guideline, trials with their Evidence
Inference prompts); the flagship checks are computed from the answer."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from osler.config import shared_data_dir
from osler.evaluate import clinician_set as cs
from osler.evaluate.retrieval import SPLITS, split_of


@pytest.fixture(scope="module")
def gold() -> cs.SharedGold:
    return cs.load_gold(shared_data_dir())


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
