"""Clinical names in a sentence, each reduced to the concept it names, so a paraphrase that
renames a drug or a condition can be told from one that swaps it.

Three sources, none of them written here:

- drugs: the dictionary of drug-named-entity-recognition (brand and variant -> generic; a
  drug's MeSH tree numbers give its class);
- conditions: the corpus's own names: each MedQuAD page's focus with its focus synonyms is one
  concept ("Low Blood Pressure" = "Hypotension" = "LBP");
- abbreviations a passage defines ("hypothermic machine perfusion (HMP)"), mined from the
  passage the sentence is checked against.

Names are matched longest first on lower-cased word tokens, the last word singular. A name
written in capitals in the corpus ("ALL", "MAD") matches only when the text writes it so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from osler.index.abbreviations import AbbreviationMiner
from osler.models import Document

#: Longest name (in words) looked for.
MAX_WORDS = 8
#: Names shorter than this (in characters) are only matched as written in capitals.
MIN_PLAIN = 4

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][a-z]+)?")


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def key(words: list[str]) -> str:
    """The lookup key of a name: lower-case words, the last one singular."""
    low = [w.lower() for w in words]
    if low:
        low[-1] = _singular(low[-1])
    return " ".join(low)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of each word of a text."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True)
class Mention:
    """A name found in a text: where (word offsets), as written, and the concept it names."""

    start: int
    end: int
    surface: str
    concept: str
    kind: str  # "drug", "condition", "abbreviation"


@cache
def _drugs() -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
    """drug-named-entity-recognition's variant -> canonical names and canonical -> data."""
    from drug_named_entity_recognition import drugs_finder

    return drugs_finder.drug_variant_to_canonical, drugs_finder.drug_canonical_to_data


def drug_concept(name: str) -> str | None:
    """The generic a drug name stands for ("Advil" -> "drug:ibuprofen"), or None."""
    variants, _ = _drugs()
    found = variants.get(name.lower())
    return f"drug:{sorted(found)[0]}" if found else None


def drug_class(concept: str) -> set[str]:
    """The parents of a drug's MeSH tree numbers (its classes), for a "drug:" concept."""
    _, data = _drugs()
    info = data.get(concept.removeprefix("drug:"), {})
    return {t.rsplit(".", 1)[0] for t in info.get("mesh_tree") or [] if "." in t}


class Names:
    """The corpus's condition names, grouped by concept, with drug and abbreviation lookup."""

    def __init__(self, groups: Iterable[Iterable[str]]) -> None:
        self.concepts: dict[str, str] = {}  # key -> concept
        self.capitals: set[str] = set()  # keys matched only as written in capitals
        self.names: dict[str, list[str]] = {}  # concept -> its names as written
        for n, group in enumerate(groups):
            names = [" ".join(g.split()) for g in group if g and g.strip()]
            concept = None
            for name in names:
                k = key([w for w, _, _ in tokens(name)])
                if k in self.concepts:
                    concept = self.concepts[k]  # two groups sharing a name are one concept
                    break
            concept = concept or f"name:{n}"
            for name in names:
                words = [w for w, _, _ in tokens(name)]
                k = key(words)
                if not k or len(words) > MAX_WORDS or k.isdigit():
                    continue
                self.concepts.setdefault(k, concept)
                self.names.setdefault(concept, []).append(name)
                if len(name) < MIN_PLAIN or (name.isupper() and len(words) == 1):
                    self.capitals.add(k)

    @classmethod
    def from_documents(cls, documents: Mapping[str, Document]) -> Names:
        """Names from each page's focus and focus synonyms (MedQuAD pages carry them)."""
        return cls(_focus_groups(d.extra for d in documents.values()))

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Names:
        """Names from MedQuAD records (`focus`, `focus_synonyms`), as ingest stores them."""
        groups = []
        for r in records:
            synonyms = r.get("focus_synonyms") or []
            if isinstance(synonyms, str):
                synonyms = synonyms.split(";")
            groups.append([str(r.get("focus") or ""), *(str(s) for s in synonyms)])
        return cls(groups)

    def find(self, text: str, defined: Mapping[str, str] | None = None) -> list[Mention]:
        """The names in a text, longest first, left to right; `defined` maps abbreviations a
        passage defines to their long forms (the abbreviation names the long form's concept)."""
        words = tokens(text)
        defined = {k.lower(): v for k, v in (defined or {}).items()}
        out: list[Mention] = []
        i = 0
        while i < len(words):
            found = self._at(text, words, i, defined)
            if found is None:
                i += 1
                continue
            out.append(found)
            i = found.end
        return out

    def _at(
        self, text: str, words: list[tuple[str, int, int]], i: int, defined: Mapping[str, str]
    ) -> Mention | None:
        variants, _ = _drugs()
        for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
            span = words[i : i + n]
            surface = text[span[0][1] : span[-1][2]]
            k = key([w for w, _, _ in span])
            plain = " ".join(w.lower() for w, _, _ in span)
            if n == 1 and plain in defined and surface.isupper():  # the passage's own sense
                return Mention(i, i + 1, surface, self.concept_of(defined[plain]), "abbreviation")
            if k in self.concepts and (k not in self.capitals or surface.isupper()):
                return Mention(i, i + n, surface, self.concepts[k], "condition")
            if n <= 3 and (plain in variants or k in variants) and not _common(plain):
                concept = drug_concept(plain if plain in variants else k)
                if concept:
                    return Mention(i, i + n, surface, concept, "drug")
        return None

    def concepts_in(self, text: str, defined: Mapping[str, str] | None = None) -> set[str]:
        """The concepts a text names; an abbreviation and its long form name the same one."""
        defined = {k.lower(): v for k, v in (defined or {}).items()}
        out = {m.concept for m in self.find(text, defined) if m.kind != "abbreviation"}
        out |= {
            self.concept_of(defined[m.surface.lower()])
            for m in self.find(text, defined)
            if m.kind == "abbreviation"
        }
        low = " ".join(w.lower() for w, _, _ in tokens(text))
        for long in defined.values():
            if f" {' '.join(w.lower() for w, _, _ in tokens(long))} " in f" {low} ":
                out.add(self.concept_of(long))
        return out

    def concept_of(self, long: str) -> str:
        """The concept a long form names (an abbreviation's expansion): the one name it is,
        else the long form itself."""
        found = self.find(long)
        if len(found) == 1 and found[0].end - found[0].start == len(tokens(long)):
            return found[0].concept
        return "abbr:" + key([w for w, _, _ in tokens(long)])


@cache
def _common_words() -> frozenset[str]:
    """Drug variants that are everyday English words in clinical prose ("ALL", "may"):
    the dictionary lists some brand names that are."""
    from drug_named_entity_recognition.util import stopwords

    return frozenset(w.lower() for w in stopwords)


def _common(word: str) -> bool:
    return word in _common_words() or len(word) < 4


def _focus_groups(extras: Iterable[Mapping[str, str]]) -> list[list[str]]:
    groups = []
    for extra in extras:
        focus = extra.get("focus", "")
        if focus:
            groups.append([focus, *extra.get("focus_synonyms", "").split(";")])
    return groups


def defined_abbreviations(passages: Iterable[str]) -> dict[str, str]:
    """Abbreviations the passages define ("... machine perfusion (HMP)"): short -> long form
    (one definition is enough: the sentence is checked against this very text)."""
    miner = AbbreviationMiner()
    for text in passages:
        miner.feed(text)
    return {short: longs.most_common(1)[0][0] for short, longs in miner.counts.items()}
