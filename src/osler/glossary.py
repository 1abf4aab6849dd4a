"""A glossary of medical terms built from the corpus itself, to define terms on first use.

Entries are definition sentences found verbatim in the Overview sections of consumer pages
(MedQuAD's answers to "What is (are) X?"):

1. the first Overview sentence whose subject is the page's own title (or a focus synonym):
   "Gout is a form of arthritis ..." on the page titled "Gout";
2. any other Overview sentence of the form "X is a/an/the ..." with a short noun-phrase subject:
   "The thymus is a small organ in your upper chest, under your breastbone."

A term is keyed by its normalised name (lower case, words only, a plural last word made
singular). When several pages define a term, a title definition beats an "X is a ..." one, and
then the plainer sentence (lower Flesch-Kincaid grade) wins. Each entry keeps the passage the
sentence lies in, so a definition is cited like any statement of an answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from osler.ingest.sentences import sentence_spans
from osler.models import Audience, Document, GlossaryEntry, Hit, Passage, Statement
from osler.readability import grade, syllables
from osler.store import Store

#: Most terms defined in one answer, and the longest term (in words) looked for.
MAX_TERMS = 5
MAX_TERM_WORDS = 6
#: Definition sentences longer or shorter than these (in words) are not used.
MIN_WORDS, MAX_WORDS = 5, 45
#: Overview passages of a page searched for its title definition.
HEAD_PASSAGES = 4

_PREFIX = re.compile(r"^(?:-\s+|summary\s*:\s*)", re.I)
#: "Term (ABBR), also called Y, is/are ..." -> the term, then the verb and what follows.
_TITLE_DEF = re.compile(
    r"(?:(?:the|a|an)\s+)?(?P<term>[^,;:()]{1,100}?)(?:\s*\([^()]{1,80}\))?"
    r"(?:,\s*(?:also |sometimes |formerly )?(?:called|known as)[^,]{1,80},)?"
    r"\s+(?:(?:is|are)\s+(?:a|an|the|one|any|part|inflammation|caused|characterized|also called|"
    r"when)|refers to|occurs when|happens when|means)\s+\S",
    re.I,
)
_ARTICLE_DEF = re.compile(
    r"(?:(?:the|a|an)\s+)?(?P<term>[A-Za-z][\w'-]*(?:\s+[\w'-]+){0,3}?)(?:\s*\([^()]{1,80}\))?"
    r"(?P<verb>\s+(?:is|are)\s+(?:a|an|the)\s+\S)",
    re.I,
)
#: Predicates that rate or compare rather than define ("Surgery is a common treatment for ...").
_COMPARES = re.compile(
    r"\s(?:is|are)\s+(?:(?:the|a)\s+)?(?:most|more|less|least|rarest|second|third|leading|only|"
    r"main|usual|lot|best|worst|result|cause|core|hallmark|common|frequent|standard|good|"
    r"major|important|possible|serious|key|new|first|rare|recommended|preferred|typical)\b",
    re.I,
)
#: A sentence that leans on its page ("Surgery is an operation to remove the cancer.").
_CONTEXTUAL = re.compile(
    r"\b(?:this|these|the)\s+(?:cancer|condition|disease|disorder|syndrome|tumou?r|infection|"
    r"procedure|operation|test)s?\b",
    re.I,
)
#: Words that make a subject a phrase, not a term ("Injury to the chest is ...").
_FUNCTION_WORDS = frozenset("to in with for on by at from the and or than this that its".split())
#: Last words that leave a subject without its noun ("The infantile form is ...").
_HEADLESS = frozenset("form forms type types feature features kind version part group stage".split())
#: Subjects that are not terms ("This is a ...", "The cause is a ...").
_NOT_TERMS = frozenset(
    "this that these those it its they there which who what whose most many some one each other "
    "such your our their his her my we you he she all both either neither another goal aim "
    "sometimes usually often also generally typically "
    "result results outlook prognosis cause causes risk treatment treatments diagnosis symptom "
    "symptoms sign signs test tests exam research study studies trial trials information "
    "summary overview purpose first second third main best only following reason reasons "
    "number rate good bad problem problems way ways part parts people person patient patients "
    "child children adult adults woman women man men baby babies doctor doctors".split()
)
#: Words too general (or too everyday) to define for a reader.
_EVERYDAY = frozenset(
    "disease diseases syndrome disorder disorders condition conditions problem infection infections "
    "type types chronic acute cancer cancers tumor tumors symptom symptoms treatment health medical "
    "drug drugs medicine medicines pain fever cough stress sleep bullying exercise diet smoking "
    "pregnancy aging blood body heart skin bone bones".split()
)


def normalise(text: str) -> str:
    """A term's key: lower-case words, the last made singular ("Tumors" -> "tumor")."""
    ws = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())
    if ws:
        ws[-1] = _singular(ws[-1])
    return " ".join(ws)


