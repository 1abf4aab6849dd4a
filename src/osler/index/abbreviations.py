"""Abbreviations learned from the corpus: "non-small cell lung cancer (NSCLC)" -> NSCLC.

A short form in parentheses is accepted when the initials of the words before it spell it
(a light version of Schwartz & Hearst 2003); the most frequent long form per short form wins.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_CANDIDATE = re.compile(r"((?:[\w\-']+[ ]){1,8})\(([A-Z][A-Za-z0-9\-]{1,9})\)")
#: A short form must be seen this often with the same long form to be kept.
MIN_COUNT = 2


def _initials_match(words: list[str], short: str) -> str | None:
    """The shortest tail of `words` whose initials (and hyphen parts) spell `short`."""
    letters = [c.lower() for c in short if c.isalpha()]
    if len(letters) < 2:
        return None
    for n in range(1, len(words) + 1):
        tail = words[-n:]
        parts = [part for w in tail for part in re.split(r"-", w) if part]
        heads = [part[0].lower() for part in parts]
        if heads == letters or [w[0].lower() for w in tail] == letters:
            return " ".join(tail)
        if len(tail) > len(letters) + 2:
            return None
    return None


class AbbreviationMiner:
    """Collects (short, long) pairs from passages; `result()` keeps the frequent ones."""

    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        for short, long in (known or {}).items():
            self.counts[short][long] += MIN_COUNT

    def feed(self, text: str) -> None:
        if "(" not in text:
            return
        for match in _CANDIDATE.finditer(text):
            short = match.group(2)
            if sum(c.isupper() for c in short) < 2:
                continue
            long = _initials_match(match.group(1).split(), short)
            if long:
                self.counts[short][long.lower()] += 1

    def result(self) -> dict[str, str]:
        out = {}
        for short, longs in self.counts.items():
            long, n = longs.most_common(1)[0]
            if n >= MIN_COUNT:
                out[short] = long
        return out
