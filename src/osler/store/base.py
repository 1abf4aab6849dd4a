"""What every storage backend offers: the corpus store and the editorial store, as protocols.

SQLite (`store/sqlite.py`, `store/sqlite_review.py`) and PostgreSQL (`store/postgres.py`,
`store/postgres_review.py`) implement them and pass the same tests (tests/test_store_protocol.py
runs against the protocol, once per backend). Nothing outside `store/sqlite*.py` names a SQLite
type, nothing outside `store/postgres*.py` a PostgreSQL one.

Transactions nest, on both backends: `transaction()` inside an open transaction of the same
thread is a savepoint (its writes are undone alone if it raises, and committed with the outer
one), and so is every write method that is a transaction of its own (`remove`,
`save_conversation`, every `ReviewStore` write). The corpus store and the editorial store of a
deployment share one database: a transaction of either covers writes to both.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from osler.models import Article, ArticleVersion, AuditEntry, Document, Passage, Role, User

WriteResult = Literal["new", "updated", "unchanged"]


class StaleRevision(Exception):
    """The article changed since the caller read it."""

    def __init__(self, article_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"article {article_id} was changed by someone else (you had revision {expected}, "
            f"it is now at {actual}); reload it and try again"
        )
        self.actual = actual


class UserExists(ValueError):
    """A user of that name (compared case-insensitively, NFKC) exists."""


def name_key(name: str) -> str:
    """How user names compare: NFKC, spacing collapsed, case-folded ('Zed' = 'zed' = 'ｚｅｄ')."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


#: The stored columns of a document (every field of `Document`), and those held as JSON.
DOCUMENT_COLUMNS = [
    "id",
    "title",
    "source",
    "source_type",
    "url",
    "pmid",
    "pmcid",
    "doi",
    "authors",
    "journal",
    "pub_date",
    "year",
    "publication_types",
    "mesh_terms",
    "audience",
    "evidence_level",
    "evidence_inferred",
    "evidence_reason",
    "text",
    "extra",
]
JSON_COLUMNS = {"authors", "publication_types", "mesh_terms", "extra"}


def content_hash(document: Document, passages: list[Passage]) -> str:
    """A hash of everything stored for a document, so an unchanged re-ingest writes nothing
    (the same on every backend, so a copy between backends is unchanged too)."""
    h = hashlib.sha256(document.model_dump_json().encode())
    for p in passages:
        h.update(f"|{p.section}|{p.start}|{p.end}".encode())
    return h.hexdigest()


