"""Security middleware: headers (CSP), request size limit, per-client rate limiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

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

Handler = Callable[[Request], Awaitable[Response]]


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


def middleware(limiter: RateLimiter) -> Callable[[Request, Handler], Awaitable[Response]]:
    """One middleware doing size limit, rate limit and security headers, in that order."""

    async def guard(request: Request, call_next: Handler) -> Response:
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_BODY):
            response: Response = JSONResponse(
                {"error": f"request body too large (limit {MAX_BODY} bytes)"}, status_code=413
            )
        elif request.url.path != "/healthz" and not limiter.allow(
            request.client.host if request.client else "unknown"
        ):
            response = JSONResponse(
                {"error": "too many requests; slow down and retry shortly"},
                status_code=429,
                headers={"Retry-After": "10"},
            )
        else:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return guard
