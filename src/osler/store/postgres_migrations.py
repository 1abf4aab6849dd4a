"""PostgreSQL's schema changes: ordered, named, idempotent functions in `_osler_migrations`.

The same names as SQLite's (store/migrations.py), one for one, so `schema_version` means the
same on both backends. Differences from SQLite's schema, each for a reason:

- `documents.written` (from the sequence `document_writes`, copied into each passage) orders
  storage: a document takes a new value each time it is written, so it moves to the end, and its
  passages stay together even when several writers commit at once (SQLite uses rowids).
- `changes.seq` is not a sequence: it is handed out at commit, under a lock, so the log is in
  commit order without gaps (see PostgresStore).
- `users.name_key` (`name_key(name)`) is unique: equal names are refused by the database.
- `approvals.seq` orders approvals (`at` has second resolution).
- Text that is sorted or compared (names, ids, timestamps as ISO strings) is COLLATE "C": byte
  order, as SQLite's, whatever the database's default collation.
- Booleans are booleans, JSON is `json` (kept as written, key order included).
- Versions, approvals and the audit log are append-only by trigger, TRUNCATE included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

Migration = Callable[[psycopg.Connection[Any]], None]
MIGRATIONS: list[tuple[str, Migration]] = []

#: Key of the advisory lock held while migrating (two processes opening a new store at once).
MIGRATION_LOCK = 0x6F736C6572_01


def migration(fn: Migration) -> Migration:
    """Register a migration; its function name is its id and order is definition order."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _run(db: psycopg.Connection[Any], script: str) -> None:
    """A script of statements (sent as one simple query: it takes no parameters)."""
    db.execute(script)  # type: ignore[call-overload]


@migration
def m001_documents_and_passages(db: psycopg.Connection[Any]) -> None:
    _run(
        db,
        """
        CREATE SEQUENCE IF NOT EXISTS document_writes AS bigint;
        CREATE TABLE IF NOT EXISTS documents (
            id text COLLATE "C" PRIMARY KEY,
            title text NOT NULL,
            source text NOT NULL,
            source_type text NOT NULL,
            url text, pmid text, pmcid text, doi text,
            authors json NOT NULL DEFAULT '[]',
            journal text, pub_date text, year integer,
            publication_types json NOT NULL DEFAULT '[]',
            mesh_terms json NOT NULL DEFAULT '[]',
            audience text NOT NULL,
            evidence_level text NOT NULL,
            evidence_inferred boolean NOT NULL DEFAULT false,
            evidence_reason text NOT NULL DEFAULT '',
            text text NOT NULL,
            extra json NOT NULL DEFAULT '{}',
            content_hash text NOT NULL,
            origin text,
            ingested_at text NOT NULL,
            updated_at text NOT NULL,
            written bigint NOT NULL DEFAULT nextval('document_writes')
        );
        CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
        CREATE INDEX IF NOT EXISTS documents_pmid ON documents(pmid);
        CREATE TABLE IF NOT EXISTS passages (
            id text COLLATE "C" PRIMARY KEY,
            document_id text COLLATE "C" NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            written bigint NOT NULL,
            section text NOT NULL,
            ordinal integer NOT NULL,
            text text NOT NULL,
            start integer NOT NULL,
            "end" integer NOT NULL
        );
        CREATE INDEX IF NOT EXISTS passages_document ON passages(document_id, ordinal);
        CREATE INDEX IF NOT EXISTS passages_order ON passages(written, ordinal, id);
        CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)
        """,
    )


@migration
def m002_change_log(db: psycopg.Connection[Any]) -> None:
    """Every document write or removal, in commit order, so indexes can catch up."""
    _run(
        db,
        """
        CREATE TABLE IF NOT EXISTS changes (
            seq bigint PRIMARY KEY,
            document_id text COLLATE "C" NOT NULL,
            op text NOT NULL CHECK (op IN ('upsert', 'delete')),
            at text NOT NULL
        )
        """,
    )


@migration
def m003_conversations(db: psycopg.Connection[Any]) -> None:
    """Follow-up conversations: the turns so far, as JSON."""
    _run(
        db,
        """
        CREATE TABLE IF NOT EXISTS conversations (
            id text COLLATE "C" PRIMARY KEY,
            turns json NOT NULL DEFAULT '[]',
            created_at text NOT NULL,
            updated_at text NOT NULL
        )
        """,
    )


