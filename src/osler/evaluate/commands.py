"""`osler eval ...`: benchmark commands (mounted in osler.cli with `app.add_typer`)."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from osler.evaluate import answers as answers_bench
from osler.evaluate import audience as audience_bench
from osler.evaluate import clinician as clinician_bench
from osler.evaluate import llm as llm_bench
from osler.evaluate import natural as natural_bench
from osler.evaluate import retrieval as bench
from osler.evaluate import verifier as verifier_bench
from osler.index import dense as dense_module
from osler.ingest import pipeline
from osler.retrieve.search import Searcher
from osler.service import Osler
from osler.settings import load
from osler.store import open_store, stored

eval_app = typer.Typer(
    help="Measure Osler on the shared benchmark data: retrieval (against a plain BM25 baseline) "
    "and answers.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


JsonPath = Annotated[
    Path | None, typer.Option("--json", help="Also write the report as JSON to this file.")
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The ingested data dir to evaluate (default, as for every command: "
        "$OSLER_DATA_DIR, else the per-user data dir).",
    ),
]
FreshOption = Annotated[
    bool,
    typer.Option(
        "--fresh",
        help="Evaluate a temporary data dir instead, holding all of the shared data, ingested "
        "and indexed for this run.",
    ),
]
SharedOption = Annotated[
    Path | None,
    typer.Option(
        "--shared-data",
        help="Where the questions come from (default: $OSLER_SHARED_DATA or "
        "../shared/data).",
    ),
]


def _print_corpus(report: dict[str, Any], where: str) -> None:
    corpus = report["corpus"]
    console.print(
        f"Corpus: {corpus['documents']:,} documents, {corpus['passages']:,} passages "
        f"(corpus version {corpus['corpus_version']}; {where})."
    )


def _write_json(report: dict[str, Any], json_path: Path | None) -> None:
    if json_path:
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        console.print(f"Report written to {json_path}")


@eval_app.callback()
def _eval() -> None:
    """Benchmarks of Osler on the shared data."""


class _BarProgress(bench.Progress):
    """One rich bar per task on stderr (questions done, ETA); a plain line when not a terminal."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: Any = None
        self.name = ""
        self.total = 0
        self.began = 0.0

    def start(self, name: str, total: int) -> None:
        self.name, self.total, self.began = name, total, time.perf_counter()
        self.task = self.bar.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def done(self) -> None:
        if self.bar.disable:
            elapsed = time.perf_counter() - self.began
            err.print(f"{self.name}: {self.total:,} questions in {elapsed:.1f} s")


class _IngestProgress(pipeline.Progress):
    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task = bar.add_task("ingest shared data", total=None)

    def start(self, total_bytes: int, files: int) -> None:
        self.bar.update(self.task, total=total_bytes or 1)

    def advance(self, done_bytes: int, documents: int) -> None:
        self.bar.update(self.task, completed=done_bytes)


def _bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )


@contextmanager
def _corpus(data_dir: Path | None, shared: Path, fresh: bool) -> Iterator[tuple[Path, str]]:
    """The data dir (given, else the settings' one), or with `fresh` a temporary one built from
    the shared data: (path, description)."""
    if not fresh:
        data_dir = load().with_data_dir(data_dir).data_dir
        if not stored(data_dir):
            raise bench.BenchmarkError(
                f"{data_dir} holds no Osler store: run `osler ingest` first, give --data-dir, "
                "or --fresh to ingest the shared data for this run"
            )
        yield data_dir, str(data_dir)
        return
    if not shared.is_dir():
        raise bench.BenchmarkError(f"no shared data at {shared} (set $OSLER_SHARED_DATA)")
    with tempfile.TemporaryDirectory(prefix="osler-eval-") as tmp:
        root = Path(tmp)
        store = open_store(root)
        try:
            with _bar() as bar:
                summary = pipeline.ingest(store, [shared], progress=_IngestProgress(bar))
            err.print(
                f"Ingested {summary.documents:,} documents ({summary.passages:,} passages) "
                f"from {shared} into a temporary data dir in {summary.seconds:.1f} s."
            )
            settings = load().with_data_dir(root)
            dense_module.sync_if_enabled(store, root, settings.dense, quiet=True)
        finally:
            store.close()
        yield root, f"temporary (all of {shared})"


