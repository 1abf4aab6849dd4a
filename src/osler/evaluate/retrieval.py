"""The retrieval benchmark: Osler's ranking against a plain BM25 baseline (and dense-only).

Three tasks, all on one corpus in one process (see docs/evaluation.md):

* ``medquad``: a MedQuAD question -> the MedQuAD page its answer came from (document level;
  Osler and the baseline both restricted to MedQuAD documents).
* ``bioasq``: a BioASQ question -> its relevant PMIDs (PMID level, whole corpus).
* ``pubmedqa``: a PubMedQA question -> its own abstract's PMID (PMID level, whole corpus).

The questions are read from the shared data folder; a question whose gold document is not in
the corpus is left out and counted. Nothing here is tuned on the questions.
"""

from __future__ import annotations

import json
import random
import re
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from osler.evaluate import metrics
from osler.retrieve.search import Searcher
from osler.service import Osler
from osler.settings import load
from osler.store import Store

TASKS = ("medquad", "bioasq", "pubmedqa", "evidence")
SEED = 13
MEDQUAD_LIMIT = 2000
#: Passages asked of Osler per question (at most `per_document` per document: >= 10 documents).
OSLER_K = 50
#: Passages asked of the baseline and of the dense index (they may return many per document).
BM25_K = 300
DENSE_K = 300
#: Latency is measured on ordinary searches: the default k of `osler search`.
LATENCY_K = 10
LATENCY_WARMUP = 5

Metric = Callable[[Sequence[str], Collection[str]], float]

TASK_METRICS: dict[str, dict[str, Metric]] = {
    "medquad": {
        "recall@1": lambda r, g: metrics.recall_at_k(r, g, 1),
        "recall@5": lambda r, g: metrics.recall_at_k(r, g, 5),
        "recall@10": lambda r, g: metrics.recall_at_k(r, g, 10),
        "mrr@10": lambda r, g: metrics.reciprocal_rank(r, g, 10),
    },
    "bioasq": {
        "ndcg@10": lambda r, g: metrics.ndcg_at_k(r, g, 10),
        "recall@10": lambda r, g: metrics.recall_at_k(r, g, 10),
        "map@10": lambda r, g: metrics.average_precision_at_k(r, g, 10),
    },
    "pubmedqa": {
        "recall@1": lambda r, g: metrics.recall_at_k(r, g, 1),
        "recall@5": lambda r, g: metrics.recall_at_k(r, g, 5),
        "mrr@10": lambda r, g: metrics.reciprocal_rank(r, g, 10),
    },
    "evidence": {
        "recall@1": lambda r, g: metrics.recall_at_k(r, g, 1),
        "recall@10": lambda r, g: metrics.recall_at_k(r, g, 10),
        "mrr@10": lambda r, g: metrics.reciprocal_rank(r, g, 10),
    },
}

TITLES = {
    "medquad": "MedQuAD",
    "bioasq": "BioASQ",
    "pubmedqa": "PubMedQA",
    "evidence": "Evidence Inference (dev)",
}

#: The tasks whose questions any ranking weight was chosen on: their report also gives the
#: metrics on each half (see `split_of`), so the held-out half shows what tuning did not see.
TUNED_TASKS = ("bioasq",)
SPLITS = ("tune", "held_out")


def split_of(question_id: str) -> str:
    """A question's fixed half: "tune" (weights were chosen on it) or "held_out" (never looked at).

    CRC32 of the question id, even or odd: stable across runs, machines and sample sizes.
    """
    return SPLITS[zlib.crc32(question_id.encode("utf-8")) % 2]


_PMID_URL = re.compile(r"(\d+)\s*/?\s*$")


class BenchmarkError(RuntimeError):
    """The benchmark cannot run: missing question files, an empty corpus, a missing package."""


@dataclass(frozen=True)
class Question:
    """One benchmark question and the keys (document ids or PMIDs) judged relevant to it."""

    id: str
    text: str
    relevant: frozenset[str]


@dataclass
class Task:
    """The questions of one task and how its rankings are read."""

    name: str
    questions: list[Question]
    #: "document": rank distinct document ids; "pmid": rank distinct PMIDs (documents without
    #: a PMID keep their own id, so they take a rank but never count as relevant).
    level: str
    audience: str
    datasets: set[str] | None = None
    available: int = 0
    excluded: dict[str, int] = field(default_factory=dict)


