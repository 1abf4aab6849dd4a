"""Evidence levels and the one rule table that assigns them.

Order of precedence: an explicit level (front matter) wins; then PubMed publication types;
then MeSH study-design headings; then title/abstract cues (marked inferred); then the
source's own nature (consumer pages are patient education); else not graded: a wrong level
is worse than none, so nothing is called a review or opinion without a cue that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from osler.models import EvidenceLevel

L = EvidenceLevel

#: PubMed PublicationType -> level. Only types that say something about study design.
PUBLICATION_TYPE_LEVELS: dict[str, EvidenceLevel] = {
    "practice guideline": L.GUIDELINE,
    "guideline": L.GUIDELINE,
    "consensus development conference": L.GUIDELINE,
    "consensus development conference, nih": L.GUIDELINE,
    "systematic review": L.SYSTEMATIC_REVIEW,
    "meta-analysis": L.SYSTEMATIC_REVIEW,
    "network meta-analysis": L.SYSTEMATIC_REVIEW,
    "randomized controlled trial": L.RCT,
    "equivalence trial": L.RCT,
    "pragmatic clinical trial": L.RCT,
    "clinical trial, phase iii": L.RCT,
    "controlled clinical trial": L.OBSERVATIONAL,
    "clinical trial": L.OBSERVATIONAL,
    "clinical trial, phase i": L.OBSERVATIONAL,
    "clinical trial, phase ii": L.OBSERVATIONAL,
    "clinical trial, phase iv": L.OBSERVATIONAL,
    "observational study": L.OBSERVATIONAL,
    "comparative study": L.OBSERVATIONAL,
    "multicenter study": L.OBSERVATIONAL,
    "evaluation study": L.OBSERVATIONAL,
    "validation study": L.OBSERVATIONAL,
    "twin study": L.OBSERVATIONAL,
    "case reports": L.CASE_REPORT,
    "review": L.EXPERT_OPINION,
    "editorial": L.EXPERT_OPINION,
    "comment": L.EXPERT_OPINION,
    "letter": L.EXPERT_OPINION,
    "historical article": L.EXPERT_OPINION,
    "lecture": L.EXPERT_OPINION,
}

#: MeSH headings that describe the design of the study itself (not "... as Topic").
MESH_LEVELS: dict[str, EvidenceLevel] = {
    "random allocation": L.RCT,
    "double-blind method": L.RCT,
    "single-blind method": L.RCT,
    "cohort studies": L.OBSERVATIONAL,
    "case-control studies": L.OBSERVATIONAL,
    "cross-sectional studies": L.OBSERVATIONAL,
    "prospective studies": L.OBSERVATIONAL,
    "retrospective studies": L.OBSERVATIONAL,
    "longitudinal studies": L.OBSERVATIONAL,
    "follow-up studies": L.OBSERVATIONAL,
}

#: Text cues, strongest level first: (level, cue in a title, cue in an abstract). Abstract cues
#: must speak of the study itself ("we performed a meta-analysis"), since abstracts often
#: mention guidelines or reviews in passing.
TEXT_CUES: list[tuple[EvidenceLevel, re.Pattern[str], re.Pattern[str]]] = [
    (
        L.GUIDELINE,
        re.compile(
            r"\b(guidelines?|consensus (statement|conference|recommendations?)|position "
            r"(statement|paper)|recommendations (for|on))\b",
            re.I,
        ),
        re.compile(
            r"\b((this|these|present|updated?) (clinical )?(practice )?guidelines?|this consensus|"
            r"(we|panel|committee|task force) (present|provide|issued?|developed?|make)s? "
            r"(\w+ ){0,3}(recommendations|guidelines?|consensus))\b",
            re.I,
        ),
    ),
    (
        L.SYSTEMATIC_REVIEW,
        re.compile(r"\b(systematic(al)? reviews?|meta-?analys[ie]s|pooled analysis)\b", re.I),
        re.compile(
            r"\b((we|this|present) (\w+ ){0,3}(systematic(al)?(ly)? review(ed)?|meta-?analys[ie]s)|"
            r"(systematic(al)? review|meta-?analysis) (of|was (conducted|performed)))\b",
            re.I,
        ),
    ),
    (
        L.RCT,
        _RCT := re.compile(
            r"\b(randomi[sz]ed,? (\w+[- ])?(controlled |clinical |comparative )?(trial|study)|"
            r"randomly (assigned|allocated)|double-blind(ed)?,? (randomi[sz]ed|placebo))",
            re.I,
        ),
        _RCT,
    ),
    (
        L.OBSERVATIONAL,
        _OBS := re.compile(
            r"\b(cohort|case-control|cross-sectional|retrospective(ly)?|prospective(ly)?|"
            r"registry|population-based|longitudinal study|observational|survey)\b",
            re.I,
        ),
        _OBS,
    ),
    (
        L.CASE_REPORT,
        re.compile(
            r"\b(case reports?|case series|a case of|report of (a|an|two|three) cases?)\b", re.I
        ),
        re.compile(
            r"\b(we (report|present|describe) (a|an|the|two|three) (\w+ ){0,3}(case|patient)s?|"
            r"a \d{1,3}-year-old (man|woman|male|female|boy|girl|patient|child|infant))\b",
            re.I,
        ),
    ),
    (
        L.EXPERT_OPINION,
        re.compile(r"\b(review|overview|editorial|commentary|perspective)\b", re.I),
        re.compile(r"\b((this|we) (\w+ ){0,2}review(s|ed)?|in this (article|overview))\b", re.I),
    ),
]

#: Names (lower case) that users may write in front matter for each level.
LEVEL_ALIASES: dict[str, EvidenceLevel] = {
    **{level.value: level for level in EvidenceLevel},
    **{level.value[0]: level for level in EvidenceLevel if level.value[0].isdigit()},
    "not graded": L.NOT_GRADED,
    "ungraded": L.NOT_GRADED,
    "guideline": L.GUIDELINE,
    "consensus": L.GUIDELINE,
    "systematic-review": L.SYSTEMATIC_REVIEW,
    "systematic review": L.SYSTEMATIC_REVIEW,
    "meta-analysis": L.SYSTEMATIC_REVIEW,
    "rct": L.RCT,
    "randomized controlled trial": L.RCT,
    "observational": L.OBSERVATIONAL,
    "cohort": L.OBSERVATIONAL,
    "case-report": L.CASE_REPORT,
    "case report": L.CASE_REPORT,
    "case series": L.CASE_REPORT,
    "expert-opinion": L.EXPERT_OPINION,
    "expert opinion": L.EXPERT_OPINION,
    "review": L.EXPERT_OPINION,
    "narrative review": L.EXPERT_OPINION,
    "patient-education": L.PATIENT_EDUCATION,
    "patient education": L.PATIENT_EDUCATION,
}


@dataclass(frozen=True)
class Assessment:
    """An evidence level with how it was reached."""

    level: EvidenceLevel
    inferred: bool
    reason: str


def parse_level(value: str) -> EvidenceLevel:
    """Read a level a person wrote ("1", "guideline", "3-rct"); ValueError if unknown."""
    key = str(value).strip().lower()
    if key in LEVEL_ALIASES:
        return LEVEL_ALIASES[key]
    raise ValueError(
        f"unknown evidence level {value!r}; use one of: "
        + ", ".join(level.value for level in EvidenceLevel)
    )


def _strongest(
    names: list[str], table: dict[str, EvidenceLevel]
) -> tuple[EvidenceLevel, str] | None:
    found = [(table[n.strip().lower()], n) for n in names if n.strip().lower() in table]
    return min(found, key=lambda pair: pair[0].rank) if found else None


def from_text(title: str, abstract: str = "") -> Assessment | None:
    """Infer a level from title cues, then abstract cues; None when nothing matches."""
    for where, text, which in (("title", title, 1), ("abstract", abstract, 2)):
        for cue in TEXT_CUES:
            level, pattern = cue[0], cue[which]
            match = pattern.search(text or "")
            if match:
                return Assessment(level, True, f"{where} mentions {match.group(0)!r}")
    return None


def assess(
    *,
    title: str = "",
    abstract: str = "",
    publication_types: list[str] | None = None,
    mesh_terms: list[str] | None = None,
    consumer: bool = False,
    explicit: str | None = None,
) -> Assessment:
    """Assign the evidence level of one document by the precedence in this module's docstring."""
    if explicit:
        return Assessment(parse_level(explicit), False, "given by the document")
    found = _strongest(publication_types or [], PUBLICATION_TYPE_LEVELS)
    if found:
        return Assessment(found[0], False, f"publication type {found[1]!r}")
    found = _strongest(mesh_terms or [], MESH_LEVELS)
    if found:
        return Assessment(found[0], False, f"MeSH heading {found[1]!r}")
    if consumer:
        return Assessment(L.PATIENT_EDUCATION, False, "consumer health source")
    cue = from_text(title, abstract)
    if cue:
        return cue
    return Assessment(L.NOT_GRADED, False, "no study design stated or detected")
