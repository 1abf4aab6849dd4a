"""Evidence-aware re-ranking: each factor in [0, 1], weighted by config.RankingWeights.

final = relevance·w_rel + evidence·w_ev + recency·w_rec + authority·w_auth + audience·w_aud
        + section·w_sec + focus·w_focus
then near-duplicates collapse and at most `per_document` passages of one document stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from osler.audience import Profile, profile_for
from osler.config import RankingWeights
from osler.models import Document, EvidenceLevel, Hit, Passage, Query

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
    "cancer.gov PDQ": 0.9,
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
    seen = {_stem(w) for w in re.findall(r"\w+", f"{title} {text}")}
    return sum(_stem(t) in seen for t in query.focus_terms) / len(query.focus_terms)


def factors(c: Candidate, query: Query, reader: str) -> dict[str, float]:
    doc = c.document
    return {
        "relevance": c.relevance,
        "evidence": evidence_factor(doc.evidence_level, doc.evidence_inferred, reader),
        "recency": recency_factor(doc.year),
        "authority": authority_factor(doc),
        "audience": audience_factor(doc, reader),
        "section": section_factor(c.passage.section, query),
        "focus": focus_factor(doc.indexed_title, c.passage.text, query),
    }


def _shingles(text: str) -> frozenset[str]:
    w = re.findall(r"\w+", text.lower())
    return frozenset(" ".join(w[i : i + 3]) for i in range(max(1, len(w) - 2)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def rank(
    candidates: list[Candidate], query: Query, reader: str, weights: RankingWeights, k: int
) -> list[Hit]:
    """Score, sort, collapse near-duplicates, cap passages per document; the top k as Hits."""
    scored = []
    for c in candidates:
        parts = factors(c, query, reader)
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
    doc, p = c.document, c.passage
    return Hit(
        passage_id=p.id,
        document_id=doc.id,
        title=doc.title,
        section=p.section,
        text=p.text,
        score=round(score, 6),
        source=doc.source,
        source_type=doc.source_type,
        evidence_level=doc.evidence_level,
        year=doc.year,
        url=doc.url,
        audience=doc.audience,
        start=p.start,
        end=p.end,
        components={name: round(value, 6) for name, value in parts.items()},
    )
