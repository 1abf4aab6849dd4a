"""The audience benchmark (`osler eval audience`): does "Which best describes you?" change the answer?

A fixed-seed sample of MedQuAD questions (those whose page is in the corpus) is answered once
per audience by the same service. For every answer:

* **readability**: the Flesch-Kincaid grade (textstat) of the answer's statements (bottom line
  and section items, list items graded as the separate lines they are shown as), without the
  glossary and without the generic care-team questions;
* **source fit**: the share of the references its statements cite that are consumer sources
  (documents written for patients: MedQuAD's cancer.gov patient PDQ, MedlinePlus, NIDDK, GARD
  ... pages); references cited only by glossary definitions are not counted;
* **glossary**: how many terms it defines, and whether each definition is verbatim in the
  quote of the reference it cites.

Readability is compared on the questions that both the patient and the clinician answer
(neither abstains). Targets (issue 7): patient mean grade <= 8.0, and the patient answer below
the clinician answer on at least 80% of those questions. Nothing is tuned on these questions
beyond the profile's readability target and weight (see docs/audience.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from osler.audience import PROFILES, profile_for
from osler.evaluate.retrieval import SEED, BenchmarkError, Progress, corpus_info, medquad_task
from osler.models import Answer, Audience
from osler.readability import grade
from osler.service import Osler

LIMIT = 200
AUDIENCES = ("patient", "student", "clinician")
TARGET_PATIENT_GRADE = 8.0
TARGET_BELOW_SHARE = 0.8


def answer_grade(answer: Answer) -> float:
    """Flesch-Kincaid grade of the answer's statements (what the reader reads as the answer)."""
    texts = [answer.bottom_line.text, *[s.text for sec in answer.sections for s in sec.items]]
    return grade(" ".join(t if t.rstrip()[-1:] in ".!?" else t + "." for t in texts if t.strip()))


def consumer_refs(answer: Answer, osler: Osler) -> tuple[int, int]:
    """(consumer references, all references) among those the answer's statements cite.

    References cited only by glossary definitions are left out: they are consumer pages by
    construction and would flatter the patient and student answers.
    """
    docs = osler.documents
    statements = [answer.bottom_line, *[s for sec in answer.sections for s in sec.items]]
    cited = {n for s in statements for n in s.citations}
    refs = [r for r in answer.references if r.n in cited]
    consumer = sum(
        1
        for r in refs
        if (d := docs.get(r.document_id)) is not None and d.audience is Audience.CONSUMER
    )
    return consumer, len(refs)


def glossary_ok(answer: Answer) -> tuple[int, int]:
    """(definitions verbatim in their cited quote, all definitions) of an answer."""
    refs = {r.n: r for r in answer.references}
    good = sum(
        1
        for g in answer.glossary
        if g.citation in refs and g.definition in refs[g.citation].quote
    )
    return good, len(answer.glossary)


def questions(osler: Osler, shared: Path, limit: int, seed: int) -> list[str]:
    """The fixed-seed MedQuAD sample (questions whose page is in the corpus)."""
    task = medquad_task(shared, set(osler.documents), limit=limit, seed=seed)
    if not task.questions:
        raise BenchmarkError("no MedQuAD question has its page in this corpus")
    return [q.text for q in task.questions]


