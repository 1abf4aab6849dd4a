"""What requests bring, checked: questions, audiences, conversation ids, free text, the page to
return to after sign-in; and a checked question asked of the service."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator

from osler.audience import READERS
from osler.models import Answer
from osler.service import Osler
from osler.web.errors import ApiError

MAX_QUESTION = 2000
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_text(value: str, what: str) -> str:
    """`value` if it is valid Unicode (no lone surrogates) without NUL characters, else a 400."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(400, f"{what} holds an invalid character (a lone surrogate)") from exc
    if "\x00" in value:
        raise ApiError(400, f"{what} holds a NUL character")
    return value


def check_question(question: str) -> str:
    question = " ".join(check_text(question or "", "question").split())
    if not question:
        raise ApiError(400, "question is empty")
    if len(question) > MAX_QUESTION:
        raise ApiError(
            400, f"question is too long ({len(question):,} characters; limit {MAX_QUESTION:,})"
        )
    return question


def check_audience(audience: str) -> str:
    if audience not in READERS:
        raise ApiError(400, f"unknown audience {audience!r}; use one of {', '.join(READERS)}")
    return audience


def check_conversation(conversation_id: str | None) -> str:
    """A given conversation id (letters, digits, - and _), or a new one."""
    if conversation_id is None or conversation_id == "":
        return uuid.uuid4().hex
    if not _CONVERSATION_ID.match(conversation_id):
        raise ApiError(400, "conversation_id must be 1-64 letters, digits, '-' or '_'")
    return conversation_id


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not accepted")
    return value


#: Free text a person typed (comments, credentials): no NUL characters.
Text = Annotated[str, AfterValidator(_no_nul)]


def safe_next(target: str) -> str:
    """Only same-site paths after sign-in (no open redirects)."""
    return target if target.startswith("/") and not target.startswith("//") else "/review"


def ask(
    osler: Osler, question: str, audience: str, conversation: str | None = None, llm: bool = False
) -> Answer:
    """The answer to a checked question, as a turn of the conversation (a new one if none)."""
    question, audience = check_question(question), check_audience(audience)
    return osler.ask(question, audience, check_conversation(conversation), llm=llm)


def fresh(osler: Osler, question: str, audience: str) -> Answer:
    """A newly composed answer to a checked question (an article created or answered again)."""
    question, audience = check_question(question), check_audience(audience)
    return osler.fresh_answer(question, audience)
