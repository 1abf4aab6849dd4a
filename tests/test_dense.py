"""The dense index on real passages: build, paraphrase search, incremental sync, reopen, hybrid.

One small real corpus (the first 60 PubMedQA abstracts, ~300 passages) is embedded once per
module; each test works on its own copy of that data dir, so nothing is encoded twice.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import SHARED, copy_data_dir
from rich.console import Console

from osler.index import dense
from osler.index.dense import DenseIndex
from osler.index.lexical import LexicalIndex, SyncReport
from osler.ingest.pipeline import ingest
from osler.retrieve.search import Searcher
from osler.service import Osler
from osler.settings import RankingWeights, load
from osler.store import Store, open_store

# PMID 11340218, "Does pretreatment with statins improve clinical outcome after stroke?", asked
# in other words: neither "statin" nor "stroke" appears; BM25 ranks it 16th of 19 matching
# abstracts, and lexical-only search leaves it out of its top 20 hits.
PARAPHRASE = (
    "Are patients already taking cholesterol-lowering drugs better off after a brain attack?"
)
TARGET = "pubmedqa:11340218"
# The MedQuAD page on childhood acute lymphoblastic leukemia (the 4 lines 37-40 of the file).
CHILD_QUESTION = "Which warning signs of blood cancer in kids should parents look out for?"
CHILD_DOC = "medquad:CancerGov:0000001_6"


def _documents(store: Store, ranked: list[tuple[str, float]]) -> list[str]:
    """Document ids of ranked passages, in order of first appearance."""
    passages = store.get_passages([pid for pid, _ in ranked])
    out: list[str] = []
    for pid, _ in ranked:
        doc = passages[pid].document_id
        if doc not in out:
            out.append(doc)
    return out


def _ingest_childhood_leukemia(store: Store, folder: Path) -> None:
    with open(SHARED / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(40)][36:]
    sample = folder / "medquad.jsonl"
    sample.write_text("".join(lines), encoding="utf-8")
    assert ingest(store, [sample]).documents == 1


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyncReport]:
    """A data dir holding 60 PubMedQA abstracts and their dense index."""
    root = tmp_path_factory.mktemp("dense")
    items = json.loads((SHARED / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    sample = root / "ori_pqal.json"
    sample.write_text(json.dumps(dict(list(items.items())[:60])), encoding="utf-8")
    store = open_store(root / "data")
    ingest(store, [sample])
    report = DenseIndex.at(root / "data").sync(store)
    store.close()
    return root / "data", report


@pytest.fixture
def data_dir(built: tuple[Path, SyncReport], tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    copy_data_dir(built[0], copy)
    return copy


@pytest.fixture
def db(data_dir: Path) -> Iterator[Store]:
    s = open_store(data_dir)
    yield s
    s.close()


def plain(console: Console) -> Callable[[str], None]:
    """A line printed as it is (no rich markup: "osler[dense]" stays)."""
    return lambda line: console.print(line, markup=False, highlight=False)


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200), out


def test_build_keys_the_index_by_its_config(built: tuple[Path, SyncReport], db: Store) -> None:
    data_dir, report = built
    stats = db.stats()
    assert report.rebuilt and report.documents == stats["documents"] == 60
    assert report.passages == stats["passages"] > 200
    index = DenseIndex.at(data_dir)
    assert index.ready and index.kind == "flat" and index.size == report.passages
    assert index.seq == db.corpus_version()
    assert index.path.parent == data_dir / "index" and index.path.name.startswith("dense-")
    names = {p.name.split("-")[0] for p in index.path.iterdir()}
    assert names == {"vectors", "ids", "osler"}
    other = "fp32" if index.dtype == "bf16" else "bf16"
    assert DenseIndex.at(data_dir, other).path != index.path  # dtype is part of the key
    assert not DenseIndex.at(data_dir, other).ready


def test_paraphrase_with_little_word_overlap_finds_the_study(data_dir: Path, db: Store) -> None:
    index = DenseIndex.at(data_dir)
    ranked = index.search(PARAPHRASE, 20)
    assert len(ranked) == 20
    assert TARGET in _documents(db, ranked)[:5]
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0001
    assert index.search("", 5) == [] and index.search(PARAPHRASE, 0) == []


def test_reopened_from_disk_gives_the_same_results(data_dir: Path, db: Store) -> None:
    first = DenseIndex.at(data_dir).search(PARAPHRASE, 10)
    again = DenseIndex.at(data_dir).search(PARAPHRASE, 10)
    opened = dense.open_if_built(data_dir, db)
    assert opened is not None
    assert (
        [p for p, _ in again]
        == [p for p, _ in first]
        == [p for p, _ in opened.search(PARAPHRASE, 10)]
    )
    assert [s for _, s in again] == pytest.approx([s for _, s in first], abs=1e-5)


def test_incremental_sync_drops_removed_and_adds_new_documents(
    data_dir: Path, db: Store, tmp_path: Path
) -> None:
    index = DenseIndex.at(data_dir)
    before = index.size
    removed = len(db.passages(TARGET))
    assert db.remove(ids=[TARGET]) == [TARGET]
    report = index.sync(db)
    assert not report.rebuilt and (report.documents, report.passages) == (1, 0)
    assert index.size == before - removed and index.seq == db.corpus_version()
    assert TARGET not in _documents(db, index.search(PARAPHRASE, index.size))

    _ingest_childhood_leukemia(db, tmp_path)
    report = index.sync(db)
    added = len(db.passages(CHILD_DOC))
    assert not report.rebuilt and (report.documents, report.passages) == (1, added)
    assert index.size == before - removed + added == db.stats()["passages"]
    assert CHILD_DOC in _documents(db, index.search(CHILD_QUESTION, 10))[:5]
    assert index.sync(db).documents == 0  # nothing left to do

    reopened = DenseIndex.at(data_dir)
    assert reopened.seq == db.corpus_version() and reopened.size == index.size
    for question in (PARAPHRASE, CHILD_QUESTION):
        assert [p for p, _ in reopened.search(question, 10)] == [
            p for p, _ in index.search(question, 10)
        ]


def test_hnsw_tombstones_filter_and_are_compacted(
    data_dir: Path, db: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dense, "FLAT_LIMIT", 100)
    index = DenseIndex.at(data_dir)
    other = next(d for d in db.document_ids() if d != TARGET)
    db.remove(ids=[other])
    index.sync(db)  # past the flat limit: re-made as HNSW from the stored vectors
    assert index.kind == "hnsw" and not index.tombstones
    assert TARGET in _documents(db, index.search(PARAPHRASE, 20))[:5]

    target_passages = len(db.passages(TARGET))
    db.remove(ids=[TARGET])
    index.sync(db)
    assert len(index.tombstones) == target_passages  # HNSW cannot remove: filtered instead
    ranked = index.search(PARAPHRASE, index.size)
    assert len(ranked) > index.size - 10 and TARGET not in _documents(db, ranked)
    reopened = DenseIndex.at(data_dir)
    assert reopened.kind == "hnsw" and reopened.tombstones == index.tombstones
    assert TARGET not in _documents(db, reopened.search(PARAPHRASE, 20))

    monkeypatch.setattr(dense, "TOMBSTONE_LIMIT", 0.0)
    _ingest_childhood_leukemia(db, tmp_path)
    index.sync(db)  # too many tombstones: compacted
    assert not index.tombstones and index.kind == "hnsw"
    assert index.index.ntotal == index.size == db.stats()["passages"]
    assert CHILD_DOC in _documents(db, index.search(CHILD_QUESTION, 10))[:5]
    assert TARGET not in _documents(db, index.search(PARAPHRASE, 20))


def test_hybrid_search_fuses_dense_with_lexical(data_dir: Path, db: Store) -> None:
    lexical = LexicalIndex.at(data_dir)
    lexical.sync(db)
    searcher = Searcher(db, lexical, dense=DenseIndex.at(data_dir))
    hits = searcher.search(PARAPHRASE, k=20)
    assert hits and any(hit.components["dense"] > 0 for hit in hits[:5])
    # lexical-only search misses the study; fused with the dense ranking it is brought in
    assert TARGET in [hit.document_id for hit in hits]
    lexical_only = searcher.search(PARAPHRASE, k=5, use_dense=False)
    assert all(hit.components["dense"] == 0 for hit in lexical_only)
    with Osler.open(data_dir=data_dir) as opened:
        assert isinstance(opened.searcher.dense, DenseIndex)
        assert any(hit.components["dense"] > 0 for hit in opened.search(PARAPHRASE, k=5))


def _check_similarities(index: DenseIndex, db: Store, removed: str) -> None:
    """similarities() gives the exact cosines search() ranks by, and nothing for removed or
    unknown passages."""
    query = index.query_vector(PARAPHRASE)
    ranked = index.search_vector(query, index.size)
    sims = index.similarities(query, [pid for pid, _ in ranked] + ["pubmedqa:0#p0"])
    assert set(sims) == {pid for pid, _ in ranked}
    assert all(abs(sims[pid] - cosine) < 1e-5 for pid, cosine in ranked)
    gone = [p.id for p in db.passages(removed)] if db.get_document(removed) else []
    assert not set(gone) & set(sims)


def test_similarities_are_exact_cosines_in_flat_and_hnsw_indexes(
    data_dir: Path, db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = DenseIndex.at(data_dir)
    target_passages = [p.id for p in db.passages(TARGET)]
    query = index.query_vector(PARAPHRASE)
    assert set(index.similarities(query, target_passages)) == set(target_passages)
    db.remove(ids=[TARGET])
    index.sync(db)  # flat: the vectors are removed, rows shift
    assert index.kind == "flat" and not index.similarities(query, target_passages)
    _check_similarities(index, db, TARGET)

    monkeypatch.setattr(dense, "FLAT_LIMIT", 100)
    other = next(d for d in db.document_ids() if d != TARGET)
    other_passages = [p.id for p in db.passages(other)]
    db.remove(ids=[other])
    index.sync(db)  # re-made as HNSW
    survivor = next(d for d in db.document_ids() if d != TARGET)
    db.remove(ids=[survivor])
    index.sync(db)  # HNSW: a tombstone, filtered
    assert index.kind == "hnsw" and index.tombstones
    assert not index.similarities(query, other_passages)
    _check_similarities(index, db, survivor)


def test_every_lexical_candidate_gets_its_cosine_in_score_fusion(data_dir: Path, db: Store) -> None:
    lexical = LexicalIndex.at(data_dir)
    lexical.sync(db)
    index = DenseIndex.at(data_dir)
    question = "Do statins improve outcome after stroke?"
    # 5 candidates from each index: most lexical ones are outside the dense top 5
    searcher = Searcher(db, lexical, dense=index, weights=RankingWeights(candidates=5))
    hits = searcher.search(question, k=5)
    exact = index.similarities(
        index.query_vector(searcher.analyse(question).cleaned), [h.passage_id for h in hits]
    )
    assert hits and all(
        h.components["dense"] == pytest.approx(exact[h.passage_id], abs=1e-5) for h in hits
    )
    top_dense = {pid for pid, _ in index.search(searcher.analyse(question).cleaned, 5)}
    assert any(h.passage_id not in top_dense and h.components["lexical"] > 0 for h in hits)
    # rank fusion stays available (RankingWeights.fusion) and also brings the paraphrased study in
    rrf = Searcher(db, lexical, dense=index, weights=RankingWeights(candidates=5, fusion="rrf"))
    assert all(0 < h.components["relevance"] <= 1 for h in rrf.search(question, k=5))
    assert TARGET in [h.document_id for h in rrf.search(PARAPHRASE, k=20)]


def test_open_if_built_catches_up_small_changes_and_can_be_turned_off(
    data_dir: Path, db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.remove(ids=[TARGET])
    opened = dense.open_if_built(data_dir, db)
    assert opened is not None and opened.seq == db.corpus_version()
    assert TARGET not in _documents(db, opened.search(PARAPHRASE, 20))
    monkeypatch.setenv("OSLER_DENSE", "0")
    off = load().dense
    assert dense.open_if_built(data_dir, db, off) is None
    assert dense.sync_if_enabled(db, data_dir, off, say=plain(_console()[0])) is None


def test_sync_if_enabled_keeps_an_existing_index_in_step(
    data_dir: Path, db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OSLER_DENSE", raising=False)
    db.remove(ids=[TARGET])
    console, out = _console()
    report = dense.sync_if_enabled(db, data_dir, load().dense, say=plain(console))
    assert report is not None and not report.rebuilt and report.documents == 1
    assert "Dense index updated: 1 documents" in out.getvalue()
    assert DenseIndex.at(data_dir).seq == db.corpus_version()


def test_dense_indexing_is_opt_in_and_stale_configs_are_replaced(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    _ingest_childhood_leukemia(store, tmp_path)
    monkeypatch.delenv("OSLER_DENSE", raising=False)
    console, out = _console()
    assert dense.sync_if_enabled(store, data_dir, load().dense, say=plain(console)) is None
    assert not list((data_dir / "index").glob("dense-*")) and not out.getvalue()
    assert dense.open_if_built(data_dir, store) is None

    # an index built under another configuration counts as "dense wanted": it is replaced
    stale = data_dir / "index" / "dense-000000000000"
    stale.mkdir(parents=True)
    (stale / dense.STATE).write_text(json.dumps({"config": {"version": 0}}))
    report = dense.sync_if_enabled(store, data_dir, load().dense, say=plain(console))
    assert report is not None and report.rebuilt
    assert report.passages == store.stats()["passages"]
    assert "Dense index rebuilt" in out.getvalue()
    assert [p.name for p in (data_dir / "index").glob("dense-*")] == [
        DenseIndex.at(data_dir).path.name
    ]
    index = dense.open_if_built(data_dir, store)
    assert index is not None and CHILD_DOC in _documents(store, index.search(CHILD_QUESTION, 3))


def test_missing_extra_is_reported_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dense, "available", lambda: False)
    monkeypatch.setattr(dense, "_warned", False)
    monkeypatch.setenv("OSLER_DENSE", "1")
    console, out = _console()
    wanted = load().dense
    quiet = dense.sync_if_enabled(store, tmp_path, wanted, say=plain(console), quiet=True)
    assert quiet is None and not out.getvalue()
    for _ in range(2):
        assert dense.sync_if_enabled(store, tmp_path, wanted, say=plain(console)) is None
    assert out.getvalue().count("pip install osler[dense]") == 1
