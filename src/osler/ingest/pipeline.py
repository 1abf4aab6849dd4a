"""The ingest run: find files, detect formats, parse, chunk, and write in atomic batches."""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from osler.ingest import chunking
from osler.ingest.base import BadRecord, ParseResult
from osler.ingest.registry import DOC_FILE, FORMATS, UnknownFormat, detect, sidecar_of
from osler.models import Document, IngestSummary, ParsedDocument, Passage, Section, Skipped
from osler.store import Store

#: Documents written per transaction: a crash loses at most the batch in flight.
BATCH = 500

DOC_SKIP = "documentation of the dataset folder"

Merge = Callable[[ParsedDocument, ParsedDocument], ParsedDocument]


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest, with its format and size."""

    path: Path
    format: str
    size: int


class Progress:
    """What a front end wants to hear about; the default hears nothing."""

    def start(self, total_bytes: int, files: int) -> None: ...
    def file(self, path: Path) -> None: ...
    def advance(self, done_bytes: int, documents: int) -> None: ...


def find_sources(paths: list[Path], fmt: str | None, skipped: list[Skipped]) -> list[SourceFile]:
    """Expand folders, detect formats; what cannot be ingested goes to `skipped` with a reason."""
    if fmt and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    found: list[SourceFile] = []
    for root in paths:
        if not root.exists():
            skipped.append(Skipped(path=str(root), reason="no such file or directory"))
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            rel = path.relative_to(root) if root.is_dir() else Path(path.name)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if root.is_dir() and DOC_FILE.match(path.name):
                skipped.append(
                    Skipped(path=str(path), reason="documentation of the dataset folder")
                )
                continue
            pdf = sidecar_of(path)
            if pdf is not None:
                # read with its PDF; reported only when it cannot be (no PDF, or named alone)
                if not pdf.is_file():
                    skipped.append(Skipped(path=str(path), reason=f"sidecar without {pdf.name}"))
                elif not root.is_dir():
                    reason = f"metadata sidecar of {pdf.name}: ingest the PDF, which reads it"
                    skipped.append(Skipped(path=str(path), reason=reason))
                continue
            try:
                found.append(SourceFile(path, fmt or detect(path), path.stat().st_size))
            except UnknownFormat as exc:
                skipped.append(Skipped(path=str(path), reason=str(exc)))
    return found


def _describe(exc: Exception) -> str:
    if isinstance(exc, ET.ParseError):
        return f"XML syntax error: {exc}"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc}"
    if isinstance(exc, (BadRecord, ValueError, UnicodeDecodeError, EOFError, OSError)):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _records(
    source: SourceFile, raw: BinaryIO, within: Callable[[float], None]
) -> Iterator[ParseResult]:
    """Parse one file; a fatal error ends the file with a Skipped after what was already read.
    Formats that report progress inside a file tell `within` the share done."""
    stream: BinaryIO = gzip.GzipFile(fileobj=raw) if source.path.name.endswith(".gz") else raw
    fmt = FORMATS[source.format]
    try:
        if fmt.progress:
            yield from fmt.parser()(stream, str(source.path), progress=within)
        else:
            yield from fmt.parser()(stream, str(source.path))
    except Exception as exc:
        yield Skipped(path=str(source.path), reason=_describe(exc))


def _stored(store: Store, document_id: str) -> ParsedDocument | None:
    """A stored document as sections again (one line per passage), for merging."""
    doc = store.get_document(document_id)
    if doc is None:
        return None
    sections: list[Section] = []
    for p in store.passages(document_id):
        if sections and sections[-1].heading == p.section:
            sections[-1].text += "\n" + p.text
        else:
            sections.append(Section(heading=p.section, text=p.text, atomic=True))
    return ParsedDocument(document=doc, sections=sections)


def _merger(fmt: str) -> Merge | None:
    try:
        module = importlib.import_module(FORMATS[fmt].module)
    except ImportError:  # the parse reports it, file by file
        return None
    return getattr(module, "merge", None)


def ingest(
    store: Store, paths: list[Path], *, fmt: str | None = None, progress: Progress | None = None
) -> IngestSummary:
    """Ingest files and folders into the store; bad files and records are reported, not fatal."""
    began = time.perf_counter()
    progress = progress or Progress()
    summary = IngestSummary()
    sources = find_sources(paths, fmt, summary.skipped)
    progress.start(sum(s.size for s in sources), len(sources))
    batch: list[tuple[Document, list[Passage], str, str]] = []
    pending: dict[str, tuple[ParsedDocument, str, Merge]] = {}

    def flush() -> None:
        if not batch:
            return
        with store.transaction():
            for document, passages, origin, digest in batch:
                _write(store, document, passages, origin, digest, summary)
        batch.clear()

    def add(parsed: ParsedDocument, origin: str) -> None:
        digest = parsed_hash(parsed)
        if store.stored_hash(parsed.document.id) == digest:
            summary.unchanged += 1
            return
        document, passages = prepare(parsed)
        if not passages:
            summary.skipped.append(
                Skipped(path=origin, record=document.id, reason="no text to index")
            )
            return
        batch.append((document, passages, origin, digest))
        if len(batch) >= BATCH:
            flush()

    done = 0
    try:
        for source in sources:
            progress.file(source.path)
            merge = _merger(source.format)
            reached = 0  # bytes of this file a parser reported done (see Format.progress)

            def within(share: float, source: SourceFile = source, base: int = done) -> None:
                nonlocal reached
                reached = max(reached, min(int(share * source.size), source.size))
                progress.advance(base + reached, summary.documents)

            with open(source.path, "rb") as raw:
                for result in _records(source, raw, within):
                    if isinstance(result, Skipped):
                        summary.skipped.append(result)
                    elif merge:
                        key = result.document.id
                        prev = pending.get(key)
                        pending[key] = (
                            merge(prev[0], result) if prev else result,
                            str(source.path),
                            merge,
                        )
                    else:
                        add(result, str(source.path))
                    position = max(reached, min(raw.tell(), source.size))
                    progress.advance(done + position, summary.documents)
            done += source.size
        for key, (parsed, origin, merge) in pending.items():
            stored = _stored(store, key)
            add(merge(stored, parsed) if stored else parsed, origin)
        flush()
    finally:
        summary.seconds = round(time.perf_counter() - began, 2)
    return summary


def prepare(parsed: ParsedDocument) -> tuple[Document, list[Passage]]:
    """The document with its full text set, and its passages."""
    text, passages = chunking.build(parsed.document.id, parsed.sections)
    return parsed.document.model_copy(update={"text": text}), passages


def parsed_hash(parsed: ParsedDocument) -> str:
    """Identifies what a parser produced, and how it is chunked, before any chunking is done."""
    payload = f"{chunking.VERSION}|{parsed.model_dump_json()}"
    return hashlib.sha256(payload.encode()).hexdigest()


def _write(
    store: Store,
    document: Document,
    passages: list[Passage],
    origin: str,
    digest: str,
    summary: IngestSummary,
) -> None:
    outcome = store.write(document, passages, origin, digest)
    if outcome == "unchanged":
        summary.unchanged += 1
        return
    summary.passages += len(passages)
    if outcome == "new":
        summary.documents += 1
    else:
        summary.updated += 1
