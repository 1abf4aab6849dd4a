"""The natural-question benchmark (`osler eval natural`): questions as people type them.

Four parts, all on one corpus in one process (see docs/answers.md, "Natural questions"):

1. **natural**: the hand-written questions of tests/data/natural_questions.jsonl, each asked for
   its own audience: answered (not abstained), a gold page cited, citation faithfulness, titles
   that repeat question words, ROUGE-L of the bottom line against the gold page's section of the
   question's type. Reported per split (tune, held out), type and audience; the held-out half is
   the one to report, and the report shows examples from the tune half only.
2. **bioasq**: the BioASQ expert questions (deduplicated by id): answered, a gold PMID cited,
   ROUGE-L of the answer text against the ideal answer.
3. **medicationqa**: the MedicationQA consumer questions: answered, the answer's own row cited.
4. **offcorpus**: questions about fabricated conditions and drugs, and non-medical questions
   (tests/data/off_corpus_questions.jsonl): the share Osler declines.

Plus the warm latency of `ask` over the natural questions. Rates are over the questions whose
gold is in the corpus (a cancer.gov `nci:` page is only there when nci_pdq/ was ingested); how
many that is, and how the others fared, is reported too.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from osler.compose import templates
from osler.evaluate import metrics
from osler.evaluate import natural_set as ns
from osler.evaluate.answers import (
    answer_text,
    citation_failures,
    figures_table,
    rouge_l,
    statements,
)
from osler.evaluate.retrieval import (
    _PMID_URL,
    SPLITS,
    BenchmarkError,
    Progress,
    corpus_info,
    split_of,
)
from osler.models import Answer
from osler.retrieve.analyse import QUESTION_TYPES, STOP_WORDS, TYPE_WORDS, words
from osler.service import Osler
from osler.settings import load
from osler.store import stored

PARTS = ("natural", "bioasq", "medicationqa", "offcorpus")
SEED = 13
#: Untimed questions asked first, so that latency is measured warm.
WARMUP = 5
#: Examples of each kind kept in the report (tune half only).
EXAMPLES = 10
AUDIENCE = {"bioasq": "clinician", "medicationqa": "patient"}

#: Targets: (part, measure) -> (threshold, "min" or "max").
TARGETS: dict[str, tuple[float, str]] = {
    "natural_answered": (0.95, "min"),
    "natural_gold_cited": (0.85, "min"),
    "natural_title_repeats": (0.0, "max"),
    "bioasq_answered": (0.85, "min"),
    "bioasq_gold_cited": (0.75, "min"),
    "medicationqa_answered": (0.85, "min"),
    "offcorpus_abstained": (0.95, "min"),
    "faithfulness": (1.0, "min"),
    "latency_p50_ms": (100.0, "max"),
}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- what is measured on one answer -----------------------------------------------------------


def _stem(word: str) -> str:
    w = word.lower().replace("’", "'").removesuffix("'s").strip("'")
    for suffix in ("ies", "es", "s"):
        if len(w) > 4 and w.endswith(suffix):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


#: Words of the title templates ("Treatment of {}", "How Common Is {}", "{}: Overview").
TEMPLATE_WORDS = frozenset(
    _stem(w) for pattern in templates.TITLES.values() for w in words(pattern.replace("{}", " "))
)


def type_words(question: str) -> set[str]:
    """The words of a question that name its type: the cues of every question type that occur in
    it ("side effects", "first-line", "how common") and the type words the analyser drops from
    the focus ("treatments", "diagnosed", "stages")."""
    found: set[str] = set()
    for pattern in [p for _, p in QUESTION_TYPES] + [TYPE_WORDS]:
        for m in pattern.finditer(question):
            found.update(_stem(w) for w in words(m.group(0)))
    return found


def title_repeats(title: str, question: str, topic: str) -> list[str]:
    """The words of a title copied from the question that are neither the topic's (as the corpus
    names it) nor type words nor stop words: "Treatment of Are Available for Psoriasis" for
    "what treatments are available for psoriasis" repeats "available" (and "are", a stop word,
    is not counted)."""
    asked = {_stem(w) for w in words(question)}
    allowed = (
        {_stem(w) for w in words(topic)}
        | type_words(question)
        | TEMPLATE_WORDS
        | {_stem(w) for w in STOP_WORDS}
    )
    out = []
    for w in words(title):
        s = _stem(w)
        if s in asked and s not in allowed and not s.isdigit() and s not in out:
            out.append(s)
    return out


def quote_failures(answer: Answer, osler: Osler) -> list[dict[str, Any]]:
    """References whose quote is not the text of their stored document at their offsets."""
    out = []
    for ref in answer.references:
        doc = osler.store.get_document(ref.document_id)
        if doc is None:
            why = "the document is not in the store"
        elif doc.text[ref.start : ref.end] != ref.quote:
            why = "the quote is not the document's text at its offsets"
        else:
            continue
        out.append({"n": ref.n, "document_id": ref.document_id, "why": why})
    return out


def faithfulness_record(answer: Answer, osler: Osler) -> dict[str, Any]:
    """Statements (and glossary definitions) verbatim in every quote they cite, and quotes that
    are their document's text; an abstention's closest sources are checked as quotes too."""
    unfaithful = citation_failures(answer) if not answer.abstained else []
    checked = len(statements(answer)) + len(getattr(answer, "glossary", None) or [])
    return {
        "statements": checked,
        "unfaithful": unfaithful,
        "quotes": len(answer.references),
        "bad_quotes": quote_failures(answer, osler),
    }


#: Why Osler declined, as its reason begins (osler.compose.answer and safety).
REASONS = (
    ("not a medical question", "This does not look like a medical question"),
    ("focus words not covered", "Insufficient evidence: the indexed sources do not cover"),
    ("no sentence answers", "Insufficient evidence: no sentence"),
    ("no source matches", "No indexed source matches"),
)


def reason_kind(reason: str | None) -> str:
    """The kind of an abstention's reason ("focus words not covered"), or "other"."""
    text = reason or ""
    return next((kind for kind, start in REASONS if text.startswith(start)), "other")


