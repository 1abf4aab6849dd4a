"""A hospital's own documents: Markdown, HTML and plain text, with optional YAML front matter.

Front matter keys: id, title, source, url, date, authors, evidence_level, audience, doi, pmid.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from osler import evidence
from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, decode, year_of
from osler.models import Audience, Document, ParsedDocument, Section

_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(\n|\Z)", re.S)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter from the body; BadRecord if it is not a YAML mapping."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise BadRecord(f"invalid YAML front matter: {str(exc).splitlines()[0]}") from exc
    if not isinstance(meta, dict):
        raise BadRecord("front matter must be a YAML mapping (key: value lines)")
    return meta, text[match.end() :]


_LIST_ITEM = re.compile(r"^\s*([-*+•]|\d+[.)])\s+")


def unwrap(text: str) -> str:
    """Join soft-wrapped lines into one line per paragraph or list item."""
    out: list[str] = []
    joinable = False
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            joinable = False
            continue
        item = _LIST_ITEM.match(line)
        if item:
            out.append("- " + line[item.end() :].strip())
        elif joinable and out:
            out[-1] += " " + stripped
        else:
            out.append(stripped)
        joinable = True
    return "\n".join(out)


def markdown_sections(body: str) -> tuple[str, list[Section]]:
    """Sections at Markdown headings; the first level-1 heading is returned as the title."""
    title, sections, heading, lines = "", [], "", []
    for line in body.split("\n"):
        match = _MD_HEADING.match(line)
        if not match:
            lines.append(line)
            continue
        if "\n".join(lines).strip():
            sections.append(Section(heading=heading, text=unwrap("\n".join(lines))))
        lines = []
        if len(match.group(1)) == 1 and not title:
            title, heading = match.group(2), ""
        else:
            heading = match.group(2)
    if "\n".join(lines).strip():
        sections.append(Section(heading=heading, text=unwrap("\n".join(lines))))
    return title, sections


class _HTMLText(HTMLParser):
    """Collects title, headings and block text of an HTML page; scripts and styles are dropped."""

    BLOCKS = frozenset(
        [
            "p",
            "li",
            "div",
            "td",
            "th",
            "dd",
            "dt",
            "blockquote",
            "pre",
            "br",
            "tr",
            "section",
            "article",
        ]
    )
    HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
    DROP = frozenset(["script", "style", "noscript", "template", "svg", "head", "nav", "footer"])

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.sections: list[Section] = []
        self._heading = ""
        self._buf: list[str] = []
        self._head_buf: list[str] | None = None
        self._title_buf: list[str] | None = None
        self._drop = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._title_buf = []
        elif tag in self.DROP:
            self._drop += 1
        elif tag in self.HEADINGS:
            self._flush()
            self._head_buf = []
        elif tag in self.BLOCKS:
            self._buf.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title_buf is not None:
            self.title = clean_inline("".join(self._title_buf))
            self._title_buf = None
        elif tag in self.DROP:
            self._drop = max(0, self._drop - 1)
        elif tag in self.HEADINGS and self._head_buf is not None:
            text = clean_inline("".join(self._head_buf))
            self._head_buf = None
            if tag == "h1" and not self.title:
                self.title = text
            else:
                self._heading = text
        elif tag in self.BLOCKS:
            self._buf.append("\n")

    def handle_data(self, data: str) -> None:
        if self._title_buf is not None:
            self._title_buf.append(data)
        elif self._drop:
            return
        elif self._head_buf is not None:
            self._head_buf.append(data)
        else:
            self._buf.append(re.sub(r"\s+", " ", data))

    def _flush(self) -> None:
        text = "".join(self._buf)
        if text.strip():
            self.sections.append(Section(heading=self._heading, text=text))
        self._buf = []

    def result(self) -> tuple[str, list[Section]]:
        self._flush()
        return self.title, self.sections


def _plain_sections(body: str) -> tuple[str, list[Section]]:
    first = next((line.strip() for line in body.split("\n") if line.strip()), "")
    if first and len(first) <= 150 and not first.endswith("."):
        return first, [Section(heading="", text=unwrap(body.split(first, 1)[1]))]
    return "", [Section(heading="", text=unwrap(body))]


def metadata_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata keys of front matter (or a PDF's sidecar), checked and normalised; a key
    not given is None (authors: []). BadRecord on an unknown audience or evidence level."""

    def text(key: str) -> str | None:
        value = meta.get(key)
        return str(value) if value not in (None, "") else None

    when = meta.get("date")
    pub_date = when.isoformat() if isinstance(when, date) else (str(when) if when else None)
    audience = text("audience")
    if audience and audience.strip().lower() not in {a.value for a in Audience}:
        raise BadRecord(f"audience must be 'professional' or 'consumer', not {audience!r}")
    level = text("evidence_level")
    if level:
        try:
            evidence.parse_level(level)
        except ValueError as exc:
            raise BadRecord(str(exc)) from exc
    authors = meta.get("authors") or []
    return {
        "id": text("id"),
        "title": text("title"),
        "source": text("source"),
        "url": text("url"),
        "doi": text("doi"),
        "pmid": text("pmid"),
        "authors": [str(a) for a in authors] if isinstance(authors, list) else [str(authors)],
        "pub_date": pub_date,
        "audience": Audience(audience.strip().lower()) if audience else None,
        "evidence_level": level,
    }


def _document(
    path: str, meta: dict[str, Any], title: str, sections: list[Section]
) -> ParsedDocument:
    body = "\n".join(s.text for s in sections)
    if not body.strip():
        raise BadRecord("document has no text")
    check_size(body)
    fields = metadata_fields(meta)
    stem = Path(path).stem
    title = clean_inline(fields["title"] or title or stem.replace("_", " ").replace("-", " "))
    audience = fields["audience"] or Audience.PROFESSIONAL
    verdict = evidence.assess(
        title=title,
        abstract=body,
        consumer=audience is Audience.CONSUMER,
        explicit=fields["evidence_level"],
    )
    digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "document"
    pub_date = fields["pub_date"]
    doc = Document(
        id=fields["id"] or f"local:{slug}-{digest}",
        title=title,
        source=fields["source"] or "local document",
        source_type="local-document",
        url=fields["url"],
        doi=fields["doi"],
        pmid=fields["pmid"],
        authors=fields["authors"],
        pub_date=pub_date,
        year=year_of(pub_date),
        audience=audience,
        evidence_level=verdict.level,
        evidence_inferred=verdict.inferred,
        evidence_reason=verdict.reason,
        extra={"dataset": "local", "file": Path(path).name},
    )
    return ParsedDocument(document=doc, sections=sections)


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """One local document (.md, .html, .txt)."""
    meta, body = front_matter(decode(fh.read()).replace("\r\n", "\n"))
    suffix = Path(path).suffix.lower()
    if suffix in {".html", ".htm"}:
        reader = _HTMLText()
        reader.feed(body)
        title, sections = reader.result()
    elif suffix in {".md", ".markdown"}:
        title, sections = markdown_sections(body)
    else:
        title, sections = _plain_sections(body)
    yield _document(path, meta, title, sections)
