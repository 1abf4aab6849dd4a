"""Editorial routes: the articles API (token auth), sign-in, the reviewers' queue and review view,
public article pages, the editorial policy and user admin (session auth with CSRF tokens)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from pydantic import AfterValidator, BaseModel, Field, StrictBool

from osler.models import Answer, Article, ArticleStatus, Role, User
from osler.render.html import to_html
from osler.review import articles, auth, rules
from osler.settings import EditorialSettings
from osler.store import ReviewStore, StaleRevision, UserExists
from osler.web.errors import ApiError

SESSION_COOKIE = "osler_session"
LOGIN_CSRF_COOKIE = "osler_login_csrf"
#: Paths open to everyone even when the deployment requires readers to sign in.
OPEN_PATHS = {"/login", "/healthz", "/policy", "/openapi.json"}


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not accepted")
    return value


#: Free text a person typed (comments, credentials): no NUL characters.
Text = Annotated[str, AfterValidator(_no_nul)]


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


def add_routes(
    app: FastAPI,
    *,
    reviews: ReviewStore,
    documents: articles.Documents,
    ask: Callable[..., Answer],
    lock: threading.Lock,
    page: Callable[..., HTMLResponse],
    settings: EditorialSettings,
) -> None:
    """Register the editorial API and pages on `app`."""
    markdown = MarkdownIt("commonmark", {"html": False})
    throttle = auth.Throttle(
        settings.login_free_per_account, settings.login_free_per_address,
        base=settings.login_base_backoff, cap=settings.login_max_backoff,
    )

    if settings.require_login:

        @app.middleware("http")
        async def readers_sign_in(request: Request, call_next: Any) -> Response:
            """With OSLER_REQUIRE_LOGIN=1 every page and API call needs a session or token."""
            path = request.url.path
            if path in OPEN_PATHS or path.startswith("/static/"):
                return await call_next(request)
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            with lock:
                user = (
                    auth.user_for_token(reviews, token.strip()) if scheme.lower() == "bearer" else None
                ) or (auth.session_user(reviews, request.cookies.get(SESSION_COOKIE)) or (None,))[0]
            if user is not None:
                return await call_next(request)
            if path.startswith("/api/"):
                return JSONResponse({"error": "sign in first: this deployment requires it"}, 401)
            return RedirectResponse(f"/login?next={quote(path)}", status_code=303)

    def token_user(request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        with lock:
            user = auth.user_for_token(reviews, token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "invalid API token")
        return user

    def session(request: Request) -> tuple[User, str] | None:
        with lock:
            return auth.session_user(reviews, request.cookies.get(SESSION_COOKIE))

    def staff(user: User | None) -> bool:
        return rules.has_role(user, rules.STAFF_ROLES)

    def get_article(article_id: str, user: User | None) -> Article:
        with lock:
            article = reviews.article(article_id)
        if article is None or (not staff(user) and not article.approved_version):
            raise ApiError(404, f"no article {article_id!r}")
        return article

    def article_json(article: Article) -> dict[str, Any]:
        with lock:
            served = articles.approved_answer(reviews, article, documents)
        return {
            **article.model_dump(mode="json"),
            "served": served.model_dump(mode="json") if served else None,
        }

    # --- API -----------------------------------------------------------------------------

    @app.get("/api/articles", tags=["articles"])
    def api_articles(
        request: Request, status: ArticleStatus | None = None, flagged: bool = False
    ) -> list[dict[str, Any]]:
        """Articles; without a staff token only those with an approved version."""
        user = token_user(request)
        with lock:
            found = reviews.articles(status.value if status else None, flagged=flagged)
        if not staff(user):
            found = [a for a in found if a.approved_version]
        return [a.model_dump(mode="json") for a in found]

    @app.post("/api/articles", tags=["articles"], status_code=201)
    def api_create(request: Request, body: CreateArticle) -> dict[str, Any]:
        """Answer a question now and save it as a draft article (editor token)."""
        user = token_user(request)
        with rule_errors(user):
            rules.check_create(user)
        answer = ask(body.question, body.audience)
        with lock, rule_errors(user):
            article = articles.create(reviews, answer, user)
        return article_json(article)

    @app.get("/api/articles/{article_id}", tags=["articles"])
    def api_article(request: Request, article_id: str) -> dict[str, Any]:
        """An article and, once approved, the answer it serves."""
        return article_json(get_article(article_id, token_user(request)))

    @app.get("/api/articles/{article_id}/versions", tags=["articles"])
    def api_versions(request: Request, article_id: str) -> list[dict[str, Any]]:
        """Versions with author, time, comment and diff (readers: the approved one only)."""
        user = token_user(request)
        article = get_article(article_id, user)
        with lock:
            versions = reviews.versions(article_id)
        if not staff(user):
            versions = [v for v in versions if v.number == article.approved_version]
        return [v.model_dump(mode="json") for v in versions]

    @app.post("/api/articles/{article_id}/versions", tags=["articles"], status_code=201)
    def api_edit(request: Request, article_id: str, body: NewVersion) -> dict[str, Any]:
        """Save a new version: an edited Answer, or the question answered again (editor)."""
        user = token_user(request)
        if user is None:
            raise ApiError(401, "editing needs an API token (Authorization: Bearer ...)")
        if (body.answer is None) == (not body.regenerate):
            raise ApiError(400, "give exactly one of answer or regenerate: true")
        article = get_article(article_id, user)
        with rule_errors(user):
            rules.check_edit(user, article)
            assert user is not None
            new = body.answer or ask(article.question, article.audience)
            with lock:
                article = articles.edit(
                    reviews, article_id, new, user, body.revision, body.comment, documents,
                    composed=body.answer is None,
                )
        return article_json(article)

    @app.post("/api/articles/{article_id}/transitions", tags=["articles"])
    def api_transition(request: Request, article_id: str, body: TransitionRequest) -> dict[str, Any]:
        """Move an article through review; 409 when its revision moved on meanwhile."""
        user = token_user(request)
        if user is None:
            raise ApiError(401, "workflow actions need an API token (Authorization: Bearer ...)")
        get_article(article_id, user)
        with lock, rule_errors(user):
            article = articles.transition(
                reviews, article_id, body.action, user, body.revision, body.comment, settings
            )
        return article_json(article)

    @app.get("/api/audit", tags=["articles"])
    def api_audit(request: Request, article: str | None = None) -> list[dict[str, Any]]:
        """The append-only audit log (staff tokens)."""
        user = token_user(request)
        if user is None:
            raise ApiError(401, "the audit log needs an API token")
        if not staff(user):
            raise ApiError(403, f"{user.name} may not read the audit log")
        with lock:
            return [e.model_dump() for e in reviews.audit(article)]

    # --- sign-in -------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/review") -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = page("login.html", csrf=token, next=safe_next(next), error=None)
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        name: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/review",
    ) -> Response:
        if not auth.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf):
            raise ApiError(403, "the form expired or was not sent from this site; reload it")
        address = request.client.host if request.client else "unknown"
        wait = throttle.wait(name, address)
        if wait > 0:
            seconds = max(1, round(wait))
            response = page("login.html", 429, csrf=csrf, next=safe_next(next),
                            error=f"Too many failed sign-ins. Try again in {seconds} s.")
            response.headers["Retry-After"] = str(seconds)
            return response
        with lock:
            stored = reviews.password_hash(name)
        ok = auth.password_ok(stored, password)  # argon2, ~100 ms: holding no shared lock
        sid = None
        if ok:
            with lock:
                user = reviews.user(name)
                sid = auth.new_session(reviews, user) if user else None
        if sid is None:
            throttle.failed(name, address)
            return page("login.html", 401, csrf=csrf, next=safe_next(next),
                        error="Wrong name or password.")
        throttle.succeeded(name)
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE, sid, httponly=True, samesite="strict",
            secure=request.url.scheme == "https", max_age=auth.SESSION_HOURS * 3600,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    def signed_in(request: Request, csrf: str | None = None) -> tuple[User, str]:
        """The session's user; for form posts also a matching CSRF token."""
        current = session(request)
        if current is None:
            raise ApiError(401, "sign in first: /login")
        if csrf is not None and not auth.csrf_ok(current[1], csrf):
            raise ApiError(403, "missing or wrong CSRF token; reload the page and try again")
        return current

    def staff_session(request: Request) -> tuple[User, str]:
        """The signed-in member of the editorial team (pages redirect anonymous users to /login)."""
        user, csrf = signed_in(request)
        if not staff(user):
            raise ApiError(403, f"{user.name} is not on the editorial team")
        return user, csrf

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        signed_in(request, csrf)
        with lock:
            reviews.end_session(auth.digest(request.cookies.get(SESSION_COOKIE, "")))
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # --- reviewers' pages ----------------------------------------------------------------

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def queue(request: Request, status: str | None = None) -> Response:
        user, csrf = staff_session(request)
        with lock:
            everything = reviews.articles()
        waiting = [
            a for a in everything
            if a.status in {ArticleStatus.SUBMITTED, ArticleStatus.UNDER_REVIEW} or a.needs_re_review
        ]
        shown = [a for a in everything if a.status.value == status] if status else everything
        return page("review_queue.html", user=user, csrf=csrf, waiting=waiting, articles=shown,
                    filter_status=status, statuses=[s.value for s in ArticleStatus])

    @app.get("/review/{article_id}", response_class=HTMLResponse, include_in_schema=False)
    def review_view(request: Request, article_id: str, version: int | None = None) -> Response:
        user, csrf = staff_session(request)
        article = get_article(article_id, user)
        with lock:
            versions = reviews.versions(article_id)
            approvers = reviews.approvers(article_id, article.latest_version)
            trail = reviews.audit(article_id)
        shown = next((v for v in versions if v.number == (version or article.latest_version)), None)
        if shown is None:
            raise ApiError(404, f"article {article_id} has no version {version}")
        approved = shown.number == article.approved_version
        with lock:
            answer = (articles.approved_answer(reviews, article, documents) if approved else None) or shown.answer
        return page(
            "review_article.html", user=user, csrf=csrf, article=article, shown=shown,
            versions=versions, approvers=approvers, fragment=to_html(answer, "/passages/", show_rejected=True),
            actions=[(a, rules.RULES[a].label) for a in rules.allowed_actions(user, article)],
            can_edit=rules.has_role(user, rules.EDIT_ROLES), answer=answer, trail=trail,
        )

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_view(request: Request) -> Response:
        user, csrf = staff_session(request)
        with lock:
            trail = reviews.audit(limit=5000)
        return page("audit.html", user=user, csrf=csrf, trail=list(reversed(trail)))

    @app.post("/review/{article_id}/transition", include_in_schema=False)
    def review_act(
        request: Request,
        article_id: str,
        action: Annotated[str, Form()],
        revision: Annotated[int, Form()],
        comment: Annotated[Text, Form(max_length=2000)] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        user, _ = signed_in(request, csrf)
        with lock, rule_errors(user):
            articles.transition(reviews, article_id, action, user, revision, comment, settings)
        return RedirectResponse(f"/review/{article_id}", status_code=303)

    @app.post("/review/{article_id}/regenerate", include_in_schema=False)
    def review_regenerate(
        request: Request,
        article_id: str,
        revision: Annotated[int, Form()],
        comment: Annotated[Text, Form(max_length=2000)] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        user, _ = signed_in(request, csrf)
        article = get_article(article_id, user)
        with rule_errors(user):
            rules.check_edit(user, article)
            fresh = ask(article.question, article.audience)
            with lock:
                articles.edit(reviews, article_id, fresh, user, revision,
                              comment or "answered again on the current corpus", documents,
                              composed=True)
        return RedirectResponse(f"/review/{article_id}", status_code=303)

    # --- public pages --------------------------------------------------------------------

    @app.get("/articles/{article_id}", response_class=HTMLResponse, include_in_schema=False)
    def article_page(article_id: str) -> HTMLResponse:
        with lock:
            article = reviews.article(article_id)
            served = articles.approved_answer(reviews, article, documents) if article else None
        if article is None or served is None or article.status is ArticleStatus.ARCHIVED:
            raise ApiError(404, f"no approved article {article_id!r}")
        return page(
            "answer_page.html", answer=served, fragment=to_html(served, "/passages/"),
            audience=served.audience, q=served.question, conversation=None,
        )

    @app.get("/policy", response_class=HTMLResponse, include_in_schema=False)
    def policy() -> HTMLResponse:
        try:
            text = settings.policy_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ApiError(404, "no editorial policy is configured") from exc
        return page("policy.html", policy=markdown.render(text))

    # --- admin ---------------------------------------------------------------------------

    @app.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
    def admin_users(request: Request) -> Response:
        user, csrf = signed_in(request)
        with rule_errors(user):
            rules.check_admin(user)
        with lock:
            users = reviews.users()
        return page("admin_users.html", user=user, csrf=csrf, users=users, roles=list(Role),
                    token=None)

    @app.post("/admin/users", include_in_schema=False)
    def admin_add_user(
        request: Request,
        name: Annotated[str, Form(min_length=1, max_length=80)],
        roles_: Annotated[list[Role], Form(alias="roles")],
        password: Annotated[str, Form()],
        credentials: Annotated[Text, Form(max_length=200)] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        user, _ = signed_in(request, csrf)
        with rule_errors(user):
            rules.check_admin(user)
            name = auth.clean_name(name)
            with lock:
                exists = reviews.user(name) is not None
            if exists:
                raise ApiError(409, f"user {name!r} exists (names compare case-insensitively)")
            hashed = auth.hash_password(password)  # slow: outside the lock
            with lock:
                try:
                    reviews.add_user(name, list(dict.fromkeys(roles_)), credentials, hashed)
                except UserExists as exc:
                    raise ApiError(409, str(exc)) from exc
        return RedirectResponse("/admin/users", status_code=303)

    @app.post("/admin/users/{name}/token", response_class=HTMLResponse, include_in_schema=False)
    def admin_token(request: Request, name: str, csrf: Annotated[str, Form()] = "") -> Response:
        user, session_csrf = signed_in(request, csrf)
        with rule_errors(user):
            rules.check_admin(user)
        with lock:
            target = reviews.user(name)
            if target is None:
                raise ApiError(404, f"no user {name!r}")
            token = auth.new_token(reviews, target, f"issued by {user.name}")
            users = reviews.users()
        return page("admin_users.html", user=user, csrf=session_csrf, users=users,
                    roles=list(Role), token=(name, token))


def safe_next(target: str) -> str:
    """Only same-site paths after sign-in (no open redirects)."""
    return target if target.startswith("/") and not target.startswith("//") else "/review"