def abstain_reasons(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many of the records' abstentions (of questions whose gold is in the corpus) had each
    kind of reason."""
    kinds = [reason_kind(r["reason"]) for r in records if r.get("in_corpus", True) and r["reason"]]
    return {kind: kinds.count(kind) for kind, _ in (*REASONS, ("other", "")) if kinds.count(kind)}


@dataclass
class Asker:
    """The service and a clock: each question's answer and the wall-clock ms of `ask` (neither
    served from nor saved as an article: the benchmark measures what the composer writes)."""

    osler: Osler

    def __call__(self, question: str, audience: str) -> tuple[Answer, float]:
        began = time.perf_counter()
        answer = self.osler.ask(question, audience, serve_approved=False, save_draft=False)
        return answer, (time.perf_counter() - began) * 1000


def _sample(items: list[Any], limit: int | None, seed: int) -> list[Any]:
    if limit is None or limit >= len(items):
        return items
    return random.Random(seed).sample(items, limit)


# --- part 1: natural questions ----------------------------------------------------------------


def references_for(row: dict[str, Any], index: ns.SharedIndex) -> list[str]:
    """The gold pages' sections of the question's type (MedQuAD answers, MedicationQA answers):
    what the bottom line's ROUGE-L is measured against ([] for cancer.gov gold)."""
    out = []
    for doc_id in row["gold"]:
        page = index.medquad.get(doc_id)
        if page:
            names = ns.MEDQUAD_TYPES.get(row["type"], frozenset())
            out += [text for qtype, text in page.answers.items() if qtype in names]
        med = index.medicationqa.get(doc_id)
        if med and med.answer:
            out.append(med.answer)
    return out


