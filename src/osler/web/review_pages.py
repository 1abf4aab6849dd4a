"""The editorial pages (session sign-in, CSRF tokens on every form): the reviewers' queue, the
review view and its actions, the audit trail; and the public pages of approved articles and of
the editorial policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt

from osler.models import ArticleStatus
from osler.render.html import to_html
from osler.review import articles, rules
from osler.web import inputs
from osler.web.deps import (
    Config,
    CurrentSession,
    Render,
    Service,
    signed_in,
    staff,
    visible_article,
)
from osler.web.errors import ApiError, rule_errors
from osler.web.inputs import Text

router = APIRouter(include_in_schema=False)
_markdown = MarkdownIt("commonmark", {"html": False})


@router.get("/review", response_class=HTMLResponse)
def queue(
    osler: Service, pages: Render, current: CurrentSession, status: str | None = None
) -> Response:
    user, csrf = staff(current)
    everything = osler.reviews.articles()
    waiting = [
        a for a in everything
        if a.status in {ArticleStatus.SUBMITTED, ArticleStatus.UNDER_REVIEW} or a.needs_re_review
    ]
    shown = [a for a in everything if a.status.value == status] if status else everything
    return pages.render("review_queue.html", user=user, csrf=csrf, waiting=waiting, articles=shown,
                        filter_status=status, statuses=[s.value for s in ArticleStatus])


@router.get("/review/{article_id}", response_class=HTMLResponse)
def review_view(
    article_id: str,
    osler: Service,
    pages: Render,
    current: CurrentSession,
    version: int | None = None,
) -> Response:
    user, csrf = staff(current)
    article = visible_article(osler, article_id, user)
    versions = osler.reviews.versions(article_id)
    approvers = osler.reviews.approvers(article_id, article.latest_version)
    trail = osler.reviews.audit(article_id)
    shown = next((v for v in versions if v.number == (version or article.latest_version)), None)
    if shown is None:
        raise ApiError(404, f"article {article_id} has no version {version}")
    approved = shown.number == article.approved_version
    answer = (osler.approved_answer(article) if approved else None) or shown.answer
    return pages.render(
        "review_article.html", user=user, csrf=csrf, article=article, shown=shown,
        versions=versions, approvers=approvers, fragment=to_html(answer, "/passages/", show_rejected=True),
        actions=[(a, rules.RULES[a].label) for a in rules.allowed_actions(user, article)],
        can_edit=rules.has_role(user, rules.EDIT_ROLES), answer=answer, trail=trail,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_view(osler: Service, pages: Render, current: CurrentSession) -> Response:
    user, csrf = staff(current)
    trail = osler.reviews.audit(limit=5000)
    return pages.render("audit.html", user=user, csrf=csrf, trail=list(reversed(trail)))


@router.post("/review/{article_id}/transition")
def review_act(
    article_id: str,
    action: Annotated[str, Form()],
    revision: Annotated[int, Form()],
    osler: Service,
    settings: Config,
    current: CurrentSession,
    comment: Annotated[Text, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    user, _ = signed_in(current, csrf)
    with rule_errors(user):
        articles.transition(
            osler.reviews, article_id, action, user, revision, comment, settings.editorial
        )
    return RedirectResponse(f"/review/{article_id}", status_code=303)


@router.post("/review/{article_id}/regenerate")
def review_regenerate(
    article_id: str,
    revision: Annotated[int, Form()],
    osler: Service,
    current: CurrentSession,
    comment: Annotated[Text, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    user, _ = signed_in(current, csrf)
    article = visible_article(osler, article_id, user)
    with rule_errors(user):
        rules.check_edit(user, article)
        fresh = inputs.fresh(osler, article.question, article.audience)
        osler.edit_article(
            article_id, fresh, user, revision,
            comment or "answered again on the current corpus", composed=True,
        )
    return RedirectResponse(f"/review/{article_id}", status_code=303)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(article_id: str, osler: Service, pages: Render) -> HTMLResponse:
    article = osler.reviews.article(article_id)
    served = osler.approved_answer(article) if article else None
    if article is None or served is None or article.status is ArticleStatus.ARCHIVED:
        raise ApiError(404, f"no approved article {article_id!r}")
    return pages.render(
        "answer_page.html", answer=served, fragment=to_html(served, "/passages/"),
        audience=served.audience, q=served.question, conversation=None,
    )


@router.get("/policy", response_class=HTMLResponse)
def policy(pages: Render, settings: Config) -> HTMLResponse:
    try:
        text = settings.editorial.policy_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ApiError(404, "no editorial policy is configured") from exc
    return pages.render("policy.html", policy=_markdown.render(text))
