"""Turn headed sections into one stored document text and the passages that point into it."""

from __future__ import annotations

import re

from osler.ingest import annotations
from osler.ingest.sentences import sentence_spans
from osler.models import Passage, Section

#: Bump when chunking changes, so that a re-ingest re-cuts stored documents.
VERSION = 2
MAX_SENTENCES = 4
MAX_WORDS = 120
#: An inline list line ("... include: - a - b") up to this long is one passage, uncut.
MAX_LIST_LINE_WORDS = 400
#: A paragraph shorter than this is merged with the next one in the same passage.
MIN_WORDS = 25

_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_END_PUNCT = re.compile(r"[.!?:;)\]\"']$")


def normalize(text: str) -> str:
    """Collapse runs of spaces, strip each line, drop blank lines (one paragraph per line)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _is_subheading(line: str, has_next: bool) -> bool:
    line = annotations.strip(line)
    words = line.split()
    return has_next and 0 < len(words) <= 8 and not _END_PUNCT.search(line) and line[0] not in "-•*"


def _words(text: str) -> int:
    return len(text.split())


def build(document_id: str, sections: list[Section]) -> tuple[str, list[Passage]]:
    """Lay the sections out as one text and cut passages of 1-4 whole sentences (<= ~120 words)."""
    text_parts: list[str] = []
    passages: list[Passage] = []
    pos = 0

    def add(chunk: str) -> int:
        nonlocal pos
        start = pos
        text_parts.append(chunk)
        pos += len(chunk)
        return start

    for section in sections:
        heading = annotations.strip(normalize(section.heading).replace("\n", " "))
        body = normalize(section.text)
        if not body:
            continue
        if heading:
            add(heading + "\n")
        base = add(body)
        add("\n\n")
        if section.atomic:
            _lines(document_id, heading, body, base, passages)
        else:
            _cut(document_id, heading, body, base, passages)
    return annotations.lift("".join(text_parts).rstrip("\n"), passages)


def _lines(doc_id: str, heading: str, body: str, base: int, out: list[Passage]) -> None:
    """One passage per line, uncut (for sources whose units are given, like gold snippets)."""
    start = 0
    for line in body.split("\n"):
        out.append(
            Passage(
                id=f"{doc_id}#{len(out)}",
                document_id=doc_id,
                section=heading,
                ordinal=len(out),
                text=line,
                start=base + start,
                end=base + start + len(line),
            )
        )
        start += len(line) + 1


#: A line that is a lead-in with its inline list ("Signs include: - fever - cough").
_INLINE_LIST = re.compile(r"^[^.!?\n]{1,300}: - \S")


def _lead_in(body: str, current: list[tuple[int, int]]) -> bool:
    """Whether the passage being built ends with a lead-in to a list ("... include:")."""
    start, end = current[-1]
    return annotations.strip(body[start:end]).rstrip().endswith(":")


def _cut(doc_id: str, heading: str, body: str, base: int, out: list[Passage]) -> None:
    label = heading
    current: list[tuple[int, int]] = []

    def flush() -> None:
        if current:
            start, end = current[0][0], current[-1][1]
            out.append(
                Passage(
                    id=f"{doc_id}#{len(out)}",
                    document_id=doc_id,
                    section=label,
                    ordinal=len(out),
                    text=body[start:end],
                    start=base + start,
                    end=base + end,
                )
            )
            current.clear()

    lines = body.split("\n")
    line_start = 0
    for i, line in enumerate(lines):
        plain = annotations.strip(line).strip()  # a page marker is no part of a sub-label
        if _is_subheading(plain, i + 1 < len(lines)):
            flush()
            label = f"{heading} › {plain}" if heading else plain
        else:
            # an inline list stays whole: its items are not sentences to cut between
            whole = (
                _INLINE_LIST.match(annotations.strip(line)) and _words(line) <= MAX_LIST_LINE_WORDS
            )
            spans = [(0, len(line))] if whole else sentence_spans(line)
            for s, e in spans:
                span = (line_start + s, line_start + e)
                words = sum(_words(body[a:b]) for a, b in current)
                if (
                    current
                    and not _lead_in(body, current)  # "... include:" stays with what follows
                    and (
                        len(current) >= MAX_SENTENCES
                        or words + _words(body[span[0] : span[1]]) > MAX_WORDS
                    )
                ):
                    flush()
                current.append(span)
            if (
                current
                and not _lead_in(body, current)
                and sum(_words(body[a:b]) for a, b in current) >= MIN_WORDS
            ):
                flush()
        line_start += len(line) + 1
    flush()
