"""Where Osler keeps its data and finds the shared sample data; environment first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field

DATA_DIR_ENV = "OSLER_DATA_DIR"
SHARED_DATA_ENV = "OSLER_SHARED_DATA"
GUIDELINE_AGE_ENV = "OSLER_GUIDELINE_MAX_AGE_YEARS"
#: A guideline older than this many years is flagged as possibly out of date.
GUIDELINE_MAX_AGE_YEARS = 5


def data_dir(explicit: Path | str | None = None) -> Path:
    """The data directory: an explicit path, else $OSLER_DATA_DIR, else the per-user data dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return Path(platformdirs.user_data_dir("osler"))


def guideline_max_age() -> int:
    """Years after which a cited guideline is flagged: $OSLER_GUIDELINE_MAX_AGE_YEARS, else 5."""
    raw = os.environ.get(GUIDELINE_AGE_ENV, "").strip()
    return int(raw) if raw.isdigit() else GUIDELINE_MAX_AGE_YEARS


def shared_data_dir() -> Path:
    """The shared sample data: $OSLER_SHARED_DATA, else ../shared/data beside the checkout."""
    if os.environ.get(SHARED_DATA_ENV):
        return Path(os.environ[SHARED_DATA_ENV]).expanduser()
    return Path(__file__).resolve().parents[3] / "shared" / "data"


class RankingWeights(BaseModel):
    """Every weight of evidence-aware ranking, in one place (each factor lies in [0, 1])."""

    model_config = ConfigDict(extra="forbid")

    relevance: float = Field(1.0, description="Fused lexical/dense relevance, normalised to [0, 1]")
    evidence: float = Field(0.12, description="Evidence level (guideline highest)")
    recency: float = Field(0.04, description="Publication year, newer higher")
    authority: float = Field(0.05, description="Source authority (see rank.AUTHORITY)")
    audience: float = Field(
        0.30,
        description="Document audience matches the reader (0.30 chosen on half of the BioASQ "
        "questions; see docs/evaluation.md)",
    )
    section: float = Field(0.15, description="Passage section matches the question type")
    focus: float = Field(
        0.15, description="Share of the question's focus words in the title or passage"
    )
    coverage: float = Field(
        0.7,
        description="Share of the question's distinct words in the title or passage, each "
        "weighted by its rarity among the candidates (coordination-level matching; 0.7 chosen "
        "on half of the BioASQ questions)",
    )
    coverage_specificity: float = Field(
        2.0,
        description="Power of each question word's corpus-wide inverse document frequency in "
        "the coverage word weights (0 = rarity among the candidates only)",
    )
    per_document: int = Field(2, description="At most this many passages per document in the top k")
    duplicate_jaccard: float = Field(
        0.8, description="Word-shingle overlap above which passages collapse"
    )
    candidates: int = Field(200, description="Candidates taken from each index before re-ranking")
    fusion: Literal["zscore", "rrf"] = Field(
        "zscore",
        description="How lexical and dense relevance combine: 'zscore' (BM25 and the dense cosine "
        "of every candidate, each standardised over the candidates, mixed by dense_share) or "
        "'rrf' (reciprocal rank fusion of the two top lists)",
    )
    dense_share: float = Field(
        0.6, description="Share of the dense cosine in 'zscore' fusion (the rest is BM25)"
    )
    rrf_k: int = Field(60, description="Reciprocal rank fusion constant ('rrf' fusion)")