def run_audience(
    osler: Osler,
    texts: Sequence[str],
    audiences: Sequence[str] = AUDIENCES,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Answer every question for every audience; per-question rows and the summary figures."""
    for name in audiences:
        profile_for(name)
    progress = progress or Progress()
    progress.start("audience", len(texts))
    rows = []
    for text in texts:
        row: dict[str, Any] = {"question": text}
        for name in audiences:
            answer = osler.ask(text, name, serve_approved=False, save_draft=False)
            consumer, refs = consumer_refs(answer, osler)
            defined_ok, defined = glossary_ok(answer)
            said = [answer.bottom_line, *[s for sec in answer.sections for s in sec.items]]
            row[name] = {
                "abstained": answer.abstained,
                "grade": None if answer.abstained else round(answer_grade(answer), 2),
                "statements": len(said),
                "words": sum(len(s.text.split()) for s in said),
                "consumer_refs": consumer,
                "refs": refs,
                "glossary": defined,
                "glossary_verbatim": defined_ok,
                "bottom_line": answer.bottom_line.text,
            }
        rows.append(row)
        progress.advance()
    progress.done()
    return {"summary": summarise(rows, audiences), "questions": rows}


def summarise(rows: list[dict[str, Any]], audiences: Sequence[str]) -> dict[str, Any]:
    """Per-audience means, and the patient-vs-clinician comparison with its targets."""
    per: dict[str, Any] = {}
    for name in audiences:
        answered = [r[name] for r in rows if not r[name]["abstained"]]
        grades = [a["grade"] for a in answered]
        consumer = sum(a["consumer_refs"] for a in answered)
        refs = sum(a["refs"] for a in answered)
        defined = sum(a["glossary"] for a in answered)
        per[name] = {
            "label": PROFILES[name].label,
            "answered": len(answered),
            "abstained": len(rows) - len(answered),
            "mean_grade": _round(statistics.fmean(grades)) if grades else None,
            "median_grade": _round(statistics.median(grades)) if grades else None,
            "mean_statements": _round(statistics.fmean(a["statements"] for a in answered))
            if answered
            else None,
            "mean_words": _round(statistics.fmean(a["words"] for a in answered), 1)
            if answered
            else None,
            "consumer_ref_share": _round(consumer / refs) if refs else None,
            "answers_all_consumer": _round(
                sum(a["consumer_refs"] == a["refs"] > 0 for a in answered) / len(answered)
            )
            if answered
            else None,
            "answers_with_glossary": _round(sum(a["glossary"] > 0 for a in answered) / len(answered))
            if answered
            else None,
            "glossary_terms": defined,
            "glossary_verbatim": sum(a["glossary_verbatim"] for a in answered),
        }
    out: dict[str, Any] = {"questions": len(rows), "audiences": per}
    if "patient" in audiences and "clinician" in audiences:
        both = [
            (r["patient"]["grade"], r["clinician"]["grade"])
            for r in rows
            if not r["patient"]["abstained"] and not r["clinician"]["abstained"]
        ]
        below = sum(p < c for p, c in both)
        same = sum(p == c for p, c in both)
        patient_mean = statistics.fmean(p for p, _ in both) if both else None
        out["patient_vs_clinician"] = {
            "questions_both_answered": len(both),
            "patient_mean_grade": _round(patient_mean),
            "clinician_mean_grade": _round(statistics.fmean(c for _, c in both)) if both else None,
            "patient_below_share": _round(below / len(both)) if both else None,
            "equal_share": _round(same / len(both)) if both else None,
            "patient_above_share": _round((len(both) - below - same) / len(both)) if both else None,
            "target_patient_mean_grade": TARGET_PATIENT_GRADE,
            "target_patient_below_share": TARGET_BELOW_SHARE,
            "meets_grade_target": patient_mean is not None and patient_mean <= TARGET_PATIENT_GRADE,
            "meets_below_target": bool(both) and below / len(both) >= TARGET_BELOW_SHARE,
        }
    return out


def _round(x: float | None, places: int = 3) -> float | None:
    return None if x is None else round(x, places)


def run_benchmark(
    data_dir: Path,
    shared: Path,
    *,
    limit: int = LIMIT,
    seed: int = SEED,
    audiences: Sequence[str] = AUDIENCES,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole benchmark on an ingested data dir: corpus, settings, figures, per question."""
    with Osler.open(data_dir=data_dir) as osler:
        texts = questions(osler, shared, limit, seed)
        report = run_audience(osler, texts, audiences, progress)
        report["corpus"] = corpus_info(osler)
    report["settings"] = {
        "limit": limit,
        "seed": seed,
        "audiences": list(audiences),
        "profiles": {
            name: {
                "document_audience": (p.document_audience.value if p.document_audience else None),
                "source_weight": p.source_weight,
                "readability_target": p.readability_target,
                "readability_weight": p.readability_weight,
                "readability_ceiling": p.readability_ceiling,
                "readability_limit": p.readability_limit,
                "min_statements": p.min_statements,
                "glossary": p.glossary,
            }
            for name, p in PROFILES.items()
            if name in audiences
        },
    }
    return report


def tables(report: dict[str, Any]) -> list[Table]:
    """Rich tables of the summary."""
    summary = report["summary"]
    per = Table(title=f"Audience benchmark: {summary['questions']} MedQuAD questions")
    for col in ("audience", "answered", "FK mean", "FK median", "statements", "words",
                "consumer refs", "all consumer", "glossary"):
        per.add_column(col, justify="left" if col == "audience" else "right")
    for name, s in summary["audiences"].items():
        per.add_row(
            name,
            str(s["answered"]),
            _fmt(s["mean_grade"], 2),
            _fmt(s["median_grade"], 2),
            _fmt(s["mean_statements"], 1),
            _fmt(s["mean_words"], 0),
            _pct(s["consumer_ref_share"]),
            _pct(s["answers_all_consumer"]),
            _pct(s["answers_with_glossary"]),
        )
    out = [per]
    cmp = summary.get("patient_vs_clinician")
    if cmp:
        t = Table(title="Patient vs clinician (questions both answered)")
        t.add_column("figure")
        t.add_column("measured", justify="right")
        t.add_column("target", justify="right")
        t.add_column("met", justify="center")
        t.add_row(
            "patient mean FK grade",
            _fmt(cmp["patient_mean_grade"], 2),
            f"<= {TARGET_PATIENT_GRADE}",
            "yes" if cmp["meets_grade_target"] else "no",
        )
        t.add_row("clinician mean FK grade", _fmt(cmp["clinician_mean_grade"], 2), "", "")
        t.add_row(
            "patient below clinician",
            _pct(cmp["patient_below_share"]),
            f">= {TARGET_BELOW_SHARE:.0%}",
            "yes" if cmp["meets_below_target"] else "no",
        )
        t.add_row("equal grade (same sentences)", _pct(cmp["equal_share"]), "", "")
        t.add_row("questions both answered", str(cmp["questions_both_answered"]), "", "")
        out.append(t)
    return out


def _fmt(x: float | None, places: int) -> str:
    return "-" if x is None else f"{x:.{places}f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"
