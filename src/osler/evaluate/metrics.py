"""Ranking metrics for retrieval evaluation: pure functions over a ranking and a relevant set.

A *ranking* is a sequence of keys (document ids or PMIDs), best first, without repeats: use
`distinct` to collapse a ranking of passages to the documents they belong to. *relevant* is the
set of keys judged relevant (binary relevance). Every metric lies in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def distinct(keys: Iterable[K]) -> list[K]:
    """The keys in order of first appearance, each once.

    >>> distinct(["a", "b", "a", "c", "b"])
    ['a', 'b', 'c']
    """
    return list(dict.fromkeys(keys))


def _check(relevant: Collection[object], k: int | None = None) -> None:
    if not relevant:
        raise ValueError("no relevant keys: the metric is undefined for this question")
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, not {k}")


def recall_at_k(ranking: Sequence[K], relevant: Collection[K], k: int) -> float:
    """Share of the relevant keys found in the top k.

    With one relevant key this is the hit rate (1.0 if it is in the top k, else 0.0).

    >>> recall_at_k(["a", "b", "c"], {"b", "z"}, 2)
    0.5
    """
    _check(relevant, k)
    wanted = set(relevant)
    return len(wanted.intersection(ranking[:k])) / len(wanted)


def reciprocal_rank(ranking: Sequence[K], relevant: Collection[K], k: int | None = None) -> float:
    """1 / (1-based rank of the first relevant key), 0.0 when none is in the top k (or at all).

    Averaged over questions this is MRR (MRR@k with a cutoff).

    >>> reciprocal_rank(["a", "b", "c"], {"c"})
    0.3333333333333333
    """
    _check(relevant, k)
    for position, key in enumerate(ranking[:k] if k else ranking, 1):
        if key in relevant:
            return 1.0 / position
    return 0.0


def ndcg_at_k(ranking: Sequence[K], relevant: Collection[K], k: int) -> float:
    """Normalised discounted cumulative gain at k with binary relevance.

    DCG = sum over relevant keys at 1-based rank r <= k of 1 / log2(r + 1); it is divided by
    the DCG of an ideal ranking, which puts min(|relevant|, k) relevant keys first.

    >>> round(ndcg_at_k(["x", "a"], {"a"}, 10), 4)
    0.6309
    """
    _check(relevant, k)
    dcg = sum(
        1.0 / math.log2(position + 1)
        for position, key in enumerate(ranking[:k], 1)
        if key in relevant
    )
    ideal = sum(1.0 / math.log2(position + 1) for position in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def average_precision_at_k(ranking: Sequence[K], relevant: Collection[K], k: int) -> float:
    """Average precision at k: the mean of precision@r over the ranks r <= k of relevant keys.

    The sum is divided by min(|relevant|, k), so a perfect top k scores 1.0 even when there are
    more than k relevant keys. Averaged over questions this is MAP@k.

    >>> average_precision_at_k(["a", "x", "b"], {"a", "b"}, 10)
    0.8333333333333333
    """
    _check(relevant, k)
    found = 0
    total = 0.0
    for position, key in enumerate(ranking[:k], 1):
        if key in relevant:
            found += 1
            total += found / position
    return total / min(len(relevant), k)


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean; 0.0 for no values."""
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must lie in [0, 100], not {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(values: Sequence[float], digits: int = 1) -> dict[str, float | int]:
    """p50, p95, mean (rounded to `digits`) and count of a list of timings."""
    return {
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "mean": round(mean(values), digits),
        "n": len(values),
    }
