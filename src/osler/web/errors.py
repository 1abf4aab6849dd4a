"""Errors: the one error type routes raise (an HTTP status and a message for the user), the
mapping of workflow refusals to it, and the app's handlers, which answer the API (/api,
/healthz) with JSON and browsers with an error page, never with a trace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from osler.models import User
from osler.retrieve.search import NothingIngested
from osler.review import rules
from osler.store import StaleRevision


class ApiError(Exception):
    """A request the API refuses, with its HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@contextmanager
def rule_errors(user: User | None) -> Iterator[None]:
    """Map workflow refusals to HTTP: 401 anonymous, 403 not allowed, 404, 409 conflict, 400."""
    try:
        yield
    except rules.Denied as exc:
        raise ApiError(401 if user is None else 403, str(exc)) from exc
    except (rules.NotAllowedNow, StaleRevision) as exc:
        raise ApiError(409, str(exc)) from exc
    except KeyError as exc:
        raise ApiError(404, f"no article {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path == "/healthz"


def _answer(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return request.app.state.pages.render("error.html", status, message=message)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status == 401 and not _wants_json(request):  # a page that needs a session
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return _answer(request, exc.status, exc.message)


async def _nothing_ingested(request: Request, exc: Exception) -> Response:
    return _answer(request, 503, str(exc))


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
    )
    return JSONResponse({"error": f"invalid request: {problems}"}, status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _answer(request, exc.status_code, str(exc.detail))


async def _bad_text(request: Request, exc: Exception) -> Response:
    return _answer(request, 400, "the request holds text that is not valid Unicode (a lone surrogate?)")


async def _crash(request: Request, exc: Exception) -> Response:
    return _answer(request, 500, "internal error; the request was not completed")


def install(app: FastAPI) -> None:
    """Register the error handlers on `app`."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(NothingIngested, _nothing_ingested)  # an empty store: 503
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(UnicodeError, _bad_text)
    app.add_exception_handler(Exception, _crash)
