"""Osler: a self-hosted clinical evidence answer engine.

    from osler import Osler

    with Osler.open() as osler:   # settings from OSLER_* variables / osler.toml
        answer = osler.ask("What is the treatment for gallbladder cancer?", "clinician")
        print(answer.bottom_line.text, [r.title for r in answer.references])
"""

from osler.evidence import assess
from osler.ingest.pipeline import ingest
from osler.models import (
    Answer,
    AnswerSection,
    Article,
    ArticleStatus,
    Audience,
    Document,
    EvidenceLevel,
    Hit,
    IngestSummary,
    ParsedDocument,
    Passage,
    Query,
    Reference,
    Section,
    Skipped,
    Statement,
)
from osler.service import Osler
from osler.settings import Settings, load
from osler.store import ReviewStore, Store, open_store, open_stores
from osler.version import __version__

__all__ = [
    "Answer",
    "AnswerSection",
    "Article",
    "ArticleStatus",
    "Audience",
    "Document",
    "EvidenceLevel",
    "Hit",
    "IngestSummary",
    "Osler",
    "ParsedDocument",
    "Passage",
    "Query",
    "Reference",
    "ReviewStore",
    "Section",
    "Settings",
    "Skipped",
    "Statement",
    "Store",
    "__version__",
    "assess",
    "ingest",
    "load",
    "open_store",
    "open_stores",
]
