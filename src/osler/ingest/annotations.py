"""Inline annotations: what a parser knows of a span (its citations, level of evidence, page).

A parser writes `mark(kind, value)` into a section's text where the source puts it: a
citation or a level of evidence right after the statement it qualifies, a page marker where
a page begins. Chunking cuts passages as usual; `lift` then takes the markers out of the
document text and the passages, shifts the offsets, and records each marker on its passage's
`extra`. So the stored text is clean, and a passage knows what it rests on.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from osler.models import Passage

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧: never in the sources' text
#: A marker, with the space before it when a space (or the end, or another marker) follows it:
#: "rare. ⟦cite:1⟧ Next" -> "rare. Next", but "the ⟦page:3⟧patients" -> "the patients".
_MARK = re.compile(
    f"(?: (?={OPEN}[^{CLOSE}]*{CLOSE}(?:\\s|$|{OPEN})))?{OPEN}([a-z]+):([^{CLOSE}]*){CLOSE}"
)

#: Kinds that qualify what comes before them (a marker at a passage's start belongs to the
#: previous passage); other kinds (page) qualify what follows.
TRAILING = {"cite", "loe"}
#: The key in Passage.extra for each kind, and whether values accumulate.
KEYS = {"cite": "cites", "loe": "loe", "page": "page"}


def mark(kind: str, value: str) -> str:
    """The marker for one annotation, to be written into a section's text."""
    clean = value.replace(OPEN, "").replace(CLOSE, "").strip()
    return f"{OPEN}{kind}:{clean}{CLOSE}"


def strip(text: str) -> str:
    """Text without markers (for headings, titles and anything not chunked)."""
    return _MARK.sub("", text) if OPEN in text else text


def lift(text: str, passages: list[Passage]) -> tuple[str, list[Passage]]:
    """Remove markers from the document text and its passages; annotate each passage."""
    if OPEN not in text:
        return text, passages
    marks = [(m.start(), m.end(), m.group(1), m.group(2)) for m in _MARK.finditer(text)]
    clean = _MARK.sub("", text)
    cut_starts = [start for start, _, _, _ in marks]
    removed_before = [0]
    for start, end, _, _ in marks:
        removed_before.append(removed_before[-1] + end - start)

    def moved(offset: int) -> int:
        """The clean-text offset of an original offset (an offset inside a marker: its start)."""
        i = bisect_right(cut_starts, offset) - 1
        if i < 0:
            return offset
        start, end = marks[i][0], marks[i][1]
        return start - removed_before[i] if offset < end else offset - removed_before[i + 1]

    ordered = sorted(passages, key=lambda p: p.start)
    starts = [p.start for p in ordered]
    found: dict[str, dict[str, list[str]]] = {p.id: {} for p in ordered}
    pages = [(start, value) for start, _, kind, value in marks if kind == "page"]
    for pos, _, kind, value in marks:
        i = bisect_right(starts, pos) - 1
        if kind == "page" or i < 0:
            continue
        if kind in TRAILING and i > 0 and not strip(text[ordered[i].start : pos]).strip():
            i -= 1  # a citation at a passage's start qualifies the passage before it
        found[ordered[i].id].setdefault(KEYS.get(kind, kind), []).append(value)
    out: list[Passage] = []
    for p in ordered:
        body = strip(p.text).strip()
        if not body:
            continue
        extra = dict(p.extra)
        for key, values in found[p.id].items():
            extra[key] = ",".join(dict.fromkeys(values))
        page = _pages(pages, p.start, p.end)
        if page:
            extra["page"] = page
        start = clean.find(body, moved(p.start))
        if start < 0:  # cannot happen: the body is the clean text of the same span
            raise ValueError(f"annotation offsets lost for passage {p.id}")
        out.append(
            p.model_copy(
                update={
                    "id": f"{p.document_id}#{len(out)}",
                    "ordinal": len(out),
                    "text": body,
                    "start": start,
                    "end": start + len(body),
                    "extra": extra,
                }
            )
        )
    return clean, out


def _pages(pages: list[tuple[int, str]], start: int, end: int) -> str:
    """'14' or '14-15': the page a span starts on, and the last page it reaches."""
    positions = [pos for pos, _ in pages]
    last = bisect_right(positions, end - 1) - 1
    if last < 0:
        return ""
    first = max(bisect_right(positions, start) - 1, 0)
    begin, finish = pages[first][1], pages[last][1]
    return begin if begin == finish else f"{begin}-{finish}"
