"""The FastAPI app: REST API under /api, server-rendered pages, security middleware.

Everything heavy (store, indexes, document metadata) is opened once at start-up in `create_app`;
requests share it behind a lock (SQLite connection and composer state are not re-entrant).
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field, StrictBool
from starlette.exceptions import HTTPException as StarletteHTTPException

from osler.audience import PROFILES, READERS
from osler.models import Answer, Audience
from osler.render.html import to_html
from osler.retrieve.search import NothingIngested, hit_json
from osler.service import Osler
from osler.settings import EditorialSettings, Settings, load
from osler.version import __version__
from osler.web import review as review_routes
from osler.web import security
from osler.web.errors import ApiError

MAX_QUESTION = 2000
STATUS_STEPS = ("Submitted", "Under Review", "Approved")


class AskRequest(BaseModel):
    """Body of POST /api/ask."""

    question: str = Field(description="The clinical question (1-2,000 characters)")
    audience: str = Field("clinician", description="clinician, student or patient")
    conversation_id: str | None = Field(None, description="Conversation to continue (follow-ups)")
    llm: StrictBool = Field(False, description="Compose with the configured LLM (verified), if any")


def check_text(value: str, what: str) -> str:
    """`value` if it is valid Unicode (no lone surrogates) without NUL characters, else a 400."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(400, f"{what} holds an invalid character (a lone surrogate)") from exc
    if "\x00" in value:
        raise ApiError(400, f"{what} holds a NUL character")
    return value


def check_question(question: str) -> str:
    question = " ".join(check_text(question or "", "question").split())
    if not question:
        raise ApiError(400, "question is empty")
    if len(question) > MAX_QUESTION:
        raise ApiError(
            400, f"question is too long ({len(question):,} characters; limit {MAX_QUESTION:,})"
        )
    return question


def check_audience(audience: str) -> str:
    if audience not in READERS:
        raise ApiError(400, f"unknown audience {audience!r}; use one of {', '.join(READERS)}")
    return audience


_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_conversation(conversation_id: str | None) -> str:
    """A given conversation id (letters, digits, - and _), or a new one."""
    if conversation_id is None or conversation_id == "":
        return uuid.uuid4().hex
    if not _CONVERSATION_ID.match(conversation_id):
        raise ApiError(400, "conversation_id must be 1-64 letters, digits, '-' or '_'")
    return conversation_id


def status_step(status: str) -> int:
    """Index of the review step to highlight (the one place the status strip reads)."""
    return {"under_review": 1, "approved": 2}.get(status, 0)


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [PackageLoader("osler.web", "templates"), PackageLoader("osler.render", "templates")]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        version=__version__,
        readers=READERS,
        profiles=PROFILES,
        steps=STATUS_STEPS,
        status_step=status_step,
    )
    return env


