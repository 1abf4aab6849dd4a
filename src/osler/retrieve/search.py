"""The searcher: analyse the question, gather candidates, fuse, rank. Opens everything once."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Protocol

from osler.audience import UnknownAudience as UnknownAudience  # re-exported
from osler.audience import profile_for
from osler.index.lexical import LexicalIndex
from osler.models import Document, Hit, Query
from osler.retrieve.analyse import analyse
from osler.retrieve.editions import superseded
from osler.retrieve.rank import Candidate, question_words, rank
from osler.retrieve.topics import Topics, resolved
from osler.settings import RankingWeights
from osler.store import Store

#: Most candidates taken from an index when widening the net for k results.
MAX_CANDIDATES = 3200

#: Which documents a search may return passages of (e.g. a minimum evidence level).
DocumentFilter = Callable[[Document], bool]


class NothingIngested(RuntimeError):
    """The store is empty: there is nothing to search yet."""

    def __init__(self, where: str = "") -> None:
        place = f" in {where}" if where else ""
        super().__init__(
            f"Nothing is ingested yet{place}: run `osler ingest PATH` (e.g. ../shared/data), "
            "or point OSLER_DATA_DIR (or --data-dir) at the data directory you ingested into."
        )


class DenseSearch(Protocol):
    """What the searcher needs from a dense index (osler.index.dense.DenseIndex)."""

    def search(self, text: str, k: int) -> list[tuple[str, float]]: ...
    def query_vector(self, text: str) -> Any: ...
    def search_vector(self, query: Any, k: int) -> list[tuple[str, float]]: ...
    def similarities(self, query: Any, passage_ids: Iterable[str]) -> dict[str, float]: ...


def fuse(rankings: list[list[tuple[str, float]]], rrf_k: int) -> dict[str, float]:
    """Reciprocal rank fusion of several rankings of passage ids."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for position, (pid, _) in enumerate(ranking):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (rrf_k + position + 1)
    return scores


def _standardised(values: list[float]) -> list[float]:
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return [(v - mean) / spread if spread > 0 else 0.0 for v in values]


def fuse_scores(
    lexical: dict[str, float], dense: dict[str, float], dense_share: float
) -> dict[str, float]:
    """Score fusion over the candidates (the union of both top lists): BM25 (0 where a passage
    has no lexical match) and the dense cosine are each standardised (z-scores over the
    candidates), mixed as (1 - dense_share)·lexical + dense_share·dense, then scaled to [0, 1].

    Unlike rank fusion this keeps how far apart scores are, and every candidate gets its real
    cosine (not 0 because it missed the dense top list).
    """
    pids = list(dict.fromkeys([*lexical, *dense]))
    if not pids:
        return {}
    lex = _standardised([lexical.get(p, 0.0) for p in pids])
    den = _standardised([dense.get(p, 0.0) for p in pids])
    mixed = [(1 - dense_share) * a + dense_share * b for a, b in zip(lex, den, strict=True)]
    low, high = min(mixed), max(mixed)
    span = high - low
    return {p: (m - low) / span if span > 0 else 1.0 for p, m in zip(pids, mixed, strict=True)}


