"""Evidence at a glance: the numbers of the evidence statements, each cell a verbatim span.

A statement that reports results ("410 patients ... were randomly assigned", "median overall
survival ... 11.7 months vs. 8.1 months; hazard ratio [HR], 0.64; 95% confidence interval [CI],
0.52-0.80; P < .001") gives one row: the study it rests on (its reference's supporting citation,
else the source), the source's design and grade, and the figures found in its text. Each figure
is a substring of the statement, so every cell can be checked against the cited quote.
"""

from __future__ import annotations

import re

from osler.models import AnswerSection, EvidenceRow, Reference

#: Figure kinds, in table order: (field name, pattern). The first match of each is kept.
FIGURES: list[tuple[str, re.Pattern[str]]] = [
    (
        "patients",
        re.compile(
            r"\b(?:n\s?=\s?[\d,]+|[\d,]{2,}\s+(?:patients|participants|subjects|women|men|"
            r"children|adults|people))\b",
            re.I,
        ),
    ),
    (
        "survival",
        re.compile(
            r"\b(?:median\s+)?(?:overall\s+survival|OS|progression-free\s+survival|PFS|"
            r"survival)\b[^.;]{0,100}?\d+(?:\.\d+)?\s*(?:months|years|weeks)"
            r"(?:\s*(?:vs\.?|versus|and|compared with)\s*\d+(?:\.\d+)?\s*(?:months|years|weeks))?",
            re.I,
        ),
    ),
    (
        "effect",
        re.compile(
            r"\b(?:hazard ratio|HR|odds ratio|OR|relative risk|risk ratio|RR|mean difference|MD)"
            r"(?:\s*[\[(][A-Z]{2,3}[\])])?\s*[,:=]?\s*\d+(?:\.\d+)?",
            re.I,
        ),
    ),
    (
        "ci",
        re.compile(
            r"\b95%\s*(?:confidence interval(?:\s*[\[(]CI[\])])?|CI)\s*[,:]?\s*-?\d+(?:\.\d+)?\s*(?:-|–|to)\s*-?\d+(?:\.\d+)?",
            re.I,
        ),
    ),
    ("p", re.compile(r"(?<![\w.])P\s*(?:[<=>≤]\s*)?\.?\d*\.\d+", re.I)),
    (
        "rate",
        re.compile(
            r"\b(?:response rate|remission|rate)[^.;]{0,40}?\d+(?:\.\d+)?\s?%"
            r"|\b\d+(?:\.\d+)?\s?%(?!\s*(?:CI|confidence))",
            re.I,
        ),
    ),
]
#: Sections whose statements may give rows (the bottom line too, when it reports figures).
EVIDENCE_KINDS = frozenset({"evidence", "prognosis"})
MAX_ROWS = 8


def figures_of(text: str) -> dict[str, str]:
    """The figures a sentence reports, by kind; each value is a verbatim span of the text."""
    out: dict[str, str] = {}
    for name, pattern in FIGURES:
        match = pattern.search(text)
        if match:
            out[name] = match.group(0).strip()
    return out


def _study(ref: Reference) -> str:
    """What a row rests on: the study the source cites for it, else the source itself."""
    if ref.supported_by:
        return ref.supported_by[0]
    year = f", {ref.year}" if ref.year else ""
    return f"{ref.title}{year}"


def evidence_rows(sections: list[AnswerSection], references: list[Reference]) -> list[EvidenceRow]:
    """One row per evidence statement with at least two figures, in answer order."""
    by_n = {r.n: r for r in references}
    rows: list[EvidenceRow] = []
    for section in sections:
        if section.kind not in EVIDENCE_KINDS:
            continue
        for statement in section.items:
            found = figures_of(statement.text)
            ref = by_n.get(statement.citations[0]) if statement.citations else None
            if ref is None or len(found) < 2:
                continue
            rows.append(
                EvidenceRow(
                    citation=ref.n,
                    study=_study(ref),
                    design=ref.evidence_level.label,
                    grade=ref.grade,
                    figures=found,
                    statement=statement.text,
                )
            )
            if len(rows) >= MAX_ROWS:
                return rows
    return rows
    return rows
