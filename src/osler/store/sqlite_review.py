"""SQL of the editorial workflow: users, tokens, sessions, articles, versions, approvals, audit.

Rules (who may do what) live in `osler.review.rules`; this module only reads and writes rows.
Every article write names the revision it expects and fails with `StaleRevision` otherwise
(optimistic locking), inside one transaction together with its audit line.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import Any

from osler.models import Answer, Article, ArticleVersion, AuditEntry, ReferenceSnapshot, Role, User
from osler.store.base import StaleRevision, UserExists, name_key, now
from osler.store.sqlite import SQLiteStore, immediate


class SQLiteReviewStore:
    """Editorial tables in the same SQLite file as the corpus (see migration m004), through
    the corpus store's connections (one per thread)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection."""
        return self.store.db

    def close(self) -> None:
        """Nothing of its own to close: the connection is the corpus store's."""

    def transaction(self) -> AbstractContextManager[None]:
        return immediate(self.db)

    # --- users, tokens, sessions --------------------------------------------------------

    def add_user(
        self, name: str, roles: list[Role], credentials: str = "", password_hash: str | None = None
    ) -> User:
        with self.transaction():
            if self._stored_name(name) is not None:
                raise UserExists(f"user {name!r} exists")
            self.db.execute(
                "INSERT INTO users (name, roles, credentials, password_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, ",".join(roles), credentials, password_hash, now()),
            )
            self._audit("system", None, "user_add", comment=f"{name} ({', '.join(roles)})")
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
            "active": None if active is None else int(active),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        name = self._stored_name(name) or name
        if not changes or self.user(name) is None:
            return self.user(name)
        with self.transaction():
            sets = ", ".join(f"{k} = ?" for k in changes)
            self.db.execute(f"UPDATE users SET {sets} WHERE name = ?", (*changes.values(), name))
            shown = sorted(k if k != "password_hash" else "password" for k in changes)
            self._audit(actor, None, "user_update", comment=f"{name}: {', '.join(shown)}")
        return self.user(name)

    def _stored_name(self, name: str) -> str | None:
        """The stored spelling of a user name, compared by `name_key`."""
        if self.db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            return name
        key = name_key(name)
        names = (r[0] for r in self.db.execute("SELECT name FROM users"))
        return next((n for n in names if name_key(n) == key), None)

    def user(self, name: str) -> User | None:
        stored = self._stored_name(name)
        row = (
            self.db.execute("SELECT * FROM users WHERE name = ?", (stored,)).fetchone()
            if stored is not None
            else None
        )
        return _user(row) if row else None

    def users(self) -> list[User]:
        return [_user(r) for r in self.db.execute("SELECT * FROM users ORDER BY name")]

    def password_hash(self, name: str) -> str | None:
        stored = self._stored_name(name)
        row = self.db.execute(
            "SELECT password_hash FROM users WHERE name = ? AND active = 1", (stored,)
        ).fetchone() if stored is not None else None
        return row[0] if row else None

    def add_token(self, user: User, token_hash: str, label: str = "") -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, user.id, label, now()),
            )
            self._audit("system", None, "token_add", comment=f"{user.name}: {label}".rstrip(": "))

    def user_for_token(self, token_hash: str) -> User | None:
        row = self.db.execute(
            "SELECT users.* FROM api_tokens JOIN users ON users.id = api_tokens.user_id "
            "WHERE token_hash = ? AND users.active = 1",
            (token_hash,),
        ).fetchone()
        return _user(row) if row else None

    def add_session(self, session_hash: str, user: User, csrf: str, expires_at: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE expires_at < ?", (now(),))
            self.db.execute(
                "INSERT INTO sessions (session_hash, user_id, csrf, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_hash, user.id, csrf, now(), expires_at),
            )

    def session(self, session_hash: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session."""
        row = self.db.execute(
            "SELECT users.*, sessions.csrf AS csrf FROM sessions "
            "JOIN users ON users.id = sessions.user_id "
            "WHERE session_hash = ? AND expires_at > ? AND users.active = 1",
            (session_hash, now()),
        ).fetchone()
        return (_user(row), row["csrf"]) if row else None

    def end_session(self, session_hash: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM sessions WHERE session_hash = ?", (session_hash,))

    # --- articles -----------------------------------------------------------------------

    def create_article(self, article: Article, version: ArticleVersion) -> Article:
        with self.transaction():
            values = article.model_dump(mode="json")
            cols = list(values)
            self.db.execute(
                f"INSERT INTO articles ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [values[c] for c in cols],
            )
            self._insert_version(version)
            self._audit(
                version.author, article.id, "create", None, article.status, version.number,
                version.comment,
            )
        return self.article(article.id)  # type: ignore[return-value]

    def article(self, article_id: str) -> Article | None:
        row = self.db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        return _article(row) if row else None

    def articles(
        self,
        status: str | None = None,
        *,
        audience: str | None = None,
        flagged: bool = False,
        served: bool = False,
    ) -> list[Article]:
        """Articles, newest change first; `served`: only those with an approved version in service."""
        sql, args = "SELECT * FROM articles WHERE 1 = 1", []
        if served:
            sql += " AND approved_version IS NOT NULL AND status != 'archived'"
        if status:
            sql, args = sql + " AND status = ?", [*args, status]
        if audience:
            sql, args = sql + " AND audience = ?", [*args, audience]
        if flagged:
            sql += " AND needs_re_review = 1"
        return [_article(r) for r in self.db.execute(sql + " ORDER BY updated_at DESC", args)]

    def find(self, normalized_question: str, audience: str) -> list[Article]:
        rows = self.db.execute(
            "SELECT * FROM articles WHERE normalized_question = ? AND audience = ? "
            "ORDER BY updated_at DESC",
            (normalized_question, audience),
        )
        return [_article(r) for r in rows]

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
        with self.transaction():
            before = self.article(article_id)
            if before is None:
                raise KeyError(article_id)
            if before.revision != expected_revision:
                raise StaleRevision(article_id, expected_revision, before.revision)
            if version is not None:
                self._insert_version(version)
            if approval_by is not None:
                self.db.execute(
                    "INSERT INTO approvals (article_id, version, reviewer_id, at) VALUES (?, ?, ?, ?)",
                    (article_id, before.latest_version, approval_by, now()),
                )
            changes = {**changes, "updated_at": now()}
            sets = ", ".join(f"{k} = ?" for k in changes)
            cursor = self.db.execute(
                f"UPDATE articles SET {sets}, revision = revision + 1 "
                "WHERE id = ? AND revision = ?",
                (*changes.values(), article_id, expected_revision),
            )
            if cursor.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; kept as a guard
                raise StaleRevision(article_id, expected_revision, -1)
            after_status = changes.get("status", before.status)
            self._audit(
                actor, article_id, action, before.status, str(after_status),
                version.number if version else before.latest_version, comment,
            )
        return self.article(article_id)  # type: ignore[return-value]

    def flag(self, article_id: str, reason: str) -> None:
        """Mark an approved article as needing re-review (no revision check: a system action)."""
        with self.transaction():
            self.db.execute(
                "UPDATE articles SET needs_re_review = 1, re_review_reason = ?, updated_at = ?, "
                "revision = revision + 1 WHERE id = ?",
                (reason, now(), article_id),
            )
            self._audit("system", article_id, "flag_re_review", comment=reason)

    def approvals(self, article_id: str, version: int) -> list[int]:
        rows = self.db.execute(
            "SELECT reviewer_id FROM approvals WHERE article_id = ? AND version = ?",
            (article_id, version),
        )
        return [r[0] for r in rows]

    def approvers(self, article_id: str, version: int) -> list[User]:
        rows = self.db.execute(
            "SELECT users.* FROM approvals JOIN users ON users.id = approvals.reviewer_id "
            "WHERE article_id = ? AND version = ? ORDER BY approvals.at, approvals.rowid",
            (article_id, version),
        )
        return [_user(r) for r in rows]

    def version(self, article_id: str, number: int) -> ArticleVersion | None:
        row = self.db.execute(
            "SELECT * FROM article_versions WHERE article_id = ? AND number = ?",
            (article_id, number),
        ).fetchone()
        return _version(row) if row else None

    def versions(self, article_id: str) -> list[ArticleVersion]:
        rows = self.db.execute(
            "SELECT * FROM article_versions WHERE article_id = ? ORDER BY number", (article_id,)
        )
        return [_version(r) for r in rows]

    # --- audit --------------------------------------------------------------------------

    def audit(self, article_id: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The latest `limit` entries (of one article), oldest first."""
        sql, args = "SELECT * FROM audit_log", []
        if article_id:
            sql, args = sql + " WHERE article_id = ?", [article_id]
        rows = self.db.execute(
            f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq", (*args, limit)
        )
        return [AuditEntry(**dict(r)) for r in rows]

    def _audit(
        self,
        actor: str,
        article_id: str | None,
        action: str,
        from_status: str | None = None,
        to_status: str | None = None,
        version: int | None = None,
        comment: str = "",
    ) -> None:
        self.db.execute(
            "INSERT INTO audit_log (at, actor, article_id, action, from_status, to_status, "
            "version, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (now(), actor, article_id, action, from_status, to_status, version, comment),
        )

    def _insert_version(self, v: ArticleVersion) -> None:
        self.db.execute(
            "INSERT INTO article_versions (article_id, number, answer, reference_snapshot, "
            "corpus_version, author, comment, diff, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                v.article_id,
                v.number,
                v.answer.model_dump_json(),
                json.dumps([r.model_dump() for r in v.references]),
                v.corpus_version,
                v.author,
                v.comment,
                v.diff,
                v.created_at,
            ),
        )


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        roles=[Role(r) for r in row["roles"].split(",") if r],
        credentials=row["credentials"],
        active=bool(row["active"]),
    )


def _article(row: sqlite3.Row) -> Article:
    data = dict(row)
    data["needs_re_review"] = bool(data["needs_re_review"])
    return Article(**data)


def _version(row: sqlite3.Row) -> ArticleVersion:
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
