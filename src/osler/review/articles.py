"""Articles: created from answers, edited into new versions, moved through review, served.

Plain functions over a `ReviewStore`; each checks `osler.review.rules` before it writes.
"""

from __future__ import annotations

import difflib
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

from osler import citations
from osler.audience import PATIENT_HEADINGS, PROFILES, UnknownAudience, profile_for
from osler.compose import figures, safety, templates
from osler.compose.verify import verify
from osler.models import (
    Answer,
    AnswerSection,
    Article,
    ArticleStatus,
    ArticleVersion,
    Document,
    Passage,
    Reference,
    ReferenceSnapshot,
    Statement,
    User,
)
from osler.render.markdown import to_markdown
from osler.retrieve.analyse import analyse
from osler.review import rules
from osler.settings import EditorialSettings
from osler.store import ReviewStore, StaleRevision, now

_WORD = re.compile(r"[a-z0-9]+")
log = logging.getLogger(__name__)


#: A newly composed answer to (question, audience), neither served from nor saved as an article.
Fresh = Callable[[str, str], Answer]


def normalize(question: str) -> str:
    """Lower-case words of the question, punctuation and spacing dropped."""
    return " ".join(_WORD.findall(question.lower()))


#: Words that do not change what a question asks ("the treatment of" = "treatments for").
_FILLER = frozenset("a an the is are of for to in on with about and or".split())