@migration
def m004_editorial(db: psycopg.Connection[Any]) -> None:
    """Users, credentials, articles with immutable versions, approvals and the audit log;
    triggers keep versions, approvals and the audit log append-only."""
    _run(
        db,
        """
        CREATE TABLE IF NOT EXISTS users (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE,
            name_key text COLLATE "C" NOT NULL UNIQUE,
            roles text NOT NULL,
            credentials text NOT NULL DEFAULT '',
            password_hash text,
            active boolean NOT NULL DEFAULT true,
            created_at text NOT NULL
        );
        CREATE TABLE IF NOT EXISTS api_tokens (
            token_hash text COLLATE "C" PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            label text NOT NULL DEFAULT '',
            created_at text NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sessions (
            session_hash text COLLATE "C" PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            csrf text NOT NULL,
            created_at text NOT NULL,
            expires_at text COLLATE "C" NOT NULL
        );
        CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(expires_at);
        CREATE TABLE IF NOT EXISTS articles (
            id text COLLATE "C" PRIMARY KEY,
            question text NOT NULL,
            normalized_question text COLLATE "C" NOT NULL,
            audience text COLLATE "C" NOT NULL,
            status text NOT NULL CHECK (status IN ('draft', 'submitted', 'under_review',
                'approved', 'changes_requested', 'archived')),
            revision integer NOT NULL DEFAULT 1,
            latest_version integer NOT NULL,
            approved_version integer,
            approved_at text,
            needs_re_review boolean NOT NULL DEFAULT false,
            re_review_reason text,
            created_by text NOT NULL,
            created_at text NOT NULL,
            updated_at text COLLATE "C" NOT NULL
        );
        CREATE INDEX IF NOT EXISTS articles_lookup ON articles(normalized_question, audience);
        CREATE INDEX IF NOT EXISTS articles_status ON articles(status);
        CREATE TABLE IF NOT EXISTS article_versions (
            article_id text COLLATE "C" NOT NULL REFERENCES articles(id),
            number integer NOT NULL,
            answer json NOT NULL,
            reference_snapshot json NOT NULL,
            corpus_version bigint NOT NULL,
            author text NOT NULL,
            comment text NOT NULL DEFAULT '',
            diff text NOT NULL DEFAULT '',
            created_at text NOT NULL,
            PRIMARY KEY (article_id, number)
        );
        CREATE TABLE IF NOT EXISTS approvals (
            seq bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE,
            article_id text COLLATE "C" NOT NULL REFERENCES articles(id),
            version integer NOT NULL,
            reviewer_id bigint NOT NULL REFERENCES users(id),
            at text NOT NULL,
            PRIMARY KEY (article_id, version, reviewer_id)
        );
        CREATE TABLE IF NOT EXISTS audit_log (
            seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            at text NOT NULL,
            actor text NOT NULL,
            article_id text COLLATE "C",
            action text NOT NULL,
            from_status text,
            to_status text,
            version integer,
            comment text NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS audit_article ON audit_log(article_id, seq);
        CREATE OR REPLACE FUNCTION osler_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
            END
        $$;
        CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION osler_append_only('the audit log is append-only');
        CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION osler_append_only('the audit log is append-only');
        CREATE OR REPLACE TRIGGER versions_no_change BEFORE UPDATE OR DELETE ON article_versions
            FOR EACH ROW EXECUTE FUNCTION osler_append_only('article versions are immutable');
        CREATE OR REPLACE TRIGGER versions_no_truncate BEFORE TRUNCATE ON article_versions
            FOR EACH STATEMENT EXECUTE FUNCTION osler_append_only('article versions are immutable');
        CREATE OR REPLACE TRIGGER approvals_no_change BEFORE UPDATE OR DELETE ON approvals
            FOR EACH ROW EXECUTE FUNCTION osler_append_only('approvals are immutable');
        CREATE OR REPLACE TRIGGER approvals_no_truncate BEFORE TRUNCATE ON approvals
            FOR EACH STATEMENT EXECUTE FUNCTION osler_append_only('approvals are immutable')
        """,
    )


@migration
def m005_passage_extra(db: psycopg.Connection[Any]) -> None:
    """What a source says of one passage: the references it cites, its level of evidence, page."""
    db.execute("ALTER TABLE passages ADD COLUMN IF NOT EXISTS extra json NOT NULL DEFAULT '{}'")


def migrate(db: psycopg.Connection[Any]) -> list[str]:
    """Apply pending migrations, each in its own transaction, holding an advisory lock so two
    processes opening a new store at once do not both migrate; return the names applied.
    `db` is in autocommit mode."""
    db.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS _osler_migrations "
            "(name text PRIMARY KEY, applied_at text NOT NULL)"
        )
        done = {row[0] for row in db.execute("SELECT name FROM _osler_migrations").fetchall()}
        applied = []
        for name, fn in MIGRATIONS:
            if name in done:
                continue
            with db.transaction():
                fn(db)
                db.execute(
                    "INSERT INTO _osler_migrations (name, applied_at) VALUES (%s, %s)",
                    (name, datetime.now(UTC).isoformat()),
                )
            applied.append(name)
        return applied
    finally:
        db.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])


def schema_version(db: psycopg.Connection[Any]) -> int:
    """Number of migrations applied."""
    row = db.execute("SELECT COUNT(*) FROM _osler_migrations").fetchone()
    return int(_first(row))


def _first(row: Any) -> Any:
    return row[0] if isinstance(row, tuple) else next(iter(row.values()))
