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


#: Private markers around emphasised text while a fragment is read (never in the output).
_EM_OPEN, _EM_CLOSE = "\x01", "\x02"
_EMPHASIS = frozenset(["strong", "b", "em", "i", "u", "storng"])
_EMPHASISED = re.compile(f"{_EM_OPEN}[^{_EM_CLOSE}]*{_EM_CLOSE}")
#: A superscript that is an exponent or sign ("10^9/L", "m^2"); other superscripts are
#: footnote marks ("a", "†", "a,b") and are dropped, as they would glue onto the word before.
_EXPONENT = re.compile(r"[+\-−]?\d+[+\-−]?|[+\-−]")
_KEPT_SUPERSCRIPT = frozenset(["®", "™", "TM", "©", "²", "³", "°"])
_WHITESPACE = re.compile(r"\s+")


class _Table:
    """The rows of one HTML table being read: each cell's text, and whether it is a <th>."""

    def __init__(self) -> None:
        self.rows: list[list[tuple[str, bool]]] = []
        self.cell: list[str] | None = None
        self.header_cell = False

    def lines(self) -> list[str]:
        """One line per row: a header row labels the cells of the rows below it ("- Procedure:
        CT head; Rating: 9"); a single-cell row (a caption, a sub-heading) stands as it is."""
        out: list[str] = []
        header: list[str] | None = None
        body_rows = 0
        for row in self.rows:
            cells = [text for text, _ in row]
            texts = [_EMPHASISED.sub(lambda m: m.group(0)[1:-1], c).strip() for c in cells]
            if not any(texts):
                continue
            if len(row) > 1 and all(th for _, th in row) and not body_rows:
                header = texts
                continue
            body_rows += 1
            if len(row) == 1:
                out.append(cells[0].strip())
            elif header and len(header) == len(texts):
                pairs = [
                    f"{h}: {t}" if h and h != t else t
                    for h, t in zip(header, texts, strict=True)
                    if t
                ]
                out.append("- " + "; ".join(pairs))
            elif row[0][1] and not any(th for _, th in row[1:]) and texts[0] and any(texts[1:]):
                rest = [t for t in texts[1:] if t]
                out.append(f"- {texts[0].rstrip(':')}: " + "; ".join(rest))
            else:
                out.append("- " + "; ".join(t for t in texts if t))
        if header and not body_rows:
            out.append("- " + "; ".join(t for t in header if t))
        return out


class _FragmentText(_HTMLText):
    """The text of an HTML fragment (one field of a record) laid out for chunking: a line per
    paragraph, list items as "- " lines, a heading (<h1>-<h6>, or a paragraph that is all bold
    or emphasis) on a line of its own, table rows as "- " lines labelled by the header row.
    Superscript footnote marks are dropped; exponents keep a caret ("10^9/L")."""

    def __init__(self) -> None:
        super().__init__()
        self._em = 0
        self._items = 0
        self._tables: list[_Table] = []
        self._sup: list[str] | None = None

    def _write(self, text: str) -> None:
        if self._sup is not None:
            self._sup.append(text)
        elif self._tables and self._tables[-1].cell is not None:
            # a cell is one line: its paragraphs and items are joined by spaces
            self._tables[-1].cell.append(text.replace("\n- ", " ").replace("\n", " "))
        else:
            self._buf.append(text)

    def _inline(self) -> bool:
        return bool(self._items) or bool(self._tables and self._tables[-1].cell is not None)

    def _emphasis(self, opening: bool) -> None:
        if opening:
            self._em += 1
            if self._em == 1:
                self._write(_EM_OPEN)
        elif self._em:
            self._em -= 1
            if not self._em:
                self._write(_EM_CLOSE)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DROP:
            self._drop += 1
        elif tag in _EMPHASIS:
            self._emphasis(True)
        elif tag in self.HEADINGS:
            self._write("\n")
            self._emphasis(True)
        elif tag == "li":
            self._items += 1
            self._write("\n- ")
        elif tag == "table":
            self._tables.append(_Table())
        elif tag == "tr" and self._tables:
            self._tables[-1].rows.append([])
        elif tag in ("td", "th") and self._tables:
            table = self._tables[-1]
            if not table.rows:
                table.rows.append([])
            table.cell, table.header_cell = [], tag == "th"
        elif tag == "sup":
            self._sup = []
        elif tag in self.BLOCKS or tag == "hr":
            self._write(" " if self._inline() else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.DROP:
            self._drop = max(0, self._drop - 1)
        elif tag in _EMPHASIS:
            self._emphasis(False)
        elif tag in self.HEADINGS:
            self._emphasis(False)
            self._write("\n")
        elif tag == "li":
            self._items = max(0, self._items - 1)
            self._write("\n")
        elif tag in ("td", "th") and self._tables and self._tables[-1].cell is not None:
            table = self._tables[-1]
            text = clean_inline("".join(table.cell or []))
            table.rows[-1].append((text, table.header_cell))
            table.cell = None
        elif tag == "table" and self._tables:
            lines = self._tables.pop().lines()
            if self._inline():
                self._write(" " + "; ".join(line.removeprefix("- ") for line in lines) + " ")
            else:
                self._write("\n" + "\n".join(lines) + "\n")
        elif tag == "sup" and self._sup is not None:
            mark, self._sup = "".join(self._sup).strip(), None
            if _EXPONENT.fullmatch(mark):
                self._write("^" + mark)
            elif mark in _KEPT_SUPERSCRIPT:
                self._write(mark)
        elif tag in self.BLOCKS:
            self._write(" " if self._inline() else "\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._write(" " if self._inline() else "\n")

    def handle_data(self, data: str) -> None:
        if not self._drop:
            self._write(_WHITESPACE.sub(" ", data))

    def text(self) -> str:
        self.close()
        while self._tables:  # an unclosed table still yields its rows
            self._buf.append("\n" + "\n".join(self._tables.pop().lines()) + "\n")
        lines = []
        for raw in "".join(self._buf).split("\n"):
            line = clean_inline(raw)
            if not line or line == "-":
                continue
            if _EM_OPEN in line and not _EMPHASISED.sub("", line).strip(" .:"):
                line = _heading_line(line.replace(_EM_OPEN, "").replace(_EM_CLOSE, ""))
            lines.append(clean_inline(line.replace(_EM_OPEN, "").replace(_EM_CLOSE, "")))
        return "\n".join(line for line in lines if line and line != "-")


#: A heading line this short is a sub-heading to chunking (see chunking._is_subheading).
_SUBHEADING_WORDS = 8


def _heading_line(line: str) -> str:
    """A bold or heading line as a sub-heading: "Treatment:" -> "Treatment", "Variant 1: Adult
    with fever." -> "Variant 1: Adult with fever". A longer line (a bold sentence or lead-in)
    keeps its punctuation."""
    line = clean_inline(line)
    if len(line.split()) > _SUBHEADING_WORDS:
        return line
    if line.endswith(":"):
        return line[:-1].rstrip()
    if line.endswith(".") and ":" in line:
        return line[:-1].rstrip()
    return line


def html_fragment_text(markup: str) -> str:
    """The text of an HTML fragment, one paragraph, list item ("- ") or heading a line (see
    _FragmentText). Character references are decoded; tags, scripts and styles are gone."""
    reader = _FragmentText()
    reader.feed(markup)
    return reader.text()


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