def _singular(word: str) -> str:
    """A crude singular, applied alike to terms and text ("arteries" -> "artery")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _title_names(doc: Document) -> set[str]:
    names = {doc.title, re.sub(r"\s*\([^()]*\)", "", doc.title), doc.extra.get("focus", "")}
    names |= {s for s in doc.extra.get("focus_synonyms", "").split(";")}
    return {normalise(n) for n in names if n.strip()} - {""}


def _is_overview(section: str) -> bool:
    return section.split("›", 1)[0].strip().lower() == "overview"


#: Where a sentence may start in a line: its beginning, after a sentence end or a bullet mark.
_STARTS = re.compile(r"(?:^|(?<=[.!?])\s+|(?<=\s)-\s+)(?:(?i:summary)\s*:\s*)?(?=[A-Z])")


def _sentence_at(line: str, pos: int) -> str | None:
    """The sentence of the line that starts at `pos` (as the sentence splitter cuts it)."""
    for start, end in sentence_spans(line):
        sentence = line[start:end]
        lead = _PREFIX.match(sentence)
        offset = lead.end() if lead else 0
        if start + offset == pos:
            return sentence[offset:].strip()
        if start > pos:
            return None
    return None


def _usable(sentence: str) -> bool:
    n = len(sentence.split())
    return MIN_WORDS <= n <= MAX_WORDS and sentence[0].isupper() and sentence.endswith(".")


def _term_ok(key: str) -> bool:
    words = key.split()
    return (
        bool(words)
        and len(words) <= MAX_TERM_WORDS
        and not (set(words) & _NOT_TERMS and len(words) <= 2)
        and words[0] not in _NOT_TERMS
        and not all(w in _EVERYDAY for w in words)
        and any(len(w) > 2 for w in words)
    )


def _hard(key: str) -> bool:
    """A term a lay reader may not know: several words, or a word of 3+ syllables."""
    return " " in key or syllables(key) >= 3


def _plain_term(term: str, key: str) -> bool:
    """An "X is a ..." subject that names a thing: no function words, no bare abbreviation,
    not a headless "the infantile form"."""
    words = key.split()
    return (
        not set(words) & _FUNCTION_WORDS
        and words[-1] not in _HEADLESS
        and not (len(words) == 1 and term.strip().isupper())
    )


@dataclass
class Definition:
    """One glossary entry: the term as written, its definition sentence and where it is."""

    term: str
    key: str
    sentence: str
    hit: Hit
    titled: bool

    @property
    def grade(self) -> float:
        return grade(self.sentence)


class Glossary:
    """Terms -> definitions from the corpus; `define` annotates an answer's statements."""

    def __init__(self, definitions: dict[str, Definition]) -> None:
        self.definitions = definitions

    def __len__(self) -> int:
        return len(self.definitions)

    def __contains__(self, term: str) -> bool:
        return normalise(term) in self.definitions

    def get(self, term: str) -> Definition | None:
        return self.definitions.get(normalise(term))

    @classmethod
    def build(cls, store: Store, documents: dict[str, Document]) -> Glossary:
        """The glossary of the consumer pages among `documents` (their Overview sections)."""
        found: dict[str, list[Definition]] = {}
        for doc in documents.values():
            if doc.audience is not Audience.CONSUMER:
                continue
            overview = [p for p in store.passages(doc.id) if _is_overview(p.section)]
            for definition in _definitions(doc, overview):
                found.setdefault(definition.key, []).append(definition)
        return cls({key: _best(options) for key, options in found.items()})

    def define(
        self, statements: list[Statement], cited: list[Hit], focus: str = ""
    ) -> list[GlossaryEntry]:
        """Entries for the terms the statements use, in order of first use, each cited.

        A term is defined when it is the question's `focus` (or part of it), or a hard word:
        several words, or one word of three or more syllables ("inflammation", not "chest").
        A definition's passage joins `cited` (the answer's reference list, numbered from 1) if
        it is not there yet. Terms whose definition the answer already states are left out.
        """
        said = " ".join(s.text for s in statements)
        topic = f" {normalise(focus)} "
        entries: list[GlossaryEntry] = []
        seen: set[str] = set()
        for statement in statements:
            for key in self.terms_in(statement.text):
                found = self.definitions[key]
                if key in seen or found.sentence in said:
                    continue
                if f" {key} " not in topic and not _hard(key):
                    continue
                seen.add(key)
                ids = [h.passage_id for h in cited]
                if found.hit.passage_id not in ids:
                    cited.append(found.hit)
                    ids.append(found.hit.passage_id)
                entries.append(
                    GlossaryEntry(
                        term=found.term,
                        definition=found.sentence,
                        citation=ids.index(found.hit.passage_id) + 1,
                    )
                )
                if len(entries) >= MAX_TERMS:
                    return entries
        return entries

    def terms_in(self, text: str) -> list[str]:
        """Glossary keys found in a text, longest match first, left to right, no overlaps."""
        tokens = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in range(min(MAX_TERM_WORDS, len(tokens) - i), 0, -1):
                key = " ".join([*tokens[i : i + n - 1], _singular(tokens[i + n - 1])])
                if key in self.definitions:
                    out.append(key)
                    i += n
                    break
            else:
                i += 1
        return out


