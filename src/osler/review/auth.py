"""Passwords (argon2), API tokens and web sessions (random, stored only as SHA-256 hashes), CSRF."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from osler.models import User
from osler.store import ReviewStore, name_key

SESSION_HOURS = 12
_HASHER = PasswordHasher()


#: Unicode categories a user name may not hold: controls, format characters (bidi overrides such
#: as U+202E, zero-width joiners), surrogates, private use, unassigned, line/paragraph separators.
_BANNED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
MAX_NAME = 80


def clean_name(name: str) -> str:
    """A user name as stored: NFKC, spacing collapsed; ValueError for an empty or over-long name
    or one holding control or bidi characters (audit lines could be spoofed with them)."""
    bad = [c for c in name if unicodedata.category(c) in _BANNED]
    if bad:
        raise ValueError(
            f"user names cannot hold control or formatting characters (U+{ord(bad[0]):04X})"
        )
    clean = " ".join(unicodedata.normalize("NFKC", name).split())
    if not clean:
        raise ValueError("a user name is needed")
    if len(clean) > MAX_NAME:
        raise ValueError(f"user names have at most {MAX_NAME} characters")
    return clean


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("passwords need at least 8 characters")
    return _HASHER.hash(password)


def digest(secret: str) -> str:
    """How tokens and session ids are kept at rest."""
    return hashlib.sha256(secret.encode()).hexdigest()


def password_ok(stored: str | None, password: str) -> bool:
    """argon2 verify (~100 ms: call it holding no shared lock); the same cost when there is no
    stored hash (unknown user), so timing does not tell who exists."""
    if not stored:
        _HASHER.hash(password or "x" * 8)
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def login(reviews: ReviewStore, name: str, password: str) -> User | None:
    """The user if name and password match (argon2 verify), else None."""
    return reviews.user(name) if password_ok(reviews.password_hash(name), password) else None


class Throttle:
    """Failed sign-ins per account and per address, with exponential backoff.

    The `free`-th failure for a key (an account's name key, or a client address) and each one
    after it lock the key for `base` seconds, doubling up to `cap`; a success clears the
    account (not the address). Failures older than `window` seconds are forgotten.
    """

    def __init__(
        self,
        free_per_account: int = 5,
        free_per_address: int = 20,
        base: float = 1.0,
        cap: float = 900.0,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = {"account": free_per_account, "address": free_per_address}
        self.base, self.cap, self.window, self.clock = base, cap, window, clock
        self.failures: dict[tuple[str, str], tuple[int, float, float]] = {}  # count, last, until
        self.lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[str, str]]:
        return [("account", name_key(name)), ("address", address)]

    def wait(self, name: str, address: str) -> float:
        """Seconds until this account may try again from this address (0: now)."""
        now = self.clock()
        with self.lock:
            waits = [
                until - now
                for key in self._keys(name, address)
                if (entry := self.failures.get(key)) and (until := entry[2]) > now
            ]
        return max(waits, default=0.0)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self.lock:
            for key in self._keys(name, address):
                count, last, _ = self.failures.get(key, (0, now, 0.0))
                count = 1 if now - last > self.window else count + 1
                over = count - self.free[key[0]] + 1
                until = now + min(self.cap, self.base * 2 ** (over - 1)) if over > 0 else 0.0
                self.failures[key] = (count, now, until)
            if len(self.failures) > 50_000:  # forget idle keys
                self.failures = {
                    k: v for k, v in self.failures.items() if now - v[1] < self.window
                }

    def succeeded(self, name: str) -> None:
        with self.lock:
            self.failures.pop(("account", name_key(name)), None)


def new_token(reviews: ReviewStore, user: User, label: str = "") -> str:
    """A new API token for `user`; it is shown once and stored only as a hash."""
    token = "osl_" + secrets.token_urlsafe(32)
    reviews.add_token(user, digest(token), label)
    return token


def user_for_token(reviews: ReviewStore, token: str) -> User | None:
    return reviews.user_for_token(digest(token)) if token else None


def new_session(reviews: ReviewStore, user: User) -> str:
    """A session id for the cookie; the store keeps its hash and a CSRF token for its forms."""
    session = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
    reviews.add_session(
        digest(session), user, secrets.token_urlsafe(32), expires.isoformat(timespec="seconds")
    )
    return session


def session_user(reviews: ReviewStore, session: str | None) -> tuple[User, str] | None:
    """The signed-in user and the session's CSRF token."""
    return reviews.session(digest(session)) if session else None


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of bytes (any text compares; non-ASCII never matches a token)."""
    if not given or not expected:
        return False
    encode = lambda text: text.encode("utf-8", "surrogatepass")  # noqa: E731
    return hmac.compare_digest(encode(expected), encode(given))