def _on_corpus(
    data_dir: Path | None,
    shared: Path,
    fresh: bool,
    run: Callable[[Path, bench.Progress], dict[str, Any]],
) -> dict[str, Any]:
    """Run a benchmark on the corpus (given, or ingested for the run) with a progress bar; print
    the corpus line; a benchmark that cannot run exits 2 with the reason."""
    try:
        with _corpus(data_dir, shared, fresh) as (root, where), _bar() as bar:
            report = run(root, _BarProgress(bar))
        report["corpus"]["data_dir"] = where
    except bench.BenchmarkError as exc:
        err.print(f"[red]Cannot run the benchmark[/]: {exc}")
        raise typer.Exit(2) from None
    _print_corpus(report, where)
    return report


@contextmanager
def _searcher(
    data_dir: Path | None, shared: Path, fresh: bool
) -> Iterator[tuple[Searcher, str]]:
    """The searcher (the service's retrieval component, which this benchmark measures) of the
    data dir, or of a temporary one built from the shared data."""
    with _corpus(data_dir, shared, fresh) as (root, where), Osler.open(data_dir=root) as osler:
        yield osler.searcher, where


@eval_app.command()
def retrieval(
    json_path: JsonPath = None,
    tasks: Annotated[
        str, typer.Option("--tasks", help=f"Comma-separated tasks: {','.join(bench.TASKS)}.")
    ] = ",".join(bench.TASKS),
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="Questions per task (default: a 2,000 MedQuAD sample, all BioASQ and PubMedQA).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    fresh: FreshOption = False,
    shared: SharedOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the question samples.")] = bench.SEED,
    per_question: Annotated[
        Path | None,
        typer.Option(
            "--per-question",
            help="Write one JSON line per question (each system's top 10 and gold rank).",
        ),
    ] = None,
) -> None:
    """Retrieval benchmark: Osler vs a plain BM25 baseline (and dense-only) on MedQuAD, BioASQ, PubMedQA."""
    names = [t.strip().lower() for t in tasks.split(",") if t.strip()]
    bad = [t for t in names if t not in bench.TASKS]
    if bad or not names:
        raise typer.BadParameter(
            f"unknown task {bad[0]!r}" if bad else "no task given", param_hint="--tasks"
        )
    shared = shared or load().shared_data
    lines = per_question.open("w", encoding="utf-8") if per_question else None

    def write_line(record: dict[str, Any]) -> None:
        assert lines is not None
        lines.write(json.dumps(record) + "\n")

    try:
        with _searcher(data_dir, shared, fresh) as (searcher, where), _bar() as bar:
            report = bench.run_benchmark(
                searcher,
                list(dict.fromkeys(names)),
                limit=limit,
                shared=shared,
                seed=seed,
                progress=_BarProgress(bar),
                details=write_line if lines else None,
            )
        report["corpus"]["data_dir"] = where
    except bench.BenchmarkError as exc:
        err.print(f"[red]Cannot run the benchmark[/]: {exc}")
        raise typer.Exit(2) from None
    finally:
        if lines:
            lines.close()
    _print_corpus(report, where)
    for table in bench.tables(report):
        console.print(table)
    for name, task in report["tasks"].items():
        excluded = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in task["excluded"].items())
        console.print(
            f"[dim]{name}: {task['questions']:,} of {task['available']:,} eligible questions; "
            f"{excluded}[/]"
        )
    _write_json(report, json_path)


@eval_app.command()
def answers(
    json_path: JsonPath = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help=f"Cap every question set (default: {answers_bench.SAMPLE} MedQuAD questions, "
            f"{answers_bench.OFF_CORPUS} off-corpus and as many in-corpus questions).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    fresh: FreshOption = False,
    shared: SharedOption = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the question samples.")
    ] = answers_bench.SEED,
) -> None:
    """Answer benchmark: quality, citation faithfulness, verifier, abstention and latency of `osler ask`."""
    shared = shared or load().shared_data
    report = _on_corpus(
        data_dir,
        shared,
        fresh,
        lambda root, progress: answers_bench.run_answers(
            root, limit=limit, shared=shared, seed=seed, progress=progress
        ),
    )
    for table in answers_bench.tables(report):
        console.print(table)
    failures = report["abstention"]["failures"]["off_corpus_answered"]
    for f in failures[:3]:
        console.print(
            f"[dim]off-corpus answered: {f['question']!r} -> {f['bottom_line'][:100]!r}[/]"
        )
    _write_json(report, json_path)