class Progress:
    """What a front end hears while the benchmark runs; the default hears nothing."""

    def start(self, name: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def done(self) -> None: ...


# --- questions --------------------------------------------------------------------------


def _sample(items: list[Any], limit: int | None, seed: int) -> list[Any]:
    if limit is None or limit >= len(items):
        return items
    return random.Random(seed).sample(items, limit)


def _need(path: Path, task: str) -> Path:
    if not path.exists():
        raise BenchmarkError(f"the {task} questions are missing: no {path}")
    return path


def medquad_task(
    shared: Path, corpus_ids: Collection[str], limit: int | None = MEDQUAD_LIMIT, seed: int = SEED
) -> Task:
    """MedQuAD rows whose page is in the corpus; a fixed-seed sample of `limit` of them.

    Gold: `medquad:{source}:{doc_id}`, the one document per MedQuAD page.
    """
    path = _need(shared / "medquad" / "medquad.jsonl", "medquad")
    eligible: list[Question] = []
    missing = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            gold = f"medquad:{row['source']}:{row['doc_id']}"
            text = str(row.get("question") or "").strip()
            if gold not in corpus_ids or not text:
                missing += 1
                continue
            eligible.append(Question(str(row["id"]), text, frozenset([gold])))
    chosen = _sample(eligible, MEDQUAD_LIMIT if limit is None else limit, seed)
    return Task(
        "medquad",
        chosen,
        level="document",
        audience="patient",
        datasets={"medquad"},
        available=len(eligible),
        excluded={"questions_gold_not_in_corpus": missing},
    )


def bioasq_task(
    shared: Path, corpus_pmids: Collection[str], limit: int | None = None, seed: int = SEED
) -> Task:
    """BioASQ questions with their judged PMIDs that are in the corpus (the others are counted).

    The corpus only holds PMIDs that have gold snippets, so some judged PMIDs cannot be found by
    any system: recall is against the judged PMIDs present in the corpus, and a question with
    none of them is left out.
    """
    folder = _need(shared / "bioasq", "bioasq")
    files = sorted(folder.rglob("*.json"))
    if not files:
        raise BenchmarkError(f"the bioasq questions are missing: no JSON files under {folder}")
    eligible: list[Question] = []
    total = judged = missing = excluded = 0
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for q in data.get("questions", []) if isinstance(data, dict) else []:
            total += 1
            pmids = set()
            for url in q.get("documents") or []:
                match = _PMID_URL.search(str(url))
                if match:
                    pmids.add(match.group(1))
            present = frozenset(p for p in pmids if p in corpus_pmids)
            judged += len(pmids)
            missing += len(pmids) - len(present)
            text = str(q.get("body") or q.get("_body") or "").strip()
            if not present or not text:
                excluded += 1
                continue
            eligible.append(Question(str(q.get("id", len(eligible))), text, present))
    return Task(
        "bioasq",
        _sample(eligible, limit, seed),
        level="pmid",
        audience="clinician",
        available=len(eligible),
        excluded={
            "questions_total": total,
            "questions_without_relevant_in_corpus": excluded,
            "judged_pmids": judged,
            "judged_pmids_not_in_corpus": missing,
        },
    )


def pubmedqa_task(
    shared: Path, corpus_ids: Collection[str], limit: int | None = None, seed: int = SEED
) -> Task:
    """PubMedQA (PQA-L) questions whose `pubmedqa:{pmid}` document is in the corpus.

    Gold is the PMID, so any document of that PMID (e.g. a BioASQ excerpt document) counts.
    """
    path = _need(shared / "pubmedqa" / "ori_pqal.json", "pubmedqa")
    data = json.loads(path.read_text(encoding="utf-8"))
    eligible: list[Question] = []
    missing = 0
    for pmid, item in data.items():
        text = str(item.get("QUESTION") or "").strip() if isinstance(item, dict) else ""
        if f"pubmedqa:{pmid}" not in corpus_ids or not text:
            missing += 1
            continue
        eligible.append(Question(str(pmid), text, frozenset([str(pmid)])))
    return Task(
        "pubmedqa",
        _sample(eligible, limit, seed),
        level="pmid",
        audience="clinician",
        available=len(eligible),
        excluded={"questions_gold_not_in_corpus": missing},
    )


def evidence_task(
    shared: Path, corpus_ids: Collection[str], limit: int | None = None, seed: int = SEED
) -> Task:
    """Evidence Inference development prompts -> the PMC trial report they were written on.

    The query is the prompt's intervention, comparator and outcome ("LMWH versus unfractionated
    heparin: major haemorrhage"); gold is `pmc:PMC{PMCID}`, the article in `pmc_rct/`.
    """
    import csv

    path = _need(shared / "evidence_inference" / "prompts_dev.csv", "evidence")
    eligible: list[Question] = []
    missing = 0
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            gold = f"pmc:PMC{row['PMCID'].strip()}"
            parts = [row.get(k, "").strip() for k in ("Intervention", "Comparator", "Outcome")]
            if gold not in corpus_ids or not all(parts):
                missing += 1
                continue
            text = f"{parts[0]} versus {parts[1]}: {parts[2]}"
            eligible.append(Question(row["PromptID"], text, frozenset([gold])))
    return Task(
        "evidence",
        _sample(eligible, limit, seed),
        level="document",
        audience="clinician",
        available=len(eligible),
        excluded={"prompts_article_not_in_corpus": missing},
    )


def load_task(
    name: str, searcher: Searcher, shared: Path, limit: int | None, seed: int = SEED
) -> Task:
    """The questions of one task, restricted to what the searcher's corpus holds."""
    ids = searcher.documents.keys()
    pmids = {d.pmid for d in searcher.documents.values() if d.pmid}
    if name == "medquad":
        return medquad_task(shared, ids, limit, seed)
    if name == "bioasq":
        return bioasq_task(shared, pmids, limit, seed)
    if name == "pubmedqa":
        return pubmedqa_task(shared, ids, limit, seed)
    if name == "evidence":
        return evidence_task(shared, ids, limit, seed)
    raise BenchmarkError(f"unknown task {name!r}; choose from {', '.join(TASKS)}")


# --- the baseline -----------------------------------------------------------------------


class BM25Baseline:
    """Plain BM25 with `bm25s` (Lucene variant, k1=1.5, b=0.75) over passage text only.

    Tokens: lower-cased words of 2+ characters, bm25s's English stop words removed, stemmed with
    PyStemmer's English (Porter 2) stemmer. No titles, no section names, no boosts, no priors.
    """

    K1 = 1.5
    B = 0.75

    def __init__(self, passage_ids: list[str], document_ids: list[str], texts: list[str]) -> None:
        try:
            import bm25s
            import Stemmer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BenchmarkError(
                "the BM25 baseline needs the bm25s and PyStemmer packages: "
                "pip install bm25s PyStemmer"
            ) from exc
        self._bm25s = bm25s
        self.version = getattr(bm25s, "__version__", "?")
        self.stemmer = Stemmer.Stemmer("english")
        self.passage_ids = passage_ids
        self.document_ids = document_ids
        self.retriever = bm25s.BM25(k1=self.K1, b=self.B, method="lucene")
        if texts:
            tokens = self._tokenize(texts)
            self.retriever.index(tokens, show_progress=False)

    def _tokenize(self, texts: list[str]) -> Any:
        return self._bm25s.tokenize(
            texts, stopwords="en", stemmer=self.stemmer, show_progress=False
        )

    @classmethod
    def from_store(cls, store: Store, keep: Callable[[str], bool] | None = None) -> BM25Baseline:
        """Index the passages of every stored document (or of those `keep(document_id)` takes)."""
        pids: list[str] = []
        docs: list[str] = []
        texts: list[str] = []
        for _title, passages in store.iter_documents_passages():
            for p in passages:
                if keep is None or keep(p.document_id):
                    pids.append(p.id)
                    docs.append(p.document_id)
                    texts.append(p.text)
        return cls(pids, docs, texts)

    def __len__(self) -> int:
        return len(self.passage_ids)

    def search(self, text: str, k: int = BM25_K) -> list[tuple[str, str, float]]:
        """(passage id, document id, score) of the top k passages with a score above 0."""
        if not self.passage_ids:
            return []
        tokens = self._bm25s.tokenize(
            [text], stopwords="en", stemmer=self.stemmer, show_progress=False, return_ids=False
        )
        if not tokens or not tokens[0]:
            return []
        ids, scores = self.retriever.retrieve(
            tokens, k=min(k, len(self.passage_ids)), show_progress=False, n_threads=1
        )
        return [
            (self.passage_ids[i], self.document_ids[i], float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if s > 0
        ]


# --- running ----------------------------------------------------------------------------


def ranking_keys(document_ids: Iterable[str], searcher: Searcher, level: str) -> list[str]:
    """Distinct documents (or PMIDs) in order of first appearance.

    At PMID level a document without a PMID keeps its document id: it takes a rank and is
    never relevant (a document id never equals a PMID).
    """
    if level == "document":
        return metrics.distinct(document_ids)
    docs = searcher.documents
    return metrics.distinct((docs[d].pmid or d) if d in docs else d for d in document_ids)


def measure_latency(
    searcher: Searcher,
    questions: list[str],
    *,
    use_dense: bool,
    k: int = LATENCY_K,
    progress: Progress | None = None,
    name: str = "latency",
) -> dict[str, float | int] | None:
    """Wall-clock ms of `searcher.search(question, k=k)` per question: p50, p95, mean, n.

    A few untimed searches warm the caches first. None when there are no questions.
    """
    if not questions:
        return None
    progress = progress or Progress()
    for q in questions[:LATENCY_WARMUP]:
        searcher.search(q, k=k, use_dense=use_dense)
    progress.start(name, len(questions))
    times: list[float] = []
    for q in questions:
        began = time.perf_counter()
        searcher.search(q, k=k, use_dense=use_dense)
        times.append((time.perf_counter() - began) * 1000)
        progress.advance()
    progress.done()
    return metrics.latency_summary(times, digits=2)


def _systems(
    searcher: Searcher, task: Task, baseline: BM25Baseline
) -> dict[str, Callable[[str], list[str]]]:
    """The rankers of one task: each maps a question to a ranked list of document ids."""

    def osler(use_dense: bool) -> Callable[[str], list[str]]:
        def run(text: str) -> list[str]:
            hits = searcher.search(
                text,
                k=OSLER_K,
                audience=task.audience,
                datasets=task.datasets,
                use_dense=use_dense,
            )
            return [h.document_id for h in hits]

        return run

    def bm25(text: str) -> list[str]:
        return [doc for _, doc, _ in baseline.search(text, BM25_K)]

    def dense(text: str) -> list[str]:
        assert searcher.dense is not None
        pids = [pid for pid, _ in searcher.dense.search(text, DENSE_K)]
        passages = searcher.store.get_passages(pids)
        out = []
        for pid in pids:
            passage = passages.get(pid)
            doc = searcher.documents.get(passage.document_id) if passage else None
            if doc is None or (task.datasets and doc.extra.get("dataset") not in task.datasets):
                continue
            out.append(doc.id)
        return out

    rankers: dict[str, Callable[[str], list[str]]] = {"osler": osler(True)}
    if searcher.dense is not None:
        rankers["osler_lexical"] = osler(False)
    rankers["bm25"] = bm25
    if searcher.dense is not None:
        rankers["dense"] = dense
    return rankers


def run_task(
    searcher: Searcher,
    task: Task,
    baseline: BM25Baseline,
    *,
    progress: Progress | None = None,
    details: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every system on every question of a task; the mean of each metric per system."""
    progress = progress or Progress()
    measures = TASK_METRICS[task.name]
    systems = _systems(searcher, task, baseline)
    scores: dict[str, dict[str, list[float]]] = {s: {m: [] for m in measures} for s in systems}
    halves: list[str] = []
    short = dict.fromkeys(systems, 0)
    began = time.perf_counter()
    progress.start(task.name, len(task.questions))
    for q in task.questions:
        record: dict[str, Any] = {
            "task": task.name,
            "id": q.id,
            "question": q.text,
            "relevant": sorted(q.relevant),
            "split": split_of(q.id),
        }
        halves.append(record["split"])
        for system, ranker in systems.items():
            ranking = ranking_keys(ranker(q.text), searcher, task.level)
            if len(ranking) < 10:
                short[system] += 1
            for name, metric in measures.items():
                scores[system][name].append(metric(ranking, q.relevant))
            first = next((n for n, key in enumerate(ranking, 1) if key in q.relevant), None)
            record[system] = {"rank": first, "top": ranking[:10]}
        if details:
            details(record)
        progress.advance()
    progress.done()
    n = len(task.questions)
    out: dict[str, Any] = {
        "questions": n,
        "available": task.available,
        "excluded": task.excluded,
        "level": task.level,
        "audience": task.audience,
        "datasets": sorted(task.datasets) if task.datasets else None,
        "baseline_passages": len(baseline),
    }
    for system in ("osler", "osler_lexical", "bm25", "dense"):
        if system in scores and n:
            out[system] = {m: round(metrics.mean(v), 4) for m, v in scores[system].items()}
        else:
            out[system] = None
    out["rankings_under_10"] = short
    if task.name in TUNED_TASKS:
        out["splits"] = _split_means(scores, halves)
    out["seconds"] = round(time.perf_counter() - began, 1)
    return out


def _split_means(
    scores: dict[str, dict[str, list[float]]], halves: list[str]
) -> dict[str, dict[str, Any]]:
    """Each system's mean metrics on each half of the questions (see `split_of`)."""
    out: dict[str, dict[str, Any]] = {}
    for half in SPLITS:
        chosen = [n for n, h in enumerate(halves) if h == half]
        if not chosen:
            continue
        out[half] = {"questions": len(chosen)}
        for system, per_metric in scores.items():
            out[half][system] = {
                m: round(metrics.mean([values[n] for n in chosen]), 4)
                for m, values in per_metric.items()
            }
    return out


def corpus_info(osler: Osler | Searcher) -> dict[str, Any]:
    stats = osler.store.stats()
    return {
        "documents": stats["documents"],
        "passages": stats["passages"],
        "corpus_version": stats["corpus_version"],
        "datasets": {k: v["documents"] for k, v in stats["by_dataset"].items()},
    }


def run_benchmark(
    searcher: Searcher,
    tasks: Sequence[str] = TASKS,
    *,
    limit: int | None = None,
    shared: Path | None = None,
    seed: int = SEED,
    latency: bool = True,
    progress: Progress | None = None,
    details: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the tasks on the searcher's corpus and return the report (see docs/evaluation.md).

    `limit` caps the questions of every task (default: 2,000 MedQuAD, all of the others);
    `details` receives one record per question with each system's top 10 and gold rank.
    """
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise BenchmarkError(f"unknown task {unknown[0]!r}; choose from {', '.join(TASKS)}")
    if not searcher.documents:
        raise BenchmarkError("the corpus is empty: ingest data first")
    shared = shared or load().shared_data
    loaded = [load_task(name, searcher, shared, limit, seed) for name in tasks]
    baselines: dict[str, BM25Baseline] = {}

    def baseline_for(task: Task) -> BM25Baseline:
        key = ",".join(sorted(task.datasets)) if task.datasets else ""
        if key not in baselines:
            wanted = task.datasets
            docs = searcher.documents
            keep = (
                (lambda d: d in docs and docs[d].extra.get("dataset") in wanted) if wanted else None
            )
            baselines[key] = BM25Baseline.from_store(searcher.store, keep)
        return baselines[key]

    report: dict[str, Any] = {"tasks": {}}
    for task in loaded:
        report["tasks"][task.name] = run_task(
            searcher, task, baseline_for(task), progress=progress, details=details
        )
    questions = [q.text for task in loaded for q in task.questions]
    report["latency_ms"] = {
        "k": LATENCY_K,
        "osler_lexical": (
            measure_latency(
                searcher, questions, use_dense=False, progress=progress, name="latency lexical"
            )
            if latency
            else None
        ),
        "osler_hybrid": (
            measure_latency(
                searcher, questions, use_dense=True, progress=progress, name="latency hybrid"
            )
            if latency and searcher.dense is not None
            else None
        ),
    }
    report["corpus"] = corpus_info(searcher)
    bm25 = next(iter(baselines.values()), None)
    report["settings"] = {
        "seed": seed,
        "limit": limit,
        "osler_k": OSLER_K,
        "bm25_k": BM25_K,
        "dense_k": DENSE_K,
        "bm25": {
            "package": f"bm25s {bm25.version}" if bm25 else None,
            "k1": BM25Baseline.K1,
            "b": BM25Baseline.B,
            "method": "lucene",
            "tokens": "PyStemmer english stems, bm25s English stop words removed, passage text only",
        },
        "dense": searcher.dense is not None,
    }
    report["targets"] = check_targets(report)
    return report


# --- targets and tables -----------------------------------------------------------------


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its value and whether it is met (reported, not enforced)."""
    out: list[dict[str, Any]] = []
    for name, task in report["tasks"].items():
        osler, bm25 = task.get("osler"), task.get("bm25")
        if not osler or not bm25:
            continue
        ahead = all(osler[m] >= bm25[m] for m in osler) and any(osler[m] > bm25[m] for m in osler)
        out.append(
            {
                "target": f"{TITLES[name]}: Osler ahead of BM25 on every metric",
                "value": ", ".join(f"{m} {osler[m]:.3f} vs {bm25[m]:.3f}" for m in osler),
                "met": ahead,
            }
        )
        if name == "medquad":
            out.append(
                {
                    "target": "MedQuAD recall@5 >= 0.97",
                    "value": f"{osler['recall@5']:.3f}",
                    "met": osler["recall@5"] >= 0.97,
                }
            )
        if name == "bioasq":
            ratio = osler["ndcg@10"] / bm25["ndcg@10"] if bm25["ndcg@10"] else float("inf")
            out.append(
                {
                    "target": "BioASQ nDCG@10 >= 1.15 x BM25",
                    "value": f"{ratio:.3f} x",
                    "met": ratio >= 1.15,
                }
            )
    latency = report.get("latency_ms", {})
    for key, label, limit in (("osler_lexical", "lexical", 20), ("osler_hybrid", "hybrid", 60)):
        measured = latency.get(key)
        if measured:
            out.append(
                {
                    "target": f"Osler {label} p50 <= {limit} ms",
                    "value": f"{measured['p50']:.1f} ms",
                    "met": measured["p50"] <= limit,
                }
            )
    return out


def _ratio(a: float, b: float) -> str:
    if b == 0:
        return "-" if a == 0 else "inf"
    return f"{a / b:.2f}x"


def tables(report: dict[str, Any]) -> list[Table]:
    """The report as rich tables: metrics per task and system, latency, targets."""
    tasks = report["tasks"]
    with_dense = any(t.get("dense") for t in tasks.values())
    results = Table(title="Retrieval benchmark", title_justify="left")
    results.add_column("task")
    results.add_column("metric")
    results.add_column("Osler", justify="right")
    if with_dense:
        results.add_column("Osler lexical", justify="right")
    results.add_column("BM25", justify="right")
    results.add_column("Osler / BM25", justify="right")
    if with_dense:
        results.add_column("dense", justify="right")
    for name, task in tasks.items():
        label = f"{TITLES.get(name, name)} ({task['questions']:,} q)"
        if not task.get("osler"):
            results.add_row(
                label, "no questions in this corpus", *[""] * (len(results.columns) - 2)
            )
            continue
        for n, (metric, value) in enumerate(task["osler"].items()):
            base = task["bm25"][metric]
            style = "green" if value > base else "red" if value < base else ""
            row = [label if n == 0 else "", metric, f"{value:.3f}"]
            if with_dense:
                lexical = task.get("osler_lexical")
                row.append(f"{lexical[metric]:.3f}" if lexical else "-")
            row += [
                f"{base:.3f}",
                f"[{style}]{_ratio(value, base)}[/]" if style else _ratio(value, base),
            ]
            if with_dense:
                dense = task.get("dense")
                row.append(f"{dense[metric]:.3f}" if dense else "-")
            results.add_row(*row)
        results.add_section()
    latency = Table(
        title=f"Query latency (ms per search, k={report['latency_ms']['k']})",
        title_justify="left",
    )
    for column in ("search", "p50", "p95", "mean", "questions"):
        latency.add_column(column, justify="left" if column == "search" else "right")
    for key, label in (("osler_lexical", "Osler lexical"), ("osler_hybrid", "Osler hybrid")):
        m = report["latency_ms"].get(key)
        if m:
            latency.add_row(
                label, f"{m['p50']:.1f}", f"{m['p95']:.1f}", f"{m['mean']:.1f}", f"{m['n']:,}"
            )
        else:
            latency.add_row(
                label, "-", "-", "-", "not measured" if key == "osler_lexical" else "no dense index"
            )
    targets = Table("target", "value", "met", title="Targets", title_justify="left")
    for t in report["targets"]:
        targets.add_row(t["target"], t["value"], "[green]yes[/]" if t["met"] else "[red]no[/]")
    return [results, latency, targets]
