"""What every format parser shares: its signature and small helpers for records."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from osler.models import ParsedDocument, Skipped

ParseResult = ParsedDocument | Skipped
#: A parser reads one open binary file and yields documents, or Skipped for bad records.
Parser = Callable[[BinaryIO, str], Iterator[ParseResult]]

#: A single record (or whole document) larger than this is skipped, not ingested.
MAX_RECORD_CHARS = 5_000_000

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


class BadRecord(ValueError):
    """A record that cannot be ingested; the message is the reason shown to the user."""


def decode(data: bytes) -> str:
    """UTF-8 text (BOM tolerated); BadRecord on other encodings or binary data."""
    if b"\x00" in data[:4096]:
        raise BadRecord("binary data (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRecord(f"not valid UTF-8 at byte {exc.start}") from exc


def year_of(value: str | None) -> int | None:
    """The first plausible four-digit year in a date string."""
    match = _YEAR.search(value or "")
    return int(match.group(1)) if match else None


def check_size(text: str) -> None:
    if len(text) > MAX_RECORD_CHARS:
        raise BadRecord(
            f"record text too large ({len(text):,} characters; limit {MAX_RECORD_CHARS:,})"
        )


def clean_inline(text: str | None) -> str:
    """Collapse whitespace of a short field (title, name)."""
    return " ".join((text or "").split())


#: Inline HTML that abstract snippets carry over from their publisher ("<b>OBJECTIVES</b>:",
#: "<br>", "<sup>2</sup>"); a line break becomes a space, other tags go, entities are decoded.
_INLINE_TAG = re.compile(
    r"<(/?)(a|b|i|u|em|strong|sup|sub|span|font|p|div|br|hr)\b[^<>]{0,200}?/?>", re.I
)


def strip_inline_html(text: str) -> str:
    """Text without inline HTML tags and with HTML entities decoded, whitespace collapsed."""
    if "<" not in text and "&" not in text:
        return text
    text = _INLINE_TAG.sub(lambda m: " " if m.group(2).lower() in ("br", "p", "div", "hr") else "", text)
    for _ in range(2):  # some snippets are escaped twice ("&amp;quot;")
        text = html.unescape(text)
    return clean_inline(text)


def json_object(raw: bytes) -> dict[str, Any]:
    """One JSONL line as a JSON object; BadRecord (encoding, syntax, shape) otherwise."""
    try:
        value = json.loads(decode(raw))
    except json.JSONDecodeError as exc:
        raise BadRecord(f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise BadRecord("line is not a JSON object")
    return value
