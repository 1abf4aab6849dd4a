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

from osler.audience import READERS
from osler.batch import read_batch, read_questions
from osler.cli_review import articles_app, audit, review_app, show_flags, users_app
from osler.evaluate.commands import eval_app
from osler.ingest import pipeline
from osler.ingest.registry import FORMATS
from osler.models import EVIDENCE_LABELS, Answer, EvidenceLevel, Hit, IngestSummary, Query
from osler.render import FORMATS as ANSWER_FORMATS
from osler.render import render
from osler.render.terminal import renderable
from osler.retrieve.search import NothingIngested, hit_json
from osler.service import Osler, sync_indexes
from osler.settings import Settings, load
from osler.store import Store, open_store, review_store, stored

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
        "--data-dir", help="Data directory (default: $OSLER_DATA_DIR, else the per-user dir)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _settings(data_dir: Path | None) -> Settings:
    """The settings in effect, with --data-dir on top; a clear error when one is malformed."""
    try:
        return load().with_data_dir(data_dir)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None


def _open(data_dir: Path | None) -> Osler:
    """The service over a store that holds documents; else a message naming the data
    directory, exit 1 (nothing is created where nothing was ingested)."""
    settings = _settings(data_dir)
    if not stored(settings):
        _nothing(settings)
    osler = Osler.open(settings)
    if osler.empty:
        osler.close()
        _nothing(settings)
    return osler


def _nothing(settings: Settings) -> None:
    err.print(str(NothingIngested(str(settings.data_dir))), markup=False, highlight=False)
    raise typer.Exit(1)


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
    settings = _settings(data_dir)
    store = open_store(settings)
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
        _sync_indexes(store, settings, quiet=as_json)
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
        _check_articles(settings)
    written = summary.documents + summary.updated + summary.unchanged
    if written == 0 or (strict and any(s.reason != pipeline.DOC_SKIP for s in summary.skipped)):
        raise typer.Exit(1)


def _check_articles(settings: Settings) -> None:
    """After new evidence: flag approved articles whose sources moved (if there are any)."""
    store = open_store(settings)
    try:
        served = review_store(store).articles(served=True)
    finally:
        store.close()
    if not served:
        return
    err.print(f"Checking {len(served)} approved article(s) against the new evidence ...")
    with Osler.open(settings) as osler:
        flags = show_flags(osler.check_articles())
    err.print(f"{len(flags)} article(s) flagged for re-review.")


