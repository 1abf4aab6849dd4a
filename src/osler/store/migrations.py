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


@migration
def m004_editorial(db: sqlite3.Connection) -> None:
    """Users, credentials, articles with immutable versions, approvals and the audit log.

    Triggers make versions, approvals and the audit log append-only: no code path can change
    or delete a row once written.
    """
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            roles TEXT NOT NULL,
            credentials TEXT NOT NULL DEFAULT '',
            password_hash TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS api_tokens (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            label TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sessions (
            session_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS articles (
            id TEXT PRIMARY KEY,
            question TEXT NOT NULL,
            normalized_question TEXT NOT NULL,
            audience TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'under_review',
                'approved', 'changes_requested', 'archived')),
            revision INTEGER NOT NULL DEFAULT 1,
            latest_version INTEGER NOT NULL,
            approved_version INTEGER,
            approved_at TEXT,
            needs_re_review INTEGER NOT NULL DEFAULT 0,
            re_review_reason TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS articles_lookup ON articles(normalized_question, audience);
        CREATE INDEX IF NOT EXISTS articles_status ON articles(status);
        CREATE TABLE IF NOT EXISTS article_versions (
            article_id TEXT NOT NULL REFERENCES articles(id),
            number INTEGER NOT NULL,
            answer TEXT NOT NULL,
            reference_snapshot TEXT NOT NULL,
            corpus_version INTEGER NOT NULL,
            author TEXT NOT NULL,
            comment TEXT NOT NULL DEFAULT '',
            diff TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (article_id, number)
        );
        CREATE TABLE IF NOT EXISTS approvals (
            article_id TEXT NOT NULL REFERENCES articles(id),
            version INTEGER NOT NULL,
            reviewer_id INTEGER NOT NULL REFERENCES users(id),
            at TEXT NOT NULL,
            PRIMARY KEY (article_id, version, reviewer_id)
        );
        CREATE TABLE IF NOT EXISTS audit_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            article_id TEXT,
            action TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT,
            version INTEGER,
            comment TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS audit_article ON audit_log(article_id, seq);
        CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS versions_no_update BEFORE UPDATE ON article_versions
            BEGIN SELECT RAISE(ABORT, 'article versions are immutable'); END;
        CREATE TRIGGER IF NOT EXISTS versions_no_delete BEFORE DELETE ON article_versions
            BEGIN SELECT RAISE(ABORT, 'article versions are immutable'); END;
        CREATE TRIGGER IF NOT EXISTS approvals_no_update BEFORE UPDATE ON approvals
            BEGIN SELECT RAISE(ABORT, 'approvals are immutable'); END;
        CREATE TRIGGER IF NOT EXISTS approvals_no_delete BEFORE DELETE ON approvals
            BEGIN SELECT RAISE(ABORT, 'approvals are immutable'); END;
        """
    )


@migration
def m005_passage_extra(db: sqlite3.Connection) -> None:
    """What a source says of one passage: the references it cites, its level of evidence, page."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(passages)")}
    if "extra" not in columns:
        db.execute("ALTER TABLE passages ADD COLUMN extra TEXT NOT NULL DEFAULT '{}'")


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
