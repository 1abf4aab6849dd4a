"""After an ingest: re-ask the question of every approved article and flag those whose evidence moved.

An article needs re-review when a passage it quotes changed or disappeared, or when the same question
now cites sources of a higher evidence level than any the approved version cites.
"""

from __future__ import annotations

from dataclasses import dataclass

from osler.models import Article, EvidenceLevel
from osler.review.articles import Documents, Fresh
from osler.store import ReviewStore


@dataclass
class Flag:
    article: Article
    reason: str


def _rank(level: str) -> int:
    try:
        return EvidenceLevel(level).rank
    except ValueError:
        return 7


def reasons(reviews: ReviewStore, documents: Documents, fresh: Fresh, article: Article) -> list[str]:
    """Why the approved version of `article` is out of date (empty if it is not)."""
    version = reviews.version(article.id, article.approved_version or 0)
    if version is None:
        return []
    found: list[str] = []
    for ref in version.references:
        doc = documents.get_document(ref.document_id)
        if doc is None:
            found.append(f"cited source [{ref.n}] {ref.document_id} was removed")
        elif ref.quote and ref.quote not in doc.text:
            found.append(f"the passage cited as [{ref.n}] ({ref.document_id}) changed")
    cited = {r.document_id for r in version.references}
    best = min((_rank(r.evidence_level) for r in version.references), default=7)
    now = fresh(article.question, article.audience)
    stronger = [
        r for r in now.references if r.document_id not in cited and _rank(r.evidence_level) < best
    ]
    if stronger:
        levels = sorted({EvidenceLevel(r.evidence_level).label for r in stronger})
        found.append(
            f"{len(stronger)} new source(s) of a higher evidence level ({', '.join(levels)}): "
            + ", ".join(r.document_id for r in stronger[:5])
        )
    return found


def check(reviews: ReviewStore, documents: Documents, fresh: Fresh) -> list[Flag]:
    """Flag every served (approved, not archived) article whose evidence changed."""
    flags = []
    for article in reviews.articles(served=True):
        found = reasons(reviews, documents, fresh, article)
        if not found:
            continue
        reason = "; ".join(found)
        if not (article.needs_re_review and article.re_review_reason == reason):
            reviews.flag(article.id, reason)
        flags.append(Flag(reviews.article(article.id) or article, reason))
    return flags
