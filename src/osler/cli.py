"""The `osler` command: each command is a thin call into the library."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from osler import config
from osler.compose.answer import Answerer
from osler.evaluate.commands import eval_app
from osler.index import dense as dense_module
from osler.index.lexical import LexicalIndex
from osler.ingest import pipeline
from osler.ingest.registry import FORMATS
from osler.models import EVIDENCE_LABELS, Answer, EvidenceLevel, Hit, IngestSummary, Query
from osler.render import FORMATS as ANSWER_FORMATS
from osler.render import render
from osler.render.terminal import renderable
from osler.retrieve.search import READERS, Searcher, hit_json, read_batch, read_questions
from osler.review import articles
from osler.review.commands import articles_app, audit, review_app, run_staleness, users_app
from osler.review.settings import EditorialSettings
from osler.store import Store, open_store
from osler.store.review import ReviewStore

app = typer.Typer(
    help="Osler: cited, guideline-first clinical answers from the medical literature you ingest.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(eval_app, name="eval")
app.add_typer(users_app, name="users")
app.add_typer(review_app, name="review")
app.add_typer(articles_app, name="articles")
app.command("audit")(audit)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help=f"Data directory (default: ${config.DATA_DIR_ENV} or per-user dir)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _store(data_dir: Path | None) -> Store:
    return open_store(config.data_dir(data_dir))


class _RichProgress(pipeline.Progress):
    """Ingest progress as a rich bar over bytes, with the current file and documents written."""

    def __init__(self, progress: Progress) -> None:
        self.bar = progress
        self.task = progress.add_task("ingest", total=None, file="", docs=0)

    def start(self, total_bytes: int, files: int) -> None:
        self.bar.update(self.task, total=total_bytes or 1)

    def file(self, path: Path) -> None:
        self.bar.update(self.task, file=path.name)

    def advance(self, done_bytes: int, documents: int) -> None:
        self.bar.update(self.task, completed=done_bytes, docs=documents)


def _print_summary(summary: IngestSummary) -> None:
    console.print(
        f"[bold]Ingested[/] {summary.documents:,} new documents, {summary.updated:,} updated, "
        f"{summary.unchanged:,} unchanged; {summary.passages:,} passages written; "
        f"{len(summary.skipped):,} skipped; {summary.seconds:.1f} s"
    )
    docs = [s for s in summary.skipped if s.reason == pipeline.DOC_SKIP]
    rest = [s for s in summary.skipped if s.reason != pipeline.DOC_SKIP]
    if docs:
        console.print(f"{len(docs)} documentation files (README, SOURCE.md ...) not ingested.")
    if rest:
        table = Table("path", "record", "reason", title="Skipped", title_justify="left")
        table.columns[0].overflow = "fold"
        for s in rest[:50]:
            table.add_row(escape(s.path), escape(s.record or ""), escape(s.reason))
        console.print(table)
        if len(rest) > 50:
            console.print(f"... and {len(rest) - 50:,} more (use --json for all)")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help=f"Force a format ({', '.join(FORMATS)}); default: detect."),
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any file or record was skipped.")
    ] = False,
) -> None:
    """Ingest medical sources (PubMed/PMC XML, MEDLINE, MedQuAD, BioASQ, PubMedQA, local docs)."""
    if fmt and fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    store = _store(data_dir)
    columns = (
        TextColumn("[bold]{task.fields[file]}", justify="left"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[docs]:,} docs"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            summary = pipeline.ingest(store, paths, fmt=fmt, progress=_RichProgress(bar))
        _sync_indexes(store, config.data_dir(data_dir), quiet=as_json)
    except KeyboardInterrupt:
        err.print(
            "[red]Interrupted[/]: batches written so far are kept; the batch in flight was rolled back."
        )
        raise typer.Exit(130) from None
    finally:
        store.close()
    if as_json:
        print(summary.model_dump_json(indent=2))
    else:
        _print_summary(summary)
    if summary.documents + summary.updated:
        _check_articles(data_dir)
    written = summary.documents + summary.updated + summary.unchanged
    if written == 0 or (strict and any(s.reason != pipeline.DOC_SKIP for s in summary.skipped)):
        raise typer.Exit(1)


def _check_articles(data_dir: Path | None) -> None:
    """After new evidence: flag approved articles whose sources moved (if there are any)."""
    store = _store(data_dir)
    try:
        served = ReviewStore(store.db).articles(served=True)  # type: ignore[attr-defined]
    finally:
        store.close()
    if not served:
        return
    err.print(f"Checking {len(served)} approved article(s) against the new evidence ...")
    answerer = Answerer.open(data_dir)
    try:
        flags = run_staleness(answerer)
    finally:
        answerer.close()
    err.print(f"{len(flags)} article(s) flagged for re-review.")


@app.command()
def stats(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Show what the store holds: documents and passages by source, type, evidence level, audience."""
    store = _store(data_dir)
    data = store.stats()
    store.close()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(
        f"[bold]{data['documents']:,}[/] documents, [bold]{data['passages']:,}[/] passages "
        f"in {data['path']} (corpus version {data['corpus_version']})"
    )
    if not data["documents"]:
        console.print("Nothing ingested yet: try [bold]osler ingest ../shared/data[/]")
        return
    labels = {level.value: f"{level.value}  {EVIDENCE_LABELS[level]}" for level in EvidenceLevel}
    for key, title in [
        ("by_dataset", "Dataset"),
        ("by_source", "Source"),
        ("by_source_type", "Source type"),
        ("by_evidence_level", "Evidence level"),
        ("by_audience", "Audience"),
    ]:
        table = Table(title, "documents", "passages", title_justify="left")
        for name, counts in data[key].items():
            table.add_row(
                labels.get(name, name), f"{counts['documents']:,}", f"{counts['passages']:,}"
            )
        console.print(table)
    console.print(
        f"Evidence level inferred from text cues for {data['evidence_inferred']:,} documents."
    )


