"""The readers' pages: the question box (/), an answer (/ask) and a cited passage in its
document (/passages/{id})."""

from __future__ import annotations

import random

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from osler.models import Audience
from osler.render.html import to_html
from osler.service import Osler
from osler.web import inputs
from osler.web.api import passage_context
from osler.web.deps import Render, Service

router = APIRouter(include_in_schema=False)


def examples(osler: Osler, n: int = 5) -> list[str]:
    """Example questions built from topics the loaded corpus has consumer pages on."""
    topics = sorted(
        d.title
        for d in osler.documents.values()
        if d.audience is Audience.CONSUMER
        and d.source_type == "consumer-health"
        and 2 < len(d.title) < 40
    )
    if not topics:
        return []
    rng = random.Random(osler.settings.data_dir.name)
    patterns = [
        "What are the treatments for {}?",
        "What are the symptoms of {}?",
        "How is {} diagnosed?",
        "What causes {}?",
        "What is the outlook for {}?",
    ]
    return [
        p.format(t) for p, t in zip(patterns, rng.sample(topics, min(n, len(topics))), strict=False)
    ]


@router.get("/", response_class=HTMLResponse)
def home(osler: Service, pages: Render) -> HTMLResponse:
    return pages.render("home.html", examples=examples(osler), audience="clinician")


@router.get("/ask", response_class=HTMLResponse)
def ask_page(
    osler: Service, pages: Render, q: str = "", audience: str = "clinician", c: str | None = None
) -> HTMLResponse:
    answer = inputs.ask(osler, q, audience, conversation=c)
    return pages.render(
        "answer_page.html",
        answer=answer,
        fragment=to_html(answer, "/passages/"),
        audience=audience,
        q=answer.question,
        conversation=answer.conversation_id,
    )


@router.get("/passages/{passage_id:path}", response_class=HTMLResponse)
def passage_page(passage_id: str, osler: Service, pages: Render) -> HTMLResponse:
    data = passage_context(osler, passage_id)
    ctx = data["context"]
    text = ctx["text"]
    a, b = ctx["highlight_start"], ctx["highlight_end"]
    return pages.render("passage.html", data=data, before=text[:a], marked=text[a:b], after=text[b:])
