"""The editorial record in PostgreSQL: users, tokens, sessions, articles, versions, approvals,
audit (the tables of migration m004 in store/postgres_migrations.py).

Rules (who may do what) live in `osler.review.rules`; this module only reads and writes rows.
Every article write names the revision it expects and fails with `StaleRevision` otherwise,
inside one transaction together with its audit line: the article row is locked (SELECT ... FOR
UPDATE) before its revision is compared, so of two reviewers writing at once the second waits,
then sees the first one's revision and is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

import psycopg
from psycopg import sql

from osler.models import Answer, Article, ArticleVersion, AuditEntry, ReferenceSnapshot, Role, User
from osler.store.base import StaleRevision, UserExists, name_key, now
from osler.store.postgres import Database

_USER = "users.id, users.name, users.roles, users.credentials, users.active"
_BOOLEAN = {"needs_re_review", "active"}
#: Versions' JSON read back as the text written, parsed as SQLite's backend parses it.
_VERSION = (
    "article_id, number, answer::text AS answer, reference_snapshot::text AS reference_snapshot, "
    "corpus_version, author, comment, diff, created_at"
)


class PostgresReviewStore:
    """Editorial tables in the same database (and pool) as the corpus store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def close(self) -> None:
        """Nothing of its own to close: the pool is the corpus store's."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.transaction():
            yield

    # --- users, tokens, sessions --------------------------------------------------------

    def add_user(
        self, name: str, roles: list[Role], credentials: str = "", password_hash: str | None = None
    ) -> User:
        try:
            with self.db.transaction() as conn:
                if conn.execute(
                    "SELECT 1 FROM users WHERE name_key = %s", [name_key(name)]
                ).fetchone():
                    raise UserExists(f"user {name!r} exists")
                conn.execute(
                    "INSERT INTO users (name, name_key, roles, credentials, password_hash, "
                    "created_at) VALUES (%s, %s, %s, %s, %s, %s)",
                    [name, name_key(name), ",".join(roles), credentials, password_hash, now()],
                )
                self._audit(conn, "system", None, "user_add",
                            comment=f"{name} ({', '.join(roles)})")
        except psycopg.errors.UniqueViolation:  # an equal name added at the same moment
            raise UserExists(f"user {name!r} exists") from None
        user = self.user(name)
        assert user is not None
        return user

    def update_user(
        self,
        name: str,
        *,
        roles: list[Role] | None = None,
        credentials: str | None = None,
        password_hash: str | None = None,
        active: bool | None = None,
        actor: str = "system",
    ) -> User | None:
        changes = {
            "roles": ",".join(roles) if roles is not None else None,
            "credentials": credentials,
            "password_hash": password_hash,
            "active": active,
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self.user(name)
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, name FROM users WHERE name_key = %s FOR UPDATE", [name_key(name)]
            ).fetchone()
            if row is None:
                return None
            sets = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(k)) for k in changes
            )
            conn.execute(
                sql.SQL("UPDATE users SET {} WHERE id = %s").format(sets),
                [*changes.values(), row["id"]],
            )
            shown = sorted(k if k != "password_hash" else "password" for k in changes)
            self._audit(conn, actor, None, "user_update",
                        comment=f"{row['name']}: {', '.join(shown)}")
        return self.user(name)

    def user(self, name: str) -> User | None:
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_USER} FROM users WHERE name_key = %s", [name_key(name)]
            ).fetchone()
        return _user(row) if row else None

    def users(self) -> list[User]:
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT {_USER} FROM users ORDER BY name COLLATE \"C\"")
            return [_user(r) for r in rows.fetchall()]

    def password_hash(self, name: str) -> str | None:
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT password_hash FROM users WHERE name_key = %s AND active",
                [name_key(name)],
            ).fetchone()
        return row["password_hash"] if row else None

    def add_token(self, user: User, token_hash: str, label: str = "") -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_tokens (token_hash, user_id, label, created_at) "
                "VALUES (%s, %s, %s, %s)",
                [token_hash, user.id, label, now()],
            )
            self._audit(conn, "system", None, "token_add",
                        comment=f"{user.name}: {label}".rstrip(": "))

    def user_for_token(self, token_hash: str) -> User | None:
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_USER} FROM api_tokens JOIN users ON users.id = api_tokens.user_id "
                "WHERE token_hash = %s AND users.active",
                [token_hash],
            ).fetchone()
        return _user(row) if row else None

    def add_session(self, session_hash: str, user: User, csrf: str, expires_at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < %s", [now()])
            conn.execute(
                "INSERT INTO sessions (session_hash, user_id, csrf, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                [session_hash, user.id, csrf, now(), expires_at],
            )

    def session(self, session_hash: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session."""
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_USER}, sessions.csrf FROM sessions "
                "JOIN users ON users.id = sessions.user_id "
                "WHERE session_hash = %s AND expires_at > %s AND users.active",
                [session_hash, now()],
            ).fetchone()
        return (_user(row), row["csrf"]) if row else None

    def end_session(self, session_hash: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE session_hash = %s", [session_hash])

    # --- articles -----------------------------------------------------------------------

    def create_article(self, article: Article, version: ArticleVersion) -> Article:
        values = _row_values(article.model_dump(mode="json"))
        with self.db.transaction() as conn:
            conn.execute(
                sql.SQL("INSERT INTO articles ({}) VALUES ({})").format(
                    sql.SQL(", ").join(map(sql.Identifier, values)),
                    sql.SQL(", ").join(sql.Placeholder() * len(values)),
                ),
                list(values.values()),
            )
            self._insert_version(conn, version)
            self._audit(conn, version.author, article.id, "create", None, article.status,
                        version.number, version.comment)
        return self.article(article.id)  # type: ignore[return-value]

    def article(self, article_id: str) -> Article | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT * FROM articles WHERE id = %s", [article_id]).fetchone()
        return Article(**row) if row else None

    def articles(
        self,
        status: str | None = None,
        *,
        audience: str | None = None,
        flagged: bool = False,
        served: bool = False,
    ) -> list[Article]:
        """Articles, newest change first (ties by id); `served`: only those with an approved
        version in service."""
        query, args = "SELECT * FROM articles WHERE true", []
        if served:
            query += " AND approved_version IS NOT NULL AND status <> 'archived'"
        if status:
            query, args = query + " AND status = %s", [*args, str(status)]
        if audience:
            query, args = query + " AND audience = %s", [*args, str(audience)]
        if flagged:
            query += " AND needs_re_review"
        with self.db.connection() as conn:
            rows = conn.execute(query + " ORDER BY updated_at DESC, id", args).fetchall()
        return [Article(**r) for r in rows]

    def find(self, normalized_question: str, audience: str) -> list[Article]:
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM articles WHERE normalized_question = %s AND audience = %s "
                "ORDER BY updated_at DESC, id",
                [normalized_question, str(audience)],
            ).fetchall()
        return [Article(**r) for r in rows]

    def update_article(
        self,
        article_id: str,
        expected_revision: int,
        changes: dict[str, Any],
        *,
        actor: str,
        action: str,
        comment: str = "",
        version: ArticleVersion | None = None,
        approval_by: int | None = None,
    ) -> Article:
        """Change an article (and add a version or approval) if it is still at `expected_revision`."""
        with self.db.transaction() as conn:
            before = conn.execute(
                "SELECT status, revision, latest_version FROM articles WHERE id = %s FOR UPDATE",
                [article_id],
            ).fetchone()
            if before is None:
                raise KeyError(article_id)
            if before["revision"] != expected_revision:
                raise StaleRevision(article_id, expected_revision, before["revision"])
            if version is not None:
                self._insert_version(conn, version)
            if approval_by is not None:
                conn.execute(
                    "INSERT INTO approvals (article_id, version, reviewer_id, at) "
                    "VALUES (%s, %s, %s, %s)",
                    [article_id, before["latest_version"], approval_by, now()],
                )
            values = _row_values({**changes, "updated_at": now()})
            sets = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values
            )
            done = conn.execute(
                sql.SQL(
                    "UPDATE articles SET {}, revision = revision + 1 WHERE id = %s AND revision = %s"
                ).format(sets),
                [*values.values(), article_id, expected_revision],
            )
            if done.rowcount != 1:  # cannot happen under FOR UPDATE; kept as a guard
                raise StaleRevision(article_id, expected_revision, -1)
            after_status = values.get("status", before["status"])
            self._audit(
                conn, actor, article_id, action, before["status"], str(after_status),
                version.number if version else before["latest_version"], comment,
            )
        return self.article(article_id)  # type: ignore[return-value]

    def flag(self, article_id: str, reason: str) -> None:
        """Mark an approved article as needing re-review (no revision check: a system action)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE articles SET needs_re_review = true, re_review_reason = %s, "
                "updated_at = %s, revision = revision + 1 WHERE id = %s",
                [reason, now(), article_id],
            )
            self._audit(conn, "system", article_id, "flag_re_review", comment=reason)

    def approvals(self, article_id: str, version: int) -> list[int]:
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT reviewer_id FROM approvals WHERE article_id = %s AND version = %s",
                [article_id, version],
            ).fetchall()
        return [int(r["reviewer_id"]) for r in rows]

    def approvers(self, article_id: str, version: int) -> list[User]:
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_USER} FROM approvals JOIN users ON users.id = approvals.reviewer_id "
                "WHERE article_id = %s AND version = %s ORDER BY approvals.seq",
                [article_id, version],
            ).fetchall()
        return [_user(r) for r in rows]

    def version(self, article_id: str, number: int) -> ArticleVersion | None:
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_VERSION} FROM article_versions WHERE article_id = %s AND number = %s",
                [article_id, number],
            ).fetchone()
        return _version(row) if row else None

    def versions(self, article_id: str) -> list[ArticleVersion]:
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_VERSION} FROM article_versions WHERE article_id = %s ORDER BY number",
                [article_id],
            ).fetchall()
        return [_version(r) for r in rows]

    # --- audit --------------------------------------------------------------------------

    def audit(self, article_id: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The latest `limit` entries (of one article), oldest first."""
        where, args = ("WHERE article_id = %s", [article_id]) if article_id else ("", [])
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT * FROM (SELECT * FROM audit_log {where} ORDER BY seq DESC LIMIT %s) t "
                "ORDER BY seq",
                [*args, limit],
            ).fetchall()
        return [AuditEntry(**r) for r in rows]

    @staticmethod
    def _audit(
        conn: psycopg.Connection[Any],
        actor: str,
        article_id: str | None,
        action: str,
        from_status: str | None = None,
        to_status: str | None = None,
        version: int | None = None,
        comment: str = "",
    ) -> None:
        conn.execute(
            "INSERT INTO audit_log (at, actor, article_id, action, from_status, to_status, "
            "version, comment) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [now(), actor, article_id, action, _plain(from_status), _plain(to_status), version,
             comment],
        )

    @staticmethod
    def _insert_version(conn: psycopg.Connection[Any], v: ArticleVersion) -> None:
        conn.execute(
            "INSERT INTO article_versions (article_id, number, answer, reference_snapshot, "
            "corpus_version, author, comment, diff, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                v.article_id,
                v.number,
                v.answer.model_dump_json(),
                json.dumps([r.model_dump() for r in v.references]),
                v.corpus_version,
                v.author,
                v.comment,
                v.diff,
                v.created_at,
            ],
        )


def _plain(value: Any) -> Any:
    """Enums as their values (psycopg would otherwise write an Enum's name)."""
    return value.value if isinstance(value, Enum) else value


def _row_values(values: dict[str, Any]) -> dict[str, Any]:
    """Values for article columns: enums as values, flags as booleans (callers may pass 0/1)."""
    out = {k: _plain(v) for k, v in values.items()}
    for k in _BOOLEAN & out.keys():
        if out[k] is not None:
            out[k] = bool(out[k])
    return out


def _user(row: dict[str, Any]) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        roles=[Role(r) for r in row["roles"].split(",") if r],
        credentials=row["credentials"],
        active=bool(row["active"]),
    )


def _version(row: dict[str, Any]) -> ArticleVersion:
    return ArticleVersion(
        article_id=row["article_id"],
        number=row["number"],
        answer=Answer.model_validate_json(row["answer"]),
        references=[ReferenceSnapshot(**r) for r in json.loads(row["reference_snapshot"])],
        corpus_version=row["corpus_version"],
        author=row["author"],
        comment=row["comment"],
        diff=row["diff"],
        created_at=row["created_at"],
    )
