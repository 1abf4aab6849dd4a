"""Questions Osler must not simply answer: emergencies happening now, and non-medical questions.

These are safety notices, not medical content: they tell the reader where to turn, and say
nothing about the condition itself.
"""

from __future__ import annotations

import re

EMERGENCY_NOTICE = (
    "If this is happening now, call your local emergency number (911 in the US, 112 in Europe) "
    "or go to the nearest emergency department. Do not wait for an online answer."
)
NON_MEDICAL_REASON = (
    "This does not look like a medical question, and Osler only answers from the medical "
    "sources it has ingested."
)

_EMERGENCY = re.compile(
    r"\b((crushing|severe|sudden|worst)\s+(\w+\s+){0,2}(chest pain|headache|pain in (my|his|her) chest)|"
    r"chest pain (right )?now|can'?t breathe|cannot breathe|not breathing|stopped breathing|"
    r"(want|going|plan(ning)?) to (kill|hurt) (myself|themselves|himself|herself)|suicid\w*|"
    r"end my life|overdos\w*|took too many|swallowed (a|the|some) \w+|unconscious|unresponsive|"
    r"passed out|won'?t wake up|face (is )?drooping|slurred speech|bleeding (heavily|a lot|won'?t stop)|"
    r"throat (is )?(closing|swelling)|having a (seizure|stroke|heart attack))\b",
    re.I,
)
_NOW = re.compile(
    r"\b(now|right now|currently|at the moment|just|this (morning|evening|minute)|tonight|"
    r"i am|i'm|i have|my (wife|husband|son|daughter|child|baby|mother|father|mom|dad|friend|partner)|"
    r"(he|she|they) (is|are|has|have))\b",
    re.I,
)
#: Words that mark a question as being about health at all.
_MEDICAL = re.compile(
    r"\b(symptom\w*|treat\w*|therap\w*|diagnos\w*|disease\w*|disorder\w*|syndrome\w*|cancer\w*|"
    r"tumou?r\w*|infect\w*|pain|drug\w*|medic\w*|dose\w*|dosage|pill\w*|tablet\w*|vaccin\w*|"
    r"surger\w*|patient\w*|doctor\w*|health|clinical|prognos\w*|risk\w*|gene\w*|genetic|blood|"
    r"heart|lung\w*|liver|kidney\w*|brain|skin|bone\w*|pregnan\w*|side effects?|allerg\w*|"
    r"virus\w*|bacteri\w*|chronic|acute|inflamm\w*|microbio\w*|irradiat\w*|radiat\w*|cells?|"
    r"protein\w*|receptor\w*|enzym\w*|mutation\w*|immun\w*|metabol\w*|hormon\w*|antibod\w*|"
    r"inhibitor\w*|mg|injur\w*|fracture\w*|vitamin\w*|diet\w*|nutri\w*|sleep|mental|"
    r"\w+itis|\w+emia|\w+oma|\w+osis|\w+pathy)\b",
    re.I,
)


def is_emergency(question: str) -> bool:
    """A description of an emergency happening to someone now (not a question about one)."""
    return bool(_EMERGENCY.search(question) and _NOW.search(question))


def looks_medical(question: str, topics: set[str] | None = None) -> bool:
    """Health vocabulary in the question, or a topic the corpus has a page on ("gout")."""
    if _MEDICAL.search(question):
        return True
    tokens = re.findall(r"\w+", question.lower())
    grams = {" ".join(tokens[i : i + n]) for n in range(1, 6) for i in range(len(tokens) - n + 1)}
    return bool(topics and grams & topics)