class Store(Protocol):
    """Documents, passages, the change log and conversations.

    "Storage order" is the order documents were last written in (an updated document moves to
    the end), each document's passages by ordinal; `iter_passages` and
    `iter_documents_passages` follow it, so indexes are built the same on every backend.
    `document_ids` and `document_summaries` come in no particular order.
    """

    #: Where the store lives, as a URL (sqlite:///PATH, postgresql://USER@HOST/DB), for
    #: people and messages: it never carries a password.
    url: str

    def transaction(self) -> AbstractContextManager[None]:
        """All the writes inside it are committed, or (on an exception) none is. It nests (see
        the module docstring); the other write methods are each a transaction of their own, a
        savepoint when called inside one."""
        ...

    def stored_hash(self, document_id: str) -> str | None: ...
    def write(
        self,
        document: Document,
        passages: list[Passage],
        origin: str | None = None,
        digest: str | None = None,
    ) -> WriteResult:
        """Insert or replace a document and its passages (inside `transaction()`); "unchanged"
        when it is stored with the same `digest` (default: a hash of document and passages)."""
        ...

    def remove(self, *, ids: list[str] | None = None, source: str | None = None) -> list[str]: ...
    def get_document(self, document_id: str) -> Document | None: ...
    def get_passage(self, passage_id: str) -> Passage | None: ...
    def passages(self, document_id: str) -> list[Passage]: ...
    def iter_passages(self, batch: int = 5000) -> Iterator[Passage]: ...
    def iter_documents_passages(self) -> Iterator[tuple[str, list[Passage]]]: ...
    def get_passages(self, passage_ids: list[str]) -> dict[str, Passage]: ...
    def document_summaries(self) -> list[Document]: ...
    def changes_since(self, seq: int) -> list[tuple[int, str, str]]:
        """(seq, document id, "upsert" | "delete") after `seq`, in order. Numbers grow one
        by one in the order changes were committed, so a reader following
        `changes_since(last seen)` while others write misses none."""
        ...

    def get_conversation(self, conversation_id: str) -> list[dict[str, Any]] | None: ...
    def save_conversation(self, conversation_id: str, turns: list[dict[str, Any]]) -> None: ...
    def document_ids(self, source: str | None = None) -> list[str]: ...
    def corpus_version(self) -> int:
        """The seq of the last change (0 for an empty store)."""
        ...

    def stats(self) -> dict[str, Any]:
        """JSON-able counts: documents, passages, corpus_version, schema_version, path (where
        the store is, for people: no password), evidence_inferred, and by_dataset, by_source,
        by_source_type, by_evidence_level, by_audience ({key: {documents, passages}})."""
        ...

    def copy_to(self, url: str) -> None:
        """A consistent copy of the whole store, corpus and editorial record, at `url` (a new
        store of the same backend), taken while others may read and write."""
        ...

    def close(self) -> None: ...


class ReviewStore(Protocol):
    """The editorial record: users, tokens, sessions, articles, versions, approvals, audit.

    Every article write names the revision it expects and fails with `StaleRevision` otherwise,
    in one transaction with its audit line."""

    def transaction(self) -> AbstractContextManager[None]:
        """As `Store.transaction` (the same database: it covers corpus writes too)."""
        ...

    def close(self) -> None:
        """Release what the editorial store holds of its own (`Stores.close` calls it before
        closing the corpus store, whose connection or pool it borrows)."""
        ...
    def add_user(
        self, name: str, roles: list[Role], credentials: str = "", password_hash: str | None = None
    ) -> User: ...
    def update_user(
        self,
        name: str,
        *,
        roles: list[Role] | None = None,
        credentials: str | None = None,
        password_hash: str | None = None,
        active: bool | None = None,
        actor: str = "system",
    ) -> User | None: ...
    def user(self, name: str) -> User | None: ...
    def users(self) -> list[User]: ...
    def password_hash(self, name: str) -> str | None: ...
    def add_token(self, user: User, token_hash: str, label: str = "") -> None: ...
    def user_for_token(self, token_hash: str) -> User | None: ...
    def add_session(self, session_hash: str, user: User, csrf: str, expires_at: str) -> None: ...
    def session(self, session_hash: str) -> tuple[User, str] | None: ...
    def end_session(self, session_hash: str) -> None: ...
    def create_article(self, article: Article, version: ArticleVersion) -> Article: ...
    def article(self, article_id: str) -> Article | None: ...
    def articles(
        self,
        status: str | None = None,
        *,
        audience: str | None = None,
        flagged: bool = False,
        served: bool = False,
    ) -> list[Article]: ...
    def find(self, normalized_question: str, audience: str) -> list[Article]: ...
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
    ) -> Article: ...
    def flag(self, article_id: str, reason: str) -> None: ...
    def approvals(self, article_id: str, version: int) -> list[int]:
        """Ids of the users who approved that version, in no particular order."""
        ...

    def approvers(self, article_id: str, version: int) -> list[User]:
        """The users who approved that version, in the order they approved it."""
        ...

    def version(self, article_id: str, number: int) -> ArticleVersion | None: ...
    def versions(self, article_id: str) -> list[ArticleVersion]: ...
    def audit(self, article_id: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The latest `limit` entries (of one article), oldest first."""
        ...
