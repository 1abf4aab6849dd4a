"""Server-rendered pages: the Jinja2 environment (autoescaped) and the renderer routes get."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from osler.audience import PROFILES, READERS
from osler.service import Osler
from osler.version import __version__

STATUS_STEPS = ("Submitted", "Under Review", "Approved")


def status_step(status: str) -> int:
    """Index of the review step to highlight (the one place the status strip reads)."""
    return {"under_review": 1, "approved": 2}.get(status, 0)


def environment() -> Environment:
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


def corpus_line(osler: Osler) -> str:
    """What is loaded, as the page header says it."""
    docs = osler.documents.values()
    datasets = sorted({d.extra.get("dataset", d.source) for d in docs})
    return f"{len(osler.documents):,} documents ({', '.join(datasets)})" if datasets else "nothing ingested"


class Pages:
    """Renders the app's templates; every page names the loaded corpus (read once)."""

    def __init__(self, osler: Osler) -> None:
        self.env = environment()
        self.corpus = corpus_line(osler)

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(corpus=self.corpus, **context)
        return HTMLResponse(html, status_code=status)

    def bare(self, name: str) -> HTMLResponse:
        """A template that needs no context (the API docs page)."""
        return HTMLResponse(self.env.get_template(name).render())