def _fold(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


@lru_cache(maxsize=20_000)
def _profile(question: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """Question type, focus words and the other (intent) words, plural-folded; cached."""
    query = analyse(question)
    focus = frozenset(_fold(w) for w in query.focus_terms)
    intent = frozenset(
        _fold(w) for w in normalize(question).split() if w not in _FILLER and _fold(w) not in focus
    )
    return query.question_type, focus, intent


def similarity(a: str, b: str) -> float:
    """0 unless both ask the same type of question about the same focus (the same words); then
    the overlap (Jaccard) of their other words, so "What to do for X" never matches "What is X"."""
    (kind_a, focus_a, intent_a), (kind_b, focus_b, intent_b) = _profile(a), _profile(b)
    if kind_a != kind_b or focus_a != focus_b or not focus_a:
        return 0.0
    union = intent_a | intent_b
    return len(intent_a & intent_b) / len(union) if union else 1.0


def snapshot(answer: Answer) -> list[ReferenceSnapshot]:
    """What each cited passage said at the time (for staleness and the review view)."""
    return [
        ReferenceSnapshot(
            n=r.n,
            document_id=r.document_id,
            passage_id=r.passage_id,
            quote=r.quote,
            evidence_level=str(r.evidence_level),
        )
        for r in answer.references
    ]


def diff(old: Answer | None, new: Answer) -> str:
    """Unified diff of the two answers' Markdown."""
    before = to_markdown(old).splitlines() if old else []
    return "\n".join(
        difflib.unified_diff(before, to_markdown(new).splitlines(), "previous", "this", lineterm="")
    )


class Documents(Protocol):
    def get_document(self, document_id: str) -> Document | None: ...

    def passages(self, document_id: str) -> list[Passage]: ...


#: Every heading an answer section may carry: the templates', their audience variants, the
#: patient profile's and the abstention list's. An edit cannot invent a heading.
KNOWN_HEADINGS = frozenset(
    {h for t in templates.TEMPLATES.values() for _, h in t.sections}
    | {h for t in templates.TEMPLATES.values() for h in (t.audience_headings or {}).values()}
    | set(PATIENT_HEADINGS.values())
    | {"Closest sources"}
)


def labelled_questions(audience: str) -> frozenset[str]:
    """The generic care-team questions an answer for `audience` may carry (audience.py)."""
    profile = PROFILES.get(audience)
    return frozenset(q for qs in profile.questions.values() for q in qs) if profile else frozenset()


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None (no javascript:, data: or file: links)."""
    if not url:
        return None
    scheme = url.strip().split(":", 1)[0].lower() if ":" in url else ""
    return url.strip() if scheme in {"http", "https"} and url.strip().find("//") > 0 else None


class NotStored(ValueError):
    """A reference's document or quote is not (or no longer) in the store."""


def stored_reference(ref: Reference, documents: Documents) -> Reference:
    """`ref` with everything but its number, passage and span taken from the store: title,
    source, year, level, url, date, section, page, grade and what the passage cites. Raises
    ValueError when the document or passage does not exist or the quote is not its text."""
    doc = documents.get_document(ref.document_id)
    if doc is None:
        raise NotStored(f"reference [{ref.n}] cites {ref.document_id!r}, which is not stored")
    if not (0 <= ref.start < ref.end <= len(doc.text)) or doc.text[ref.start : ref.end] != ref.quote:
        if ref.quote and ref.quote in doc.text:  # right words, wrong offsets: use the stored ones
            start = doc.text.index(ref.quote)
            ref = ref.model_copy(update={"start": start, "end": start + len(ref.quote)})
        else:
            raise NotStored(f"reference [{ref.n}] does not quote {ref.document_id} as stored")
    spans = [p for p in documents.passages(doc.id) if p.start < ref.end and p.end > ref.start]
    own = next((p for p in spans if p.id == ref.passage_id), None)
    if own is None:
        raise ValueError(f"reference [{ref.n}]: passage {ref.passage_id!r} is not in its quote")
    notes: dict[str, str] = {}
    for p in spans:
        notes = citations.merged(notes, p.extra) if notes else dict(p.extra)
    return ref.model_copy(
        update={
            "title": doc.title,
            "section": own.section or None,
            "source": doc.source,
            "year": doc.year,
            "evidence_level": doc.evidence_level,
            "url": safe_url(doc.url),
            "date": doc.pub_date,
            "page": notes.get("page"),
            "grade": citations.grade(doc, notes),
            "supported_by": citations.supported_by(doc, notes),
            "age_note": citations.age_note(doc),
        }
    )


def reader_form(
    answer: Answer,
    audience: str,
    documents: Documents | None = None,
    previous: Answer | None = None,
    *,
    serving: bool = False,
) -> Answer:
    """What a reader may be shown of `answer`: reference metadata from the store (or, without
    one, from the previous version of the same passage), http(s) links only, the policy's
    disclaimer for the audience, figures recomputed from the statements. Raises ValueError for
    what no store or policy can supply: statements, glossary definitions not supported by their
    cited quote, care-team questions outside the labelled set, invented section headings.
    `serving`: a reference whose passage is no longer stored keeps the version's metadata (the
    staleness check flags the article for re-review)."""
    try:
        profile = profile_for(audience)
    except UnknownAudience as exc:
        raise ValueError(str(exc)) from exc
    before = {(r.document_id, r.passage_id): r for r in (previous.references if previous else [])}
    refs = []
    for ref in answer.references:
        if documents is not None:
            try:
                ref = stored_reference(ref, documents)
            except NotStored:
                if not serving:
                    raise
        elif (ref.document_id, ref.passage_id) in before:
            old = before[(ref.document_id, ref.passage_id)]
            ref = old.model_copy(update={"n": ref.n})
        refs.append(ref.model_copy(update={"url": safe_url(ref.url)}))
    if len({r.n for r in refs}) != len(refs):
        raise ValueError("two references share a number")
    by_n = {r.n: r for r in refs}
    for entry in answer.glossary:
        ref = by_n.get(entry.citation)
        if ref is None:
            raise ValueError(f"glossary entry {entry.term!r} cites [{entry.citation}], no reference")
        if entry.term.strip().lower() not in ref.quote.lower():
            raise ValueError(f"glossary term {entry.term!r} is not in the quote it cites")
        verdict = verify(entry.definition, [ref.quote])
        if not verdict.supported:
            raise ValueError(
                f"glossary definition of {entry.term!r} not supported by what it cites "
                f"({'; '.join(verdict.reasons)})"
            )
    allowed = labelled_questions(profile.name)
    invented = [q for q in answer.questions_to_ask if q not in allowed]
    if invented:
        raise ValueError(
            f"questions to ask must come from the labelled set for {profile.name}: {invented[0]!r}"
        )
    headings = KNOWN_HEADINGS | {s.heading for s in (previous.sections if previous else [])}
    for section in answer.sections:
        if section.heading not in headings:
            raise ValueError(f"section heading {section.heading!r} is not one Osler uses")
    if answer.notice not in {None, safety.EMERGENCY_NOTICE}:
        raise ValueError("the safety notice is Osler's own; it cannot be edited")
    return answer.model_copy(
        update={
            "audience": profile.name,
            "references": refs,
            "disclaimer": profile.disclaimer,
            "evidence_summary": dict(Counter(r.evidence_level.value for r in refs)),
            "evidence_table": figures.evidence_rows(answer.sections, refs),
        }
    )


def check_answer(
    answer: Answer,
    documents: Documents | None = None,
    previous: Answer | None = None,
    audience: str | None = None,
    *,
    serving: bool = False,
) -> Answer:
    """An edited answer keeps the ground rules of every answer: each statement cites references
    that exist and support it (the LLM verifier's checks: numbers, content words, negation);
    with `documents`, each reference quotes its document word for word and carries the
    store's metadata. Returns the answer as a reader may see it (see `reader_form`)."""
    if answer.abstained:  # Osler's reason and the closest sources' titles, nothing to verify
        return _abstention(
            reader_form(answer, audience or answer.audience, documents, previous, serving=serving)
        )
    refs = {r.n: r for r in answer.references}
    statements = [answer.bottom_line, *(i for s in answer.sections for i in s.items)]
    for st in statements:
        if not st.text.strip():
            continue
        if not st.citations:
            raise ValueError(f"statement without a citation: {st.text[:80]!r}")
        missing = set(st.citations) - set(refs)
        if missing:
            raise ValueError(f"citation {sorted(missing)} has no reference: {st.text[:80]!r}")
        verdict = verify(st.text, [refs[n].quote for n in st.citations])
        if not verdict.supported:
            raise ValueError(
                f"statement not supported by what it cites ({'; '.join(verdict.reasons)}): "
                f"{st.text[:80]!r}"
            )
    return reader_form(answer, audience or answer.audience, documents, previous, serving=serving)


def _abstention(answer: Answer) -> Answer:
    """An abstention as Osler words it: its reason, and the closest sources by stored title."""
    by_n = {r.n: r for r in answer.references}
    closest = [
        Statement(text=by_n[n].title, citations=[n]) for n in sorted(by_n)
    ]
    return answer.model_copy(
        update={
            "bottom_line": Statement(text=answer.abstain_reason or "No answer."),
            "sections": (
                [AnswerSection(heading="Closest sources", kind="closest", items=closest)]
                if closest
                else []
            ),
            "glossary": [],
            "evidence_table": [],
        }
    )


#: What an editor's hand edit keeps from the version it edits (Osler writes these, not editors).
LOCKED = (
    "question", "standalone_question", "audience", "question_type", "title", "abstained",
    "abstain_reason", "composer", "composer_note", "notice",
)


def locked(answer: Answer, previous: Answer) -> Answer:
    """A hand edit with Osler's own fields kept from `previous`; follow-up questions may only
    be dropped. Raises ValueError when the edit changes one (the title, say)."""
    for name in LOCKED:
        if getattr(answer, name) != getattr(previous, name):
            raise ValueError(f"{name.replace('_', ' ')} cannot be edited (it is set by Osler)")
    extra = [q for q in answer.follow_ups if q not in previous.follow_ups]
    if extra:
        raise ValueError(f"follow-up questions can be removed, not added: {extra[0]!r}")
    return answer


def create(reviews: ReviewStore, answer: Answer, author: User | None, comment: str = "") -> Article:
    """A draft article holding `answer` as version 1."""
    if author is not None:
        rules.check_create(author)
    name = author.name if author else "osler"
    article_id = uuid.uuid4().hex[:12]
    stamp = now()
    question = answer.standalone_question or answer.question
    article = Article(
        id=article_id,
        question=question,
        normalized_question=normalize(question),
        audience=answer.audience,
        status=ArticleStatus.DRAFT,
        revision=1,
        latest_version=1,
        created_by=name,
        created_at=stamp,
        updated_at=stamp,
    )
    version = _version(article_id, 1, answer, None, name, comment or "created from an answer")
    return reviews.create_article(article, version)


def edit(
    reviews: ReviewStore,
    article_id: str,
    answer: Answer,
    user: User,
    revision: int,
    comment: str = "",
    documents: Documents | None = None,
    *,
    composed: bool = False,
) -> Article:
    """Save `answer` as the next version (checked by `check_answer`). A hand edit keeps Osler's
    own fields (`locked`); `composed` marks an answer Osler composed again (regenerate)."""
    article = _get(reviews, article_id, revision)
    status = rules.check_edit(user, article)
    previous = reviews.version(article_id, article.latest_version)
    if answer.audience != article.audience:
        raise ValueError(f"the article is for {article.audience}, not {answer.audience}")
    if previous is not None and not composed:
        answer = locked(answer, previous.answer)
    answer = check_answer(
        answer, documents, previous.answer if previous else None, article.audience
    )
    number = article.latest_version + 1
    version = _version(
        article_id, number, answer, previous.answer if previous else None, user.name, comment
    )
    return reviews.update_article(
        article_id,
        revision,
        {"status": status.value, "latest_version": number},
        actor=user.name,
        action="edit",
        comment=comment,
        version=version,
    )


def transition(
    reviews: ReviewStore,
    article_id: str,
    action: str,
    user: User | None,
    revision: int,
    comment: str = "",
    settings: EditorialSettings | None = None,
) -> Article:
    """Take a workflow action (submit, start, approve, request_changes, archive)."""
    settings = settings or EditorialSettings()
    article = _get(reviews, article_id, revision)
    approvals = reviews.approvals(article_id, article.latest_version)
    target = rules.check_transition(
        user,
        action,
        article,
        editors_since_approval=editors_since_approval(reviews, article),
        approvals=approvals,
        required_approvals=settings.required_approvals,
    )
    assert user is not None  # check_transition refuses anonymous users
    changes: dict[str, object] = {"status": target.value}
    if target is ArticleStatus.APPROVED:
        changes |= {
            "approved_version": article.latest_version,
            "approved_at": now(),
            "needs_re_review": 0,
            "re_review_reason": None,
        }
    return reviews.update_article(
        article_id,
        revision,
        changes,
        actor=user.name,
        action=action,
        comment=comment,
        approval_by=user.id if action == "approve" else None,
    )


def editors_since_approval(reviews: ReviewStore, article: Article) -> set[str]:
    """Authors of the versions after the last approved one (they cannot approve)."""
    since = article.approved_version or 0
    return {v.author for v in reviews.versions(article.id) if v.number > since}


def served(
    reviews: ReviewStore,
    question: str,
    audience: str,
    settings: EditorialSettings,
    documents: Documents | None = None,
) -> Answer | None:
    """The approved article answering `question` for `audience`, as an Answer, if any."""
    exact = [a for a in reviews.find(normalize(question), audience) if a.approved_version]
    article = exact[0] if exact else None
    if article is None:
        scored = [
            (similarity(question, a.question), a)
            for a in reviews.articles(audience=audience, served=True)
        ]
        best = max(scored, key=lambda s: s[0], default=(0.0, None))
        if best[1] is None or best[0] < settings.match_threshold:
            return None
        article = best[1]
    if article.status is ArticleStatus.ARCHIVED:
        return None
    return approved_answer(reviews, article, documents)


def approved_answer(
    reviews: ReviewStore, article: Article, documents: Documents | None = None
) -> Answer | None:
    """The approved version of an article, marked with its status, date and reviewers; checked
    again as it is served (`check_answer`, with the store's metadata for each reference whose
    document is still stored): a version that fails is not served."""
    if not article.approved_version:
        return None
    version = reviews.version(article.id, article.approved_version)
    if version is None:
        return None
    try:
        checked = check_answer(
            version.answer, documents, version.answer, article.audience, serving=True
        )
    except ValueError as exc:
        log.warning("approved article %s v%s not served: %s", article.id, version.number, exc)
        return None
    reviewers = reviews.approvers(article.id, article.approved_version)
    return checked.model_copy(
        update={
            "status": ArticleStatus.APPROVED.value,
            "article_id": article.id,
            "last_updated": article.approved_at,
            "reviewed_by": [u.signature for u in reviewers],
            "new_evidence": article.re_review_reason if article.needs_re_review else None,
        }
    )


def filed(reviews: ReviewStore, answer: Answer) -> Answer:
    """A newly generated answer saved as a draft article for the board (unless it abstained,
    cites nothing, or an open article asks the same question already), marked with the
    article's id and, while the board works on it, its status."""
    if answer.abstained or not answer.references:
        return answer
    open_ = [
        a
        for a in reviews.find(normalize(answer.standalone_question), answer.audience)
        if a.status is not ArticleStatus.ARCHIVED
    ]
    article = open_[0] if open_ else create(reviews, answer, None)
    in_review = article.status in {ArticleStatus.SUBMITTED, ArticleStatus.UNDER_REVIEW}
    return answer.model_copy(
        update={
            "article_id": article.id,
            # the status strip shows how far the board has got with this question
            "status": article.status.value if in_review else answer.status,
        }
    )


def _get(reviews: ReviewStore, article_id: str, revision: int | None = None) -> Article:
    """The article; with `revision`, only if nobody changed it since the caller read it."""
    article = reviews.article(article_id)
    if article is None:
        raise KeyError(article_id)
    if revision is not None and article.revision != revision:
        raise StaleRevision(article_id, revision, article.revision)
    return article


def _version(
    article_id: str, number: int, answer: Answer, previous: Answer | None, author: str, comment: str
) -> ArticleVersion:
    clean = answer.model_copy(
        update={"conversation_id": None, "article_id": article_id, "timings_ms": {}}
    )
    return ArticleVersion(
        article_id=article_id,
        number=number,
        answer=clean,
        references=snapshot(answer),
        corpus_version=answer.corpus_version,
        author=author,
        comment=comment,
        diff=diff(previous, clean),
        created_at=now(),
    )
