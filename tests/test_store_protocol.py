"""The storage protocols (`Store`, `ReviewStore`), tested through `open_stores(url)` only.

Every test runs once per backend in `BACKENDS`; a new backend (PostgreSQL, issue 16) adds its
name here and a way to build a fresh, empty store URL in `fresh_url`, and must pass the same
tests. Nothing below names a backend's class, table or SQL: only the protocol methods (and the
ingest pipeline, which uses nothing else). The SQLite backend's own checks (WAL, migrations,
PRAGMAs, triggers) live in tests/test_store.py and tests/test_review.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pg
import pytest

from osler.ingest.pipeline import ingest
from osler.models import (
    Answer,
    Article,
    ArticleStatus,
    ArticleVersion,
    Audience,
    Document,
    EvidenceLevel,
    Passage,
    Reference,
    ReferenceSnapshot,
    Role,
    Statement,
    User,
)
from osler.store import (
    ReviewStore,
    StaleRevision,
    Store,
    Stores,
    UserExists,
    now,
    open_stores,
)

#: The backends every test runs against.
BACKENDS = ["sqlite", "postgresql"]

#: MedQuAD lines of the sample: two CancerGov pairs of one page (merged into one document),
#: and one page each of GARD, Genetics Home Reference and MedlinePlus.
MEDQUAD_LINES = (0, 1, 562, 5951, 11381)
SAMPLE_IDS = [
    "medquad:CancerGov:0000001_1",
    "medquad:GARD:0000004",
    "medquad:GHR:0000001",
    "medquad:MPlusHealthTopics:0000001",
]


def fresh_url(backend: str, where: Path) -> str:
    """The URL of a new, empty store of `backend` (`where` is a fresh folder of the test's)."""
    if backend == "sqlite":
        return f"sqlite:///{where}/osler.sqlite3"
    if backend == "postgresql":
        return pg.running().new_database()  # a new database of the session's server
    raise ValueError(f"no test URL for backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")  # started once, on first use
        yield "postgresql"
        server.drop_created()
        return
    yield str(request.param)


@pytest.fixture
def stores(backend: str, tmp_path: Path) -> Iterator[Stores]:
    opened = open_stores(fresh_url(backend, tmp_path / "store"))
    yield opened
    opened.close()


@pytest.fixture
def store(stores: Stores) -> Store:
    return stores.corpus


@pytest.fixture
def reviews(stores: Stores) -> ReviewStore:
    return stores.reviews


@pytest.fixture
def medquad(shared: Path, tmp_path: Path) -> Path:
    """A five-line MedQuAD file (four documents) from the shared data."""
    with (shared / "medquad" / "medquad.jsonl").open(encoding="utf-8") as f:
        lines = [line for i, line in enumerate(f) if i in MEDQUAD_LINES]
    path = tmp_path / "medquad.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def sample(store: Store, medquad: Path) -> Store:
    """The store with the MedQuAD sample ingested."""
    summary = ingest(store, [medquad])
    assert (summary.documents, summary.updated, summary.skipped) == (4, 0, [])
    return store


def rich_copy(store: Store, document_id: str, new_id: str) -> tuple[Document, list[Passage]]:
    """A stored document under a new id, with every kind of metadata field filled in."""
    doc = store.get_document(document_id)
    assert doc is not None
    document = doc.model_copy(
        update={
            "id": new_id,
            "pmid": "12345678",
            "doi": "10.1000/xyz",
            "authors": ["Ng A", "Müller B"],
            "journal": "J Test",
            "pub_date": "2021-03",
            "year": 2021,
            "publication_types": ["Review"],
            "mesh_terms": ["Leukemia", "Humans"],
            "audience": Audience.PROFESSIONAL,
            "evidence_level": EvidenceLevel.SYSTEMATIC_REVIEW,
            "evidence_inferred": True,
            "evidence_reason": "cue: systematic review",
            "extra": {"dataset": "test", "focus": "ALL"},
        }
    )
    passages = [
        p.model_copy(
            update={
                "id": f"{new_id}#{p.ordinal}",
                "document_id": new_id,
                "extra": {"page": str(p.ordinal + 1), "cites": "r1,r2"} if p.ordinal % 2 else {},
            }
        )
        for p in store.passages(document_id)
    ]
    return document, passages


def write(store: Store, document: Document, passages: list[Passage], **kw: str) -> str:
    with store.transaction():
        return store.write(document, passages, "test.jsonl", **kw)


# --- the corpus store -------------------------------------------------------------------


def test_write_reports_new_unchanged_and_updated_and_keeps_the_hash(
    sample: Store, medquad: Path
) -> None:
    store = sample
    doc, passages = rich_copy(store, SAMPLE_IDS[0], "copy:1")
    assert store.stored_hash("copy:1") is None
    assert write(store, doc, passages) == "new"
    first = store.stored_hash("copy:1")
    assert first
    assert store.get_document("copy:1") == doc
    assert store.passages("copy:1") == passages
    assert write(store, doc, passages) == "unchanged"
    assert store.stored_hash("copy:1") == first
    # changed text and fewer passages: updated in place, under the same id, old passages gone
    changed = doc.model_copy(update={"title": "A new title", "text": doc.text.upper()})
    kept = [p.model_copy(update={"text": p.text.upper()}) for p in passages[:3]]
    assert write(store, changed, kept) == "updated"
    assert store.stored_hash("copy:1") not in (None, first)
    assert store.get_document("copy:1") == changed
    assert store.passages("copy:1") == kept
    assert store.get_passage(passages[-1].id) is None
    assert store.document_ids().count("copy:1") == 1
    # a caller's digest identifies the content: the same digest is left alone
    assert write(store, doc, passages, digest="d1") == "updated"
    assert store.stored_hash("copy:1") == "d1"
    assert write(store, changed, kept, digest="d1") == "unchanged"
    assert store.get_document("copy:1") == doc
    # ingest stores the parser's digest: the same file again changes nothing
    hashes = [store.stored_hash(d) for d in SAMPLE_IDS]
    again = ingest(store, [medquad])
    assert (again.documents, again.updated, again.unchanged) == (0, 0, 4)
    assert [store.stored_hash(d) for d in SAMPLE_IDS] == hashes


def test_reads_return_what_was_written(sample: Store) -> None:
    store = sample
    doc, passages = rich_copy(store, SAMPLE_IDS[1], "copy:2")
    write(store, doc, passages)
    assert store.get_document("copy:2") == doc
    assert store.get_document("no-such-id") is None
    assert store.get_passage(passages[1].id) == passages[1]
    assert store.get_passage("no-such-passage") is None
    assert store.passages("no-such-id") == []
    # passages of a document come in ordinal order and point into its text
    for doc_id in SAMPLE_IDS:
        stored = store.get_document(doc_id)
        got = store.passages(doc_id)
        assert stored is not None and got
        assert [p.ordinal for p in got] == sorted(p.ordinal for p in got)
        assert all(p.document_id == doc_id for p in got)
        assert all(stored.text[p.start : p.end] == p.text for p in got)
    # get_passages: by id, unknown ids left out, any number of ids
    everything = [p for doc_id in [*SAMPLE_IDS, "copy:2"] for p in store.passages(doc_id)]
    unknown = [f"unknown-{i}" for i in range(1200)]
    wanted = unknown[:600] + [p.id for p in everything] + unknown[600:]
    assert store.get_passages(wanted) == {p.id: p for p in everything}
    assert store.get_passages([]) == {}
    assert store.get_passages([passages[0].id, "x"]) == {passages[0].id: passages[0]}
    # iter_passages: every passage once, in storage (write) order, whatever the batch size
    for batch in (1, 7, 5000):
        assert list(store.iter_passages(batch=batch)) == everything
    # document_ids: in no particular order
    assert sorted(store.document_ids()) == sorted([*SAMPLE_IDS, "copy:2"])
    assert sorted(store.document_ids(source="GARD (NIH)")) == ["copy:2", "medquad:GARD:0000004"]
    assert store.document_ids(source="no such source") == []


def test_iter_documents_passages_groups_passages_with_the_indexed_title(sample: Store) -> None:
    store = sample
    doc, passages = rich_copy(store, SAMPLE_IDS[2], "copy:untitled")
    write(store, doc.model_copy(update={"extra": {"untitled": "1"}}), passages)
    groups = list(store.iter_documents_passages())
    assert [g[1][0].document_id for g in groups] == [*SAMPLE_IDS, "copy:untitled"]
    for title, group in groups:
        doc_id = group[0].document_id
        assert group == store.passages(doc_id)
        stored = store.get_document(doc_id)
        assert stored is not None
        assert title == ("" if doc_id == "copy:untitled" else stored.title)
    assert groups[0][0] == "Adult Acute Lymphoblastic Leukemia"
    # an updated document moves to the end of storage order (its passages were written anew)
    first = store.get_document(SAMPLE_IDS[0])
    assert first is not None
    write(store, first.model_copy(update={"title": "Adult ALL"}), store.passages(SAMPLE_IDS[0]))
    order = [g[1][0].document_id for g in store.iter_documents_passages()]
    assert order == [*SAMPLE_IDS[1:], "copy:untitled", SAMPLE_IDS[0]]
    assert [p.document_id for p in store.iter_passages()][-1] == SAMPLE_IDS[0]


def test_document_summaries_carry_the_metadata_without_the_text(sample: Store) -> None:
    store = sample
    doc, passages = rich_copy(store, SAMPLE_IDS[0], "copy:3")
    write(store, doc, passages)
    summaries = {d.id: d for d in store.document_summaries()}
    assert sorted(summaries) == sorted([*SAMPLE_IDS, "copy:3"])
    assert all(d.text == "" for d in summaries.values())
    assert summaries["copy:3"] == doc.model_copy(update={"text": ""})
    gard = store.get_document("medquad:GARD:0000004")
    assert gard is not None and gard.text
    assert summaries[gard.id] == gard.model_copy(update={"text": ""})


def test_remove_by_ids_and_by_source_cascades_to_passages(sample: Store) -> None:
    store = sample
    gone = store.passages("medquad:GARD:0000004")
    version = store.corpus_version()
    assert store.remove(ids=["medquad:GARD:0000004", "no-such-id"]) == ["medquad:GARD:0000004"]
    assert store.get_document("medquad:GARD:0000004") is None
    assert store.stored_hash("medquad:GARD:0000004") is None
    assert store.passages("medquad:GARD:0000004") == []
    assert store.get_passage(gone[0].id) is None
    assert store.get_passages([p.id for p in gone]) == {}
    assert store.changes_since(version) == [
        (version + 1, "medquad:GARD:0000004", "delete")
    ]
    # by source, and by ids and source at once: each removed once, in id order
    doc, passages = rich_copy(store, SAMPLE_IDS[2], "copy:ghr")
    write(store, doc.model_copy(update={"source": "Genetics Home Reference"}), passages)
    removed = store.remove(ids=["copy:ghr", "medquad:CancerGov:0000001_1"],
                           source="Genetics Home Reference")
    assert removed == ["copy:ghr", "medquad:CancerGov:0000001_1", "medquad:GHR:0000001"]
    assert store.document_ids() == ["medquad:MPlusHealthTopics:0000001"]
    left = {p.document_id for p in store.iter_passages()}
    assert left == {"medquad:MPlusHealthTopics:0000001"}
    assert [t[0] for t in store.iter_documents_passages()] == ["A1C"]
    assert "Genetics Home Reference" not in store.stats()["by_source"]
    # removing nothing changes nothing
    version = store.corpus_version()
    assert store.remove(ids=["no-such-id"]) == []
    assert store.remove(source="no such source") == []
    assert store.remove() == []
    assert store.corpus_version() == version


def test_remove_a_whole_source_of_a_real_dataset(shared: Path, store: Store) -> None:
    """(moved from test_store.py) MedicationQA: one id, then all 290 DailyMed documents."""
    ingest(store, [shared / "medicationqa" / "medicationqa.jsonl"])
    assert store.remove(ids=["medicationqa:1", "no-such-id"]) == ["medicationqa:1"]
    assert store.get_document("medicationqa:1") is None
    assert store.passages("medicationqa:1") == []
    before = store.stats()
    removed = store.remove(source="DailyMed")
    assert len(removed) == 290
    after = store.stats()
    assert "DailyMed" not in after["by_source"]
    assert after["documents"] == before["documents"] - 290
    assert after["passages"] == before["passages"] - before["by_source"]["DailyMed"]["passages"]
    assert not {p.document_id for p in store.iter_passages()} & set(removed)
    assert store.changes_since(0)[-1][2] == "delete"


def test_change_log_and_corpus_version_grow_monotonically(sample: Store) -> None:
    store = sample
    log = store.changes_since(0)
    assert [c[1:] for c in log] == [(d, "upsert") for d in SAMPLE_IDS]
    assert [c[0] for c in log] == sorted({c[0] for c in log})  # strictly increasing
    assert store.corpus_version() == log[-1][0]
    version = store.corpus_version()
    assert store.changes_since(version) == []
    doc, passages = rich_copy(store, SAMPLE_IDS[3], "copy:4")
    write(store, doc, passages)
    write(store, doc, passages)  # unchanged: not logged
    write(store, doc.model_copy(update={"title": "changed"}), passages)
    store.remove(ids=["copy:4"])
    new = store.changes_since(version)
    assert [c[1:] for c in new] == [
        ("copy:4", "upsert"), ("copy:4", "upsert"), ("copy:4", "delete")
    ]
    seqs = [c[0] for c in [*log, *new]]
    assert seqs == sorted(set(seqs)) and seqs[0] > 0
    assert store.corpus_version() == new[-1][0] > version
    assert store.changes_since(new[0][0]) == new[1:]
    # a sequence number is never reused after a removal
    write(store, doc, passages)
    assert store.changes_since(new[-1][0]) == [(store.corpus_version(), "copy:4", "upsert")]
    assert store.corpus_version() > new[-1][0]


def test_ingest_is_idempotent_and_updates_in_place(shared: Path, store: Store, tmp_path: Path) -> None:
    """(moved from test_store.py) 800 PubMedQA abstracts; one changed, one updated."""
    src = tmp_path / "pqa.json"
    text = (shared / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8")
    src.write_text(text, encoding="utf-8")
    first = ingest(store, [src])
    version = store.corpus_version()
    again = ingest(store, [src])
    assert (again.documents, again.updated, again.passages) == (0, 0, 0)
    assert again.unchanged == first.documents == 800
    assert store.corpus_version() == version
    # change one abstract: that document alone is updated, under the same id
    src.write_text(text.replace("Three-year randomized field trial.", "Four-year trial."), encoding="utf-8")
    third = ingest(store, [src])
    assert (third.documents, third.updated, third.unchanged) == (0, 1, 799)
    doc = store.get_document("pubmedqa:10808977")
    assert doc is not None and "Four-year trial." in doc.text
    assert all(doc.text[p.start : p.end] == p.text for p in store.passages(doc.id))
    assert [c[1:] for c in store.changes_since(version)] == [("pubmedqa:10808977", "upsert")]


def test_transaction_rolls_back_everything_on_an_exception(sample: Store) -> None:
    store = sample
    version, before = store.corpus_version(), store.stats()
    a, a_passages = rich_copy(store, SAMPLE_IDS[0], "copy:a")
    b, b_passages = rich_copy(store, SAMPLE_IDS[1], "copy:b")
    gard = store.get_document("medquad:GARD:0000004")
    gard_hash = store.stored_hash("medquad:GARD:0000004")
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        assert store.write(a, a_passages) == "new"
        assert store.write(b, b_passages) == "new"
        store.write(gard.model_copy(update={"title": "overwritten"}), [])  # type: ignore[union-attr]
        raise RuntimeError("boom")
    for doc_id in ("copy:a", "copy:b"):
        assert store.get_document(doc_id) is None
        assert store.stored_hash(doc_id) is None
        assert store.passages(doc_id) == []
    assert store.get_document("medquad:GARD:0000004") == gard
    assert store.stored_hash("medquad:GARD:0000004") == gard_hash
    assert len(store.passages("medquad:GARD:0000004")) == 5
    assert store.corpus_version() == version
    assert store.changes_since(version) == []
    assert store.stats() == before
    # and the store takes the next transaction
    assert write(store, a, a_passages) == "new"
    assert store.changes_since(version) == [(store.corpus_version(), "copy:a", "upsert")]


def test_transactions_nest_as_savepoints(stores: Stores, medquad: Path) -> None:
    """A transaction inside one, and the write methods that are transactions of their own
    (remove, save_conversation, every editorial write), are savepoints: undone alone when they
    raise, committed or undone with the outer one. Corpus and editorial writes share it."""
    store, reviews = stores
    ingest(store, [medquad])
    version = store.corpus_version()
    a, a_passages = rich_copy(store, SAMPLE_IDS[0], "copy:a")
    b, b_passages = rich_copy(store, SAMPLE_IDS[1], "copy:b")
    with store.transaction():
        assert store.write(a, a_passages) == "new"
        with pytest.raises(RuntimeError, match="inner"), store.transaction():
            assert store.write(b, b_passages) == "new"
            assert store.get_document("copy:b") == b  # seen inside
            raise RuntimeError("inner")
        assert store.get_document("copy:b") is None and store.get_document("copy:a") == a
        assert store.remove(ids=[SAMPLE_IDS[3]]) == [SAMPLE_IDS[3]]
        store.save_conversation("c", [{"q": 1}])
        ed = reviews.add_user("ed", [Role.EDITOR])
        with pytest.raises(UserExists):
            reviews.add_user("ED", [Role.EDITOR])  # refused alone: the outer one goes on
        reviews.create_article(*article_and_version(store, "a1"))
        with pytest.raises(StaleRevision):
            reviews.update_article("a1", 7, {"status": "submitted"}, actor="ed", action="submit")
        reviews.update_article("a1", 1, {"status": "submitted"}, actor="ed", action="submit")
        with reviews.transaction():
            reviews.add_token(ed, "t")
    assert store.get_document("copy:a") == a and store.get_document("copy:b") is None
    assert store.get_document(SAMPLE_IDS[3]) is None
    assert store.changes_since(version) == [
        (version + 1, "copy:a", "upsert"), (version + 2, SAMPLE_IDS[3], "delete")
    ]
    assert store.get_conversation("c") == [{"q": 1}]
    assert reviews.article("a1").revision == 2  # type: ignore[union-attr]
    assert reviews.user_for_token("t") == ed
    assert [e.action for e in reviews.audit()] == ["user_add", "create", "submit", "token_add"]
    # an exception out of the outer transaction undoes everything in it, in both stores
    before = (store.stats(), list(store.iter_passages()), store.changes_since(0),
              reviews.audit(), reviews.users(), reviews.articles())
    with pytest.raises(RuntimeError, match="outer"), store.transaction():
        store.write(b, b_passages)
        store.remove(ids=["copy:a"])
        store.save_conversation("c", [])
        reviews.add_user("rev", [Role.REVIEWER])
        reviews.flag("a1", "why")
        with reviews.transaction():
            store.save_conversation("d", [])
        raise RuntimeError("outer")
    assert (store.stats(), list(store.iter_passages()), store.changes_since(0),
            reviews.audit(), reviews.users(), reviews.articles()) == before
    assert store.get_conversation("c") == [{"q": 1}] and store.get_conversation("d") is None
    # and the next change takes the next number
    write(store, b, b_passages)
    assert store.changes_since(version + 2) == [(version + 3, "copy:b", "upsert")]


def test_conversations_round_trip_and_are_replaced(store: Store) -> None:
    assert store.get_conversation("c1") is None
    turns = [
        {"question": "What is ALL?", "answer": {"title": "Leukämie", "refs": [1, 2]}},
        {"question": "And in children?", "audience": "patient", "n": 2, "ok": True, "x": None},
    ]
    store.save_conversation("c1", turns)
    assert store.get_conversation("c1") == turns
    store.save_conversation("c2", [])
    assert store.get_conversation("c2") == []
    store.save_conversation("c1", turns[:1])
    assert store.get_conversation("c1") == turns[:1]
    assert store.get_conversation("c2") == []
    assert store.get_conversation("C1") is None
    assert store.corpus_version() == 0  # conversations are not corpus changes


def test_stats_count_documents_and_passages_by_key(sample: Store) -> None:
    store = sample
    doc, passages = rich_copy(store, SAMPLE_IDS[0], "copy:5")
    write(store, doc, passages)
    stats = store.stats()
    n = {d: len(store.passages(d)) for d in [*SAMPLE_IDS, "copy:5"]}
    assert (stats["documents"], stats["passages"]) == (5, sum(n.values()))
    assert n["medquad:CancerGov:0000001_1"] == n["copy:5"] > 1
    assert stats["corpus_version"] == store.corpus_version() == 5
    assert isinstance(stats["schema_version"], int) and stats["schema_version"] > 0
    assert stats["path"]
    assert stats["by_dataset"] == {
        "medquad": {"documents": 4, "passages": sum(n[d] for d in SAMPLE_IDS)},
        "test": {"documents": 1, "passages": n["copy:5"]},
    }
    assert stats["by_source"] == {
        "GARD (NIH)": {"documents": 1, "passages": n["medquad:GARD:0000004"]},
        "Genetics Home Reference": {"documents": 1, "passages": n["medquad:GHR:0000001"]},
        "MedlinePlus": {"documents": 1, "passages": n["medquad:MPlusHealthTopics:0000001"]},
        "cancer.gov PDQ": {"documents": 2, "passages": 2 * n["copy:5"]},
    }
    assert stats["by_source_type"] == {
        "consumer-health": {"documents": 5, "passages": stats["passages"]}
    }
    assert stats["by_evidence_level"] == {
        "2-systematic-review": {"documents": 1, "passages": n["copy:5"]},
        "patient-education": {"documents": 4, "passages": sum(n[d] for d in SAMPLE_IDS)},
    }
    assert stats["by_audience"] == {
        "consumer": {"documents": 4, "passages": sum(n[d] for d in SAMPLE_IDS)},
        "professional": {"documents": 1, "passages": n["copy:5"]},
    }
    assert stats["evidence_inferred"] == 1
    json.dumps(stats)  # served as JSON by `osler stats --json` and /api/stats


def test_stats_of_a_real_pubmed_sample(shared: Path, store: Store) -> None:
    """(moved from test_store.py) PubMed XML: counts add up, the NEJM trial is an RCT."""
    empty = store.stats()
    assert (empty["documents"], empty["passages"], empty["corpus_version"]) == (0, 0, 0)
    ingest(store, [shared / "pubmed_xml_samples"])
    stats = store.stats()
    assert stats["documents"] == sum(v["documents"] for v in stats["by_source"].values())
    assert stats["passages"] == sum(v["passages"] for v in stats["by_evidence_level"].values())
    assert set(stats["by_audience"]) == {"professional"}
    assert stats["by_evidence_level"]["3-rct"]["documents"] >= 1  # the NEJM budesonide trial


def test_reopening_keeps_everything(backend: str, tmp_path: Path, medquad: Path) -> None:
    url = fresh_url(backend, tmp_path / "again")
    first = open_stores(url)
    ingest(first.corpus, [medquad])
    first.corpus.save_conversation("c", [{"q": 1}])
    first.reviews.add_user("ed", [Role.EDITOR])
    before = (first.corpus.stats(), list(first.corpus.iter_passages()), first.reviews.audit())
    first.close()
    second = open_stores(url)
    try:
        assert second.corpus.url == first.corpus.url
        assert (second.corpus.stats(), list(second.corpus.iter_passages()),
                second.reviews.audit()) == before
        assert second.corpus.get_conversation("c") == [{"q": 1}]
        assert [u.name for u in second.reviews.users()] == ["ed"]
        assert ingest(second.corpus, [medquad]).unchanged == 4
    finally:
        second.close()


def test_copy_to_gives_an_identical_independent_store(
    backend: str, stores: Stores, medquad: Path, tmp_path: Path
) -> None:
    store, reviews = stores
    ingest(store, [medquad])
    store.save_conversation("c", [{"question": "What is A1C?"}])
    ed = reviews.add_user("ed", [Role.EDITOR], "MD")
    reviews.add_token(ed, "token-hash")
    article, version = article_and_version(store, "a1")
    reviews.create_article(article, version)
    url = fresh_url(backend, tmp_path / "copy")
    store.copy_to(url)
    copy = open_stores(url)

    def state(s: Stores) -> tuple[object, ...]:
        corpus, rev = s
        stats = {k: v for k, v in corpus.stats().items() if k != "path"}
        return (
            stats,
            [corpus.get_document(d) for d in corpus.document_ids()],
            list(corpus.iter_passages()),
            [(corpus.stored_hash(d)) for d in corpus.document_ids()],
            corpus.changes_since(0),
            corpus.get_conversation("c"),
            rev.users(),
            rev.user_for_token("token-hash"),
            rev.articles(),
            rev.versions("a1"),
            rev.audit(),
        )

    try:
        assert copy.corpus.url == url != store.url
        original = state(stores)
        assert state(copy) == original
        assert original[0]["documents"] == 4  # type: ignore[index]
        # independent: a write to one is not seen by the other
        copy.corpus.remove(ids=[SAMPLE_IDS[0]])
        copy.reviews.add_user("rev", [Role.REVIEWER])
        assert state(stores) == original
        store.save_conversation("c", [])
        assert copy.corpus.get_conversation("c") == [{"question": "What is A1C?"}]
        assert copy.corpus.get_document(SAMPLE_IDS[0]) is None
        assert store.get_document(SAMPLE_IDS[0]) is not None
    finally:
        copy.close()


# --- the editorial store ----------------------------------------------------------------


def test_add_user_refuses_a_name_equal_after_case_and_nfkc(reviews: ReviewStore) -> None:
    zed = reviews.add_user("Zed", [Role.EDITOR, Role.REVIEWER], "MD, PhD")
    assert (zed.name, zed.roles, zed.credentials, zed.active) == (
        "Zed", [Role.EDITOR, Role.REVIEWER], "MD, PhD", True
    )
    assert isinstance(zed.id, int)
    log = reviews.audit()
    for twin in ("zed", "ZED", "ｚｅｄ", "Ｚｅｄ", " zed "):
        with pytest.raises(UserExists):
            reviews.add_user(twin, [Role.READER])
    assert reviews.users() == [zed]
    assert reviews.audit() == log
    # the stored spelling is found under any equal name
    assert reviews.user("ｚｅｄ") == zed
    assert reviews.user("zed") == zed
    assert reviews.user("zoe") is None
    amy = reviews.add_user("amy", [Role.ADMIN])
    assert amy.id != zed.id and amy.credentials == ""
    assert [u.name for u in reviews.users()] == ["Zed", "amy"]  # by stored name
    assert [(e.action, e.actor, e.article_id) for e in reviews.audit()] == [
        ("user_add", "system", None), ("user_add", "system", None)
    ]


def test_update_user_changes_only_what_is_given(reviews: ReviewStore) -> None:
    ed = reviews.add_user("Ed", [Role.EDITOR], "RN")
    after = reviews.update_user("ed", roles=[Role.EDITOR, Role.ADMIN], actor="boss")
    assert after is not None
    assert (after.id, after.name, after.roles, after.credentials, after.active) == (
        ed.id, "Ed", [Role.EDITOR, Role.ADMIN], "RN", True
    )
    assert reviews.user("Ed") == after
    assert reviews.update_user("ED", credentials="RN, MSc").credentials == "RN, MSc"  # type: ignore[union-attr]
    off = reviews.update_user("Ed", active=False)
    assert off is not None and off.active is False and off.roles == after.roles
    entries = reviews.audit()
    assert [(e.action, e.actor) for e in entries] == [
        ("user_add", "system"), ("user_update", "boss"), ("user_update", "system"),
        ("user_update", "system"),
    ]
    assert entries[1].comment == "Ed: roles"
    # nothing to change, or nobody to change: nothing written
    assert reviews.update_user("Ed") == off
    assert reviews.update_user("nobody", roles=[Role.ADMIN]) is None
    assert reviews.user("nobody") is None
    assert reviews.audit() == entries


def test_password_hash_is_given_only_for_active_users(reviews: ReviewStore) -> None:
    reviews.add_user("pat", [Role.EDITOR], password_hash="$argon2id$first")
    reviews.add_user("kim", [Role.EDITOR])
    assert reviews.password_hash("pat") == "$argon2id$first"
    assert reviews.password_hash("PAT") == "$argon2id$first"
    assert reviews.password_hash("kim") is None
    assert reviews.password_hash("nobody") is None
    reviews.update_user("pat", password_hash="$argon2id$second")
    assert reviews.password_hash("pat") == "$argon2id$second"
    assert reviews.audit()[-1].comment == "pat: password"  # the hash is never logged
    reviews.update_user("pat", active=False)
    assert reviews.password_hash("pat") is None
    reviews.update_user("pat", active=True)
    assert reviews.password_hash("pat") == "$argon2id$second"


def test_tokens_and_sessions_belong_to_active_users(reviews: ReviewStore) -> None:
    ed = reviews.add_user("ed", [Role.EDITOR])
    rev = reviews.add_user("rev", [Role.REVIEWER])
    reviews.add_token(ed, "hash-ed", "laptop")
    reviews.add_token(rev, "hash-rev")
    assert reviews.user_for_token("hash-ed") == ed
    assert reviews.user_for_token("hash-rev") == rev
    assert reviews.user_for_token("hash-other") is None
    assert [(e.action, e.comment) for e in reviews.audit()[-2:]] == [
        ("token_add", "ed: laptop"), ("token_add", "rev")
    ]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    reviews.add_session("s-ed", ed, "csrf-ed", later)
    reviews.add_session("s-rev", rev, "csrf-rev", later)
    reviews.add_session("s-old", ed, "csrf-old", earlier)
    assert reviews.session("s-ed") == (ed, "csrf-ed")
    assert reviews.session("s-rev") == (rev, "csrf-rev")
    assert reviews.session("s-old") is None  # expired
    assert reviews.session("s-none") is None
    reviews.end_session("s-ed")
    assert reviews.session("s-ed") is None
    assert reviews.session("s-rev") == (rev, "csrf-rev")
    reviews.end_session("s-none")  # ending an unknown session is no error
    # deactivating a user ends what their token and sessions open, reactivating restores it
    reviews.update_user("rev", active=False)
    assert reviews.user_for_token("hash-rev") is None
    assert reviews.session("s-rev") is None
    reviews.update_user("rev", active=True)
    assert reviews.user_for_token("hash-rev") == rev
    assert reviews.session("s-rev") == (rev, "csrf-rev")


def answer_for(store: Store, question: str, audience: str = "clinician") -> Answer:
    """A small answer citing the first passage of the leukemia page (or, in an empty store, a
    made-up one: the editorial store does not check references)."""
    passages = store.passages(SAMPLE_IDS[0])
    p = passages[0] if passages else Passage(
        id="x#0", document_id="x", section="", ordinal=0, text="Text.", start=0, end=5
    )
    ref = Reference(
        n=1, document_id=p.document_id, passage_id=p.id, title="Adult ALL", source="PDQ",
        evidence_level=EvidenceLevel.PATIENT_EDUCATION, quote=p.text, start=p.start, end=p.end,
    )
    return Answer(
        question=question, standalone_question=question, audience=audience,
        question_type="definition", title=question.rstrip("?"),
        bottom_line=Statement(text=p.text, citations=[1]), references=[ref], corpus_version=4,
    )


def article_and_version(
    store: Store,
    article_id: str,
    question: str = "What is adult ALL?",
    audience: str = "clinician",
    author: str = "ed",
) -> tuple[Article, ArticleVersion]:
    answer = answer_for(store, question, audience)
    stamp = now()
    article = Article(
        id=article_id, question=question, normalized_question=question.lower().rstrip("?"),
        audience=audience, status=ArticleStatus.DRAFT, revision=1, latest_version=1,
        created_by=author, created_at=stamp, updated_at=stamp,
    )
    version = ArticleVersion(
        article_id=article_id, number=1, answer=answer,
        references=[ReferenceSnapshot(n=1, document_id=answer.references[0].document_id,
                                      passage_id=answer.references[0].passage_id,
                                      quote=answer.references[0].quote,
                                      evidence_level="patient-education")],
        corpus_version=4, author=author, comment="created", diff="+ new", created_at=stamp,
    )
    return article, version


def next_version(store: Store, previous: ArticleVersion, author: str) -> ArticleVersion:
    answer = previous.answer.model_copy(
        update={"bottom_line": Statement(text="Edited.", citations=[1])}
    )
    return previous.model_copy(
        update={"number": previous.number + 1, "answer": answer, "author": author,
                "comment": "edited", "diff": "- old\n+ Edited.", "created_at": now()}
    )


def test_create_article_and_read_it_back(sample: Store, reviews: ReviewStore) -> None:
    article, version = article_and_version(sample, "a1")
    created = reviews.create_article(article, version)
    assert created == article
    assert reviews.article("a1") == article
    assert reviews.article("a2") is None
    assert reviews.version("a1", 1) == version
    assert reviews.version("a1", 1).answer.references[0].quote == sample.passages(SAMPLE_IDS[0])[0].text  # type: ignore[union-attr]
    assert reviews.version("a1", 2) is None
    assert reviews.version("a2", 1) is None
    assert reviews.versions("a1") == [version]
    assert reviews.versions("a2") == []
    assert reviews.approvals("a1", 1) == [] and reviews.approvers("a1", 1) == []
    [entry] = reviews.audit("a1")
    assert (entry.actor, entry.action, entry.from_status, entry.to_status, entry.version,
            entry.comment) == ("ed", "create", None, "draft", 1, "created")


def test_articles_filter_and_find(sample: Store, reviews: ReviewStore) -> None:
    ed = reviews.add_user("ed", [Role.EDITOR])
    rev = reviews.add_user("rev", [Role.REVIEWER])
    made = {}
    for article_id, question, audience in (
        ("c1", "What is adult ALL?", "clinician"),
        ("p1", "What is adult ALL?", "patient"),
        ("c2", "What is A1C?", "clinician"),
        ("c3", "What is adult ALL?", "clinician"),
    ):
        made[article_id] = reviews.create_article(
            *article_and_version(sample, article_id, question, audience)
        )
    # c1 approved (served), c3 approved then archived, p1 submitted, c2 approved and flagged
    for article_id in ("c1", "c3", "c2"):
        a = made[article_id]
        made[article_id] = reviews.update_article(
            a.id, a.revision,
            {"status": "approved", "approved_version": 1, "approved_at": now()},
            actor="rev", action="approve", approval_by=rev.id,
        )
    a = made["c3"]
    made["c3"] = reviews.update_article(a.id, a.revision, {"status": "archived"},
                                        actor="ed", action="archive")
    a = made["p1"]
    made["p1"] = reviews.update_article(a.id, a.revision, {"status": "submitted"},
                                        actor="ed", action="submit")
    reviews.flag("c2", "a guideline was added")
    made["c2"] = reviews.article("c2")  # type: ignore[assignment]

    def ids(found: list[Article]) -> list[str]:
        return sorted(a.id for a in found)

    everything = reviews.articles()
    assert ids(everything) == ["c1", "c2", "c3", "p1"]
    assert all(a == made[a.id] for a in everything)
    stamps = [a.updated_at for a in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest change first
    assert ids(reviews.articles("approved")) == ["c1", "c2"]
    assert ids(reviews.articles("submitted")) == ["p1"]
    assert ids(reviews.articles("draft")) == []
    assert ids(reviews.articles(audience="patient")) == ["p1"]
    assert ids(reviews.articles(audience="clinician", served=True)) == ["c1", "c2"]
    assert ids(reviews.articles(served=True)) == ["c1", "c2"]  # archived c3 is not served
    assert ids(reviews.articles(flagged=True)) == ["c2"]
    assert ids(reviews.articles("approved", audience="patient")) == []
    assert ids(reviews.find("what is adult all", "clinician")) == ["c1", "c3"]
    assert ids(reviews.find("what is adult all", "patient")) == ["p1"]
    assert reviews.find("what is adult all", "student") == []
    assert reviews.find("What is adult ALL?", "clinician") == []  # the normalized form only
    assert [u.name for u in reviews.approvers("c1", 1)] == ["rev"]
    assert ed.id not in reviews.approvals("c1", 1)


def test_update_article_with_the_right_revision(sample: Store, reviews: ReviewStore) -> None:
    ed = reviews.add_user("ed", [Role.EDITOR])
    r1 = reviews.add_user("r1", [Role.REVIEWER], "MD")
    r2 = reviews.add_user("r2", [Role.REVIEWER])
    article, v1 = article_and_version(sample, "a1", author=ed.name)
    a = reviews.create_article(article, v1)
    a = reviews.update_article("a1", 1, {"status": "submitted"}, actor="ed", action="submit",
                               comment="ready")
    assert (a.status, a.revision, a.latest_version) == (ArticleStatus.SUBMITTED, 2, 1)
    assert a.updated_at >= article.updated_at and a.created_at == article.created_at
    v2 = next_version(sample, v1, "ed")
    a = reviews.update_article("a1", 2, {"status": "draft", "latest_version": 2}, actor="ed",
                               action="edit", comment="edited", version=v2)
    assert (a.status, a.revision, a.latest_version) == (ArticleStatus.DRAFT, 3, 2)
    assert reviews.versions("a1") == [v1, v2]
    assert reviews.version("a1", 2) == v2
    # approvals are recorded for the latest version, in the order given
    a = reviews.update_article("a1", 3, {"status": "under_review"}, actor="r1", action="start")
    a = reviews.update_article("a1", 4, {}, actor="r2", action="approve", approval_by=r2.id)
    a = reviews.update_article("a1", 5, {"status": "approved", "approved_version": 2,
                                         "approved_at": now(), "needs_re_review": 0},
                               actor="r1", action="approve", approval_by=r1.id)
    assert (a.status, a.revision, a.approved_version) == (ArticleStatus.APPROVED, 6, 2)
    assert a.approved_at and a.needs_re_review is False
    assert sorted(reviews.approvals("a1", 2)) == sorted([r2.id, r1.id])  # in no set order
    assert reviews.approvers("a1", 2) == [r2, r1]  # in the order they approved
    assert reviews.approvals("a1", 1) == []
    assert reviews.article("a1") == a
    trail = [(e.actor, e.action, e.from_status, e.to_status, e.version, e.comment)
             for e in reviews.audit("a1")]
    assert trail == [
        ("ed", "create", None, "draft", 1, "created"),
        ("ed", "submit", "draft", "submitted", 1, "ready"),
        ("ed", "edit", "submitted", "draft", 2, "edited"),
        ("r1", "start", "draft", "under_review", 2, ""),
        ("r2", "approve", "under_review", "under_review", 2, ""),
        ("r1", "approve", "under_review", "approved", 2, ""),
    ]


def test_a_stale_revision_is_refused_and_nothing_is_written(
    sample: Store, reviews: ReviewStore
) -> None:
    rev = reviews.add_user("rev", [Role.REVIEWER])
    article, v1 = article_and_version(sample, "a1")
    reviews.create_article(article, v1)
    current = reviews.update_article("a1", 1, {"status": "submitted"}, actor="ed",
                                     action="submit")
    log, versions = reviews.audit(), reviews.versions("a1")
    with pytest.raises(StaleRevision, match="changed by someone else") as refused:
        reviews.update_article(
            "a1", 1, {"status": "approved", "approved_version": 2}, actor="rev",
            action="approve", version=next_version(sample, v1, "rev"), approval_by=rev.id,
        )
    assert refused.value.actual == 2
    assert reviews.article("a1") == current
    assert reviews.versions("a1") == versions == [v1]
    assert reviews.approvals("a1", 1) == [] and reviews.approvals("a1", 2) == []
    assert reviews.audit() == log
    with pytest.raises(StaleRevision):
        reviews.update_article("a1", 3, {"status": "draft"}, actor="ed", action="edit")
    with pytest.raises(KeyError):
        reviews.update_article("no-such", 1, {"status": "draft"}, actor="ed", action="edit")
    assert reviews.audit() == log
    # the current revision still works
    assert reviews.update_article("a1", 2, {}, actor="ed", action="touch").revision == 3


def test_flag_marks_an_article_for_re_review(sample: Store, reviews: ReviewStore) -> None:
    article, v1 = article_and_version(sample, "a1")
    reviews.create_article(article, v1)
    approved = reviews.update_article("a1", 1, {"status": "approved", "approved_version": 1},
                                      actor="rev", action="approve")
    reviews.flag("a1", "a source was removed")
    flagged = reviews.article("a1")
    assert flagged is not None
    assert (flagged.needs_re_review, flagged.re_review_reason, flagged.revision) == (
        True, "a source was removed", approved.revision + 1
    )
    assert (flagged.status, flagged.approved_version) == (ArticleStatus.APPROVED, 1)
    last = reviews.audit("a1")[-1]
    assert (last.actor, last.action, last.comment) == ("system", "flag_re_review",
                                                        "a source was removed")
    assert [a.id for a in reviews.articles(flagged=True)] == ["a1"]
    # a flagged article is changed at its new revision only
    with pytest.raises(StaleRevision):
        reviews.update_article("a1", approved.revision, {"needs_re_review": 0}, actor="rev",
                               action="approve")
    cleared = reviews.update_article("a1", flagged.revision,
                                     {"needs_re_review": 0, "re_review_reason": None},
                                     actor="rev", action="approve")
    assert (cleared.needs_re_review, cleared.re_review_reason) == (False, None)
    assert reviews.articles(flagged=True) == []


def test_audit_is_append_only_and_in_order(sample: Store, reviews: ReviewStore) -> None:
    ed = reviews.add_user("ed", [Role.EDITOR])
    reviews.add_token(ed, "t")
    for article_id in ("a1", "a2"):
        reviews.create_article(*article_and_version(sample, article_id))
    before = reviews.audit()
    assert [(e.action, e.article_id) for e in before] == [
        ("user_add", None), ("token_add", None), ("create", "a1"), ("create", "a2")
    ]
    for n in range(1, 6):
        reviews.update_article("a1", n, {}, actor="ed", action=f"step{n}")
    reviews.flag("a2", "why")
    after = reviews.audit()
    assert after[: len(before)] == before  # nothing earlier changed
    seqs = [e.seq for e in after]
    assert seqs == sorted(set(seqs))
    assert [e.action for e in after[len(before):]] == [
        "step1", "step2", "step3", "step4", "step5", "flag_re_review"
    ]
    assert all(e.at for e in after)
    assert [e.action for e in reviews.audit("a1")] == [
        "create", "step1", "step2", "step3", "step4", "step5"
    ]
    assert [e.action for e in reviews.audit("a2")] == ["create", "flag_re_review"]
    assert reviews.audit("no-such") == []
    # a limit keeps the latest entries, still oldest first
    assert reviews.audit(limit=3) == after[-3:]
    assert reviews.audit("a1", limit=2) == reviews.audit("a1")[-2:]
    assert reviews.audit(limit=1000) == after


# --- several writers at once (each with stores of its own, as separate processes have) ---


def test_two_reviewers_at_once_never_lose_an_update(backend: str, tmp_path: Path) -> None:
    url = fresh_url(backend, tmp_path / "shared")
    first, second = open_stores(url), open_stores(url)
    try:
        r1 = first.reviews.add_user("r1", [Role.REVIEWER])
        r2 = first.reviews.add_user("r2", [Role.REVIEWER])
        article, v1 = article_and_version(first.corpus, "a1")
        first.reviews.create_article(article, v1)
        for revision in range(1, 6):  # five rounds, each a race of two
            latest = first.reviews.versions("a1")[-1]
            barrier = threading.Barrier(2)
            outcomes: dict[str, Article | StaleRevision] = {}

            def review(name: str, reviews: ReviewStore, reviewer: User, revision: int = revision,
                       latest: ArticleVersion = latest, barrier: threading.Barrier = barrier,
                       outcomes: dict[str, Article | StaleRevision] = outcomes) -> None:
                barrier.wait()
                try:
                    outcomes[name] = reviews.update_article(
                        "a1", revision, {"latest_version": latest.number + 1}, actor=name,
                        action="edit", version=next_version(first.corpus, latest, name),
                        approval_by=reviewer.id,
                    )
                except StaleRevision as exc:
                    outcomes[name] = exc

            threads = [
                threading.Thread(target=review, args=("r1", first.reviews, r1)),
                threading.Thread(target=review, args=("r2", second.reviews, r2)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            won = [n for n, o in outcomes.items() if isinstance(o, Article)]
            lost = [o for o in outcomes.values() if isinstance(o, StaleRevision)]
            assert len(won) == 1 and len(lost) == 1, outcomes
            assert lost[0].actual == revision + 1  # the loser saw the winner's revision
            after = second.reviews.article("a1")
            assert after is not None and after.revision == revision + 1
            assert [v.author for v in first.reviews.versions("a1")][-1] == won[0]
            assert [u.name for u in first.reviews.approvers("a1", latest.number)] == won
        assert [v.number for v in second.reviews.versions("a1")] == [1, 2, 3, 4, 5, 6]
        assert [e.action for e in second.reviews.audit("a1")] == ["create"] + ["edit"] * 5
        # two equal names added at once: one is refused
        barrier = threading.Barrier(2)
        added: list[object] = []

        def add(reviews: ReviewStore, name: str) -> None:
            barrier.wait()
            try:
                added.append(reviews.add_user(name, [Role.EDITOR]))
            except UserExists as exc:
                added.append(exc)

        threads = [threading.Thread(target=add, args=(s.reviews, n))
                   for s, n in ((first, "Kim"), (second, "kim"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(type(x).__name__ for x in added) == ["User", "UserExists"]
        assert [u.name for u in first.reviews.users()].count("Kim") + [
            u.name for u in first.reviews.users()].count("kim") == 1
    finally:
        second.close()
        first.close()


def test_concurrent_writers_leave_a_change_log_a_reader_follows(
    backend: str, tmp_path: Path, medquad: Path
) -> None:
    """Three writers, each holding its transaction open a while; a reader that follows
    changes_since(last seen) meanwhile misses none, sees each once, in order, without gaps."""
    url = fresh_url(backend, tmp_path / "shared")
    main = open_stores(url)
    ingest(main.corpus, [medquad])
    work = {
        k: [rich_copy(main.corpus, SAMPLE_IDS[(k + i) % 4], f"w{k}:{i}") for i in range(8)]
        for k in range(3)
    }
    writers = [open_stores(url) for _ in work]
    reader = open_stores(url)
    start = reader.corpus.corpus_version()
    seen: list[tuple[int, str, str]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def write_all(k: int, store: Store) -> None:
        try:
            for i, (doc, passages) in enumerate(work[k]):
                with store.transaction():
                    store.write(doc, passages)
                    if i % 3 == 2:
                        store.remove(ids=[f"w{k}:{i - 1}"])
                    time.sleep(0.004 * (1 + (7 * k + 3 * i) % 5))  # others overtake it
        except BaseException as exc:  # reported below
            errors.append(exc)

    def follow() -> None:
        last = start
        while True:
            finished = done.is_set()
            new = reader.corpus.changes_since(last)
            seen.extend(new)
            last = new[-1][0] if new else last
            if finished:
                return
            time.sleep(0.002)

    try:
        following = threading.Thread(target=follow)
        following.start()
        threads = [threading.Thread(target=write_all, args=(k, s.corpus))
                   for k, s in zip(work, writers, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        following.join()
        assert errors == []
        log = main.corpus.changes_since(start)
        assert seen == log
        assert [c[0] for c in log] == list(range(start + 1, start + 1 + 3 * (8 + 2)))
        assert sorted(c[1] for c in log if c[2] == "delete") == sorted(
            f"w{k}:{i}" for k in work for i in (1, 4)
        )
        # every document's passages stay together in storage order
        groups = [g[0].document_id for _, g in main.corpus.iter_documents_passages()]
        assert len(groups) == len(set(groups)) == 4 + 3 * 6
        assert all(g == main.corpus.passages(g[0].document_id)
                   for _, g in main.corpus.iter_documents_passages())
    finally:
        for s in [*writers, reader, main]:
            s.close()
