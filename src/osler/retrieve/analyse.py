"""Question analysis: type, focus, boilerplate removal, search terms, abbreviation expansion."""

from __future__ import annotations

import re

from osler.models import Query
from osler.text import normalise

#: Question types, tried in order; the first whose cue matches wins. One place, with tests.
QUESTION_TYPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "interactions",
        re.compile(
            r"\b(interact\w*|together with|combin\w+ with|mix\w* with|with alcohol)\b", re.I
        ),
    ),
    (
        "side_effects",
        re.compile(
            r"\b(side[- ]effects?|adverse (effects?|events?|reactions?)|toxicit\w*|safe to take)\b",
            re.I,
        ),
    ),
    (
        "dosage",
        re.compile(
            r"\b(dose|doses|dosage|dosing|how much|how many (mg|milligrams|pills|tablets)|"
            r"administ\w+|how (often|long) (should|do|can) (i|you)|how (to|do i|should i) take|"
            r"\d+ ?mg)\b",
            re.I,
        ),
    ),
    (
        "research",
        re.compile(
            r"\b(research\w*|clinical trials?|being (studied|tested|done)|investigational|"
            r"experimental (treatments?|therap\w+|drugs?))\b",
            re.I,
        ),
    ),
    (
        "prevention",
        re.compile(
            r"\b(prevent\w*|avoid getting|reduce (the|my) risk|vaccin\w*|prophyla\w*)\b", re.I
        ),
    ),
    (
        "treatment",
        re.compile(
            r"\b(treat\w*|therap\w*|manag\w+|cure[sd]?|drug of choice|first[- ]line|"
            r"medications? for|surgery for|options? for|regimens?|remed\w+)\b",
            re.I,
        ),
    ),
    (
        "diagnosis",
        re.compile(
            r"\b(diagnos\w*|tests?|testing|exams?|screen\w*|detect\w*|imaging|biops\w+|work-?up)\b",
            re.I,
        ),
    ),
    (
        "symptoms",
        re.compile(
            r"\b(symptoms?|signs?|presentations?|manifestations?|present with|"
            r"(clinical|presenting) features|feels? like)\b",
            re.I,
        ),
    ),
    (
        "prognosis",
        re.compile(
            r"\b(prognos\w*|outlook|survival|life expectancy|mortality|recover\w*|outcomes?)\b",
            re.I,
        ),
    ),
    (
        "genetics",
        re.compile(r"\b(inherit\w*|genetic changes?|genes?|mutations?|hereditary)\b", re.I),
    ),
    ("causes", re.compile(r"\b(caus\w+|why do\w*|etiolog\w*|pathogen\w+|trigger\w*)\b", re.I)),
    (
        "risk",
        re.compile(
            r"\b(risks?|who (is|are|gets)|susceptib\w+|chances? of getting|likely to)\b", re.I
        ),
    ),
    (
        "frequency",
        re.compile(r"\b(how many people|how common|prevalen\w+|incidence|frequen\w+)\b", re.I),
    ),
]

_YES_NO = re.compile(
    r"^\s*(is|are|does|do|can|could|should|will|was|were|has|have|did|may|might)\b", re.I
)
_DEFINITION = re.compile(
    r"^\s*(what (is|are)|define|definition of|meaning of|tell me about)\b", re.I
)

