"""Editions of one page from several sources: the newest is searched, the others are kept.

The same web page can arrive twice: MedQuAD holds 2017 copies of cancer.gov PDQ patient pages,
the NCI folder holds their 2025 editions, at the same URL. Both stay in the store (an article
may cite the older one); search serves the newest, so an answer never quotes a superseded text.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from osler.models import Document


def page_key(url: str | None) -> str | None:
    """A URL as an edition key: scheme, 'www.', case of the host and a trailing slash ignored."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    if not host or not path:
        return None
    return f"{host}{path}"


def edition_date(doc: Document) -> str:
    """When this edition was written, else when it was collected; '' when nothing says."""
    return doc.pub_date or doc.extra.get("collected", "") or (str(doc.year) if doc.year else "")


def superseded(documents: Iterable[Document]) -> dict[str, str]:
    """Document id -> the id of the newer edition of the same page that replaces it in search.

    Only a strictly newer date supersedes: an undated copy is older than a dated one, and two
    editions of the same date (or both undated) both stay searchable.
    """
    by_page: dict[str, list[Document]] = {}
    for doc in documents:
        key = page_key(doc.url)
        if key:
            by_page.setdefault(key, []).append(doc)
    out: dict[str, str] = {}
    for editions in by_page.values():
        if len(editions) < 2:
            continue
        newest = max(editions, key=edition_date)
        latest = edition_date(newest)
        for doc in editions:
            if edition_date(doc) < latest:
                out[doc.id] = newest.id
    return out
