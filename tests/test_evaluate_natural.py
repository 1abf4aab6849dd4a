"""The natural-question benchmark: the question sets validate against the shared data, their
split is fixed, fabricated names are absent from the corpus, titles that repeat question words
are found, and `osler eval natural` runs end to end on a small real corpus."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import cli_env

from osler.evaluate import natural as ev
from osler.evaluate import natural_set as ns
from osler.evaluate.retrieval import SPLITS, split_of
from osler.index.lexical import LexicalIndex
from osler.ingest.pipeline import ingest
from osler.service import Osler
from osler.settings import load
from osler.store import open_store

#: The MedQuAD pages of the small corpus: shingles, atrial fibrillation, celiac disease, deep vein
#: thrombosis and gallbladder cancer, which 30-odd natural questions have as gold.
SMALL_PAGES = (
    "medquad:NIHSeniorHealth:0000062",
    "medquad:MPlusHealthTopics:0000812",
    "medquad:NHLBI:0000013",
    "medquad:NIDDK:0000088",
    "medquad:NHLBI:0000051",
    "medquad:CancerGov:0000020_1",
)


@pytest.fixture(scope="module")
def index() -> ns.SharedIndex:
    return ns.load_index(load().shared_data)


@pytest.fixture(scope="module")
def natural_rows() -> list[dict]:
    return ns.read_jsonl(ns.NATURAL_FILE)


@pytest.fixture(scope="module")
def off_rows() -> list[dict]:
    return ns.read_jsonl(ns.OFF_CORPUS_FILE)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the MedQuAD rows of SMALL_PAGES, ingested and indexed."""
    src = tmp_path_factory.mktemp("natural-src")
    kept = []
    with (load().shared_data / "medquad" / "medquad.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if f"medquad:{r['source']}:{r['doc_id']}" in SMALL_PAGES:
                kept.append(line)
    (src / "medquad.jsonl").write_text("".join(kept), encoding="utf-8")
    data_dir = tmp_path_factory.mktemp("natural-data")
    store = open_store(data_dir)
    try:
        ingest(store, [src])
        LexicalIndex.at(data_dir).sync(store)
    finally:
        store.close()
    return data_dir


# --- the question sets ------------------------------------------------------------------------


def test_the_natural_set_validates(natural_rows: list[dict], index: ns.SharedIndex) -> None:
    check = ns.check_natural(natural_rows, index)
    assert check.ok, check.errors[:10]
    counts = check.counts
    assert counts["questions"] >= ns.MIN_QUESTIONS
    assert all(counts["types"][t] >= ns.MIN_PER_TYPE for t in ns.TYPES)
    assert counts["topics"] >= ns.MIN_TOPICS and counts["nci_gold"] >= ns.MIN_NCI
    assert set(counts["audiences"]) == set(ns.AUDIENCES)
    # Both halves are large and every type is in both.
    for split in SPLITS:
        half = [r for r in natural_rows if r["split"] == split]
        assert len(half) >= ns.MIN_QUESTIONS // 3
        assert {r["type"] for r in half} == set(ns.TYPES)


def test_the_check_finds_each_fault(natural_rows: list[dict], index: ns.SharedIndex) -> None:
    good = natural_rows[0]
    faults = {
        "worded as MedQuAD's template 'what are the treatments for X'": {
            "question": "What are the treatments for Gallbladder Cancer ?"
        },
        "a MedQuAD question": {"question": "What is (are) Shingles ?"},
        "is not in the shared data": {"gold": ["medquad:NHLBI:9999999"]},
        "has no frequency section": {"type": "frequency", "gold": ["medquad:NHLBI:0000013"]},
        "split 'tune', but its id hashes to 'held_out'": {"split": "tune"},
        "unknown type 'staging'": {"type": "staging"},
        "unknown audience 'nurse'": {"audience": "nurse"},
        "has a cancer.gov twin": {"type": "treatment", "gold": ["medquad:CancerGov:0000020_1"]},
        "no gold ids": {"gold": []},
        "missing topic": {"topic": None},
    }
    for why, change in faults.items():
        row = {**good, **change}
        if change.get("topic", "") is None:
            del row["topic"]
        errors = ns.check_natural([row], index).errors
        assert any(why in e for e in errors), (why, errors)
    duplicate = ns.check_natural([good, {**good, "id": "n999", "split": split_of("n999")}], index)
    assert any("same question as n001" in e for e in duplicate.errors)
    assert not [e for e in ns.check_natural([good], index).errors if e.startswith("line")]
    # A twin is gold with its MedQuAD page even where it dropped the section.
    twin = ns.check_natural(
        [
            {
                **good,
                "type": "risk",
                "gold": [
                    "medquad:CancerGov:0000020_1",
                    "nci:types/gallbladder/patient/gallbladder-treatment-pdq",
                ],
            }
        ],
        index,
    )
    assert not [e for e in twin.errors if e.startswith("line")]


def test_gold_is_resolved_from_the_pages_of_a_focus(index: ns.SharedIndex) -> None:
    assert ns.resolve_gold(index, "treatment", foci=["gallbladder cancer"]) == [
        "medquad:CancerGov:0000020_1",
        "nci:types/gallbladder/patient/gallbladder-treatment-pdq",
    ]
    # Only the pages with a section of the type: MedlinePlus has an overview only.
    assert ns.resolve_gold(index, "symptoms", foci=["Shingles"]) == [
        "medquad:NIHSeniorHealth:0000062"
    ]
    assert "medquad:MPlusHealthTopics:0000812" in ns.resolve_gold(
        index, "definition", foci=["Shingles"]
    )
    assert ns.resolve_gold(index, "side_effects", drugs=["rosuvastatin"]) == ["medicationqa:651"]
    assert ns.nci_id("https://www.cancer.gov/types/gallbladder/hp/gallbladder-treatment-pdq") == (
        "nci:types/gallbladder/hp/gallbladder-treatment-pdq"
    )


def test_the_split_is_the_hash_of_the_id_and_never_moves(
    natural_rows: list[dict], off_rows: list[dict]
) -> None:
    for r in natural_rows + off_rows:
        assert r["split"] == split_of(r["id"]) == SPLITS[zlib.crc32(r["id"].encode()) % 2]
    # Pinned: the halves were assigned once, when the set was written.
    pinned = {"n001": "held_out", "n002": "held_out", "n004": "tune", "o001": "tune"}
    assert {k: split_of(k) for k in pinned} == pinned
    by_id = {r["id"]: r["split"] for r in natural_rows + off_rows}
    assert {k: by_id[k] for k in pinned} == pinned
    assert [r["id"] for r in natural_rows] == [f"n{i:03d}" for i in range(1, len(natural_rows) + 1)]


def test_the_off_corpus_set_validates_against_titles_and_text(off_rows: list[dict]) -> None:
    check = ns.check_off_corpus(off_rows, ns.name_vocabulary(load().shared_data))
    assert check.ok, check.errors[:10]
    assert check.counts["questions"] >= ns.MIN_OFF_CORPUS
    assert set(check.counts["kinds"]) == set(ns.OFF_CORPUS_KINDS)
    # A real name is caught.
    real = {**off_rows[0], "name": "Gallbladder cancer", "question": "gallbladder cancer"}
    assert any("'gallbladder'" in e for e in ns.check_off_corpus([real], {"gallbladder"}).errors)


def test_a_fabricated_name_is_absent_from_the_corpus_titles(
    off_rows: list[dict], small: Path
) -> None:
    name = next(r["name"] for r in off_rows if r["name"] == "zentrofloxamine")
    vocabulary = ns.title_vocabulary(load().shared_data)
    assert "shingles" in vocabulary and "gallbladder" in vocabulary  # the titles are read
    assert ns.name_words(name) == ["zentrofloxamine"]
    assert not set(ns.name_words(name)) & vocabulary
    searcher = Osler.open(data_dir=small, dense=False)
    try:
        titles = " ".join(d.title for d in searcher.documents.values()).lower()
    finally:
        searcher.close()
    assert "shingles" in titles and "zentrofloxamine" not in titles
    fabricated = [r for r in off_rows if r["kind"] != "non_medical"]
    assert all(w not in vocabulary for r in fabricated for w in ns.name_words(r["name"]))


# --- what is measured -------------------------------------------------------------------------


def test_titles_repeating_question_words() -> None:
    q = "what treatments are available for psoriasis"
    assert ev.title_repeats("Treatment of Are Available for Psoriasis", q, "Psoriasis") == [
        "available"
    ]
    assert ev.title_repeats("Treatment of Psoriasis", q, "Psoriasis") == []
    assert (
        ev.title_repeats(
            "Side Effects of Rosuvastatin", "rosuvastatin side effects", "Rosuvastatin"
        )
        == []
    )
    assert ev.title_repeats(
        "Can You Die From Shingles", "can you die from shingles", "Shingles"
    ) == ["die"]
    assert ev.title_repeats(
        "Symptoms of Pnemonia", "pnemonia symptoms in elderly", "Pneumonia"
    ) == ["pnemonia"]
    assert ev.title_repeats(
        "First-line Chemo for Metastatic Gallbladder Cancer",
        "first-line chemo for metastatic gallbladder cancer",
        "Gallbladder Cancer",
    ) == ["chemo", "metastatic"]
    assert (
        ev.title_repeats(
            "How Common Is Celiac Disease", "how common is celiac disease", "Celiac Disease"
        )
        == []
    )


def test_quotes_are_checked_against_the_stored_document(small: Path) -> None:
    searcher = Osler.open(data_dir=small, dense=False)
    try:
        answer = searcher.fresh_answer("shingles symptoms", "patient")
        assert not answer.abstained and answer.references
        record = ev.faithfulness_record(answer, searcher)
        assert record["unfaithful"] == [] and record["bad_quotes"] == []
        bad = answer.model_copy(deep=True)
        bad.references[0].quote = bad.references[0].quote + " (edited)"
        assert ev.quote_failures(bad, searcher)[0]["n"] == bad.references[0].n
    finally:
        searcher.close()


# --- end to end -------------------------------------------------------------------------------


def test_run_on_a_small_real_corpus(small: Path) -> None:
    report = ev.run_benchmark(small, parts=["natural", "offcorpus"], limit=6)
    natural = report["natural"]
    assert natural["all"]["questions"] == 6 and natural["all"]["gold_in_corpus"] == 6
    assert sum(natural["splits"][s]["questions"] for s in SPLITS) == 6
    for m in [natural["all"], *natural["splits"].values()]:
        for key in ("answered", "gold_cited", "title_repeats"):
            assert m[key] is None or 0.0 <= m[key] <= 1.0
    assert natural["all"]["answered"] > 0 and natural["all"]["gold_cited"] > 0
    assert set(natural["types"]) == set(ns.TYPES)
    assert set(natural["audiences"]) == set(ns.AUDIENCES)
    assert set(natural["examples_tune"]) == {"title_repeats", "not_answered", "gold_not_cited"}
    assert report["offcorpus"]["all"]["questions"] == 6
    assert set(report["offcorpus"]["kinds"]) == set(ns.OFF_CORPUS_KINDS)
    faith = report["faithfulness"]
    assert faith["statements"] > 6 and faith["statements_verbatim"] == 1.0
    assert faith["quotes"] > 6 and faith["quotes_in_document"] == 1.0
    warm = report["latency_ms"]["ask_warm"]
    assert warm["n"] == 6 and 0 < warm["p50"] <= warm["p95"]
    assert report["corpus"]["documents"] == len(SMALL_PAGES)
    targets = {t["measure"] for t in report["targets"]}
    assert {"answered", "gold page cited", "abstained"} <= targets
    assert set(report["seconds"]) == {"natural", "offcorpus", "total"}
    json.dumps(report)  # plain JSON
    assert ev.tables(report)


def test_osler_eval_natural_command(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "natural.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "osler",
            "eval",
            "natural",
            "--parts",
            "natural,offcorpus",
            "--limit",
            "3",
            "--data-dir",
            str(small),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "home"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Natural-question benchmark" in done.stdout and "off-corpus" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["natural"]["all"]["questions"] == 3
    assert report["settings"]["parts"] == ["natural", "offcorpus"]
    assert report["settings"]["limit"] == 3
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "osler",
            "eval",
            "natural",
            "--parts",
            "nope",
            "--data-dir",
            str(small),
        ],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "home"),
        timeout=120,
    )
    assert bad.returncode == 2 and "unknown part" in bad.stderr
