"""The clinician benchmark (`osler eval clinician`): questions as clinicians type them, answered
for a clinician.

Three parts and the latency, on one corpus in one process (see docs/answers.md, "Clinician
questions"):

1. **questions**: the questions of tests/data/clinician_questions.jsonl (written from the PDQ
   health-professional summaries, NGC guidelines, NICE/FDA PDFs, PMC trials and Cochrane
   reviews): answered (not abstained); the expected source cited (a gold document; a PDF gold,
   written as its file under the shared data, is the ingested PDF of that file name); the share
   of references that are professional sources (the document written for professionals, its
   level not patient education); the figures of the evidence table and the numbers in the
   statements of each answer; its sections; whether its statements hold an answer phrase of the
   set; citation faithfulness. Per split, type and source kind; the held-out half is the one to
   report, and examples come from the tune half only.
2. **evidence**: the Evidence Inference development prompts, each asked as "Does <intervention>
   compared with <comparator> change <outcome>?": the prompt's article cited, and a statement
   of the answer that overlaps the doctors' evidence span (`span_match`: token-level F1 >= 0.5,
   or one contains the other, the contained side at least CONTAINED_MIN tokens).
3. **flagship**: "What is the recommended treatment for liver metastases (mets) from
   gallbladder cancer?", with and without "(mets)", against the checks of `flagship_checks`.

Plus the warm latency of `ask` over the clinician questions. Rates of the questions part are
over the questions whose gold is in the corpus, as in `osler eval natural` (whose faithfulness
records, abstention reasons and sampling this reuses).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from osler.evaluate import clinician_set as cs
from osler.evaluate import metrics
from osler.evaluate import natural as nat
from osler.evaluate.answers import figures_table, statements, tokens
from osler.evaluate.retrieval import SPLITS, Progress, corpus_info, split_of
from osler.evaluate.retrieval import BenchmarkError as BenchmarkError  # raised by run_benchmark
from osler.models import Answer, Audience, EvidenceLevel
from osler.service import Osler
from osler.settings import load

PARTS = ("questions", "evidence", "flagship")
AUDIENCE = "clinician"
SEED = nat.SEED
WARMUP = nat.WARMUP
EXAMPLES = nat.EXAMPLES
#: Evidence Inference prompts asked by default (a fixed-seed sample; `limit=0` asks all).
EVIDENCE_SAMPLE = 300
#: A statement matches an evidence span at this token-level F1 ...
SPAN_F1 = 0.5
#: ... or when one contains the other and the contained side has at least this many tokens.
CONTAINED_MIN = 5

FLAGSHIP = "What is the recommended treatment for liver metastases{} from gallbladder cancer?"
FLAGSHIP_VARIANTS = {"plain": "", "mets": " (mets)"}
FLAGSHIP_PDQ = "nci:types/gallbladder/hp/gallbladder-treatment-pdq"
#: Checkpoint inhibitors and the trial each was tested in, for biliary tract cancer.
CHECKPOINT_TRIALS = {"durvalumab": "TOPAZ-1", "pembrolizumab": "KEYNOTE-966"}
FLAGSHIP_MIN_FIGURES = 3
FLAGSHIP_MIN_REFERENCES = 5

#: Targets: measure -> (threshold, "min" or "max"); faithfulness and latency as natural's.
TARGETS: dict[str, tuple[float, str]] = {
    "professional_share": (0.90, "min"),
    "evidence_article_cited": (0.80, "min"),
    "evidence_span_found": (0.60, "min"),
    "flagship_checks": (1.0, "min"),
    "faithfulness": nat.TARGETS["faithfulness"],
    "latency_p50_ms": nat.TARGETS["latency_p50_ms"],
}

_rate = nat._rate
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\s?%)?")


def _limit(limit: int | None, default: int | None) -> int | None:
    """A part's sample size: the default when none is given, everything for 0."""
    if limit is None:
        return default
    return None if limit == 0 else limit


# --- what is measured on one answer -----------------------------------------------------------


