"""The embedded store: one SQLite file in WAL mode. All SQL of Osler lives in this package.

Each thread talks to the file through its own connection (`SQLiteStore.db`), so SQLite itself
keeps concurrent requests of the web app apart: a write transaction (BEGIN IMMEDIATE ... COMMIT)
holds the file's write lock while the others wait for it (busy_timeout), and a reader sees the
last committed state, never another thread's half-done transaction. One connection shared by
threads would put their statements into each other's transactions.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from osler.models import Document, Passage
from osler.store.base import DOCUMENT_COLUMNS, JSON_COLUMNS, WriteResult, content_hash
from osler.store.migrations import migrate, schema_version

SCHEME = "sqlite:///"


def path_of(url: str) -> Path:
    """The file a sqlite:///PATH URL names."""
    if not url.startswith(SCHEME):
        raise ValueError(f"not a SQLite store URL: {url!r} (expected {SCHEME}PATH)")
    return Path(url[len(SCHEME) :]).expanduser()


_DOC_COLUMNS = DOCUMENT_COLUMNS
_JSON_COLUMNS = JSON_COLUMNS

#: The thread holding each connection's open transaction (by id of the connection).
_holders: dict[int, int] = {}
_savepoints = itertools.count(1)


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken at once (BEGIN IMMEDIATE): committed whole or rolled back.

    Transactions nest: inside one this thread holds, it is a savepoint, rolled back alone on
    an exception (which still propagates) and committed with the outer one."""
    me = threading.get_ident()
    if db.in_transaction and _holders.get(id(db)) == me:
        name = f"osler_{next(_savepoints)}"
        db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            db.execute(f"ROLLBACK TO {name}")
            db.execute(f"RELEASE {name}")
            raise
        db.execute(f"RELEASE {name}")
        return
    db.execute("BEGIN IMMEDIATE")
    _holders[id(db)] = me
    try:
        yield
    except BaseException:
        _holders.pop(id(db), None)
        db.execute("ROLLBACK")
        raise
    try:
        db.execute("COMMIT")
    finally:
        _holders.pop(id(db), None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SQLiteStore:
    """Documents and passages in SQLite; use `transaction()` around writes. Safe to share
    between threads (a connection per thread)."""

    FILENAME = "osler.sqlite3"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.url = f"{SCHEME}{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        #: Every thread's connection, so `close` closes them all (and those of threads that
        #: ended are closed when the next thread connects).
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._guard = threading.Lock()
        self._closed = False
        migrate(self.db)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    def _connect(self) -> sqlite3.Connection:
        with self._guard:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            for thread in [t for t in self._connections if not t.is_alive()]:
                self._connections.pop(thread).close()
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._connections[threading.current_thread()] = db
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def close(self) -> None:
        with self._guard:
            self._closed = True
            for db in self._connections.values():
                db.close()
            self._connections.clear()

    def copy_to(self, url: str) -> None:
        """A consistent copy of the whole store (corpus and editorial record) at another URL,
        taken with SQLite's online backup."""
        target = path_of(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(target)) as dst:
            self.db.backup(dst)

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit of writes: all of it is committed, or none of it."""
        return immediate(self.db)

    # --- writes -------------------------------------------------------------------------

    def stored_hash(self, document_id: str) -> str | None:
        """The content hash a document was last written with, or None if it is not stored."""
        row = self.db.execute(
            "SELECT content_hash FROM documents WHERE id = ?", (document_id,)
        ).fetchone()
        return row[0] if row else None

    def write(
        self,
        document: Document,
        passages: list[Passage],
        origin: str | None = None,
        digest: str | None = None,
    ) -> WriteResult:
        """Insert or update one document with its passages (call inside `transaction()`).

        `digest` identifies the content (default: a hash of document and passages); a document
        stored with the same digest is left alone.
        """
        digest = digest or content_hash(document, passages)
        row = self.db.execute(
            "SELECT content_hash FROM documents WHERE id = ?", (document.id,)
        ).fetchone()
        if row and row["content_hash"] == digest:
            return "unchanged"
        values = document.model_dump(mode="json")
        cols = [*_DOC_COLUMNS, "content_hash", "origin", "ingested_at", "updated_at"]
        data = [
            json.dumps(values[c]) if c in _JSON_COLUMNS else values[c] for c in _DOC_COLUMNS
        ] + [digest, origin, _now(), _now()]
        if row:
            self.db.execute("DELETE FROM passages WHERE document_id = ?", (document.id,))
            sets = ", ".join(f"{c} = ?" for c in cols if c != "ingested_at")
            self.db.execute(
                f"UPDATE documents SET {sets} WHERE id = ?",
                [v for c, v in zip(cols, data, strict=True) if c != "ingested_at"] + [document.id],
            )
        else:
            self.db.execute(
                f"INSERT INTO documents ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                data,
            )
        self.db.executemany(
            'INSERT INTO passages (id, document_id, section, ordinal, text, start, "end", extra) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    p.id,
                    p.document_id,
                    p.section,
                    p.ordinal,
                    p.text,
                    p.start,
                    p.end,
                    json.dumps(p.extra) if p.extra else "{}",
                )
                for p in passages
            ],
        )
        self._log(document.id, "upsert")
        return "updated" if row else "new"

    def remove(self, *, ids: list[str] | None = None, source: str | None = None) -> list[str]:
        """Delete documents by id and/or by source name; return the ids removed."""
        targets: list[str] = []
        if ids:
            marks = ",".join("?" * len(ids))
            targets += [
                r[0]
                for r in self.db.execute(f"SELECT id FROM documents WHERE id IN ({marks})", ids)
            ]
        if source:
            targets += [
                r[0]
                for r in self.db.execute("SELECT id FROM documents WHERE source = ?", (source,))
            ]
        targets = sorted(set(targets))
        with self.transaction():
            for doc_id in targets:
                self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
                self._log(doc_id, "delete")
        return targets

    def _log(self, document_id: str, op: str) -> None:
        self.db.execute(
            "INSERT INTO changes (document_id, op, at) VALUES (?, ?, ?)", (document_id, op, _now())
        )

    # --- reads --------------------------------------------------------------------------

    def get_document(self, document_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        return _document(row) if row else None

    def get_passage(self, passage_id: str) -> Passage | None:
        row = self.db.execute("SELECT * FROM passages WHERE id = ?", (passage_id,)).fetchone()
        return _passage(row) if row else None

    def passages(self, document_id: str) -> list[Passage]:
        rows = self.db.execute(
            "SELECT * FROM passages WHERE document_id = ? ORDER BY ordinal", (document_id,)
        )
        return [_passage(r) for r in rows]

    def iter_passages(self, batch: int = 5000) -> Iterator[Passage]:
        """Every passage in storage order, read in batches."""
        last = 0
        while True:
            rows = self.db.execute(
                "SELECT * FROM passages WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield _passage(r)
            last = rows[-1]["rowid"]

    def iter_documents_passages(self) -> Iterator[tuple[str, list[Passage]]]:
        """(indexed title, passages) of every document, in storage order: what indexes use.

        The indexed title is empty for documents whose title is a placeholder (extra.untitled).
        """
        rows = self.db.execute(
            "SELECT CASE WHEN json_extract(d.extra, '$.untitled') IS NULL THEN d.title ELSE '' END "
            "AS title, p.* FROM passages p JOIN documents d ON d.id = p.document_id ORDER BY p.rowid"
        )
        current: list[Passage] = []
        title = ""
        for row in rows:
            if current and row["document_id"] != current[0].document_id:
                yield title, current
                current = []
            title = row["title"]
            current.append(_passage(row))
        if current:
            yield title, current

    def get_passages(self, passage_ids: list[str]) -> dict[str, Passage]:
        """Passages by id (unknown ids are left out)."""
        out: dict[str, Passage] = {}
        for i in range(0, len(passage_ids), 500):
            chunk = passage_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM passages WHERE id IN ({marks})", chunk):
                out[row["id"]] = _passage(row)
        return out

    def document_summaries(self) -> list[Document]:
        """Every document's metadata without its text (for ranking and reference lists)."""
        cols = [c for c in _DOC_COLUMNS if c != "text"]
        rows = self.db.execute(f"SELECT {', '.join(cols)}, '' AS text FROM documents")
        return [_document(r) for r in rows]

    def get_conversation(self, conversation_id: str) -> list[dict[str, Any]] | None:
        """The turns of a conversation, or None if there is no such conversation."""
        row = self.db.execute(
            "SELECT turns FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def save_conversation(self, conversation_id: str, turns: list[dict[str, Any]]) -> None:
        """Create or replace a conversation's turns."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO conversations (id, turns, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET turns = excluded.turns, updated_at = excluded.updated_at",
                (conversation_id, json.dumps(turns), _now(), _now()),
            )

    def document_ids(self, source: str | None = None) -> list[str]:
        if source:
            return [
                r[0]
                for r in self.db.execute("SELECT id FROM documents WHERE source = ?", (source,))
            ]
        return [r[0] for r in self.db.execute("SELECT id FROM documents")]

    def corpus_version(self) -> int:
        """Sequence number of the last change; it grows with every write or removal."""
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]

    def changes_since(self, seq: int) -> list[tuple[int, str, str]]:
        rows = self.db.execute(
            "SELECT seq, document_id, op FROM changes WHERE seq > ? ORDER BY seq", (seq,)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def stats(self) -> dict[str, Any]:
        """Counts of documents and passages, overall and by source, type, level and audience."""
        q = self.db.execute
        per_doc = q(
            "SELECT COALESCE(json_extract(d.extra, '$.dataset'), '') AS dataset, d.source, d.source_type, d.evidence_level, d.audience, d.evidence_inferred, "
            "COUNT(p.rowid) AS n FROM documents d LEFT JOIN passages p ON p.document_id = d.id "
            "GROUP BY d.id"
        ).fetchall()
        out: dict[str, Any] = {
            "documents": len(per_doc),
            "passages": sum(r["n"] for r in per_doc),
            "schema_version": schema_version(self.db),
            "corpus_version": self.corpus_version(),
            "path": str(self.path),
        }
        for key in ("dataset", "source", "source_type", "evidence_level", "audience"):
            docs: Counter[str] = Counter()
            passages: Counter[str] = Counter()
            for r in per_doc:
                docs[r[key]] += 1
                passages[r[key]] += r["n"]
            out[f"by_{key}"] = {
                k: {"documents": docs[k], "passages": passages[k]} for k in sorted(docs)
            }
        out["evidence_inferred"] = sum(r["evidence_inferred"] for r in per_doc)
        return out


def _document(row: sqlite3.Row) -> Document:
    data = {c: (json.loads(row[c]) if c in _JSON_COLUMNS else row[c]) for c in _DOC_COLUMNS}
    data["evidence_inferred"] = bool(data["evidence_inferred"])
    return Document.model_validate(data)


def _passage(row: sqlite3.Row) -> Passage:
    return Passage(
        id=row["id"],
        document_id=row["document_id"],
        section=row["section"],
        ordinal=row["ordinal"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        extra=json.loads(row["extra"]) if row["extra"] != "{}" else {},
    )
