"""Schema changes as ordered, named, idempotent functions recorded in `_osler_migrations`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register a migration; its function name is its id and order is definition order."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_documents_and_passages(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS documents (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            source TEXT NOT NULL,
            source_type TEXT NOT NULL,
            url TEXT, pmid TEXT, pmcid TEXT, doi TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            journal TEXT, pub_date TEXT, year INTEGER,
            publication_types TEXT NOT NULL DEFAULT '[]',
            mesh_terms TEXT NOT NULL DEFAULT '[]',
            audience TEXT NOT NULL,
            evidence_level TEXT NOT NULL,
            evidence_inferred INTEGER NOT NULL DEFAULT 0,
            evidence_reason TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            extra TEXT NOT NULL DEFAULT '{}',
            content_hash TEXT NOT NULL,
            origin TEXT,
            ingested_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
        CREATE INDEX IF NOT EXISTS documents_pmid ON documents(pmid);
        CREATE TABLE IF NOT EXISTS passages (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            section TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS passages_document ON passages(document_id, ordinal);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )


@migration
def m002_change_log(db: sqlite3.Connection) -> None:
    """Every document write or removal, in order, so indexes can catch up incrementally."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
            at TEXT NOT NULL
        );
        """
    )


@migration
def m003_conversations(db: sqlite3.Connection) -> None:
    """Follow-up conversations: the turns so far, as JSON."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS conversations (
            id TEXT PRIMARY KEY,
            turns TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _osler_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _osler_migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with db:
            fn(db)
            db.execute(
                "INSERT INTO _osler_migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        applied.append(name)
    return applied


def schema_version(db: sqlite3.Connection) -> int:
    """Number of migrations applied."""
    return db.execute("SELECT COUNT(*) FROM _osler_migrations").fetchone()[0]
