"""Follow-up questions: turning "and in children?" into a standalone question, and suggesting
the next questions a reader may want, from facets the corpus covers for the focus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel

from osler.retrieve.analyse import analyse
from osler.retrieve.rank import SECTION_CUES


class Turn(BaseModel):
    """One question of a conversation as Osler understood it."""

    question: str
    standalone: str
    focus: str
    question_type: str


_PRONOUN = re.compile(
    r"\b(it|this|that|they|them|these|those|the (disease|condition|disorder|illness|cancer|"
    r"tumou?r|infection|syndrome|drug|medicine|medication))\b",
    re.I,
)
_POSSESSIVE = re.compile(r"\b(its|their)\b", re.I)
_CONTINUATION = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|and what about)\b[\s,]*", re.I
)
#: Question templates for suggested follow-ups, by question type.
FOLLOW_UP_TEMPLATES: dict[str, str] = {
    "treatment": "What are the treatments for {}?",
    "symptoms": "What are the symptoms of {}?",
    "diagnosis": "How is {} diagnosed?",
    "prognosis": "What is the outlook for {}?",
    "causes": "What causes {}?",
    "risk": "Who is at risk for {}?",
    "prevention": "How can {} be prevented?",
    "genetics": "Is {} inherited?",
    "frequency": "How common is {}?",
    "side_effects": "What are the side effects of {}?",
    "dosage": "What is the usual dose of {}?",
    "research": "What research is being done on {}?",
}


def _is_topic(phrase: str, topics: set[str]) -> bool:
    words = re.findall(r"\w+", phrase.lower())
    grams = {" ".join(words[i : i + n]) for n in range(1, 6) for i in range(len(words) - n + 1)}
    return bool(grams & topics)


def resolve(question: str, previous: list[Turn], topics: set[str]) -> str:
    """The standalone form of a follow-up, given the earlier turns (newest last).

    A question that names a topic the corpus knows stands alone; "what about X?" with a new
    topic X asks the previous question about X; otherwise the previous focus is carried over,
    replacing a pronoun ("how is it treated?") or completing the question ("and in children?",
    "is radiotherapy an option?").
    """
    question = " ".join(question.split())
    if not previous:
        return question
    last = previous[-1]
    focus = last.focus
    if not focus:
        return question
    continuation = _CONTINUATION.match(question)
    rest = question[continuation.end() :] if continuation else question
    rest_core = rest.strip(" ?.!")
    if continuation and _is_topic(rest_core, topics) and rest_core.lower() not in focus.lower():
        if focus.lower() in last.standalone.lower():  # "what about bile duct cancer?"
            return re.sub(re.escape(focus), rest_core, last.standalone, count=1, flags=re.I)
        return question
    if (
        not continuation
        and _is_topic(analyse(question).focus or question, topics)
        and not _PRONOUN.search(question)
    ):
        return question  # names its own topic
    asked = analyse(rest)
    bare = _POSSESSIVE.sub(" ", _PRONOUN.sub(" ", asked.focus)).strip()
    only_type = asked.question_type in FOLLOW_UP_TEMPLATES and not bare
    if _PRONOUN.search(rest) and not (only_type and _POSSESSIVE.search(rest)):
        return _PRONOUN.sub(focus, rest, count=1).strip()  # "how is it treated?"
    if only_type:
        # only a question type ("what about its side effects?", "and treatment?"): that
        # question about the focus, in the words of the follow-up suggestions
        return FOLLOW_UP_TEMPLATES[asked.question_type].format(focus)
    if continuation:  # "and in children?" -> the previous question, narrowed
        return f"{last.standalone.rstrip(' ?.!')} {rest_core}?"
    stem = question.rstrip(" ?.!")
    joiner = (
        "for"
        if analyse(question).question_type in {"treatment", "yes_no", "prevention", "risk"}
        else "of"
    )
    return f"{stem} {joiner} {focus}?"


def covers(title: str, focus: str) -> bool:
    """The title names every word of the focus (crudely stemmed)."""
    words = {w[:6] for w in re.findall(r"\w+", focus.lower()) if len(w) > 2}
    return bool(words) and words <= {w[:6] for w in re.findall(r"\w+", title.lower())}


def suggest(focus: str, asked: str, sections: Iterable[str], n: int = 3) -> list[str]:
    """Up to n questions about facets (section headings of sources on this focus) not yet asked."""
    if not focus:
        return []
    out: list[str] = []
    seen = {asked}
    for section in sections:
        heading = section.split(" › ")[0]
        for qtype, cue in SECTION_CUES.items():
            if qtype in seen or qtype not in FOLLOW_UP_TEMPLATES or not cue.search(heading):
                continue
            seen.add(qtype)
            out.append(FOLLOW_UP_TEMPLATES[qtype].format(focus))
            break
        if len(out) >= n:
            break
    return out
