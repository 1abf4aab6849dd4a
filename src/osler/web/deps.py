"""What routes are given (FastAPI dependencies) and the checks they make with it.

- `Service`: the Osler service the app opened (`app.state.osler`); `Render`: the page renderer;
  `Config`: the settings in effect; `SignInThrottle`: the app's failed sign-in counter.
- `Token`: the user of the request's API token (Authorization: Bearer); `CurrentSession`: the
  user and CSRF token of its session cookie. Both only look up: a route calls `holder()`,
  `signed_in` or `staff` first thing, so FastAPI has validated the request before a 401 or 403
  (a malformed request is a 400 whoever sends it).
- `require_sign_in`: the middleware that makes every page and API call need a session or a
  token when the deployment says so (OSLER_REQUIRE_LOGIN).

Nothing here holds a lock: the store isolates threads (a connection each), and the service
serialises the few steps that must not interleave (see `osler.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from osler.models import Article, User
from osler.review import auth, rules
from osler.service import Osler
from osler.settings import Settings
from osler.web.errors import ApiError
from osler.web.pages import Pages

SESSION_COOKIE = "osler_session"
LOGIN_CSRF_COOKIE = "osler_login_csrf"
#: Paths open to everyone even when the deployment requires readers to sign in.
OPEN_PATHS = {"/login", "/healthz", "/policy", "/openapi.json"}


async def service(request: Request) -> Osler:
    return request.app.state.osler


async def pages(request: Request) -> Pages:
    return request.app.state.pages


async def settings(request: Request) -> Settings:
    return (await service(request)).settings


async def throttle(request: Request) -> auth.Throttle:
    return request.app.state.throttle


Service = Annotated[Osler, Depends(service)]
Render = Annotated[Pages, Depends(pages)]
Config = Annotated[Settings, Depends(settings)]
SignInThrottle = Annotated[auth.Throttle, Depends(throttle)]


# --- who is asking ------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenUser:
    """The API token a request sent, looked up."""

    sent: bool
    user: User | None

    def holder(self) -> User | None:
        """The token's user; None without a token; 401 for one that names no active user."""
        if self.sent and self.user is None:
            raise ApiError(401, "invalid API token")
        return self.user


def lookup_token(request: Request, osler: Service) -> TokenUser:
    header = request.headers.get("authorization", "")
    if not header:
        return TokenUser(False, None)
    scheme, _, token = header.partition(" ")
    user = auth.user_for_token(osler.reviews, token.strip()) if scheme.lower() == "bearer" else None
    return TokenUser(True, user)


class Session(NamedTuple):
    user: User
    csrf: str


def lookup_session(request: Request, osler: Service) -> Session | None:
    found = auth.session_user(osler.reviews, request.cookies.get(SESSION_COOKIE))
    return Session(*found) if found else None


Token = Annotated[TokenUser, Depends(lookup_token)]
CurrentSession = Annotated[Session | None, Depends(lookup_session)]


def signed_in(current: Session | None, csrf: str | None = None) -> Session:
    """The session; for form posts (`csrf` given) also a matching CSRF token."""
    if current is None:
        raise ApiError(401, "sign in first: /login")
    if csrf is not None and not auth.csrf_ok(current.csrf, csrf):
        raise ApiError(403, "missing or wrong CSRF token; reload the page and try again")
    return current


def is_staff(user: User | None) -> bool:
    return rules.has_role(user, rules.STAFF_ROLES)


def staff(current: Session | None) -> Session:
    """The signed-in member of the editorial team (pages redirect anonymous users to /login)."""
    current = signed_in(current)
    if not is_staff(current.user):
        raise ApiError(403, f"{current.user.name} is not on the editorial team")
    return current


def visible_article(osler: Osler, article_id: str, user: User | None) -> Article:
    """The article, if `user` may see it (staff: any; others: those with an approved version)."""
    article = osler.reviews.article(article_id)
    if article is None or (not is_staff(user) and not article.approved_version):
        raise ApiError(404, f"no article {article_id!r}")
    return article


async def require_sign_in(request: Request, call_next: Any) -> Response:
    """With OSLER_REQUIRE_LOGIN=1 every page and API call needs a session or token."""
    path = request.url.path
    if path in OPEN_PATHS or path.startswith("/static/"):
        return await call_next(request)
    osler = await service(request)
    found = lookup_token(request, osler).user or lookup_session(request, osler)
    if found is not None:
        return await call_next(request)
    if path.startswith("/api/"):
        return JSONResponse({"error": "sign in first: this deployment requires it"}, 401)
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
