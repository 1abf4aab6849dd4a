"""Passwords (argon2), API tokens and web sessions (random, stored only as SHA-256 hashes), CSRF."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from osler.models import User
from osler.store.review import ReviewStore

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


def login(reviews: ReviewStore, name: str, password: str) -> User | None:
    """The user if name and password match (argon2 verify), else None."""
    stored = reviews.password_hash(name)
    if not stored:
        _HASHER.hash(password or "x" * 8)  # same cost whether or not the user exists
        return None
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return reviews.user(name)


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
