"""Topic resolution: the question's topic as the corpus names it, and what is left over.

The corpus names its topics: the titles and focus names of consumer and drug pages, their
synonyms, guideline and PDQ summary titles, and the abbreviations its text defines ("chronic
kidney disease (CKD)"). A question's focus words are matched against those names (longest name
first, word endings and small spelling errors tolerated); the words of a matched name are the
*topic*, the others are *qualifiers* ("available", "doctors", "early", "in older adults").
Qualifiers steer ranking and section choice; a qualifier the corpus knows as an ordinary word
never forces an abstention, while a word the corpus has never seen ("Zorblaxian") still does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from osler.models import Audience, Document, Query
from osler.retrieve.analyse import STOP_WORDS, TYPE_WORDS
from osler.text import GENERIC, same_word, tokens

#: Source types whose titles name a topic (not research articles, whose titles are findings).
TOPIC_SOURCES = frozenset(
    {"consumer-health", "drug-information", "drug-label", "guideline-summary", "guideline"}
)
#: Words a name may end with that name no kind of anything ("Alzheimer's disease").
EMPTY_HEADS = frozenset("disease diseases disorder disorders syndrome condition".split())
#: A one-word name whose word is in this many names or more is a family word, not a topic.
FAMILY_NAMES = 50
#: Longest topic name considered, in words.
MAX_NAME_WORDS = 8
#: A word this many passages or more contain is an ordinary word of the corpus: as a qualifier
#: it may be set aside when the sources do not use it ("available", "doctors", "warning").
MIN_QUALIFIER_PASSAGES = 20
#: Spelling correction: least similarity (0-100) and length of a word to correct.
FUZZY_SCORE = 85
FUZZY_MIN_CHARS = 5

_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
#: Where a title's topic ends: "Gallbladder Cancer Treatment (PDQ®)–Health Professional Version".
_TITLE_TAIL = re.compile(r"\s+[-–—:]\s+|[–—]|:\s")


def name_tokens(name: str) -> tuple[str, ...]:
    """A topic name as tokens: its parenthetical and tail dropped, type and stop words out."""
    head = _TITLE_TAIL.split(_PARENS.sub(" ", name), maxsplit=1)[0]
    head = TYPE_WORDS.sub(" ", head)
    return tuple(t for t in tokens(head) if t not in STOP_WORDS)


def _names(doc: Document) -> Iterable[str]:
    yield doc.title
    focus = doc.extra.get("focus", "")
    if focus:
        yield focus
    for synonym in doc.extra.get("focus_synonyms", "").split(";"):
        if synonym.strip():
            yield synonym
    for name in (doc.title, focus):
        if "," in name:  # "Craniometaphyseal dysplasia, autosomal dominant": the family too
            yield name.split(",", 1)[0]


@dataclass
class Resolution:
    """What topic resolution found in a question's focus words."""

    topic_terms: list[str] = field(default_factory=list)
    #: The words of the page titles a synonym stands for, searched as expansions.
    synonyms: list[str] = field(default_factory=list)
    qualifiers: list[str] = field(default_factory=list)
    #: Qualifiers the corpus knows as ordinary words (may be set aside).
    droppable: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    #: A synonym the sources do not write -> the words of the page title it stands for.
    renamed: dict[str, list[str]] = field(default_factory=dict)
    #: Qualifiers no indexed passage holds.
    unknown: list[str] = field(default_factory=list)


