"""The SQLite backend's own tests: WAL, foreign keys, recorded migrations, SQL-level cascades.

What every backend must do (writes, reads, removal, change log, conversations, stats, copies,
the editorial store) is tested against the protocol in tests/test_store_protocol.py; the
append-only triggers of the editorial tables are tested in tests/test_review.py.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from osler.ingest.pipeline import ingest
from osler.store import Store, open_store, store_url
from osler.store.migrations import MIGRATIONS
from osler.store.sqlite import SQLiteStore, path_of


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


def test_a_data_dir_names_its_sqlite_file(tmp_path: Path) -> None:
    url = store_url(tmp_path)
    assert url == f"sqlite:///{tmp_path / SQLiteStore.FILENAME}"
    assert path_of(url) == tmp_path / SQLiteStore.FILENAME
    s = open_store(tmp_path)
    assert s.url == url and s.stats()["path"] == str(tmp_path / SQLiteStore.FILENAME)
    s.close()


def test_removal_leaves_no_passage_row_behind(shared: Path, store: Store) -> None:
    """Passages go with their document through the foreign key's ON DELETE CASCADE."""
    ingest(store, [shared / "medicationqa" / "medicationqa.jsonl"])
    assert store.remove(ids=["medicationqa:1"]) == ["medicationqa:1"]
    assert len(store.remove(source="DailyMed")) == 290
    db: sqlite3.Connection = store.db  # type: ignore[attr-defined]
    orphans = db.execute(
        "SELECT COUNT(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)"
    ).fetchone()[0]
    assert orphans == 0
    assert db.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == store.stats()["passages"] > 0


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
