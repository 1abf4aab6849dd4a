"""The FastAPI app: the service opened once, error handlers, middleware and the routers.

    web/api.py           REST API: /api/ask, /api/search, /api/documents, /api/passages,
                         /api/stats, /healthz, /docs
    web/answers.py       readers' pages: /, /ask, /passages/{id}
    web/articles_api.py  the articles API (API tokens): /api/articles..., /api/audit
    web/review_pages.py  the queue, the review view and its actions, /audit, /articles/{id},
                         /policy
    web/accounts.py      sign-in, sign-out, user admin
    web/deps.py          what routes are given: the service, the pages, the settings, the caller
    web/security.py      the Guard middleware (headers, body and rate limits, last-resort 500)

Everything heavy (store, indexes, document metadata) is opened once, here; requests share it
without a lock of the web app's own: the store gives each thread its own SQLite connection,
and the service serialises the two read-then-write steps of answering (see `osler.service`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from osler.service import Osler
from osler.settings import EditorialSettings, Settings, load
from osler.version import __version__
from osler.web import accounts, answers, api, articles_api, deps, errors, review_pages, security
from osler.web.pages import Pages


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
    app = FastAPI(
        title="Osler",
        version=__version__,
        description="Cited, guideline-first clinical answers from the sources you ingested.",
        docs_url=None,  # served by web.api from a packaged Swagger UI: no CDN, no inline script
        redoc_url=None,
    )
    app.state.osler = osler
    app.state.pages = Pages(osler)
    app.state.throttle = accounts.throttle(settings.editorial)
    app.mount("/static", StaticFiles(packages=[("osler.web", "static")]), name="static")
    app.mount("/swagger", StaticFiles(packages=[("fastapi_offline", "static")]), name="swagger")
    errors.install(app)
    if settings.editorial.require_login:
        app.middleware("http")(deps.require_sign_in)
    # outermost, so every response passes it (the sign-in gate's, 404s, faults)
    app.add_middleware(
        security.Guard,  # type: ignore[arg-type]
        limiter=security.RateLimiter(
            settings.web.rate_per_minute if rate_per_minute is None else rate_per_minute
        ),
        proxies=security.trusted_proxies(settings.web.trusted_proxies) if proxies is None else proxies,
    )
    for router in (articles_api, accounts, review_pages, api, answers):
        app.include_router(router.router)
    return app