class Topics:
    """The corpus's topic names, indexed for matching against questions."""

    def __init__(
        self,
        documents: Iterable[Document],
        abbreviations: dict[str, str] | None = None,
        passage_counts: Callable[[list[str]], dict[str, int]] | None = None,
    ) -> None:
        self.names: dict[str, list[tuple[str, ...]]] = {}
        #: The documents that give each name; names of `hidden` documents only are not used
        #: (the answer benchmark hides pages as if they had never been ingested).
        self.providers: dict[tuple[str, ...], set[str]] = {}
        self.hidden: frozenset[str] = frozenset()
        #: A synonym -> the title of a page it names ("afib" -> "atrial fibrillation").
        self.canonical: dict[tuple[str, ...], tuple[str, ...]] = {}
        for doc in documents:
            if doc.source_type not in TOPIC_SOURCES and doc.audience is not Audience.CONSUMER:
                continue
            title = name_tokens(doc.title)
            for name in _names(doc):
                tokens_ = name_tokens(name)
                self._add(tokens_, doc.id)
                if title and tokens_ and tokens_ != title:
                    self.canonical.setdefault(tokens_, title)
        self.abbreviations: dict[str, tuple[str, ...]] = {}
        for short, long_form in (abbreviations or {}).items():
            expanded = name_tokens(long_form)
            if len(short) >= 3 and expanded and self._known(expanded):
                self.abbreviations[short.lower()] = expanded
        # a word that heads many names ("deficiency", "cancer") is a family, not a topic
        family = Counter(t for bucket in self.names.values() for n in bucket for t in set(n))
        for key, bucket in self.names.items():
            self.names[key] = sorted(
                (n for n in bucket if len(n) > 1 or family[n[0]] < FAMILY_NAMES),
                key=len,
                reverse=True,
            )
        self.vocabulary = sorted({t for bucket in self.names.values() for n in bucket for t in n})
        #: In how many topic names each word occurs ("loss": hair loss, hearing loss ...).
        self.name_words: Counter[str] = family
        self.passage_counts = passage_counts

    def _add(self, name: tuple[str, ...], doc_id: str) -> None:
        if len(name) > 1 and name[-1] in EMPTY_HEADS:  # "Alzheimer's disease": "alzheimers"
            self._add(name[:-1], doc_id)
        if name and len(name) <= MAX_NAME_WORDS and not all(t in GENERIC for t in name):
            bucket = self.names.setdefault(name[0][:4], [])
            if name not in bucket:
                bucket.append(name)
            self.providers.setdefault(name, set()).add(doc_id)

    def _known(self, name: tuple[str, ...]) -> bool:
        return any(n == name for n in self.names.get(name[0][:4], []))

    def __len__(self) -> int:
        return sum(len(b) for b in self.names.values())

    def _counts(self, words: list[str]) -> dict[str, int]:
        return self.passage_counts(words) if self.passage_counts and words else {}

    def corrected(self, words: list[str]) -> dict[str, str]:
        """Spelling corrections: a word the corpus has never seen -> the closest topic word."""
        unknown = [w for w in words if len(w) >= FUZZY_MIN_CHARS and not w.isdigit()]
        if not unknown or self.passage_counts is None:
            return {}
        counts = self._counts(unknown)
        out: dict[str, str] = {}
        for w in unknown:
            if counts.get(w, 0) > 0:
                continue
            best = process.extractOne(w, self.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_SCORE)
            if best is not None:
                out[w] = best[0]
        return out

    def _match_at(self, words: list[str], i: int) -> tuple[int, tuple[str, ...]] | None:
        """The longest topic name starting at words[i]: (its length in words, the name)."""
        abbreviation = self.abbreviations.get(words[i])
        if abbreviation:
            return 1, abbreviation
        best: tuple[int, tuple[str, ...]] | None = None
        for name in self.names.get(words[i][:4], []):
            size = len(name)
            if size > len(words) - i or (best and size <= best[0]):
                continue
            if self.hidden and self.providers.get(name, set()) <= self.hidden:
                continue
            if all(same_word(a, b) or same_word(b, a) for a, b in zip(name, words[i:], strict=False)):
                best = (size, name)
        return best

    def resolve(self, focus_words: list[str]) -> Resolution:
        """The topic and qualifiers among a question's focus words (lower-cased tokens)."""
        corrections = self.corrected(focus_words)
        words = [corrections.get(w, w) for w in focus_words]
        topic: list[str] = []
        synonyms: list[str] = []
        renamed: dict[str, list[str]] = {}
        used = [False] * len(words)
        i = 0
        while i < len(words):
            found = self._match_at(words, i)
            if found is None:
                i += 1
                continue
            size, name = found
            title = self.canonical.get(name, ())
            synonyms += [t for t in title if t not in words]
            if title and len(name) == 1 and self._counts(list(name)).get(name[0], 0) < (
                MIN_QUALIFIER_PASSAGES
            ):  # a synonym the sources do not write ("afib"): the topic is the page's name
                topic += list(title)
                renamed[name[0]] = list(title)
            if size == 1 and name != (words[i],) and len(name) > 1:  # an abbreviation
                topic += [words[i], *name]
                renamed[words[i]] = list(name)  # the sources may write only the long form
            else:
                topic += words[i : i + size]
            for j in range(i, i + size):
                used[j] = True
            i += size
        if not topic:
            return Resolution(corrections=corrections)
        qualifiers = [w for w, u in zip(words, used, strict=True) if not u and w not in topic]
        counts = self._counts(qualifiers)
        droppable = [  # never a number or a code: they tell sibling conditions apart
            q
            for q in qualifiers
            if counts.get(q, 0) >= MIN_QUALIFIER_PASSAGES
            and len(q) > 2
            and not any(c.isdigit() for c in q)
        ]
        # a word no passage holds (a made-up drug, a word the sources never use) is never set
        # aside: the sources do not cover it
        unknown = [
            q for q in qualifiers if not counts.get(q, 0) and len(q) > 2 and not q.isdigit()
        ]
        return Resolution(
            list(dict.fromkeys(topic)),
            list(dict.fromkeys(synonyms)),
            qualifiers,
            droppable,
            corrections,
            renamed,
            unknown,
        )


