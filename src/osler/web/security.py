"""Security middleware: headers (CSP) on every response, the request size limit enforced while
the body is read, per-client rate limiting, and a last-resort 500 that carries the headers too.

One pure ASGI middleware, installed outermost (see `create_app`), so every response passes
through it: the app's own, the sign-in gate's, 404s of unknown routes and unexpected faults.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Largest request body accepted (bytes).
MAX_BODY = 64 * 1024
#: Paths never rate limited: health checks and static assets (a page loads three of them).
EXEMPT_PREFIXES = ("/static/", "/swagger/")
EXEMPT_PATHS = {"/healthz", "/favicon.ico"}
TRUSTED_PROXIES_ENV = "OSLER_TRUSTED_PROXIES"
#: Pages of the editorial team (a new API token is shown once on /admin/users): never cached.
NO_STORE_PREFIXES = ("/review", "/admin", "/audit", "/login", "/api/articles", "/api/audit")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """Raised while the body is read, once it passes the limit (chunked bodies included)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large (limit {limit:,} bytes)")


class RateLimiter:
    """A token bucket per client address: `rate` requests per minute, bursts up to `rate`."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, client: str) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self.buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            if len(self.buckets) > 10_000:  # forget idle clients
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 600}
            return allowed


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(value: str | None = None) -> tuple[Network, ...]:
    """Addresses or networks (comma-separated) whose X-Forwarded-For is believed; from
    $OSLER_TRUSTED_PROXIES by default; empty: nobody's (the peer address is the client)."""
    value = os.environ.get(TRUSTED_PROXIES_ENV, "") if value is None else value
    try:
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip())
    except ValueError as exc:
        raise ValueError(f"bad {TRUSTED_PROXIES_ENV}: {exc}") from exc


def _trusted(host: str, proxies: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in proxies)


def client_address(scope: Scope, proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer, or when the peer is a trusted proxy, the last address
    of X-Forwarded-For that is not itself a trusted proxy."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = [
        v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"
    ]
    hops = [h.strip() for line in forwarded for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def wants_html(scope: Scope) -> bool:
    """A browser asking for a page (not the API): it gets HTML errors."""
    path = scope.get("path", "")
    if path.startswith("/api") or path in {"/healthz", "/openapi.json"}:
        return False
    accept = next((v for k, v in scope.get("headers", []) if k == b"accept"), b"")
    return b"text/html" in accept


def _page(status: int, title: str, message: str) -> bytes:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)} · Osler</title><link rel="stylesheet" href="/static/style.css">'
        f'</head><body><main class="error-page"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(message)}</p><p><a href=\"/\">Osler home</a></p></main></body></html>\n"
    ).encode()


class Guard:
    """Size limit, rate limit, security headers and a last-resort 500, for every request."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        max_body: int = MAX_BODY,
        proxies: tuple[Network, ...] = (),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.max_body = max_body
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        no_store = True  # until the path is known
        head = scope.get("method") == "HEAD"
        if head:  # HEAD is GET without the body, for every page and API read
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.lower().encode(), v.encode())
                    for k, v in HEADERS.items()
                    if k.lower().encode() not in present
                ]
                if no_store and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        async def refuse(status: int, message: str, headers: dict[str, str] | None = None) -> None:
            if wants_html(scope):
                titles = {413: "Request too large", 429: "Too many requests", 500: "Something went wrong"}
                body = _page(status, titles.get(status, "Error"), message)
                kind = b"text/html; charset=utf-8"
            else:
                body, kind = json.dumps({"error": message}).encode(), b"application/json"
            extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", kind),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-store"),
                        *extra,
                    ],
                }
            )
            await send_with_headers({"type": "http.response.body", "body": body})

        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        too_large = f"request body too large (limit {self.max_body:,} bytes)"
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await refuse(413, too_large)
            return
        path = scope.get("path", "")
        no_store = path.startswith(NO_STORE_PREFIXES)
        client = client_address(scope, self.proxies)
        scope["client"] = (client, (scope.get("client") or ("", 0))[1])
        exempt = path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)
        if not exempt and not self.limiter.allow(client):
            await refuse(
                429,
                "Too many requests from your address; wait a few seconds and try again.",
                {"Retry-After": "10"},
            )
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        try:
            await self.app(scope, counted, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await refuse(413, too_large)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), path)
            if started:
                raise
            await refuse(500, "internal error; the request was not completed")