@app.command()
def stats(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Show what the store holds: documents and passages by source, type, evidence level, audience."""
    settings = _settings(data_dir)
    if not stored(settings):
        empty = {"documents": 0, "passages": 0, "path": str(settings.data_dir)}
        if as_json:
            print(json.dumps(empty, indent=2))
        else:
            where = escape(str(settings.data_dir))
            console.print(f"Nothing ingested yet in {where}: try [bold]osler ingest ../shared/data[/]")
        return
    store = open_store(settings)
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
    settings = _settings(data_dir)
    store = open_store(settings)
    removed = store.remove(ids=ids or None, source=source)
    _sync_indexes(store, settings, quiet=True)
    store.close()
    if as_json:
        print(json.dumps({"removed": removed}))
    else:
        console.print(f"Removed {len(removed):,} documents.")
    if not removed:
        raise typer.Exit(1)
    _check_articles(settings)


@app.command()
def show(
    document_id: Annotated[str, typer.Argument(help="A document id, e.g. pubmed:29768149.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Show one stored document with its metadata and passages."""
    with _open(data_dir) as osler:
        found = osler.document(document_id)
    if found is None:
        err.print(f"No document {document_id!r}. `osler stats` shows what is stored.")
        raise typer.Exit(1)
    doc, passages = found
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


def _sync_indexes(
    store: Store, settings: Settings, *, quiet: bool = False, rebuild: bool = False
) -> None:
    """Bring the search indexes up to the store, with progress bars."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        lexical = bar.add_task("lexical index", total=None)
        dense = bar.add_task("dense index", total=None, visible=False)

        def dense_progress(done: int, total: int) -> None:
            bar.update(dense, completed=done, total=total, visible=True)

        sync_indexes(
            store,
            settings,
            rebuild=rebuild,
            lexical_progress=lambda done, total: bar.update(lexical, completed=done, total=total),
            dense_progress=dense_progress,
            say=lambda line: err.print(line, markup=False, highlight=False),
            quiet=quiet,
        )


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild from scratch.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Bring the search indexes up to date with the store (or rebuild them)."""
    settings = _settings(data_dir)
    store = open_store(settings)
    try:
        _sync_indexes(store, settings, rebuild=rebuild)
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
    with _open(data_dir) as osler:
        if batch:
            for q in read_questions(batch):
                hits = osler.search(q, k=k, audience=audience)
                print(json.dumps({"question": q, "results": [hit_json(h, explain) for h in hits]}))
            return
        assert question is not None
        hits = osler.search(question, k=k, audience=audience)
        query = osler.searcher.analyse(question) if explain else None
    if as_json:
        out: object = [hit_json(h, explain) for h in hits]
        if query is not None:
            out = {"query": query.model_dump(), "results": out}
        print(json.dumps(out, indent=2))
        return
    _print_hits(hits, query)


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
            help="With --llm: also show the model's statements that failed a check, and "
            "which check (the JSON always lists them under 'rejected').",
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
    with _open(data_dir) as osler:
        if batch:  # a batch neither serves approved articles nor files drafts
            for item in read_batch(batch, default_audience=audience):
                answer = osler.ask(
                    item["question"],
                    item["audience"],
                    serve_approved=False,
                    save_draft=False,
                    k=k,
                    llm=llm,
                )
                shown = render(answer, fmt, show_rejected=show_unsupported)
                print(answer.model_dump_json() if fmt == "json" else shown)
            return
        assert question is not None
        last = osler.settings.data_dir / LAST_CONVERSATION
        if follow_up and not conversation and last.is_file():
            conversation = last.read_text().strip()
        conversation = conversation or uuid.uuid4().hex
        answer = osler.ask(question, audience, conversation, k=k, llm=llm)
        last.write_text(conversation)
    _show_answer(answer, fmt, show_rejected=show_unsupported)


LAST_CONVERSATION = "last-conversation"


def _show_answer(answer: Answer, fmt: str, *, show_rejected: bool = False) -> None:
    if fmt == "text" and console.is_terminal:
        console.print(renderable(answer, show_rejected=show_rejected))
        if answer.standalone_question != answer.question:
            console.print(f"[dim]Understood as: {escape(answer.standalone_question)}[/]")
        for f in answer.follow_ups:
            console.print(f"[dim]You may also ask:[/] {escape(f)}")
    else:
        print(render(answer, fmt, show_rejected=show_rejected))


@app.command()
def chat(
    audience: Audience = "clinician",
    data_dir: DataDir = None,
) -> None:
    """Ask questions one after another; follow-ups keep the conversation's context."""
    if audience not in READERS:
        raise typer.BadParameter(f"unknown audience {audience!r}; use one of {', '.join(READERS)}")
    conversation = uuid.uuid4().hex
    with _open(data_dir) as osler:
        console.print("Ask a question (empty line or Ctrl-D to stop).")
        try:
            while True:
                try:
                    question = console.input("[bold]> [/]").strip()
                except EOFError:
                    break
                if not question or question.lower() in {"exit", "quit"}:
                    break
                _show_answer(osler.ask(question, audience, conversation), "text")
        finally:
            (osler.settings.data_dir / LAST_CONVERSATION).write_text(conversation)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    rate: Annotated[
        int | None,
        typer.Option(help="Requests per minute per client (0: no limit; default 120, or "
                     "$OSLER_WEB_RATE_PER_MINUTE)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the web app and REST API (OpenAPI at /docs)."""
    import uvicorn

    from osler.web.app import create_app

    settings = _settings(data_dir)
    if rate is not None:
        web = settings.web.model_copy(update={"rate_per_minute": rate})
        settings = settings.model_copy(update={"web": web})
    application = create_app(settings)
    err.print(f"Osler at http://{host}:{port}/  (API docs: /docs)")
    # the app reads X-Forwarded-For itself, from $OSLER_TRUSTED_PROXIES only
    uvicorn.run(application, host=host, port=port, log_level="warning", proxy_headers=False)


@app.command("mcp")
def mcp_command(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(help="With --http: interface (default 127.0.0.1, or $OSLER_MCP_HOST; any "
                     "other than loopback needs $OSLER_MCP_TOKEN)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="With --http: port (default 8001, or $OSLER_MCP_PORT).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve Osler's tools to AI assistants over the Model Context Protocol (see docs/mcp.md)."""
    from osler import mcp

    settings = _settings(data_dir)
    if http:
        try:
            mcp.check_listen(host or settings.mcp.host, settings.mcp.token.get_secret_value())
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from None
        err.print(f"Osler MCP at http://{host or settings.mcp.host}:{port or settings.mcp.port}/mcp")
    with _open(data_dir) as osler:
        mcp.serve(osler, http=http, host=host, port=port)


@app.command()
def formats() -> None:
    """List the source formats `osler ingest` understands."""
    table = Table("format", "what")
    for f in FORMATS.values():
        table.add_row(f.name, f.description)
    console.print(table)


if __name__ == "__main__":
    app()