def resolved(query: Query, topics: Topics) -> Query:
    """The query with its topic, qualifiers and spelling corrections (terms corrected too)."""
    found = topics.resolve(tokens(query.focus))
    if not found.topic_terms and not found.corrections:
        return query
    fix = found.corrections

    def corrected(words: list[str]) -> list[str]:
        out: list[str] = []
        for w in words:
            out += found.renamed.get(fix.get(w, w), [fix.get(w, w)])
        return list(dict.fromkeys(out))

    return query.model_copy(
        update={
            "droppable": _outside_the_name(found, query.cleaned, topics.name_words),
            "terms": list(dict.fromkeys(fix.get(w, w) for w in query.terms)),
            "focus_terms": corrected(query.focus_terms),
            "focus": " ".join(fix.get(w.lower(), w) for w in query.focus.split()),
            "topic_terms": found.topic_terms,
            "expansion_terms": list(
                dict.fromkeys([*query.expansion_terms, *found.synonyms])
            ),
            "qualifiers": found.qualifiers,
            "unknown": found.unknown,
            "corrections": fix,
            "renamed": {short: " ".join(long_) for short, long_ in found.renamed.items()},
        }
    )


def _outside_the_name(
    found: Resolution, cleaned: str, name_words: Counter[str] | None = None
) -> list[str]:
    """The droppable qualifiers that stand apart from the topic's name in the question.

    The name runs from each topic word over the content words next to it ("hair loss",
    "plasminogen activator inhibitor type 1 deficiency", "mitral valve prolapse, familial");
    a stop word or a type word ends it, so a qualifier set off by one qualifies the question
    ("available for psoriasis", "early warning signs of ovarian cancer"). A word that no topic
    name of the corpus holds is never part of a name ("ehlers danlos syndrome basics")."""
    words = [found.corrections.get(w, w) for w in tokens(TYPE_WORDS.sub(" and ", cleaned))]
    topic = set(found.topic_terms)
    inside = [w in topic for w in words]
    for order in (range(len(words)), range(len(words) - 1, -1, -1)):
        previous = False
        for i in order:
            if inside[i]:
                previous = True
            elif previous and words[i] not in STOP_WORDS:
                inside[i] = True
            else:
                previous = False
    named = {w for w, keep in zip(words, inside, strict=True) if keep}
    # a word no topic name of the corpus uses never names a topic ("basics", "explained")
    names = name_words or Counter()
    return [q for q in found.droppable if q not in named or names[q] == 0]