@eval_app.command()
def natural(
    json_path: JsonPath = None,
    parts: Annotated[
        str,
        typer.Option("--parts", help=f"Comma-separated parts: {','.join(natural_bench.PARTS)}."),
    ] = ",".join(natural_bench.PARTS),
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="Questions per part, a fixed-seed sample (default: all; natural questions are "
            "then sampled among those whose gold is in the corpus).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    fresh: FreshOption = False,
    shared: SharedOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the samples.")] = natural_bench.SEED,
) -> None:
    """Natural-question benchmark: questions as people type them, BioASQ, MedicationQA, off-corpus."""
    names = [p.strip().lower() for p in parts.split(",") if p.strip()]
    bad = [p for p in names if p not in natural_bench.PARTS]
    if bad or not names:
        raise typer.BadParameter(
            f"unknown part {bad[0]!r}" if bad else "no part given", param_hint="--parts"
        )
    shared = shared or load().shared_data
    report = _on_corpus(
        data_dir,
        shared,
        fresh,
        lambda root, progress: natural_bench.run_benchmark(
            root,
            shared=shared,
            parts=list(dict.fromkeys(names)),
            limit=limit,
            seed=seed,
            progress=progress,
        ),
    )
    for table in natural_bench.tables(report):
        console.print(table)
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in report["seconds"].items())
    console.print(f"[dim]Time: {seconds}.[/]")
    _write_json(report, json_path)


@eval_app.command()
def audience(
    json_path: JsonPath = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="MedQuAD questions answered per audience.")
    ] = audience_bench.LIMIT,
    data_dir: DataDirOption = None,
    fresh: FreshOption = False,
    shared: SharedOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the question sample.")] = bench.SEED,
) -> None:
    """Audience benchmark: readability (Flesch-Kincaid) and source fit of patient vs clinician answers."""
    shared = shared or load().shared_data
    report = _on_corpus(
        data_dir,
        shared,
        fresh,
        lambda root, progress: audience_bench.run_benchmark(
            root, shared, limit=limit, seed=seed, progress=progress
        ),
    )
    for table in audience_bench.tables(report):
        console.print(table)
    _write_json(report, json_path)


@eval_app.command()
def followups(
    json_path: JsonPath = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Question pairs.")] = 500,
    data_dir: DataDirOption = None,
    fresh: FreshOption = False,
    shared: SharedOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the pair sample.")] = 13,
) -> None:
    """Follow-up benchmark: recall@5 of a follow-up that does not name its topic, with context vs without."""
    from osler.evaluate import followups as followup_bench

    shared = shared or load().shared_data
    try:
        with (
            _corpus(data_dir, shared, fresh) as (root, where),
            Osler.open(data_dir=root) as osler,
            _bar() as bar,
        ):
            task = bar.add_task("follow-ups", total=limit)
            report = followup_bench.run(
                osler,
                shared / "medquad" / "medquad.jsonl",
                limit=limit,
                seed=seed,
                tick=lambda: bar.advance(task),
            )
    except bench.BenchmarkError as exc:
        err.print(f"[red]Cannot run the benchmark[/]: {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"{report['pairs']} pairs ({where}): recall@5 with context "
        f"{report['recall@5_with_context']:.3f}, without {report['recall@5_without_context']:.3f} "
        f"(target {report['target']})"
    )
    _write_json(report, json_path)