def _best(options: list[Definition]) -> Definition:
    """A title definition first, then the plainer sentence (lower grade), then the shorter."""
    titled = [d for d in options if d.titled] or options
    if len(titled) == 1:
        return titled[0]
    return min(titled, key=lambda d: (d.grade, len(d.sentence), d.hit.passage_id))


def _definitions(doc: Document, overview: list[Passage]) -> Iterable[Definition]:
    """Definition sentences of one page's Overview passages (cheap matches first, then the
    sentence splitter on the few lines that hold one)."""
    names = _title_names(doc)
    titled = False
    for i, passage in enumerate(overview):
        for line in passage.text.split("\n"):
            for start in _STARTS.finditer(line):
                pos = start.end()
                m = _TITLE_DEF.match(line, pos)
                key = normalise(m.group("term")) if m else ""
                is_title = not titled and i < HEAD_PASSAGES and key in names and _term_ok(key)
                if not is_title:
                    m = _ARTICLE_DEF.match(line, pos)
                    key = normalise(m.group("term")) if m else ""
                    if not (m and _term_ok(key) and _plain_term(m.group("term"), key)):
                        continue
                    if _COMPARES.match(line, m.start("verb")) or _CONTEXTUAL.search(line, m.end()):
                        continue
                sentence = _sentence_at(line, pos)
                if sentence is None or len(sentence) < m.end() - pos or not _usable(sentence):
                    continue  # no sentence starts here, or it ends inside the match
                titled = titled or is_title
                yield _definition(m.group("term"), key, sentence, doc, passage, is_title)


def _definition(
    term: str, key: str, sentence: str, doc: Document, passage: Passage, titled: bool
) -> Definition:
    hit = Hit.of(doc, passage, 0.0, {"glossary": 1.0})
    return Definition(term.strip(), key, sentence, hit, titled)
