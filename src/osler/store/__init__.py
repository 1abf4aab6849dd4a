"""The storage interface: protocols, and `open_stores` choosing the backend from the store URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from osler.store.base import (
    ReviewStore,
    StaleRevision,
    Store,
    UserExists,
    WriteResult,
    name_key,
    now,
)

if TYPE_CHECKING:
    from osler.settings import Settings


class Stores(NamedTuple):
    """The corpus store and the editorial store of one deployment."""

    corpus: Store
    reviews: ReviewStore

    def close(self) -> None:
        self.reviews.close()
        self.corpus.close()


class NoStore(ValueError):
    """The store URL names a backend Osler does not have (or is malformed)."""


def store_url(where: Settings | Path | str) -> str:
    """The store URL of settings, of a data directory, or a URL given as it is."""
    if isinstance(where, Path):
        from osler.store.sqlite import SCHEME, SQLiteStore

        return f"{SCHEME}{where / SQLiteStore.FILENAME}"
    if isinstance(where, str):
        return where if "://" in where else store_url(Path(where))
    return where.store


SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgres://")


def _unknown(url: str) -> NoStore:
    shown = url.split("://", 1)[0] + "://..." if "://" in url else url
    return NoStore(f"unknown store URL {shown!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")


def open_store(where: Settings | Path | str) -> Store:
    """Open (creating and migrating if needed) the corpus store of settings, a data directory
    or a store URL: sqlite:///PATH, or postgresql://USER:PASSWORD@HOST:PORT/DATABASE (the
    database is created if the server has none of that name and the user may)."""
    url = store_url(where)
    if url.startswith(SQLITE):
        from osler.store.sqlite import SQLiteStore, path_of

        return SQLiteStore(path_of(url))
    if url.startswith(POSTGRES):
        from osler.store.postgres import PostgresStore

        return PostgresStore(url)
    raise _unknown(url)


def stored(where: Settings | Path | str) -> bool:
    """Whether the store exists already (reading commands never create an empty one)."""
    url = store_url(where)
    if url.startswith(SQLITE):
        from osler.store.sqlite import path_of

        return path_of(url).is_file()
    if url.startswith(POSTGRES):
        from osler.store import postgres

        return postgres.stored(url)
    raise _unknown(url)


def review_store(store: Store) -> ReviewStore:
    """The editorial store that lives beside a corpus store (the same database, sharing its
    connection or pool: close the corpus store last)."""
    from osler.store.sqlite import SQLiteStore
    from osler.store.sqlite_review import SQLiteReviewStore

    if isinstance(store, SQLiteStore):
        return SQLiteReviewStore(store)
    if store.url.startswith(POSTGRES):
        from osler.store.postgres import PostgresStore
        from osler.store.postgres_review import PostgresReviewStore

        if isinstance(store, PostgresStore):
            return PostgresReviewStore(store.db)
    raise NoStore(f"no editorial store for {store.url!r}")


def open_stores(where: Settings | Path | str) -> Stores:
    """The corpus and editorial stores of settings, a data directory or a store URL."""
    store = open_store(where)
    return Stores(store, review_store(store))


__all__ = [
    "NoStore",
    "ReviewStore",
    "StaleRevision",
    "Store",
    "Stores",
    "UserExists",
    "WriteResult",
    "name_key",
    "now",
    "open_store",
    "open_stores",
    "review_store",
    "store_url",
    "stored",
]