@app.command()
def remove(
    ids: Annotated[list[str] | None, typer.Argument(help="Document ids to remove.")] = None,
    source: Annotated[
        str | None, typer.Option(help="Remove every document of this source.")
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Remove documents by id or by source name."""
    if not ids and not source:
        raise typer.BadParameter("give document ids or --source")
    store = _store(data_dir)
    removed = store.remove(ids=ids or None, source=source)
    _sync_indexes(store, config.data_dir(data_dir), quiet=True)
    store.close()
    if as_json:
        print(json.dumps({"removed": removed}))
    else:
        console.print(f"Removed {len(removed):,} documents.")
    if not removed:
        raise typer.Exit(1)
    _check_articles(data_dir)


@app.command()
def show(
    document_id: Annotated[str, typer.Argument(help="A document id, e.g. pubmed:29768149.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Show one stored document with its metadata and passages."""
    store = _store(data_dir)
    doc = store.get_document(document_id)
    passages = store.passages(document_id) if doc else []
    store.close()
    if doc is None:
        err.print(f"No document {document_id!r}. `osler stats` shows what is stored.")
        raise typer.Exit(1)
    if as_json:
        data = doc.model_dump(mode="json")
        data["passages"] = [p.model_dump() for p in passages]
        print(json.dumps(data, indent=2))
        return
    console.print(f"[bold]{escape(doc.title)}[/]", highlight=False)
    meta = doc.model_dump(exclude={"text", "title"}, exclude_defaults=True)
    for key, value in meta.items():
        console.print(f"  [dim]{key}:[/] {escape(str(value))}", highlight=False)
    for p in passages:
        console.print(
            f"\n[cyan]{escape(p.id)}[/] [dim]{escape(p.section)} \\[{p.start}:{p.end}][/]"
        )
        console.print(p.text, markup=False, highlight=False)


def _sync_indexes(store: Store, root: Path, *, quiet: bool = False, rebuild: bool = False) -> None:
    """Bring the search indexes up to the store, with a progress bar."""
    index = LexicalIndex.at(root)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("lexical index", total=None)
        report = index.sync(
            store, lambda done, total: bar.update(task, completed=done, total=total), rebuild
        )
    if not quiet:
        what = "rebuilt" if report.rebuilt else "updated"
        err.print(
            f"Lexical index {what}: {report.documents:,} documents, {report.passages:,} passages "
            f"(corpus version {report.seq})."
        )
    dense_module.sync_if_enabled(store, root, err, quiet=quiet, rebuild=rebuild)


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild from scratch.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Bring the search indexes up to date with the store (or rebuild them)."""
    store = _store(data_dir)
    try:
        _sync_indexes(store, config.data_dir(data_dir), rebuild=rebuild)
    finally:
        store.close()


Audience = Annotated[
    str,
    typer.Option(
        "--audience",
        help=f"Who is reading: {', '.join(READERS)} (changes the sources, the sentences "
        "chosen and the wording).",
    ),
]


@app.command()
def search(
    question: Annotated[str | None, typer.Argument(help="The question.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many passages.")] = 10,
    audience: Audience = "clinician",
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the query analysis and score parts.")
    ] = False,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="File of questions (lines, or JSONL with 'question')."),
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Search the evidence: ranked passages with source, evidence level and year."""
    if not question and not batch:
        raise typer.BadParameter("give a question or --batch FILE")
    if audience not in READERS:
        raise typer.BadParameter(f"unknown audience {audience!r}; use one of {', '.join(READERS)}")
    searcher = Searcher.open(data_dir)
    try:
        if not searcher.documents:
            err.print(
                "Nothing is ingested yet: run [bold]osler ingest PATH[/] (e.g. ../shared/data)."
            )
            raise typer.Exit(1)
        if batch:
            for q in read_questions(batch):
                hits = searcher.search(q, k=k, audience=audience)
                print(json.dumps({"question": q, "results": [hit_json(h, explain) for h in hits]}))
            return
        assert question is not None
        hits = searcher.search(question, k=k, audience=audience)
        query = searcher.analyse(question)
        if as_json:
            out: object = [hit_json(h, explain) for h in hits]
            if explain:
                out = {"query": query.model_dump(), "results": out}
            print(json.dumps(out, indent=2))
            return
        _print_hits(hits, query if explain else None)
    finally:
        searcher.close()


def _print_hits(hits: list[Hit], query: Query | None) -> None:
    if query is not None:
        console.print(
            f"[dim]type[/] {query.question_type}{' (yes/no)' if query.yes_no else ''}  "
            f"[dim]focus[/] {escape(query.focus)}  [dim]terms[/] {escape(' '.join(query.terms))}"
            + (f"  [dim]expanded[/] {escape(str(query.expansions))}" if query.expansions else "")
        )
    if not hits:
        console.print("No matching passages. Try other words, or check `osler stats`.")
    for n, h in enumerate(hits, 1):
        year = f", {h.year}" if h.year else ""
        console.print(
            f"[bold]{n}. {escape(h.title)}[/] [dim]({escape(h.source)}{year}; "
            f"{escape(h.evidence_level.label)}; {escape(h.section)})[/]"
        )
        console.print(f"   {escape(h.text)}", highlight=False)
        if query is not None:
            parts = "  ".join(f"{k}={v:.3f}" for k, v in h.components.items())
            console.print(f"   [dim]score {h.score:.3f}: {parts}[/]")


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The clinical question.")] = None,
    audience: Audience = "clinician",
    fmt: Annotated[str, typer.Option("--format", help="text, markdown, json or html.")] = "text",
    k: Annotated[int, typer.Option("--k", min=3, max=100, help="Passages to compose from.")] = 30,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="File of questions (lines, or JSONL with question/audience)."),
    ] = None,
    llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="Have the LLM at OSLER_LLM_BASE_URL write the answer (citation-checked; "
            "falls back to the extractive composer).",
        ),
    ] = False,
    show_unsupported: Annotated[
        bool,
        typer.Option(
            "--show-unsupported",
            help="With --llm: keep sentences that fail citation checks, flagged.",
        ),
    ] = False,
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Continue this conversation id.")
    ] = None,
    follow_up: Annotated[
        bool, typer.Option("--follow-up", help="Continue the last conversation (a follow-up).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Answer a question with a short, cited clinical article."""
    if not question and not batch:
        raise typer.BadParameter("give a question or --batch FILE")
    if audience not in READERS:
        raise typer.BadParameter(f"unknown audience {audience!r}; use one of {', '.join(READERS)}")
    if fmt not in ANSWER_FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; use one of {', '.join(ANSWER_FORMATS)}")
    answerer = Answerer.open(data_dir)
    try:
        if not answerer.searcher.documents:
            err.print(
                "Nothing is ingested yet: run [bold]osler ingest PATH[/] (e.g. ../shared/data)."
            )
            raise typer.Exit(1)
        if batch:
            for item in read_batch(batch, default_audience=audience):
                answer = answerer.ask(
                    item["question"],
                    audience=item["audience"],
                    k=k,
                    llm=llm,
                    show_unsupported=show_unsupported,
                )
                print(answer.model_dump_json() if fmt == "json" else render(answer, fmt))
            return
        assert question is not None
        last = config.data_dir(data_dir) / LAST_CONVERSATION
        if follow_up and not conversation and last.is_file():
            conversation = last.read_text().strip()
        conversation = conversation or uuid.uuid4().hex
        answer = articles.answer(
            ReviewStore(answerer.searcher.store.db),  # type: ignore[attr-defined]
            answerer,
            question,
            audience=audience,
            conversation_id=conversation,
            settings=EditorialSettings.from_env(),
            documents=answerer.searcher.store,
            k=k,
            llm=llm,
            show_unsupported=show_unsupported,
        )
        last.write_text(conversation)
        _show_answer(answer, fmt)
    finally:
        answerer.close()


LAST_CONVERSATION = "last-conversation"


def _show_answer(answer: Answer, fmt: str) -> None:
    if fmt == "text" and console.is_terminal:
        console.print(renderable(answer))
        if answer.standalone_question != answer.question:
            console.print(f"[dim]Understood as: {escape(answer.standalone_question)}[/]")
        for f in answer.follow_ups:
            console.print(f"[dim]You may also ask:[/] {escape(f)}")
    else:
        print(render(answer, fmt))


@app.command()
def chat(
    audience: Audience = "clinician",
    data_dir: DataDir = None,
) -> None:
    """Ask questions one after another; follow-ups keep the conversation's context."""
    if audience not in READERS:
        raise typer.BadParameter(f"unknown audience {audience!r}; use one of {', '.join(READERS)}")
    answerer = Answerer.open(data_dir)
    conversation = uuid.uuid4().hex
    console.print("Ask a question (empty line or Ctrl-D to stop).")
    try:
        while True:
            try:
                question = console.input("[bold]> [/]").strip()
            except EOFError:
                break
            if not question or question.lower() in {"exit", "quit"}:
                break
            answer = answerer.ask(question, audience=audience, conversation_id=conversation)
            _show_answer(answer, "text")
    finally:
        answerer.close()
        (config.data_dir(data_dir) / LAST_CONVERSATION).write_text(conversation)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    rate: Annotated[int, typer.Option(help="Requests per minute per client (0: no limit).")] = 120,
    data_dir: DataDir = None,
) -> None:
    """Serve the web app and REST API (OpenAPI at /docs)."""
    import uvicorn

    from osler.web.app import create_app

    application = create_app(data_dir, rate_per_minute=rate)
    err.print(f"Osler at http://{host}:{port}/  (API docs: /docs)")
    # the app reads X-Forwarded-For itself, from $OSLER_TRUSTED_PROXIES only
    uvicorn.run(application, host=host, port=port, log_level="warning", proxy_headers=False)


@app.command()
def formats() -> None:
    """List the source formats `osler ingest` understands."""
    table = Table("format", "what")
    for f in FORMATS.values():
        table.add_row(f.name, f.description)
    console.print(table)


if __name__ == "__main__":
    app()
