"""Evaluation of Osler: ranking metrics and the retrieval benchmark (`osler eval retrieval`)."""

from osler.evaluate.metrics import (
    average_precision_at_k,
    distinct,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
)

__all__ = [
    "average_precision_at_k",
    "distinct",
    "ndcg_at_k",
    "percentile",
    "recall_at_k",
    "reciprocal_rank",
]