def natural_record(
    row: dict[str, Any],
    answer: Answer,
    ms: float,
    osler: Osler,
    index: ns.SharedIndex,
) -> dict[str, Any]:
    cited = [] if answer.abstained else [r.document_id for r in answer.references]
    gold = set(row["gold"])
    refs = references_for(row, index) if not answer.abstained else []
    repeats = [] if answer.abstained else title_repeats(answer.title, row["question"], row["topic"])
    return {
        "id": row["id"],
        "split": row["split"],
        "type": row["type"],
        "audience": row["audience"],
        "in_corpus": any(g in osler.documents for g in gold),
        "answered": not answer.abstained,
        "gold_cited": bool(gold.intersection(cited)),
        "title": answer.title,
        "title_repeats": repeats,
        "rouge_l": max((rouge_l(answer.bottom_line.text, r) for r in refs), default=None),
        "ms": round(ms, 1),
        **faithfulness_record(answer, osler),
        # kept for the examples of the tune half
        "_question": row["question"],
        "_cited": cited[:5],
        "reason": answer.abstain_reason if answer.abstained else None,
    }


def summarise_natural(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates over the questions whose gold is in the corpus (and the answer rate of the rest)."""
    inside = [r for r in records if r["in_corpus"]]
    outside = [r for r in records if not r["in_corpus"]]
    answered = [r for r in inside if r["answered"]]
    all_answered = [r for r in records if r["answered"]]
    scored = [r["rouge_l"] for r in answered if r["rouge_l"] is not None]
    return {
        "questions": len(records),
        "gold_in_corpus": len(inside),
        "answered": _rate(len(answered), len(inside)),
        "gold_cited": _rate(sum(r["gold_cited"] for r in inside), len(inside)),
        "gold_cited_when_answered": _rate(sum(r["gold_cited"] for r in answered), len(answered)),
        "title_repeats": _rate(
            sum(bool(r["title_repeats"]) for r in all_answered), len(all_answered)
        ),
        "bottom_line_rouge_l": round(metrics.mean(scored), 4) if scored else None,
        "abstain_reasons": abstain_reasons(inside),
        "gold_not_in_corpus": {
            "questions": len(outside),
            "answered": _rate(sum(r["answered"] for r in outside), len(outside)),
        },
    }


def _examples(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Failures of each kind from the tune half only (the held-out half is reported in figures)."""
    tune = [r for r in records if r["split"] == "tune"]
    return {
        "title_repeats": [
            {"question": r["_question"], "title": r["title"], "repeated": r["title_repeats"]}
            for r in tune
            if r["title_repeats"]
        ][:EXAMPLES],
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
    }


def run_natural(
    ask: Asker,
    osler: Osler,
    index: ns.SharedIndex,
    rows: list[dict[str, Any]],
    progress: Progress,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    progress.start("natural", len(rows))
    records = []
    for row in rows:
        answer, ms = ask(row["question"], row["audience"])
        records.append(natural_record(row, answer, ms, osler, index))
        progress.advance()
    progress.done()

    def groups(key: str, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {
            name: {
                s: summarise_natural(
                    [r for r in records if r[key] == name and s in (r["split"], "all")]
                )
                for s in (*SPLITS, "all")
            }
            for name in names
        }

    report: dict[str, Any] = {
        "all": summarise_natural(records),
        "splits": {s: summarise_natural([r for r in records if r["split"] == s]) for s in SPLITS},
        "types": groups("type", ns.TYPES),
        "audiences": groups("audience", ns.AUDIENCES),
        "examples_tune": _examples(records),
    }
    return report, records


def natural_rows(
    path: Path, osler: Osler, limit: int | None, seed: int
) -> list[dict[str, Any]]:
    """The natural questions; with a limit, a fixed-seed sample of those whose gold is in the
    corpus."""
    rows = ns.read_jsonl(path)
    if limit is None:
        return rows
    inside = [r for r in rows if any(g in osler.documents for g in r["gold"])]
    return _sample(inside, limit, seed)


# --- part 2: BioASQ ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BioasqQuestion:
    id: str
    body: str
    pmids: frozenset[str]
    ideal: tuple[str, ...]


def bioasq_questions(shared: Path) -> list[BioasqQuestion]:
    """Every BioASQ question once (the first file, in name order, that holds its id)."""
    folder = shared / "bioasq"
    files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    if not files:
        raise BenchmarkError(f"the bioasq questions are missing: no JSON files under {folder}")
    seen: dict[str, BioasqQuestion] = {}
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for q in data.get("questions", []) if isinstance(data, dict) else []:
            qid = str(q.get("id") or "")
            body = str(q.get("body") or q.get("_body") or "").strip()
            if not qid or not body or qid in seen:
                continue
            pmids = set()
            for url in q.get("documents") or []:
                m = _PMID_URL.search(str(url))
                if m:
                    pmids.add(m.group(1))
            ideal = q.get("ideal_answer") or []
            if isinstance(ideal, str):
                ideal = [ideal]
            seen[qid] = BioasqQuestion(qid, body, frozenset(pmids), tuple(str(i) for i in ideal))
    return list(seen.values())


def run_bioasq(
    ask: Asker, osler: Osler, questions: list[BioasqQuestion], progress: Progress
) -> dict[str, Any]:
    pmids = {d.pmid for d in osler.documents.values() if d.pmid}
    progress.start("bioasq", len(questions))
    records = []
    for q in questions:
        answer, ms = ask(q.body, AUDIENCE["bioasq"])
        cited = set()
        if not answer.abstained:
            for ref in answer.references:
                doc = osler.documents.get(ref.document_id)
                if doc is not None and doc.pmid:
                    cited.add(doc.pmid)
        text = answer_text(answer)
        records.append(
            {
                "split": split_of(q.id),
                "in_corpus": bool(q.pmids & pmids),
                "answered": not answer.abstained,
                "gold_cited": bool(q.pmids & cited),
                "reason": answer.abstain_reason if answer.abstained else None,
                "rouge_l": max((rouge_l(text, i) for i in q.ideal), default=0.0),
                "ms": ms,
                **faithfulness_record(answer, osler),
            }
        )
        progress.advance()
    progress.done()

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        inside = [r for r in rs if r["in_corpus"]]
        answered = [r for r in inside if r["answered"]]
        return {
            "questions": len(rs),
            "gold_in_corpus": len(inside),
            "answered": _rate(len(answered), len(inside)),
            "answered_all": _rate(sum(r["answered"] for r in rs), len(rs)),
            "gold_cited": _rate(sum(r["gold_cited"] for r in inside), len(inside)),
            "rouge_l": round(metrics.mean([r["rouge_l"] for r in inside]), 4) if inside else None,
            "rouge_l_answered": round(metrics.mean([r["rouge_l"] for r in answered]), 4)
            if answered
            else None,
            "abstain_reasons": abstain_reasons(inside),
        }

    return {
        "all": summary(records),
        "splits": {s: summary([r for r in records if r["split"] == s]) for s in SPLITS},
        "faithfulness": summarise_faithfulness(records),
    }


# --- part 3: MedicationQA ---------------------------------------------------------------------


def medicationqa_rows(shared: Path) -> list[dict[str, Any]]:
    path = shared / "medicationqa" / "medicationqa.jsonl"
    if not path.exists():
        raise BenchmarkError(f"the medicationqa questions are missing: no {path}")
    return [r for r in ns.read_jsonl(path) if str(r.get("Question") or "").strip()]


def run_medicationqa(
    ask: Asker,
    osler: Osler,
    rows: list[dict[str, Any]],
    everything: list[dict[str, Any]],
    progress: Progress,
) -> dict[str, Any]:
    """Each row's question (a question asked once, however many answer rows it has): answered,
    its own row cited, any answer row of the same question cited."""
    same: dict[str, set[str]] = {}
    for r in everything:
        same.setdefault(ns.normalise_question(r["Question"]), set()).add(f"medicationqa:{r['row']}")
    answers: dict[str, Answer] = {}
    progress.start("medicationqa", len(rows))
    records = []
    for r in rows:
        key = ns.normalise_question(r["Question"])
        if key not in answers:
            answers[key], _ = ask(" ".join(str(r["Question"]).split()), AUDIENCE["medicationqa"])
        answer = answers[key]
        own = f"medicationqa:{r['row']}"
        cited = set() if answer.abstained else {ref.document_id for ref in answer.references}
        records.append(
            {
                "split": split_of(own),
                "in_corpus": own in osler.documents,
                "answered": not answer.abstained,
                "own_cited": own in cited,
                "reason": answer.abstain_reason if answer.abstained else None,
                "any_row_cited": bool(same[key] & cited),
                **faithfulness_record(answer, osler),
            }
        )
        progress.advance()
    progress.done()

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        inside = [x for x in rs if x["in_corpus"]]
        return {
            "rows": len(rs),
            "gold_in_corpus": len(inside),
            "answered": _rate(sum(x["answered"] for x in inside), len(inside)),
            "own_row_cited": _rate(sum(x["own_cited"] for x in inside), len(inside)),
            "a_row_of_the_question_cited": _rate(
                sum(x["any_row_cited"] for x in inside), len(inside)
            ),
            "abstain_reasons": abstain_reasons(inside),
        }

    return {
        "all": summary(records),
        "splits": {s: summary([x for x in records if x["split"] == s]) for s in SPLITS},
        "distinct_questions": len(answers),
        "faithfulness": summarise_faithfulness(records),
    }


# --- part 4: off-corpus -----------------------------------------------------------------------


def run_offcorpus(
    ask: Asker, osler: Osler, rows: list[dict[str, Any]], progress: Progress
) -> dict[str, Any]:
    progress.start("offcorpus", len(rows))
    records = []
    for row in rows:
        answer, _ = ask(row["question"], row["audience"])
        records.append(
            {
                "split": row["split"],
                "kind": row["kind"],
                "abstained": answer.abstained,
                "reason": answer.abstain_reason if answer.abstained else None,
                **faithfulness_record(answer, osler),
                "_example": {
                    "question": row["question"],
                    "bottom_line": answer.bottom_line.text[:200],
                    "cited": [r.title for r in answer.references[:3]],
                },
            }
        )
        progress.advance()
    progress.done()

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "questions": len(rs),
            "abstained": _rate(sum(r["abstained"] for r in rs), len(rs)),
            "abstain_reasons": abstain_reasons(rs),
        }

    return {
        "all": summary(records),
        "splits": {s: summary([r for r in records if r["split"] == s]) for s in SPLITS},
        "kinds": {k: summary([r for r in records if r["kind"] == k]) for k in ns.OFF_CORPUS_KINDS},
        "answered_examples_tune": [
            r["_example"] for r in records if r["split"] == "tune" and not r["abstained"]
        ][:EXAMPLES],
        "faithfulness": summarise_faithfulness(records),
    }


# --- faithfulness, over every part ------------------------------------------------------------


def summarise_faithfulness(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    records = list(records)
    total = sum(r["statements"] for r in records)
    bad = sum(len(r["unfaithful"]) for r in records)
    quotes = sum(r["quotes"] for r in records)
    bad_quotes = sum(len(r["bad_quotes"]) for r in records)
    return {
        "statements": total,
        "statements_not_verbatim": bad,
        "statements_verbatim": _rate(total - bad, total) if total else 1.0,
        "quotes": quotes,
        "quotes_not_in_document": bad_quotes,
        "quotes_in_document": _rate(quotes - bad_quotes, quotes) if quotes else 1.0,
        "failures_tune": [
            {"why": f["why"], "statement": f.get("statement", "")[:200]}
            for r in records
            if r.get("split") == "tune"
            for f in [*r["unfaithful"], *r["bad_quotes"]]
        ][:EXAMPLES],
    }


# --- the whole benchmark ----------------------------------------------------------------------


@contextmanager
def benchmark_corpus(
    data_dir: Path, parts: Sequence[str], known: Sequence[str]
) -> Iterator[tuple[Osler, Asker]]:
    """The service over a benchmark's data dir and an asker over it, the parts and the store
    checked first (BenchmarkError says what is wrong); the service is closed afterwards."""
    unknown = [p for p in parts if p not in known]
    if unknown:
        raise BenchmarkError(f"unknown part {unknown[0]!r}; choose from {', '.join(known)}")
    if not stored(data_dir):
        raise BenchmarkError(f"{data_dir} holds no Osler store: run `osler ingest` first")
    osler = Osler.open(data_dir=data_dir)
    try:
        if osler.empty:
            raise BenchmarkError("the corpus is empty: ingest data first")
        yield osler, Asker(osler)
    finally:
        osler.close()


def run_benchmark(
    data_dir: Path,
    *,
    shared: Path | None = None,
    parts: Sequence[str] = PARTS,
    limit: int | None = None,
    seed: int = SEED,
    natural_file: Path = ns.NATURAL_FILE,
    off_corpus_file: Path = ns.OFF_CORPUS_FILE,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the parts on the corpus in `data_dir` (only read) and return the report.

    `limit` caps every part: a fixed-seed sample of the natural questions whose gold is in the
    corpus, of the BioASQ questions, of the MedicationQA rows and of the off-corpus questions.
    """
    shared = shared or load().shared_data
    progress = progress or Progress()
    began = time.perf_counter()
    with benchmark_corpus(data_dir, parts, PARTS) as (osler, ask):
        report: dict[str, Any] = {"corpus": corpus_info(osler)}
        seconds: dict[str, float] = {}
        faithful: list[dict[str, Any]] = []
        latency = None
        if "natural" in parts:
            mark = time.perf_counter()
            index = ns.load_index(shared)
            rows = natural_rows(natural_file, osler, limit, seed)
            for row in rows[:WARMUP]:
                ask(row["question"], row["audience"])
            report["natural"], records = run_natural(ask, osler, index, rows, progress)
            faithful += records
            if records:
                latency = metrics.latency_summary([r["ms"] for r in records])
            seconds["natural"] = time.perf_counter() - mark
        if "bioasq" in parts:
            mark = time.perf_counter()
            every = bioasq_questions(shared)
            report["bioasq"] = run_bioasq(ask, osler, _sample(every, limit, seed), progress)
            report["bioasq"]["available"] = len(every)
            seconds["bioasq"] = time.perf_counter() - mark
        if "medicationqa" in parts:
            mark = time.perf_counter()
            everything = medicationqa_rows(shared)
            rows = _sample(everything, limit, seed)
            report["medicationqa"] = run_medicationqa(ask, osler, rows, everything, progress)
            seconds["medicationqa"] = time.perf_counter() - mark
        if "offcorpus" in parts:
            mark = time.perf_counter()
            rows = _sample(ns.read_jsonl(off_corpus_file), limit, seed)
            report["offcorpus"] = run_offcorpus(ask, osler, rows, progress)
            seconds["offcorpus"] = time.perf_counter() - mark
        dense = osler.dense
    parts_faithfulness = [
        report[p]["faithfulness"] for p in PARTS if p in report and p != "natural"
    ]
    natural_faith = summarise_faithfulness(faithful) if "natural" in report else None
    if natural_faith is not None:
        report["natural"]["faithfulness"] = natural_faith
    report["faithfulness"] = _combined([f for f in [natural_faith, *parts_faithfulness] if f])
    report["latency_ms"] = {"ask_warm": latency}
    report["seconds"] = {k: round(v, 1) for k, v in seconds.items()} | {
        "total": round(time.perf_counter() - began, 1)
    }
    report["settings"] = {
        "parts": list(parts),
        "limit": limit,
        "seed": seed,
        "audiences": {
            "natural": "each question's own",
            "offcorpus": "each question's own",
            **AUDIENCE,
        },
        "composer": "extractive",
        "dense": dense,
    }
    report["figures"] = figures(report)
    report["targets"] = [f for f in report["figures"] if f["target"]]
    return report


def _combined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(p["statements"] for p in parts)
    bad = sum(p["statements_not_verbatim"] for p in parts)
    quotes = sum(p["quotes"] for p in parts)
    bad_quotes = sum(p["quotes_not_in_document"] for p in parts)
    return {
        "statements": total,
        "statements_not_verbatim": bad,
        "statements_verbatim": _rate(total - bad, total) if total else 1.0,
        "quotes": quotes,
        "quotes_not_in_document": bad_quotes,
        "quotes_in_document": _rate(quotes - bad_quotes, quotes) if quotes else 1.0,
    }


# --- figures, targets, table ------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n:,}" for kind, n in counts.items())


def _met(name: str, value: float | None) -> bool | None:
    if value is None:
        return None
    threshold, kind = TARGETS[name]
    return value >= threshold if kind == "min" else value <= threshold


def _target(name: str, unit: str = "%") -> str:
    threshold, kind = TARGETS[name]
    sign = ">=" if kind == "min" else "<="
    return f"{sign} {100 * threshold:.0f}%" if unit == "%" else f"{sign} {threshold:.0f} {unit}"


def figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure as a row: figure, measure, value, target (or None) and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(
        figure: str, measure: str, value: str, target: str | None = None, met: Any = None
    ) -> None:
        out.append(
            {"figure": figure, "measure": measure, "value": value, "target": target, "met": met}
        )

    if "natural" in report:
        for split in ("held_out", "tune"):
            m = report["natural"]["splits"][split]
            figure = f"1. natural, {split.replace('_', ' ')} ({m['gold_in_corpus']} of {m['questions']} q, gold in corpus)"
            held = split == "held_out"
            add(
                figure,
                "answered",
                _pct(m["answered"]),
                _target("natural_answered") if held else None,
                _met("natural_answered", m["answered"]) if held else None,
            )
            add(
                figure,
                "gold page cited",
                _pct(m["gold_cited"]),
                _target("natural_gold_cited") if held else None,
                _met("natural_gold_cited", m["gold_cited"]) if held else None,
            )
            add(figure, "gold page cited when answered", _pct(m["gold_cited_when_answered"]))
            add(
                figure,
                "titles repeating question words (of answers)",
                _pct(m["title_repeats"]),
                _target("natural_title_repeats") if held else None,
                _met("natural_title_repeats", m["title_repeats"]) if held else None,
            )
            if m["bottom_line_rouge_l"] is not None:
                add(
                    figure,
                    "bottom line ROUGE-L vs the gold section",
                    f"{m['bottom_line_rouge_l']:.3f}",
                )
            if m["abstain_reasons"]:
                add(figure, "declined, why (questions)", _reasons(m["abstain_reasons"]))
            off = m["gold_not_in_corpus"]
            if off["questions"]:
                add(
                    figure,
                    f"answered, gold not in corpus ({off['questions']} q)",
                    _pct(off["answered"]),
                )
    if "bioasq" in report:
        m = report["bioasq"]["all"]
        figure = f"2. BioASQ ({m['gold_in_corpus']:,} of {m['questions']:,} q, gold in corpus)"
        add(
            figure,
            "answered",
            _pct(m["answered"]),
            _target("bioasq_answered"),
            _met("bioasq_answered", m["answered"]),
        )
        add(
            figure,
            "gold PMID cited",
            _pct(m["gold_cited"]),
            _target("bioasq_gold_cited"),
            _met("bioasq_gold_cited", m["gold_cited"]),
        )
        if m["rouge_l"] is not None:
            add(figure, "ROUGE-L vs the ideal answer (abstentions 0)", f"{m['rouge_l']:.3f}")
        if m["abstain_reasons"]:
            add(figure, "declined, why (questions)", _reasons(m["abstain_reasons"]))
        for split in SPLITS:
            s = report["bioasq"]["splits"][split]
            add(
                figure,
                f"{split.replace('_', ' ')}: answered / gold cited",
                f"{_pct(s['answered'])} / {_pct(s['gold_cited'])}",
            )
    if "medicationqa" in report:
        m = report["medicationqa"]["all"]
        figure = f"3. MedicationQA ({m['gold_in_corpus']} of {m['rows']} rows in corpus)"
        add(
            figure,
            "answered",
            _pct(m["answered"]),
            _target("medicationqa_answered"),
            _met("medicationqa_answered", m["answered"]),
        )
        add(figure, "own answer row cited", _pct(m["own_row_cited"]))
        add(figure, "an answer row of the question cited", _pct(m["a_row_of_the_question_cited"]))
        if m["abstain_reasons"]:
            add(figure, "declined, why (rows)", _reasons(m["abstain_reasons"]))
    if "offcorpus" in report:
        m = report["offcorpus"]
        figure = f"4. off-corpus ({m['all']['questions']} q)"
        add(
            figure,
            "abstained",
            _pct(m["all"]["abstained"]),
            _target("offcorpus_abstained"),
            _met("offcorpus_abstained", m["all"]["abstained"]),
        )
        for kind, k in m["kinds"].items():
            if k["questions"]:
                add(
                    figure,
                    f"abstained, {kind.replace('_', '-')} ({k['questions']})",
                    _pct(k["abstained"]),
                )
    add_faithfulness_and_latency(add, report, "5. faithfulness (all parts)", "6. latency", "natural q")
    return out


def add_faithfulness_and_latency(
    add: Any, report: dict[str, Any], faithfulness: str, latency: str, questions: str
) -> None:
    """The faithfulness and warm-latency rows every answer benchmark reports, via `add`."""
    f = report["faithfulness"]
    if f["statements"] or f["quotes"]:
        add(
            faithfulness,
            f"statements verbatim in their quotes ({f['statements']:,})",
            _pct(f["statements_verbatim"]),
            _target("faithfulness"),
            _met("faithfulness", f["statements_verbatim"]),
        )
        add(
            faithfulness,
            f"quotes verbatim in their documents ({f['quotes']:,})",
            _pct(f["quotes_in_document"]),
            _target("faithfulness"),
            _met("faithfulness", f["quotes_in_document"]),
        )
    warm = report["latency_ms"]["ask_warm"]
    if warm:
        add(
            latency,
            f"ask, warm, p50 ({warm['n']} {questions})",
            f"{warm['p50']:.1f} ms",
            _target("latency_p50_ms", "ms"),
            _met("latency_p50_ms", warm["p50"]),
        )
        add(latency, "ask, warm, p95", f"{warm['p95']:.1f} ms")


def tables(report: dict[str, Any]) -> list[Table]:
    """The figures against their targets, and the natural questions per type and audience."""
    main = figures_table("Natural-question benchmark", report["figures"])
    out = [main]
    if "natural" in report:
        detail = Table(
            title="Natural questions by type and audience (held out | tune)", title_justify="left"
        )
        for column in ("group", "gold in corpus", "answered", "gold cited", "title repeats"):
            detail.add_column(column, justify="left" if column == "group" else "right")
        groups = [("types", t) for t in ns.TYPES] + [("audiences", a) for a in ns.AUDIENCES]
        for n, (kind, name) in enumerate(groups):
            if n and kind == "audiences" and groups[n - 1][0] == "types":
                detail.add_section()
            h = report["natural"][kind][name]["held_out"]
            t = report["natural"][kind][name]["tune"]
            detail.add_row(
                name.replace("_", " "),
                f"{h['gold_in_corpus']} | {t['gold_in_corpus']}",
                f"{_pct(h['answered'])} | {_pct(t['answered'])}",
                f"{_pct(h['gold_cited'])} | {_pct(t['gold_cited'])}",
                f"{_pct(h['title_repeats'])} | {_pct(t['title_repeats'])}",
            )
        out.append(detail)
    return out
