"""Evidence-aware re-ranking: each factor in [0, 1], weighted by config.RankingWeights.

final = relevance·w_rel + evidence·w_ev + recency·w_rec + authority·w_auth + audience·w_aud
        + section·w_sec + focus·w_focus + coverage·w_cov
then near-duplicates collapse and at most `per_document` passages of one document stay.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from osler.audience import Profile, profile_for
from osler.models import Document, EvidenceLevel, Hit, Passage, Query
from osler.settings import RankingWeights

#: Section headings that fit each question type.
SECTION_CUES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.I)
    for name, pattern in {
        "treatment": r"treat|therap|management|options|regimen|surgery|chemotherapy|indications",
        "diagnosis": r"diagnos|tests?\b|exams?\b|screen|detect|imaging|evaluation|work-?up",
        "symptoms": r"symptom|signs|presentation|clinical (features|findings)",
        "prognosis": r"outlook|prognos|survival|outcome",
        "causes": r"cause|etiolog|pathogen|genetic changes",
        "genetics": r"genetic|inherit|genes?\b",
        "risk": r"risk|susceptib",
        "prevention": r"prevent",
        "frequency": r"frequen|epidemiol|prevalen|incidence",
        "dosage": r"dosage|dose|administration|how to use|directions",
        "side_effects": r"side effects?|adverse|warnings?|precautions?",
        "interactions": r"interaction|precaution",
        "definition": r"overview|what is|summary|introduction|background|description|definition",
        "yes_no": r"results?|conclusions?|findings",
        "research": r"research|clinical trials?",
    }.items()
}

#: Section names that only say where a passage sits (an abstract, a title), not what it is about:
#: the section factor cannot tell whether they fit the question, so it is neutral (0.5) there
#: instead of 0. Without this, every literature snippet lost the whole section weight to any
#: consumer page whose heading happened to match the question type.
GENERIC_SECTIONS = re.compile(
    r"^(abstract|title|body|text|main text|full text|na|n/a|none|untitled)?$", re.I
)
NEUTRAL = 0.5

#: Source authority by source name (exact) or source type (fallback).
AUTHORITY_BY_SOURCE: dict[str, float] = {
    "NCI PDQ": 0.95,
    "cancer.gov PDQ": 0.9,
    "cancer.gov": 0.85,
    "National Guideline Clearinghouse": 0.9,
    "NICE": 0.95,
    "WHO": 0.9,
    "Cochrane": 0.9,
    "FDA label": 0.9,
    "MedlinePlus": 0.85,
    "DailyMed": 0.9,
    "FDA": 0.9,
    "NIDDK": 0.85,
    "NHLBI": 0.85,
    "NINDS": 0.85,
    "CDC": 0.85,
    "GARD (NIH)": 0.8,
    "Genetics Home Reference": 0.8,
    "NIHSeniorHealth": 0.75,
    "NCBI": 0.8,
    "PubMed": 0.7,
    "PMC": 0.7,
    "Mayo Clinic": 0.6,
    "Wikipedia": 0.3,
    "Healthline": 0.3,
}
AUTHORITY_BY_TYPE: dict[str, float] = {
    "local-document": 1.0,
    "guideline-summary": 0.95,
    "guideline": 0.9,
    "drug-label": 0.9,
    "systematic-review": 0.85,
    "journal-article": 0.7,
    "consumer-health": 0.7,
    "drug-information": 0.5,
}


@dataclass
class Candidate:
    """A retrieved passage before ranking, with its raw scores."""

    passage: Passage
    document: Document
    relevance: float
    lexical: float = 0.0
    dense: float = 0.0


def evidence_factor(level: EvidenceLevel, inferred: bool, reader: str | Profile) -> float:
    """The reader's evidence weight of a level (see osler.audience: guideline first for
    clinicians, patient education first for patients)."""
    return profile_for(reader).evidence(level, inferred)


def recency_factor(year: int | None) -> float:
    if year is None:
        return 0.3
    return min(1.0, max(0.0, (year - 1990) / (date.today().year - 1990)))


def authority_factor(doc: Document) -> float:
    return AUTHORITY_BY_SOURCE.get(doc.source, AUTHORITY_BY_TYPE.get(doc.source_type, 0.4))


def audience_factor(doc: Document, reader: str | Profile) -> float:
    return profile_for(reader).audience_fit(doc.audience)


def section_factor(section: str, query: Query) -> float:
    """1 when the section heading fits the question type, 0 when it does not, 0.5 when the
    heading says nothing about content (see GENERIC_SECTIONS)."""
    if GENERIC_SECTIONS.match(section.strip()):
        return NEUTRAL
    cue = SECTION_CUES.get(query.question_type)
    return float(bool(cue and cue.search(section)))


def _stem(word: str) -> str:
    return word.lower()[:6]


def focus_factor(title: str, text: str, query: Query) -> float:
    """Share of the question's focus words found in the document title or the passage."""
    if not query.focus_terms:
        return 0.0
    low = f"{title} {text}".lower()
    stems = [_stem(t) for t in query.focus_terms]
    return sum(bool(t in low and _pattern(t).search(low)) for t in stems) / len(stems)


