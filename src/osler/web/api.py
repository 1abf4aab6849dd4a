"""The REST API: answers, search, documents and passages, counts, health; and /docs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, StrictBool

from osler.models import Answer
from osler.retrieve.search import hit_json
from osler.service import Osler
from osler.web import inputs
from osler.web.deps import Render, Service
from osler.web.errors import ApiError

router = APIRouter()


class AskRequest(BaseModel):
    """Body of POST /api/ask."""

    question: str = Field(description="The clinical question (1-2,000 characters)")
    audience: str = Field("clinician", description="clinician, student or patient")
    conversation_id: str | None = Field(None, description="Conversation to continue (follow-ups)")
    llm: StrictBool = Field(False, description="Compose with the configured LLM (verified), if any")


def passage_context(osler: Osler, passage_id: str) -> dict[str, Any]:
    """A passage with the document text around it; 404 when there is no such passage."""
    found = osler.passage_context(passage_id)
    if found is None:
        raise ApiError(404, f"no passage {passage_id!r}")
    return found


@router.post("/api/ask", response_model=Answer, tags=["answers"])
def api_ask(body: AskRequest, osler: Service) -> Answer:
    """Answer a question: bottom line, sections, numbered references (the Answer JSON)."""
    return inputs.ask(osler, body.question, body.audience, body.conversation_id, body.llm)


@router.get("/api/search", tags=["search"])
def api_search(
    osler: Service,
    q: Annotated[str, Query(description="The question or search words")] = "",
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    audience: str = "clinician",
) -> list[dict[str, Any]]:
    """Ranked passages with source, evidence level and year."""
    question, audience = inputs.check_question(q), inputs.check_audience(audience)
    return [hit_json(h) for h in osler.search(question, k=k, audience=audience)]


@router.get("/api/documents/{document_id:path}", tags=["sources"])
def api_document(document_id: str, osler: Service) -> dict[str, Any]:
    """One document: metadata, full text and its passages with offsets."""
    found = osler.document(document_id)
    if found is None:
        raise ApiError(404, f"no document {document_id!r}")
    doc, passages = found
    return {**doc.model_dump(mode="json"), "passages": [p.model_dump() for p in passages]}


@router.get("/api/passages/{passage_id:path}", tags=["sources"])
def api_passage(passage_id: str, osler: Service) -> dict[str, Any]:
    """One passage with the document text around it and offsets for highlighting."""
    return passage_context(osler, passage_id)


@router.get("/api/stats", tags=["sources"])
def api_stats(osler: Service) -> dict[str, Any]:
    """Counts by dataset, source, type, evidence level and audience."""
    return osler.stats()


@router.get("/healthz", tags=["ops"])
def healthz(osler: Service) -> dict[str, Any]:
    """200 with store and index status."""
    return osler.health()


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(pages: Render) -> HTMLResponse:
    """Interactive API documentation (Swagger UI 5, shipped by the fastapi-offline package)."""
    return pages.bare("api_docs.html")