def numbers_in(text: str) -> int:
    """The numeric tokens of a text: runs of digits with inner points or commas, a percent sign
    kept ("12.9", "2,550", "95%")."""
    return len(_NUMBER.findall(text))


def figure_count(answer: Answer) -> int:
    """The figures of the answer's evidence table (patients, survival, effect, CI, P, rate ...)."""
    return sum(len(row.figures) for row in answer.evidence_table)


def is_professional(ref: Any, documents: dict[str, Any]) -> bool:
    """A reference to a source for professionals: its document is written for professionals and
    its level is not patient education."""
    doc = documents.get(ref.document_id)
    return (
        doc is not None
        and doc.audience is Audience.PROFESSIONAL
        and ref.evidence_level is not EvidenceLevel.PATIENT_EDUCATION
    )


def answer_found(answer: Answer, phrases: Iterable[str]) -> bool:
    """Whether a statement of the answer holds one of the set's answer phrases (normalised as
    the set's check greps them)."""
    text = cs.normalise(" ".join(s.text for s in statements(answer)))
    return any(cs.normalise(p) in text for p in phrases)


def question_record(
    row: dict[str, Any],
    answer: Answer,
    ms: float,
    osler: Osler,
    pdfs: dict[str, str],
) -> dict[str, Any]:
    documents = osler.documents
    gold = {g for g in (cs.resolve(x, documents, pdfs) for x in row["gold"]) if g}
    answered = not answer.abstained
    refs = answer.references if answered else []
    cited = [r.document_id for r in refs]
    return {
        "id": row["id"],
        "split": row["split"],
        "type": row["type"],
        "source_kind": row["source_kind"],
        "in_corpus": bool(gold),
        "answered": answered,
        "gold_cited": bool(gold.intersection(cited)),
        "references": len(refs),
        "professional": sum(is_professional(r, documents) for r in refs),
        "figures": figure_count(answer) if answered else 0,
        "numbers": sum(numbers_in(s.text) for s in statements(answer)),
        "sections": sum(bool(s.items) for s in answer.sections) if answered else 0,
        "answer_found": answered and answer_found(answer, row["answer"]),
        "ms": round(ms, 1),
        "reason": answer.abstain_reason if answer.abstained else None,
        **nat.faithfulness_record(answer, osler),
        # kept for the examples of the tune half
        "_question": row["question"],
        "_cited": cited[:5],
        "_patient_sources": [r.document_id for r in refs if not is_professional(r, documents)][:5],
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(metrics.mean(values), 2) if values else None


def summarise_questions(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates over the questions whose gold is in the corpus; the professional share, figures,
    numbers and sections over every answer given."""
    inside = [r for r in records if r["in_corpus"]]
    answered = [r for r in inside if r["answered"]]
    given = [r for r in records if r["answered"]]
    refs = sum(r["references"] for r in given)
    return {
        "questions": len(records),
        "gold_in_corpus": len(inside),
        "answered": _rate(len(answered), len(inside)),
        "gold_cited": _rate(sum(r["gold_cited"] for r in inside), len(inside)),
        "gold_cited_when_answered": _rate(sum(r["gold_cited"] for r in answered), len(answered)),
        "answer_found": _rate(sum(r["answer_found"] for r in inside), len(inside)),
        "answers": len(given),
        "references": refs,
        "professional_share": _rate(sum(r["professional"] for r in given), refs),
        "all_professional": _rate(
            sum(r["professional"] == r["references"] for r in given), len(given)
        ),
        "figures_per_answer": _mean([r["figures"] for r in given]),
        "answers_with_figures": _rate(sum(r["figures"] > 0 for r in given), len(given)),
        "numbers_per_answer": _mean([r["numbers"] for r in given]),
        "sections_per_answer": _mean([r["sections"] for r in given]),
        "abstain_reasons": nat.abstain_reasons(inside),
        "gold_not_in_corpus": {
            "questions": len(records) - len(inside),
            "answered": _rate(
                sum(r["answered"] for r in records if not r["in_corpus"]),
                len(records) - len(inside),
            ),
        },
    }


def _question_examples(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Failures of each kind from the tune half only (the held-out half is reported in figures)."""
    tune = [r for r in records if r["split"] == "tune"]
    return {
        "not_answered": [
            {"question": r["_question"], "reason": r["reason"]}
            for r in tune
            if r["in_corpus"] and not r["answered"]
        ][:EXAMPLES],
        "gold_not_cited": [
            {"question": r["_question"], "cited": r["_cited"]}
            for r in tune
            if r["in_corpus"] and r["answered"] and not r["gold_cited"]
        ][:EXAMPLES],
        "patient_sources": [
            {"question": r["_question"], "sources": r["_patient_sources"]}
            for r in tune
            if r["_patient_sources"]
        ][:EXAMPLES],
    }


def _by(records: list[dict[str, Any]], key: str, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            s: summarise_questions(
                [r for r in records if r[key] == name and s in (r["split"], "all")]
            )
            for s in (*SPLITS, "all")
        }
        for name in names
    }


def run_questions(
    ask: nat.Asker,
    osler: Osler,
    rows: list[dict[str, Any]],
    progress: Progress,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pdfs = cs.pdf_documents(osler.documents)
    progress.start("questions", len(rows))
    records = []
    for row in rows:
        answer, ms = ask(row["question"], AUDIENCE)
        records.append(question_record(row, answer, ms, osler, pdfs))
        progress.advance()
    progress.done()
    report = {
        "all": summarise_questions(records),
        "splits": {s: summarise_questions([r for r in records if r["split"] == s]) for s in SPLITS},
        "types": _by(records, "type", cs.TYPES),
        "source_kinds": _by(records, "source_kind", cs.SOURCE_KINDS),
        "examples_tune": _question_examples(records),
        "faithfulness": nat.summarise_faithfulness(records),
    }
    return report, records


def question_rows(
    path: Path, osler: Osler, limit: int | None, seed: int
) -> list[dict[str, Any]]:
    """The clinician questions; with a limit, a fixed-seed sample of those whose gold is in the
    corpus."""
    rows = cs.read_clinician(path)
    if limit is None:
        return rows
    pdfs = cs.pdf_documents(osler.documents)
    inside = [r for r in rows if any(cs.resolve(g, osler.documents, pdfs) for g in r["gold"])]
    return nat._sample(inside, limit, seed)


# --- part 2: Evidence Inference ---------------------------------------------------------------


def span_match(statement: str, span: str) -> tuple[bool, float]:
    """Whether a statement overlaps an evidence span, and their token-level F1.

    Tokens are lower-cased runs of letters and digits. F1 is over the bags of tokens (as SQuAD
    scores answers). The statement matches when F1 >= SPAN_F1, or when the tokens of one are a
    contiguous run of the other's and the contained side has at least CONTAINED_MIN tokens (a
    statement quoting one sentence of a longer span, or a span of one clause of the statement).
    """
    a, b = tokens(statement), tokens(span)
    if not a or not b:
        return False, 0.0
    common = sum((Counter(a) & Counter(b)).values())
    f1 = 0.0 if not common else 2 * common / (len(a) + len(b))
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    contained = (
        len(shorter) >= CONTAINED_MIN and f" {' '.join(shorter)} " in f" {' '.join(longer)} "
    )
    return f1 >= SPAN_F1 or contained, round(f1, 4)


def evidence_record(prompt: cs.Prompt, answer: Answer, osler: Osler) -> dict[str, Any]:
    answered = not answer.abstained
    refs = answer.references if answered else []
    article_refs = {r.n for r in refs if r.document_id == prompt.document_id}
    best, found, found_citing = 0.0, False, False
    for statement in statements(answer):
        for span in prompt.evidence:
            match, f1 = span_match(statement.text, span)
            best = max(best, f1)
            if match:
                found = True
                found_citing = found_citing or bool(article_refs.intersection(statement.citations))
    return {
        "split": split_of(f"ei:{prompt.id}"),
        "in_corpus": prompt.document_id in osler.documents,
        "has_evidence": bool(prompt.evidence),
        "answered": answered,
        "article_cited": bool(article_refs),
        "span_found": found,
        "span_found_citing_article": found_citing,
        "best_f1": best,
        "reason": answer.abstain_reason if answer.abstained else None,
        **nat.faithfulness_record(answer, osler),
        "_question": prompt.question,
        "_cited": [r.document_id for r in refs[:5]],
    }


def summarise_evidence(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates over the prompts whose article is in the corpus (span rates: and that have
    evidence)."""
    inside = [r for r in records if r["in_corpus"]]
    spans = [r for r in inside if r["has_evidence"]]
    return {
        "prompts": len(records),
        "article_in_corpus": len(inside),
        "answered": _rate(sum(r["answered"] for r in inside), len(inside)),
        "article_cited": _rate(sum(r["article_cited"] for r in inside), len(inside)),
        "span_found": _rate(sum(r["span_found"] for r in spans), len(spans)),
        "span_found_citing_article": _rate(
            sum(r["span_found_citing_article"] for r in spans), len(spans)
        ),
        "best_f1_mean": round(metrics.mean([r["best_f1"] for r in spans]), 4) if spans else None,
        "abstain_reasons": nat.abstain_reasons(inside),
    }


def run_evidence(
    ask: nat.Asker, osler: Osler, prompts: list[cs.Prompt], progress: Progress
) -> dict[str, Any]:
    progress.start("evidence", len(prompts))
    records = []
    for prompt in prompts:
        answer, _ = ask(prompt.question, AUDIENCE)
        records.append(evidence_record(prompt, answer, osler))
        progress.advance()
    progress.done()
    tune = [r for r in records if r["split"] == "tune" and r["in_corpus"]]
    return {
        "all": summarise_evidence(records),
        "splits": {s: summarise_evidence([r for r in records if r["split"] == s]) for s in SPLITS},
        "examples_tune": {
            "article_not_cited": [
                {"question": r["_question"], "cited": r["_cited"], "reason": r["reason"]}
                for r in tune
                if not r["article_cited"]
            ][:EXAMPLES],
        },
        "faithfulness": nat.summarise_faithfulness(records),
    }


# --- part 3: the flagship question ------------------------------------------------------------


def _own_text(answer: Answer) -> str:
    """What the answer itself says: its title, statements, glossary, evidence table (studies and
    statements) and what its references rest on (not the quotes of its sources)."""
    parts = [answer.title, *(s.text for s in statements(answer))]
    parts += [g.definition for g in getattr(answer, "glossary", None) or []]
    parts += [f"{row.study} {row.statement}" for row in answer.evidence_table]
    parts += [s for r in answer.references for s in r.supported_by]
    return " ".join(parts)


def _check(passed: bool, detail: str) -> dict[str, Any]:
    return {"passed": bool(passed), "detail": detail}


def flagship_checks(answer: Answer, documents: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The checks of the flagship answer, each {"passed", "detail"}:

    - answered;
    - bottom_line_gem_cis: the bottom line names gemcitabine and cisplatin (either order);
    - checkpoint_inhibitor_trial: durvalumab with TOPAZ-1, or pembrolizumab with KEYNOTE-966,
      named in the answer's own text (statements, evidence table, what references rest on);
    - figures_by_trial: at least FLAGSHIP_MIN_FIGURES figures in evidence-table rows attributed to
      a trial (the row's study is one its reference rests on, `supported_by`, not the source);
    - selection_criteria: a section of kind "selection" (who qualifies, e.g. for surgery);
    - references_pdq_first: at least FLAGSHIP_MIN_REFERENCES references, the gallbladder PDQ
      health-professional summary first;
    - no_patient_education: no reference of patient-education level or to a consumer page;
    - faithful: every statement verbatim in the quotes it cites, every quote its document's text
      (when `documents` is a store-backed searcher's, checked by the caller).
    """
    answered = not answer.abstained
    bottom = answer.bottom_line.text.lower() if answered else ""
    text = _own_text(answer).lower() if answered else ""
    pairs = [
        f"{drug} + {trial}"
        for drug, trial in CHECKPOINT_TRIALS.items()
        if drug in text and trial.lower() in text
    ]
    by_n = {r.n: r for r in answer.references}
    trial_rows = [
        row
        for row in answer.evidence_table
        if row.citation in by_n and row.study in by_n[row.citation].supported_by
    ]
    n_figures = sum(len(row.figures) for row in trial_rows)
    selection = [s for s in answer.sections if s.kind == "selection" and s.items]
    refs = answer.references if answered else []
    first = refs[0].document_id if refs else None
    patient = [
        r.document_id
        for r in refs
        if r.evidence_level is EvidenceLevel.PATIENT_EDUCATION
        or getattr(documents.get(r.document_id), "audience", None) is Audience.CONSUMER
    ]
    return {
        "answered": _check(answered, answer.abstain_reason or "answered"),
        "bottom_line_gem_cis": _check(
            "gemcitabine" in bottom and "cisplatin" in bottom, answer.bottom_line.text[:200]
        ),
        "checkpoint_inhibitor_trial": _check(bool(pairs), ", ".join(pairs) or "none named"),
        "figures_by_trial": _check(
            n_figures >= FLAGSHIP_MIN_FIGURES,
            f"{n_figures} figures in {len(trial_rows)} rows attributed to a trial "
            f"({'; '.join(dict.fromkeys(r.study for r in trial_rows)) or 'none'})",
        ),
        "selection_criteria": _check(
            bool(selection),
            f"{sum(len(s.items) for s in selection)} items"
            + (f" under {selection[0].heading!r}" if selection else ""),
        ),
        "references_pdq_first": _check(
            len(refs) >= FLAGSHIP_MIN_REFERENCES and first == FLAGSHIP_PDQ,
            f"{len(refs)} references ({len({r.document_id for r in refs})} documents), "
            f"first {first}",
        ),
        "no_patient_education": _check(not patient, ", ".join(patient) or "none"),
    }


def run_flagship(ask: nat.Asker, osler: Osler, progress: Progress) -> dict[str, Any]:
    progress.start("flagship", len(FLAGSHIP_VARIANTS))
    variants: dict[str, Any] = {}
    records = []
    for name, gloss in FLAGSHIP_VARIANTS.items():
        question = FLAGSHIP.format(gloss)
        answer, ms = ask(question, AUDIENCE)
        checks = flagship_checks(answer, osler.documents)
        faith = nat.faithfulness_record(answer, osler)
        checks["faithful"] = _check(
            not faith["unfaithful"] and not faith["bad_quotes"],
            f"{len(faith['unfaithful'])} statements not verbatim, "
            f"{len(faith['bad_quotes'])} quotes not in their document",
        )
        records.append({**faith, "split": "tune"})
        variants[name] = {
            "question": question,
            "checks": checks,
            "passed": sum(c["passed"] for c in checks.values()),
            "of": len(checks),
            "ms": round(ms, 1),
            "title": answer.title,
            "references": [r.document_id for r in answer.references[:8]],
        }
        progress.advance()
    progress.done()
    passed = sum(v["passed"] for v in variants.values())
    total = sum(v["of"] for v in variants.values())
    return {
        "variants": variants,
        "passed": passed,
        "checks": total,
        "share_passed": _rate(passed, total),
        "faithfulness": nat.summarise_faithfulness(records),
    }


# --- the whole benchmark ----------------------------------------------------------------------


def run_benchmark(
    data_dir: Path,
    *,
    shared: Path | None = None,
    parts: Sequence[str] = PARTS,
    limit: int | None = None,
    seed: int = SEED,
    questions_file: Path = cs.CLINICIAN_FILE,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the parts on the corpus in `data_dir` (only read) and return the report.

    `limit` caps the questions and the Evidence Inference prompts: a fixed-seed sample of the
    questions whose gold is in the corpus, and of the prompts whose article is. By default every
    question and EVIDENCE_SAMPLE prompts are asked; `limit=0` asks every question and prompt.
    """
    shared = shared or load().shared_data
    progress = progress or Progress()
    began = time.perf_counter()
    with nat.benchmark_corpus(data_dir, parts, PARTS) as (osler, ask):
        report: dict[str, Any] = {"corpus": corpus_info(osler)}
        seconds: dict[str, float] = {}
        latency = None
        if "questions" in parts:
            mark = time.perf_counter()
            rows = question_rows(questions_file, osler, _limit(limit, None), seed)
            for row in rows[:WARMUP]:
                ask(row["question"], AUDIENCE)
            report["questions"], records = run_questions(ask, osler, rows, progress)
            if records:
                latency = metrics.latency_summary([r["ms"] for r in records])
            seconds["questions"] = time.perf_counter() - mark
        if "evidence" in parts:
            mark = time.perf_counter()
            every = cs.evidence_prompts(shared)
            inside = [p for p in every if p.document_id in osler.documents]
            chosen = nat._sample(inside, _limit(limit, EVIDENCE_SAMPLE), seed)
            report["evidence"] = run_evidence(ask, osler, chosen, progress)
            report["evidence"]["available"] = len(every)
            report["evidence"]["available_article_in_corpus"] = len(inside)
            seconds["evidence"] = time.perf_counter() - mark
        if "flagship" in parts:
            mark = time.perf_counter()
            report["flagship"] = run_flagship(ask, osler, progress)
            seconds["flagship"] = time.perf_counter() - mark
        dense = osler.dense
    report["faithfulness"] = nat._combined(
        [report[p]["faithfulness"] for p in PARTS if p in report]
    )
    report["latency_ms"] = {"ask_warm": latency}
    report["seconds"] = {k: round(v, 1) for k, v in seconds.items()} | {
        "total": round(time.perf_counter() - began, 1)
    }
    report["settings"] = {
        "parts": list(parts),
        "limit": limit,
        "evidence_sample": _limit(limit, EVIDENCE_SAMPLE),
        "seed": seed,
        "audience": AUDIENCE,
        "span_match": f"token F1 >= {SPAN_F1} or containment (>= {CONTAINED_MIN} tokens)",
        "composer": "extractive",
        "dense": dense,
    }
    report["figures"] = figures(report)
    report["targets"] = [f for f in report["figures"] if f["target"]]
    return report


# --- figures, targets, tables -----------------------------------------------------------------

_pct = nat._pct


def _met(name: str, value: float | None) -> bool | None:
    if value is None:
        return None
    threshold, kind = TARGETS[name]
    return value >= threshold if kind == "min" else value <= threshold


def _target(name: str, unit: str = "%") -> str:
    threshold, kind = TARGETS[name]
    sign = ">=" if kind == "min" else "<="
    return f"{sign} {100 * threshold:.0f}%" if unit == "%" else f"{sign} {threshold:.0f} {unit}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure as a row: figure, measure, value, target (or None) and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(
        figure: str, measure: str, value: str, target: str | None = None, met: Any = None
    ) -> None:
        out.append(
            {"figure": figure, "measure": measure, "value": value, "target": target, "met": met}
        )

    def targeted(figure: str, measure: str, value: float | None, name: str, held: bool) -> None:
        add(
            figure,
            measure,
            _pct(value),
            _target(name) if held else None,
            _met(name, value) if held else None,
        )

    if "questions" in report:
        for split in ("held_out", "tune"):
            m = report["questions"]["splits"][split]
            held = split == "held_out"
            figure = (
                f"1. questions, {split.replace('_', ' ')} "
                f"({m['gold_in_corpus']} of {m['questions']} q, gold in corpus)"
            )
            add(figure, "answered", _pct(m["answered"]))
            add(figure, "expected source cited", _pct(m["gold_cited"]))
            add(figure, "expected source cited when answered", _pct(m["gold_cited_when_answered"]))
            add(figure, "an answer phrase in the statements", _pct(m["answer_found"]))
            targeted(
                figure,
                f"professional references ({m['references']:,} references of {m['answers']} answers)",
                m["professional_share"],
                "professional_share",
                held,
            )
            add(figure, "answers citing only professional sources", _pct(m["all_professional"]))
            add(figure, "evidence-table figures per answer", _num(m["figures_per_answer"]))
            add(figure, "answers with an evidence table", _pct(m["answers_with_figures"]))
            add(figure, "numbers in the statements per answer", _num(m["numbers_per_answer"]))
            add(figure, "sections per answer", _num(m["sections_per_answer"]))
            if m["abstain_reasons"]:
                add(figure, "declined, why (questions)", nat._reasons(m["abstain_reasons"]))
            off = m["gold_not_in_corpus"]
            if off["questions"]:
                add(
                    figure,
                    f"answered, gold not in corpus ({off['questions']} q)",
                    _pct(off["answered"]),
                )
    if "evidence" in report:
        for split in ("held_out", "tune"):
            m = report["evidence"]["splits"][split]
            held = split == "held_out"
            figure = (
                f"2. evidence inference, {split.replace('_', ' ')} "
                f"({m['article_in_corpus']} of {m['prompts']} prompts, article in corpus)"
            )
            add(figure, "answered", _pct(m["answered"]))
            targeted(
                figure,
                "the prompt's article cited",
                m["article_cited"],
                "evidence_article_cited",
                held,
            )
            targeted(
                figure,
                "a statement overlapping the evidence span",
                m["span_found"],
                "evidence_span_found",
                held,
            )
            add(figure, "... and citing the article", _pct(m["span_found_citing_article"]))
            if m["best_f1_mean"] is not None:
                add(figure, "best statement-span token F1, mean", f"{m['best_f1_mean']:.3f}")
            if m["abstain_reasons"]:
                add(figure, "declined, why (prompts)", nat._reasons(m["abstain_reasons"]))
    if "flagship" in report:
        flag = report["flagship"]
        for name, v in flag["variants"].items():
            figure = f"3. flagship{' (mets)' if name == 'mets' else ''}"
            for check, c in v["checks"].items():
                add(
                    figure,
                    check.replace("_", " "),
                    "pass" if c["passed"] else "FAIL",
                    None,
                    c["passed"],
                )
        add(
            "3. flagship",
            f"checks passed, both wordings ({flag['checks']})",
            _pct(flag["share_passed"]),
            _target("flagship_checks"),
            _met("flagship_checks", flag["share_passed"]),
        )
    mode = "dense" if report["settings"]["dense"] else "lexical"
    nat.add_faithfulness_and_latency(
        add, report, "4. faithfulness (all parts)", "5. latency", f"clinician q, {mode}"
    )
    return out


def tables(report: dict[str, Any]) -> list[Table]:
    """The figures against their targets, and the questions by type and source kind."""
    main = figures_table("Clinician benchmark", report["figures"])
    out = [main]
    if "questions" in report:
        detail = Table(
            title="Clinician questions by type and source (held out | tune)", title_justify="left"
        )
        columns = ("group", "gold in corpus", "answered", "source cited", "professional")
        for column in columns:
            detail.add_column(column, justify="left" if column == "group" else "right")
        groups = [("types", t) for t in cs.TYPES] + [("source_kinds", k) for k in cs.SOURCE_KINDS]
        for n, (kind, name) in enumerate(groups):
            if n and kind != groups[n - 1][0]:
                detail.add_section()
            h = report["questions"][kind][name]["held_out"]
            t = report["questions"][kind][name]["tune"]
            detail.add_row(
                name.replace("_", " "),
                f"{h['gold_in_corpus']} | {t['gold_in_corpus']}",
                f"{_pct(h['answered'])} | {_pct(t['answered'])}",
                f"{_pct(h['gold_cited'])} | {_pct(t['gold_cited'])}",
                f"{_pct(h['professional_share'])} | {_pct(t['professional_share'])}",
            )
        out.append(detail)
    return out
