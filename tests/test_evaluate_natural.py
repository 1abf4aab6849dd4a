"""The natural-question set: the question files validate against the shared data, their split
is fixed, fabricated names are absent from the corpus."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from osler.config import shared_data_dir
from osler.evaluate import natural_set as ns
from osler.evaluate.retrieval import SPLITS, split_of
from osler.index.lexical import LexicalIndex
from osler.ingest.pipeline import ingest
from osler.retrieve.search import Searcher
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
    return ns.load_index(shared_data_dir())


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
    with (shared_data_dir() / "medquad" / "medquad.jsonl").open(encoding="utf-8") as fh:
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
    check = ns.check_off_corpus(off_rows, ns.name_vocabulary(shared_data_dir()))
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
    vocabulary = ns.title_vocabulary(shared_data_dir())
    assert "shingles" in vocabulary and "gallbladder" in vocabulary  # the titles are read
    assert ns.name_words(name) == ["zentrofloxamine"]
    assert not set(ns.name_words(name)) & vocabulary
    searcher = Searcher.open(small, dense=False)
    try:
        titles = " ".join(d.title for d in searcher.documents.values()).lower()
    finally:
        searcher.close()
    assert "shingles" in titles and "zentrofloxamine" not in titles
    fabricated = [r for r in off_rows if r["kind"] != "non_medical"]
    assert all(w not in vocabulary for r in fabricated for w in ns.name_words(r["name"]))