@eval_app.command()
def clinician(
    json_path: JsonPath = None,
    parts: Annotated[
        str,
        typer.Option("--parts", help=f"Comma-separated parts: {','.join(clinician_bench.PARTS)}."),
    ] = ",".join(clinician_bench.PARTS),
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=0,
            help="Clinician questions and Evidence Inference prompts, a fixed-seed sample of each "
            f"(default: every question and {clinician_bench.EVIDENCE_SAMPLE} prompts; 0: all).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    fresh: FreshOption = False,
    shared: SharedOption = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the samples.")
    ] = clinician_bench.SEED,
) -> None:
    """Clinician benchmark: clinician questions, Evidence Inference prompts, the flagship question, latency."""
    names = [p.strip().lower() for p in parts.split(",") if p.strip()]
    bad = [p for p in names if p not in clinician_bench.PARTS]
    if bad or not names:
        raise typer.BadParameter(
            f"unknown part {bad[0]!r}" if bad else "no part given", param_hint="--parts"
        )
    shared = shared or load().shared_data
    report = _on_corpus(
        data_dir,
        shared,
        fresh,
        lambda root, progress: clinician_bench.run_benchmark(
            root,
            shared=shared,
            parts=list(dict.fromkeys(names)),
            limit=limit,
            seed=seed,
            progress=progress,
        ),
    )
    for table in clinician_bench.tables(report):
        console.print(table)
    warm = report["latency_ms"]["ask_warm"]
    if warm:
        console.print(f"Warm ask p50: {warm['p50']:.1f} ms over {warm['n']} clinician questions.")
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in report["seconds"].items())
    console.print(f"[dim]Time: {seconds}.[/]")
    _write_json(report, json_path)


@eval_app.command()
def verifier(
    json_path: JsonPath = None,
    shared: SharedOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the pairs and of the split.")] = (
        verifier_bench.SEED
    ),
    show: Annotated[
        int, typer.Option("--show", min=0, help="Print this many held-out misses of each kind.")
    ] = 0,
) -> None:
    """LLM-mode verifier benchmark: genuine paraphrases accepted, corruptions caught (pairs built
    from the Cochrane and MedQuAD shared data; threshold tuned on one half, the other reported)."""
    shared = shared or load().shared_data
    try:
        report = verifier_bench.measure(shared, seed=seed, show=show)
    except bench.BenchmarkError as exc:
        err.print(f"[red]Cannot run the benchmark[/]: {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"Similarity threshold chosen on the tuning half: {report['threshold']:g} "
        f"(shipped: {report['shipped_threshold']:g})."
    )
    for half in ("tuning", "held_out"):
        r = report[half]
        console.print(
            f"{half}: {r['genuine']} genuine, {r['corruptions']} corruptions; accepted "
            f"{r['accepted']:.1%}, caught {r['caught']:.1%}"
        )
        for kind, row in r["by_kind"].items():
            share = row.get("accepted", row.get("caught"))
            label = "accepted" if "accepted" in row else "caught"
            console.print(f"    {kind:<12} {row['pairs']:>5} pairs, {label} {share:.1%}")
    if show:
        console.print_json(data=report["examples"])
    _write_json(report, json_path)


@eval_app.command("llm")
def llm_mode(
    json_path: JsonPath = None,
    questions: Annotated[
        int, typer.Option("--questions", min=1, help="MedQuAD questions, each asked three ways.")
    ] = llm_bench.QUESTIONS,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="The model's OpenAI-compatible endpoint (default: serve the packaged SmolLM2 "
            "with llama.cpp for this run).",
        ),
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=16)] = 600,
    data_dir: DataDirOption = None,
    fresh: FreshOption = False,
    shared: SharedOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the question sample.")] = (
        llm_bench.SEED
    ),
) -> None:
    """LLM-mode benchmark: statements passing the checks, fallbacks, latency, patient grade."""
    shared = shared or load().shared_data
    llm_settings = load().llm

    def run(root: Path, progress: bench.Progress, url: str) -> dict[str, Any]:
        settings = llm_settings.model_copy(
            update={"base_url": url, "max_tokens": max_tokens, "timeout_s": 600}
        )
        return llm_bench.run_benchmark(
            root, shared, settings, questions=questions, seed=seed, progress=progress
        )

    with tempfile.TemporaryDirectory(prefix="osler-llm-") as tmp:
        try:
            with (
                llm_bench.local_server(Path(tmp) / "server.log")
                if not base_url
                else _given(base_url) as url
            ):
                report = _on_corpus(
                    data_dir, shared, fresh, lambda root, progress: run(root, progress, url)
                )
        except bench.BenchmarkError as exc:
            err.print(f"[red]Cannot run the benchmark[/]: {exc}")
            raise typer.Exit(2) from None
    for name in ("clinician_llm", "patient_llm", "patient_extractive"):
        console.print(f"{name}: {json.dumps(report[name])}")
    _write_json(report, json_path)


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url