class Searcher:
    """Holds the store, the indexes and document metadata; `search` answers many questions."""

    def __init__(
        self,
        store: Store,
        lexical: LexicalIndex,
        dense: DenseSearch | None = None,
        weights: RankingWeights | None = None,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.dense = dense
        self.weights = weights or RankingWeights()
        #: Every document's metadata (no text), read once; read-only.
        self.documents: Mapping[str, Document] = MappingProxyType(
            {d.id: d for d in store.document_summaries()}
        )
        #: Older editions of pages that a newer document replaces (kept in the store, not served).
        self.superseded: dict[str, str] = superseded(self.documents.values())
        #: Documents searched as if they were never ingested (see `hiding`).
        self.hidden: frozenset[str] = frozenset()
        self._topics: Topics | None = None
        self._building = threading.Lock()

    @property
    def topics(self) -> Topics:
        """The corpus's topic names (built on first use, from the document metadata; once,
        however many threads ask at the same time)."""
        if self._topics is None:
            with self._building:
                if self._topics is None:
                    self._topics = Topics(
                        self.documents.values(),
                        self.lexical.abbreviations,
                        lambda words: self.lexical.document_frequencies(words)[1],
                    )
        return self._topics

    @contextmanager
    def hiding(self, ids: Iterable[str]) -> Iterator[None]:
        """Search as if these documents were never ingested (their passages are not ranked,
        their names name no topic); the store and the indexes are not touched."""
        self.hidden = frozenset(ids)
        self.topics.hidden = self.hidden
        try:
            yield
        finally:
            self.hidden = frozenset()
            self.topics.hidden = self.hidden

    def analyse(self, question: str) -> Query:
        return resolved(analyse(question, self.lexical.abbreviations), self.topics)

    def search(
        self,
        question: str | Query,
        *,
        k: int = 10,
        audience: str = "clinician",
        datasets: set[str] | None = None,
        where: DocumentFilter | None = None,
        use_dense: bool = True,
    ) -> list[Hit]:
        """Ranked passages for a question (or its analysis, from `analyse`); [] when it holds
        no searchable words. `where` keeps only passages of the documents it holds for (the net
        is widened until k are found or the index is exhausted)."""
        profile_for(audience)  # UnknownAudience for a name without a profile
        if not self.documents:
            raise NothingIngested(self.store.url)
        query = self.analyse(question) if isinstance(question, str) else question
        if not query.terms:
            return []
        n = self.weights.candidates
        vector = None
        if self.dense is not None and use_dense and query.cleaned.strip():
            vector = self.dense.query_vector(query.cleaned)  # once, however wide the net gets
        specificity = self.specificity(query)
        while True:
            hits, exhausted = self._ranked(
                query, n, k, audience, datasets, where, vector, specificity
            )
            # near-duplicates and the per-document cap can leave fewer than k: widen the net
            if len(hits) >= k or exhausted or n >= MAX_CANDIDATES:
                return hits
            n *= 4

    def _ranked(
        self,
        query: Query,
        n: int,
        k: int,
        audience: str,
        datasets: set[str] | None,
        where: DocumentFilter | None,
        vector: Any,
        specificity: dict[str, float] | None = None,
    ) -> tuple[list[Hit], bool]:
        lexical = self.lexical.search(query.terms, n, query.expansion_terms)
        dense = self.dense.search_vector(vector, n) if self.dense and vector is not None else []
        lex, den = dict(lexical), dict(dense)
        if not dense:
            scores = dict(lexical)
        elif self.weights.fusion == "rrf":
            scores = fuse([lexical, dense], self.weights.rrf_k)
        else:
            assert self.dense is not None
            # the exact cosine of the lexical candidates that missed the dense top list
            den.update(self.dense.similarities(vector, [p for p in lex if p not in den]))
            scores = fuse_scores(lex, den, self.weights.dense_share)
        top = max(scores.values(), default=1.0) or 1.0
        passages = self.store.get_passages(list(scores))
        candidates = []
        for pid, score in scores.items():
            passage = passages.get(pid)
            doc = self.documents.get(passage.document_id) if passage else None
            if passage is None or doc is None or doc.id in self.superseded or doc.id in self.hidden:
                continue
            if datasets and doc.extra.get("dataset") not in datasets:
                continue
            if where is not None and not where(doc):
                continue
            candidates.append(
                Candidate(passage, doc, score / top, lex.get(pid, 0.0), den.get(pid, 0.0))
            )
        ranked = rank(candidates, query, audience, self.weights, k, specificity)
        return ranked, len(lexical) < n

    def specificity(self, query: Query) -> dict[str, float] | None:
        """Each question word's corpus-wide specificity for the coverage factor: its inverse
        document frequency among the indexed passages, log(1 + N / (1 + df)), raised to
        `coverage_specificity` (2: the square, as a TF-IDF dot product weighs a shared word).
        None when the power is 0 or nothing is indexed."""
        power = self.weights.coverage_specificity
        if power <= 0:
            return None
        words = question_words(query)
        total, freqs = self.lexical.document_frequencies(list(words.values()))
        if total <= 0:
            return None
        return {
            stem: math.log(1 + total / (1 + freqs.get(word, 0))) ** power
            for stem, word in words.items()
        }


def hit_json(hit: Hit, explain: bool = False) -> dict[str, object]:
    """A hit as the documented search JSON (score components only with explain)."""
    keys = ["passage_id", "document_id", "title", "section", "text", "score", "source"]
    out: dict[str, object] = {key: getattr(hit, key) for key in keys}
    out.update(evidence_level=hit.evidence_level.value, year=hit.year, url=hit.url)
    if explain:
        out["components"] = hit.components
    return out
