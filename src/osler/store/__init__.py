"""The storage interface: the one place the rest of Osler reads documents from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from osler.models import Document, Passage
from osler.store.sqlite import SQLiteStore, WriteResult


class Store(Protocol):
    """What every storage backend offers (SQLite now; PostgreSQL is one more module)."""

    def transaction(self) -> AbstractContextManager[None]: ...
    def write(
        self, document: Document, passages: list[Passage], origin: str | None = None
    ) -> WriteResult: ...
    def remove(self, *, ids: list[str] | None = None, source: str | None = None) -> list[str]: ...
    def get_document(self, document_id: str) -> Document | None: ...
    def get_passage(self, passage_id: str) -> Passage | None: ...
    def passages(self, document_id: str) -> list[Passage]: ...
    def iter_passages(self, batch: int = 5000) -> Iterator[Passage]: ...
    def document_ids(self, source: str | None = None) -> list[str]: ...
    def corpus_version(self) -> int: ...
    def stats(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


def open_store(data_dir: Path) -> Store:
    """Open (creating and migrating if needed) the store in a data directory."""
    return SQLiteStore(Path(data_dir) / SQLiteStore.FILENAME)


__all__ = ["SQLiteStore", "Store", "WriteResult", "open_store"]
