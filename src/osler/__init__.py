"""Osler: a self-hosted clinical evidence answer engine."""

from osler.evidence import assess
from osler.ingest.pipeline import ingest
from osler.models import (
    Audience,
    Document,
    EvidenceLevel,
    IngestSummary,
    ParsedDocument,
    Passage,
    Section,
    Skipped,
)
from osler.store import Store, open_store

__version__ = "0.1.0"

__all__ = [
    "Audience",
    "Document",
    "EvidenceLevel",
    "IngestSummary",
    "ParsedDocument",
    "Passage",
    "Section",
    "Skipped",
    "Store",
    "__version__",
    "assess",
    "ingest",
    "open_store",
]
