"""The articles API (API tokens): articles, versions, workflow transitions, the audit log."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool

from osler.models import Answer, Article, ArticleStatus
from osler.review import articles, rules
from osler.service import Osler
from osler.web import inputs
from osler.web.deps import Config, Service, Token, is_staff, visible_article
from osler.web.errors import ApiError, rule_errors
from osler.web.inputs import Text

router = APIRouter(tags=["articles"])


class CreateArticle(BaseModel):
    question: Text = Field(description="The question the article answers")
    audience: str = Field("clinician", description="clinician, student or patient")


class NewVersion(BaseModel):
    revision: int = Field(description="The article revision this edit is based on")
    answer: Answer | None = Field(None, description="The edited Answer (every statement cited)")
    regenerate: StrictBool = Field(False, description="Answer the question again on today's corpus")
    comment: Text = Field("", max_length=2000)


class TransitionRequest(BaseModel):
    action: Literal["submit", "start", "approve", "request_changes", "archive"] = Field(
        description="The workflow action"
    )
    revision: int = Field(description="The article revision the action is based on")
    comment: Text = Field("", max_length=2000)


def article_json(osler: Osler, article: Article) -> dict[str, Any]:
    """An article with the answer it serves (once approved)."""
    served = osler.approved_answer(article)
    return {
        **article.model_dump(mode="json"),
        "served": served.model_dump(mode="json") if served else None,
    }


@router.get("/api/articles")
def api_articles(
    osler: Service, token: Token, status: ArticleStatus | None = None, flagged: bool = False
) -> list[dict[str, Any]]:
    """Articles; without a staff token only those with an approved version."""
    user = token.holder()
    found = osler.reviews.articles(status.value if status else None, flagged=flagged)
    if not is_staff(user):
        found = [a for a in found if a.approved_version]
    return [a.model_dump(mode="json") for a in found]


@router.post("/api/articles", status_code=201)
def api_create(body: CreateArticle, osler: Service, token: Token) -> dict[str, Any]:
    """Answer a question now and save it as a draft article (editor token)."""
    user = token.holder()
    with rule_errors(user):
        rules.check_create(user)
    answer = inputs.fresh(osler, body.question, body.audience)
    with rule_errors(user):
        article = articles.create(osler.reviews, answer, user)
    return article_json(osler, article)


@router.get("/api/articles/{article_id}")
def api_article(article_id: str, osler: Service, token: Token) -> dict[str, Any]:
    """An article and, once approved, the answer it serves."""
    return article_json(osler, visible_article(osler, article_id, token.holder()))


@router.get("/api/articles/{article_id}/versions")
def api_versions(article_id: str, osler: Service, token: Token) -> list[dict[str, Any]]:
    """Versions with author, time, comment and diff (readers: the approved one only)."""
    user = token.holder()
    article = visible_article(osler, article_id, user)
    versions = osler.reviews.versions(article_id)
    if not is_staff(user):
        versions = [v for v in versions if v.number == article.approved_version]
    return [v.model_dump(mode="json") for v in versions]


@router.post("/api/articles/{article_id}/versions", status_code=201)
def api_edit(article_id: str, body: NewVersion, osler: Service, token: Token) -> dict[str, Any]:
    """Save a new version: an edited Answer, or the question answered again (editor)."""
    user = token.holder()
    if user is None:
        raise ApiError(401, "editing needs an API token (Authorization: Bearer ...)")
    if (body.answer is None) == (not body.regenerate):
        raise ApiError(400, "give exactly one of answer or regenerate: true")
    article = visible_article(osler, article_id, user)
    with rule_errors(user):
        rules.check_edit(user, article)
        new = body.answer or inputs.fresh(osler, article.question, article.audience)
        article = osler.edit_article(
            article_id, new, user, body.revision, body.comment, composed=body.answer is None
        )
    return article_json(osler, article)


@router.post("/api/articles/{article_id}/transitions")
def api_transition(
    article_id: str, body: TransitionRequest, osler: Service, token: Token, settings: Config
) -> dict[str, Any]:
    """Move an article through review; 409 when its revision moved on meanwhile."""
    user = token.holder()
    if user is None:
        raise ApiError(401, "workflow actions need an API token (Authorization: Bearer ...)")
    visible_article(osler, article_id, user)
    with rule_errors(user):
        article = articles.transition(
            osler.reviews, article_id, body.action, user, body.revision, body.comment,
            settings.editorial,
        )
    return article_json(osler, article)


@router.get("/api/audit")
def api_audit(osler: Service, token: Token, article: str | None = None) -> list[dict[str, Any]]:
    """The append-only audit log (staff tokens)."""
    user = token.holder()
    if user is None:
        raise ApiError(401, "the audit log needs an API token")
    if not is_staff(user):
        raise ApiError(403, f"{user.name} may not read the audit log")
    return [e.model_dump() for e in osler.reviews.audit(article)]
