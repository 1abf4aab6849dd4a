"""The SQLite store: schema, WAL, idempotent writes, in-place updates, removal, change log."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from osler.ingest.pipeline import ingest
from osler.store import Store, open_store
from osler.store.migrations import MIGRATIONS


def test_store_is_wal_with_foreign_keys_and_recorded_migrations(store: Store) -> None:
    db: sqlite3.Connection = store.db  # type: ignore[attr-defined]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    applied = [r[0] for r in db.execute("SELECT name FROM _osler_migrations ORDER BY rowid")]
    assert applied == [name for name, _ in MIGRATIONS]


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    s = open_store(tmp_path)
    assert s.stats()["schema_version"] == len(MIGRATIONS)
    s.close()


def test_ingest_is_idempotent_and_updates_in_place(shared: Path, store: Store, tmp_path: Path) -> None:
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


def test_remove_by_id_and_by_source_cascades_to_passages(shared: Path, store: Store) -> None:
    ingest(store, [shared / "medicationqa" / "medicationqa.jsonl"])
    assert store.remove(ids=["medicationqa:1", "no-such-id"]) == ["medicationqa:1"]
    assert store.get_document("medicationqa:1") is None
    assert store.passages("medicationqa:1") == []
    removed = store.remove(source="DailyMed")
    assert len(removed) == 290
    assert "DailyMed" not in store.stats()["by_source"]
    db: sqlite3.Connection = store.db  # type: ignore[attr-defined]
    orphans = db.execute(
        "SELECT COUNT(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)"
    ).fetchone()[0]
    assert orphans == 0
    assert store.changes_since(0)[-1][2] == "delete"


def test_stats_count_by_source_level_and_audience(shared: Path, store: Store) -> None:
    ingest(store, [shared / "pubmed_xml_samples"])
    stats = store.stats()
    assert stats["documents"] == sum(v["documents"] for v in stats["by_source"].values())
    assert stats["passages"] == sum(v["passages"] for v in stats["by_evidence_level"].values())
    assert set(stats["by_audience"]) == {"professional"}
    assert stats["by_evidence_level"]["3-rct"]["documents"] >= 1  # the NEJM budesonide trial


def test_each_thread_writes_in_its_own_transaction(store: Store) -> None:
    """A transaction on one thread is invisible to the others until it commits, a write on
    another thread waits for it, and its rollback takes nothing of theirs (the web app's
    requests run on many threads)."""
    inside, finish = threading.Event(), threading.Event()

    def rolled_back() -> None:
        with contextlib.suppress(RuntimeError), store.transaction():
            store.db.execute(  # type: ignore[attr-defined]
                "INSERT INTO conversations (id, turns, created_at, updated_at) "
                "VALUES ('a', '[]', '', '')"
            )
            inside.set()
            finish.wait(10)
            raise RuntimeError("rolled back")

    first = threading.Thread(target=rolled_back)
    first.start()
    assert inside.wait(10)
    assert store.get_conversation("a") is None  # not committed: not seen from this thread
    second = threading.Thread(target=store.save_conversation, args=("b", [{"n": 1}]))
    second.start()  # waits for the first thread's write lock
    finish.set()
    first.join(10)
    second.join(10)
    assert store.get_conversation("a") is None and store.get_conversation("b") == [{"n": 1}]