#: Leading phrases that carry no content ("what is the recommended ...").
_BOILERPLATE = re.compile(
    r"^\s*((can|could) you (please )?(tell|explain to) me|i (would like|want) to know|please|"
    r"tell me|explain|describe|what do you know about|information (on|about))\b[\s,:]*"
    r"|^\s*(what|which|how|who|when|where|why)\b\s*((is|are|was|were|do|does|did|can|should|"
    r"would|to|many|much)\b\s*)?(\(are\)\s*)?((the|a|an)\b\s*)?((current|recommended|best|usual|"
    r"standard|common|main|latest|possible)\b\s*)*",
    re.I,
)

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren as at be because been before
    being below between both but by can cannot could did do does doing don down during each few for
    from further had has have having he her here hers herself him himself his how i if in into is
    isn it its itself just me more most my myself no nor not of off on once only or other ought our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves
    please tell know information recommended current best usual common main possible latest
    patients patient people person someone something things thing get gets getting""".split()
)

_WORD = re.compile(r"[^\W_](?:[\w'\-]*[^\W_])?")
#: Words that name the question type rather than the focus ("treatments for X").
TYPE_WORDS = re.compile(
    r"\b(treatments?|therapy|therapies|options?|symptoms?|signs?|causes?|diagnos\w+|tests?|outlook|"
    r"prognosis|risks?|prevent\w*|side[- ]effects?|dos(e|age|ing)|interactions?|genetic|changes|"
    r"related|inherited|inheritance|frequency|affected|how many|stages?|complications?|research|"
    r"clinical trials?|considerations?|management|manage\w*|treated|treat|cured?|"
    r"(first|second|third)[- ]line|initial|preferred|optimal|drug of choice|being (done|studied))\b",
    re.I,
)
MAX_QUESTION_CHARS = 2000


#: What a message tells rather than asks ("my son was just diagnosed with X, what is it?"):
#: not a cue of the question type.
_NARRATIVE = re.compile(
    r"\b(was|were|been|is|am|are|got|get|just|recently|newly)\s+(\w+\s+)?diagnosed\s+with\b",
    re.I,
)


def question_type(question: str) -> tuple[str, bool]:
    """The question type (see QUESTION_TYPES; else "definition") and whether it is yes/no."""
    question = _NARRATIVE.sub(" with ", question)
    yes_no = bool(_YES_NO.match(question))
    for name, pattern in QUESTION_TYPES:
        if pattern.search(question):
            return name, yes_no
    return ("yes_no" if yes_no and not _DEFINITION.match(question) else "definition"), yes_no


def defaulted(question: str, qtype: str) -> bool:
    """No cue named the type: a definition only because nothing else was asked for."""
    return qtype == "definition" and not _DEFINITION.match(normalise(question))


def words(text: str) -> list[str]:
    """Word tokens (letters, digits, inner hyphens and apostrophes)."""
    return _WORD.findall(text)


def content_terms(text: str) -> list[str]:
    """Lower-cased words minus stop words, in order, without repeats."""
    seen: dict[str, None] = {}
    for w in words(text):
        low = w.lower().strip("'")
        if low and low not in STOP_WORDS:
            seen.setdefault(low, None)
    return list(seen)


_TIME_WORDS = re.compile(
    r"\b(right now|now|currently|today|tonight|at the moment|at present)\b", re.I
)


def focus_of(cleaned: str) -> str:
    """The disease/drug/condition a question is about: what is left without type words."""
    text = TYPE_WORDS.sub(" ", _TIME_WORDS.sub(" ", cleaned))
    kept = [w for w in words(text) if w.lower() not in STOP_WORDS]
    return " ".join(kept)


#: A gloss in parentheses ("lupus (SLE)", "(mets)", "(an underactive thyroid)"): another name
#: for what it follows, searched but not a word the answer must contain.
_GLOSS = re.compile(r"\s*\(([^()]{1,80})\)")


def analyse(question: str, abbreviations: dict[str, str] | None = None) -> Query:
    """Analyse a question for retrieval; `abbreviations` maps short form -> long form."""
    question = normalise(question)[:MAX_QUESTION_CHARS]
    cleaned = _BOILERPLATE.sub("", question, count=1).strip(" ?.!") or question.strip(" ?.!")
    glosses = [g for g in _GLOSS.findall(cleaned) if g.strip().lower() != "are"]
    cleaned = " ".join(_GLOSS.sub(" ", cleaned).split()) or cleaned
    qtype, yes_no = question_type(question)
    focus = focus_of(cleaned)
    terms = content_terms(cleaned)
    expansions: dict[str, str] = {}
    if abbreviations:
        longs = {v.lower(): k for k, v in abbreviations.items()}
        for w in words(question):
            if w in abbreviations:
                expansions[w] = abbreviations[w]
        low = question.lower()
        for long_form, short in longs.items():
            if long_form in low and short not in expansions:
                expansions[short] = long_form
    extra = [t for v in expansions.values() for t in content_terms(v)]
    extra += [k.lower() for k in expansions]
    extra += [t for g in glosses for t in content_terms(g)]
    expansion_terms = [t for t in dict.fromkeys(extra) if t not in terms]
    focus_terms = content_terms(focus)
    for short, long_form in expansions.items():
        if short.lower() in focus_terms:
            focus_terms += [t for t in content_terms(long_form) if t not in focus_terms]
    return Query(
        question=question,
        cleaned=cleaned,
        question_type=qtype,
        yes_no=yes_no,
        defaulted=defaulted(question, qtype),
        focus=focus,
        terms=terms,
        expansion_terms=expansion_terms,
        focus_terms=focus_terms,
        expansions=expansions,
    )
