"""Context around the hits: the other passages of their sections that fit the question, and
lists that run on past a passage's end. Retrieval work, read from the store, so that the
composer receives every passage it composes from."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, TypeVar

from osler import citations
from osler.models import Document, Hit, Passage, Query
from osler.retrieve.rank import section_factor
from osler.store import Store
from osler.text import stems


class Documents(Protocol):
    """What context expansion reads: a Store, or a DocumentCache over one."""

    def passages(self, document_id: str) -> list[Passage]: ...
    def get_document(self, document_id: str) -> Document | None: ...


T = TypeVar("T")

#: Documents whose passages (and text) the cache keeps.
CACHED_DOCUMENTS = 48


class DocumentCache:
    """The passages and text of recently expanded documents, read once per corpus version.

    The documents at the top of the hits come back question after question, and a PDQ summary
    holds hundreds of passages: reading them again was half the time of an answer. Any write to
    the store (a new corpus version) empties the cache; it is safe to share between threads."""

    def __init__(self, store: Store, size: int = CACHED_DOCUMENTS) -> None:
        self.store = store
        self.size = size
        self._version = -1
        self._passages: OrderedDict[str, list[Passage]] = OrderedDict()
        self._documents: OrderedDict[str, Document | None] = OrderedDict()
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Empty the cache if the store changed since it was filled."""
        version = self.store.corpus_version()
        with self._lock:
            if version != self._version:
                self._passages.clear()
                self._documents.clear()
                self._version = version

    def passages(self, document_id: str) -> list[Passage]:
        return self._cached(self._passages, document_id, self.store.passages)

    def get_document(self, document_id: str) -> Document | None:
        return self._cached(self._documents, document_id, self.store.get_document)

    def _cached(self, cache: OrderedDict[str, T], key: str, read: Callable[[str], T]) -> T:
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = read(key)
        with self._lock:
            cache[key] = value
            while len(cache) > self.size:
                cache.popitem(last=False)
        return value

#: The documents of the top 10 hits lend the passages of their sections that fit the question type.
NEIGHBOUR_HITS = 10
NEIGHBOURS_PER_DOCUMENT = 8
#: A neighbour's hit score, as a share of the score of the hit that lent it.
NEIGHBOUR_SCORE = 0.3


def with_section_neighbours(store: Documents, hits: list[Hit], query: Query) -> list[Hit]:
    """The hits, each document among the top ones followed by the other passages of its
    sections that fit the question type ("Frequency" for "how many people are affected"), those
    sharing most words with the question first. A page's answer is often cut into several
    passages, and those that do not repeat the topic's name (a list, "It is very rare ...")
    rank low on their own."""
    have = {h.passage_id for h in hits}
    asked = stems(" ".join(query.terms))
    expanded: set[str] = set()
    out: list[Hit] = []
    for rank, hit in enumerate(hits):
        out.append(hit)
        if rank >= NEIGHBOUR_HITS or hit.document_id in expanded:
            continue
        expanded.add(hit.document_id)
        fitting = [
            p
            for p in store.passages(hit.document_id)
            if p.id not in have and section_factor(p.section, query) >= 1.0  # fits, not neutral
        ]
        # those whose heading path names most of the question's words first ("Treatment of
        # Unresectable, Metastatic ... › Systemic therapy" for metastatic disease), then those
        # whose text shares most words with it; document order among equals
        fitting.sort(
            key=lambda p: (
                -len(asked & stems(p.section)),
                -len(asked & stems(p.text)),
            )
        )
        for p in fitting[:NEIGHBOURS_PER_DOCUMENT]:
            have.add(p.id)
            out.append(
                hit.model_copy(
                    update={
                        "passage_id": p.id,
                        "section": p.section,
                        "text": p.text,
                        "start": p.start,
                        "end": p.end,
                        "score": hit.score * NEIGHBOUR_SCORE,
                        "passage_extra": p.extra,
                        "components": {**hit.components, "section": 1.0},
                    }
                )
            )
    return out


#: Following passages a list that runs past its passage's end may take in.
MAX_LIST_CONTINUATIONS = 2


def _ends_in_list(text: str) -> bool:
    last = text.rstrip().rsplit("\n", 1)[-1]
    return last.startswith("- ") or ": - " in last or last.endswith(":")


def with_list_continuations(store: Documents, hits: list[Hit]) -> list[Hit]:
    """The hits, each passage that ends inside a list extended over the following passages
    of its section that carry on the list ("- Surgery as palliative treatment ... -
    Chemotherapy."), so that the composer sees the whole list. The text stays the document's
    own span (document.text[start:end])."""
    documents: dict[str, list[Passage]] = {}  # a document's passages, read once
    out: list[Hit] = []
    for hit in hits:
        if _ends_in_list(hit.text):
            if hit.document_id not in documents:
                documents[hit.document_id] = store.passages(hit.document_id)
            hit = _continued(store, hit, documents[hit.document_id])
        out.append(hit)
    return out


def _continued(store: Documents, hit: Hit, passages: list[Passage]) -> Hit:
    at = next((i for i, p in enumerate(passages) if p.id == hit.passage_id), None)
    following = [] if at is None else passages[at + 1 : at + 1 + MAX_LIST_CONTINUATIONS]
    document = None
    end = hit.end
    extra = hit.passage_extra
    for p in following:
        if p.section != hit.section or not p.text.startswith("- "):
            break
        document = document or store.get_document(hit.document_id)
        if document is None or document.text[end : p.start] not in ("\n", " "):
            break
        end = p.end
        extra = citations.merged(extra, p.extra)
    if end == hit.end or document is None:
        return hit
    return hit.model_copy(
        update={"text": document.text[hit.start : end], "end": end, "passage_extra": extra}
    )