def create_app(
    settings: Settings | Path | str | None = None,
    *,
    rate_per_minute: int | None = None,
    editorial: EditorialSettings | None = None,
    proxies: tuple[security.Network, ...] | None = None,
) -> FastAPI:
    """The app for one deployment (settings, or a data directory with the settings in effect);
    opens store and indexes now, once. `rate_per_minute`, `editorial` and `proxies` (the
    reverse proxies whose X-Forwarded-For is believed) override the settings' web and editorial
    sections."""
    if not isinstance(settings, Settings):
        settings = load().with_data_dir(settings)
    if editorial is not None:
        settings = settings.model_copy(update={"editorial": editorial})
    osler = Osler.open(settings)
    rate = settings.web.rate_per_minute if rate_per_minute is None else rate_per_minute
    lock = threading.Lock()
    env = _environment()
    app = FastAPI(
        title="Osler",
        version=__version__,
        description="Cited, guideline-first clinical answers from the sources you ingested.",
        docs_url=None,  # served below from a packaged Swagger UI: no CDN, no inline script
        redoc_url=None,
    )
    app.state.osler = osler
    app.mount("/static", StaticFiles(packages=[("osler.web", "static")]), name="static")
    app.mount("/swagger", StaticFiles(packages=[("fastapi_offline", "static")]), name="swagger")
    store = osler.store
    reviews = osler.reviews
    summary = _corpus_line(osler)

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(corpus=summary, **context)
        return HTMLResponse(html, status_code=status)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api") or request.url.path == "/healthz"

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if wants_json(request):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if exc.status == 401:  # a page that needs a session: sign in, then come back
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return page("error.html", exc.status, message=exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse({"error": f"invalid request: {problems}"}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_json(request):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
        return page("error.html", exc.status_code, message=str(exc.detail))

    @app.exception_handler(UnicodeError)
    async def bad_text(request: Request, exc: UnicodeError) -> Response:
        message = "the request holds text that is not valid Unicode (a lone surrogate?)"
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=400)
        return page("error.html", 400, message=message)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        message = "internal error; the request was not completed"
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=500)
        return page("error.html", 500, message=message)

    def ask(
        question: str, audience: str, llm: bool = False, conversation: str | None = None
    ) -> Answer:
        question, audience = check_question(question), check_audience(audience)
        conversation = check_conversation(conversation)
        with lock:
            try:
                return osler.ask(question, audience, conversation, llm=llm)
            except NothingIngested as exc:
                raise ApiError(503, str(exc)) from exc

    def ask_fresh(question: str, audience: str) -> Answer:
        """A newly composed answer (for articles being created or regenerated)."""
        question, audience = check_question(question), check_audience(audience)
        with lock:
            try:
                osler.require_documents()
                return osler.fresh_answer(question, audience)
            except NothingIngested as exc:
                raise ApiError(503, str(exc)) from exc

    review_routes.add_routes(
        app,
        reviews=reviews,
        documents=store,
        ask=ask_fresh,
        lock=lock,
        page=page,
        settings=settings.editorial,
    )

    # outermost, so every response passes it (the sign-in gate's, 404s, faults)
    app.add_middleware(
        security.Guard,  # type: ignore[arg-type]
        limiter=security.RateLimiter(rate),
        proxies=security.trusted_proxies(settings.web.trusted_proxies) if proxies is None else proxies,
    )

    # --- API ---------------------------------------------------------------------------

    @app.post("/api/ask", response_model=Answer, tags=["answers"])
    def api_ask(body: AskRequest) -> Answer:
        """Answer a question: bottom line, sections, numbered references (the Answer JSON)."""
        return ask(body.question, body.audience, body.llm, body.conversation_id)

    @app.get("/api/search", tags=["search"])
    def api_search(
        q: Annotated[str, Query(description="The question or search words")] = "",
        k: Annotated[int, Query(ge=1, le=100)] = 10,
        audience: str = "clinician",
    ) -> list[dict[str, Any]]:
        """Ranked passages with source, evidence level and year."""
        question, audience = check_question(q), check_audience(audience)
        with lock:
            try:
                hits = osler.search(question, k=k, audience=audience)
            except NothingIngested as exc:
                raise ApiError(503, str(exc)) from exc
        return [hit_json(h) for h in hits]

    @app.get("/api/documents/{document_id:path}", tags=["sources"])
    def api_document(document_id: str) -> dict[str, Any]:
        """One document: metadata, full text and its passages with offsets."""
        with lock:
            found = osler.document(document_id)
        if found is None:
            raise ApiError(404, f"no document {document_id!r}")
        doc, passages = found
        return {**doc.model_dump(mode="json"), "passages": [p.model_dump() for p in passages]}

    @app.get("/api/passages/{passage_id:path}", tags=["sources"])
    def api_passage(passage_id: str) -> dict[str, Any]:
        """One passage with the document text around it and offsets for highlighting."""
        return passage_context(passage_id)

    def passage_context(passage_id: str) -> dict[str, Any]:
        with lock:
            found = osler.passage_context(passage_id)
        if found is None:
            raise ApiError(404, f"no passage {passage_id!r}")
        return found

    @app.get("/api/stats", tags=["sources"])
    def api_stats() -> dict[str, Any]:
        """Counts by dataset, source, type, evidence level and audience."""
        with lock:
            return osler.stats()

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """200 with store and index status."""
        with lock:
            return osler.health()

    # --- pages -------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> HTMLResponse:
        return page("home.html", examples=_examples(osler), audience="clinician")

    @app.get("/ask", response_class=HTMLResponse, include_in_schema=False)
    def ask_page(q: str = "", audience: str = "clinician", c: str | None = None) -> HTMLResponse:
        answer = ask(q, audience, conversation=c)
        return page(
            "answer_page.html",
            answer=answer,
            fragment=to_html(answer, "/passages/"),
            audience=audience,
            q=answer.question,
            conversation=answer.conversation_id,
        )

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """Interactive API documentation (Swagger UI 5, shipped by the fastapi-offline package)."""
        return HTMLResponse(env.get_template("api_docs.html").render())

    @app.get("/passages/{passage_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def passage_page(passage_id: str) -> HTMLResponse:
        data = passage_context(passage_id)
        ctx = data["context"]
        text = ctx["text"]
        a, b = ctx["highlight_start"], ctx["highlight_end"]
        return page("passage.html", data=data, before=text[:a], marked=text[a:b], after=text[b:])

    return app


def _corpus_line(osler: Osler) -> str:
    docs = osler.documents.values()
    datasets = sorted({d.extra.get("dataset", d.source) for d in docs})
    return f"{len(osler.documents):,} documents ({', '.join(datasets)})" if datasets else "nothing ingested"


def _examples(osler: Osler, n: int = 5) -> list[str]:
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
