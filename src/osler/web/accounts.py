"""Sign-in and sign-out (session cookies, a CSRF cookie on the sign-in form, throttled failures)
and the admins' user pages (add a user, issue an API token).

The argon2 work (checking a password at sign-in, hashing a new user's) holds no lock: two
sign-ins, or a sign-in and a search, run side by side.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from osler.models import Role
from osler.review import auth, rules
from osler.settings import EditorialSettings
from osler.store import UserExists
from osler.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentSession,
    Render,
    Service,
    SignInThrottle,
    signed_in,
)
from osler.web.errors import ApiError, rule_errors
from osler.web.inputs import Text, safe_next

router = APIRouter(include_in_schema=False)


def throttle(settings: EditorialSettings) -> auth.Throttle:
    """The failed sign-in counter of an app (per account and per client address)."""
    return auth.Throttle(
        settings.login_free_per_account, settings.login_free_per_address,
        base=settings.login_base_backoff, cap=settings.login_max_backoff,
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, pages: Render, next: str = "/review") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = pages.render("login.html", csrf=token, next=safe_next(next), error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    osler: Service,
    pages: Render,
    throttle: SignInThrottle,
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/review",
) -> Response:
    if not auth.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf):
        raise ApiError(403, "the form expired or was not sent from this site; reload it")
    address = request.client.host if request.client else "unknown"
    wait = throttle.wait(name, address)
    if wait > 0:
        seconds = max(1, round(wait))
        response = pages.render("login.html", 429, csrf=csrf, next=safe_next(next),
                                error=f"Too many failed sign-ins. Try again in {seconds} s.")
        response.headers["Retry-After"] = str(seconds)
        return response
    ok = auth.password_ok(osler.reviews.password_hash(name), password)  # argon2, ~100 ms
    user = osler.reviews.user(name) if ok else None
    sid = auth.new_session(osler.reviews, user) if user else None
    if sid is None:
        throttle.failed(name, address)
        return pages.render("login.html", 401, csrf=csrf, next=safe_next(next),
                            error="Wrong name or password.")
    throttle.succeeded(name)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, sid, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", max_age=auth.SESSION_HOURS * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, osler: Service, current: CurrentSession, csrf: Annotated[str, Form()] = ""
) -> Response:
    signed_in(current, csrf)
    osler.reviews.end_session(auth.digest(request.cookies.get(SESSION_COOKIE, "")))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(osler: Service, pages: Render, current: CurrentSession) -> Response:
    user, csrf = signed_in(current)
    with rule_errors(user):
        rules.check_admin(user)
    return pages.render("admin_users.html", user=user, csrf=csrf, users=osler.reviews.users(),
                        roles=list(Role), token=None)


@router.post("/admin/users")
def admin_add_user(
    name: Annotated[str, Form(min_length=1, max_length=80)],
    roles_: Annotated[list[Role], Form(alias="roles")],
    password: Annotated[str, Form()],
    osler: Service,
    current: CurrentSession,
    credentials: Annotated[Text, Form(max_length=200)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    user, _ = signed_in(current, csrf)
    with rule_errors(user):
        rules.check_admin(user)
        name = auth.clean_name(name)
        if osler.reviews.user(name) is not None:
            raise ApiError(409, f"user {name!r} exists (names compare case-insensitively)")
        hashed = auth.hash_password(password)  # argon2: slow
        try:
            osler.reviews.add_user(name, list(dict.fromkeys(roles_)), credentials, hashed)
        except UserExists as exc:  # added meanwhile
            raise ApiError(409, str(exc)) from exc
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/token", response_class=HTMLResponse)
def admin_token(
    name: str, osler: Service, pages: Render, current: CurrentSession,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    user, session_csrf = signed_in(current, csrf)
    with rule_errors(user):
        rules.check_admin(user)
    target = osler.reviews.user(name)
    if target is None:
        raise ApiError(404, f"no user {name!r}")
    token = auth.new_token(osler.reviews, target, f"issued by {user.name}")
    return pages.render("admin_users.html", user=user, csrf=session_csrf,
                        users=osler.reviews.users(), roles=list(Role), token=(name, token))