def question_stems(query: Query) -> list[str]:
    """The question's distinct words as `_stem` prefixes (hyphenated terms count per part)."""
    return list(question_words(query))


def question_words(query: Query) -> dict[str, str]:
    """Each of the question's `_stem` prefixes with the first question word it came from."""
    out: dict[str, str] = {}
    for t in query.terms:
        for w in re.findall(r"\w+", t):
            out.setdefault(_stem(w), w.lower())
    return out


def _pattern(stem: str) -> re.Pattern[str]:
    """The words `_stem` maps to `stem`, in lower-cased text: a 6-letter prefix matches any word
    that starts with it, a shorter word only itself."""
    return re.compile(r"\b" + re.escape(stem) + ("" if len(stem) >= 6 else r"\b"))


def _matchers(query: Query) -> list[tuple[str, re.Pattern[str]]]:
    return [(t, _pattern(t)) for t in question_stems(query)]


def _words(title: str, text: str, matchers: list[tuple[str, re.Pattern[str]]]) -> set[str]:
    """The question's words (as `_stem` prefixes) found in the title or the passage."""
    low = f"{title} {text}".lower()
    # the substring test first: cheap, and most question words are absent from most passages
    return {t for t, pattern in matchers if t in low and pattern.search(low)}


def term_weights(
    query: Query, candidate_words: list[set[str]], specificity: dict[str, float] | None = None
) -> dict[str, float]:
    """Weight of each distinct question word (6-letter prefix) by how rare it is among the
    candidates: log(1 + n / (1 + n_t)), n candidates, n_t of them containing the word. A word
    every candidate has (the disease all of them are about) tells them apart least.

    With `specificity` (a word's corpus-wide inverse document frequency, see
    `Searcher.specificity`), the weight is also multiplied by it (raised to the given power by
    the searcher): among the candidates a generic phrase ("brand name") can be as rare as the
    drug the question names, but the corpus knows which of the two is specific."""
    n = len(candidate_words)
    spec = specificity or {}
    return {
        t: math.log(1 + n / (1 + sum(t in words for words in candidate_words))) * spec.get(t, 1.0)
        for t in question_stems(query)
    }


def coverage_factor(words: set[str], weights: dict[str, float]) -> float:
    """Coordination-level matching: the weighted share of the question's distinct words found in
    the document title or the passage (see `term_weights`). BM25 can rank a passage that repeats
    one question word above one that has them all; this factor rewards having them all."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in words) / total


def factors(c: Candidate, query: Query, reader: str, coverage: float = 0.0) -> dict[str, float]:
    doc = c.document
    return {
        "relevance": c.relevance,
        "evidence": evidence_factor(doc.evidence_level, doc.evidence_inferred, reader),
        "recency": recency_factor(doc.year),
        "authority": authority_factor(doc),
        "audience": audience_factor(doc, reader),
        "section": section_factor(c.passage.section, query),
        "focus": focus_factor(doc.indexed_title, c.passage.text, query),
        "coverage": coverage,
    }


def _shingles(text: str) -> frozenset[str]:
    w = re.findall(r"\w+", text.lower())
    return frozenset(" ".join(w[i : i + 3]) for i in range(max(1, len(w) - 2)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def rank(
    candidates: list[Candidate],
    query: Query,
    reader: str,
    weights: RankingWeights,
    k: int,
    specificity: dict[str, float] | None = None,
) -> list[Hit]:
    """Score, sort, collapse near-duplicates, cap passages per document; the top k as Hits.
    `specificity` weights the coverage words (see `term_weights`)."""
    matchers = _matchers(query)
    words = [_words(c.document.indexed_title, c.passage.text, matchers) for c in candidates]
    weighting = term_weights(query, words, specificity)
    scored = []
    for c, cw in zip(candidates, words, strict=True):
        parts = factors(c, query, reader, coverage_factor(cw, weighting))
        score = sum(getattr(weights, name) * value for name, value in parts.items())
        scored.append((score, c, parts))
    scored.sort(key=lambda item: -item[0])
    kept: list[Hit] = []
    shingles: list[frozenset[str]] = []
    per_doc: dict[str, int] = {}
    for score, c, parts in scored:
        if per_doc.get(c.document.id, 0) >= weights.per_document:
            continue
        sh = _shingles(c.passage.text)
        if any(_jaccard(sh, other) >= weights.duplicate_jaccard for other in shingles):
            continue
        per_doc[c.document.id] = per_doc.get(c.document.id, 0) + 1
        shingles.append(sh)
        kept.append(_hit(c, score, {**parts, "lexical": c.lexical, "dense": c.dense}))
        if len(kept) >= k:
            break
    return kept


def _hit(c: Candidate, score: float, parts: dict[str, float]) -> Hit:
    rounded = {name: round(value, 6) for name, value in parts.items()}
    return Hit.of(c.document, c.passage, round(score, 6), rounded)
