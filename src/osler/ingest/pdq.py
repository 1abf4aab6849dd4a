"""cancer.gov pages as Markdown with a YAML header: NCI PDQ summaries and other cancer.gov pages.

A PDQ summary comes in a health-professional version (URL with an `hp` path part, title
"...–Health Professional Version") written and graded by a PDQ editorial board, and a patient
version. What is kept of a page:

- the page title (its own H1, not the YAML title with " - NCI") and sections from the heading
  tree, each headed by its heading path below the title ("Treatment Options › Surgery");
- clean text: links become their text, tables become one line per row (cells joined with
  "; "), lists stay "- " lines, images, emphasis, escapes and HTML tags are removed;
- inline citations (`[[10](#cit/section_5.10)]`, lists and ranges) as `cite` annotations and
  PDQ levels of evidence (`[[Level of evidence A1](...)]`) as `loe` annotations, which chunking
  lifts onto each passage's `extra`. `section_N.M` is reference M of the list that closes the
  N-th H2 section of the page; those lists are stored as `extra["references"]` (JSON: key ->
  {"text", "pmid"}), not as passages;
- the date of "Latest Updates to This Summary (MM/DD/YYYY)" as the publication date (the YAML
  `lastReviewed` is when the page was collected: `extra["collected"]`).

Dropped: "About This PDQ Summary" and all under it, "Latest Updates ...", "Current Clinical
Trials" and "Clinical Trials Accepting Patients" boilerplate, "Go to Patient Version" lines
(their target is kept as `extra["patient_version"]` / `extra["professional_version"]`), image
credits and placeholders, promotional cards linking to other pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

from osler import citations
from osler.ingest import annotations
from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, decode
from osler.ingest.local import front_matter, unwrap
from osler.models import Audience, Document, EvidenceLevel, ParsedDocument, Section, Skipped

SOURCE_PDQ = "NCI PDQ"
SOURCE_SITE = "cancer.gov"
GUIDELINE_SUMMARY = "guideline-summary"
CONSUMER_HEALTH = "consumer-health"

_URL = re.compile(r"^https?://(?:www\.)?cancer\.gov(/[^\s?#]*)?")
#: A health-professional page: an `hp` part in the URL path (/hp/, hp-..., ...-hp-pdq).
_HP_PATH = re.compile(r"(?:^|[/-])hp(?:[/-]|$)")
_NCI_SUFFIX = re.compile(r"\s+-\s+NCI$")
_HP_TITLE = re.compile(r"Health Professional Version|for Health Professionals", re.I)
_PDQ_TITLE = re.compile(r"\(PDQ®?\)")
#: More control characters than this share of the text: a binary file converted as text.
MAX_CONTROL_SHARE = 0.01
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")

_HEADING = re.compile(r"^(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_UPDATED = re.compile(r"^Latest Updates to This (?:PDQ )?Summary\b", re.I)
_DATE = re.compile(r"\((\d{1,2})/(\d{1,2})/(\d{4})\)")
#: Headings whose whole subtree is boilerplate.
_DROP_HEADINGS = re.compile(
    r"^(About This PDQ Summary|Current Clinical Trials|Clinical Trials Accepting Patients"
    r"|To Learn More About .*)$",
    re.I,
)
_REFERENCES = re.compile(r"^References$", re.I)
_REF_ITEM = re.compile(r"^\s*(\d+)\.\s+(.*)$")
_GO_TO = re.compile(r"^\s*\[Go to (Patient|Health Professional) Version\]\(([^)\s]*)\)\s*$")
_BOARD = re.compile(r"\[(PDQ®? [^\]\n]*?Editorial Board)\]")
#: Lines that are page furniture, not text (after cleaning).
_FURNITURE = re.compile(
    r"^(Placeholder slot|Enlarge( Image)?|View more research|Credit: .{1,120}|-"
    r"|- (patient \| )?health professional|You need to enable JavaScript to run this app\."
    r"|Use our (advanced )?clinical trial search .*)$"
)
#: Drug pages: a label line and its value line read as one ("FDA Approved: Yes").
_FIELD = re.compile(r"^((Other )?US Brand Name\(s\)|FDA Approved)$")

# Inline Markdown. A link target: a URL (balanced parentheses allowed, or one left open), an
# optional "title".
_TARGET = r"(?:\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\s*\)|\([^()\s]*\([^)\s]*\))"
_TEXT = r"(?:[^\[\]]|\[[^\[\]]*\])*"  # link text, one level of brackets inside
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_CITE_LINK = r"\[(\d+)\]\(#cit/section_(\d+)\.(\d+)\)"
_CITES = re.compile(rf"\[({_CITE_LINK}(?:\s*[,;\-–]\s*{_CITE_LINK})*)\]")
_CITE_ONE = re.compile(rf"([,;\-–]?)\s*{_CITE_LINK}")
_LOE_SIMPLE = re.compile(rf"\[\[Levels? of evidence:?\s*([^\[\]]*?)\s*\]{_TARGET}\]", re.I)
_LOE_LIST = re.compile(rf"\[Levels? of evidence:?\s*({_TEXT})\]", re.I)
#: Unlinked codes of a level of evidence: "II", "1iiA", "A1 and B1".
_PLAIN_CODES = re.compile(r"[A-Za-z0-9]{1,6}(?:\s*(?:,|and)\s*[A-Za-z0-9]{1,6})*")
_LOE_CODE = re.compile(rf"\[([^\[\]]+)\]{_TARGET}")
#: A level of evidence as a plain link, closing bracket sometimes left over from the source.
_LOE_LINK = re.compile(rf"\[(Levels? of evidence:?\s*([A-Za-z0-9]{{1,6}}))\]{_TARGET}\]?", re.I)
_CARD = re.compile(rf"\[!\[[^\[\]]*\]{_TARGET}{_TEXT}\]{_TARGET}")
_IMAGE = re.compile(rf"!\[{_TEXT}\]{_TARGET}")
_ENLARGE = re.compile(rf"\[Enlarge\]{_TARGET}")
_PUBMED = re.compile(rf"\[\[PUBMED Abstract\]\]{_TARGET}", re.I)
_PMID = re.compile(r"list_uids=(\d+)")
_LINK = re.compile(rf"\[({_TEXT})\]{_TARGET}")
_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
#: Emphasis; a closing "*" may be glued to what follows ("*P*trend", "*NFATC2*a").
_EM = re.compile(
    r"(?<![\w*])\*(?=\S)(.+?)(?<=[^\s*])\*(?!\*)|(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"
)
_CAPTION = re.compile(r"^Table \d+[.:]")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?\s*)?$")
#: Escaped Markdown characters are parked in the Private Use Area while markup is removed.
_PARK = 0xE000
_PARKED = re.compile("[\ue000-\ue07f]")
_AND = re.compile(r"\s*(?:,|\band\b)\s*")


@dataclass
class _Node:
    """The text under one heading (not its sub-headings), as raw Markdown lines."""

    path: list[str]
    lines: list[str] = field(default_factory=list)


@dataclass
class _Page:
    title: str = ""
    nodes: list[_Node] = field(default_factory=list)
    references: dict[str, dict[str, str]] = field(default_factory=dict)
    updated: str | None = None
    board: str = ""
    versions: dict[str, str] = field(default_factory=dict)


def _park(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(_PARK + ord(m.group(1))), text)


def _unpark(text: str) -> str:
    return _PARKED.sub(lambda m: chr(ord(m.group(0)) - _PARK), text)


def _cite_marks(match: re.Match[str]) -> str:
    """`[[2](#cit/section_5.2)-[4](#cit/section_5.4),[7](...)]` -> markers 5.2, 5.3, 5.4, 5.7."""
    keys: list[str] = []
    last: tuple[str, int] | None = None
    for m in _CITE_ONE.finditer(match.group(1)):
        section, number = m.group(3), int(m.group(4))
        if m.group(1) in ("-", "–") and last and last[0] == section and number - last[1] < 100:
            keys += [f"{section}.{n}" for n in range(last[1] + 1, number)]
        keys.append(f"{section}.{number}")
        last = (section, number)
    return "".join(annotations.mark("cite", k) for k in dict.fromkeys(keys))


def _loe_simple(match: re.Match[str]) -> str:
    codes = _AND.split(match.group(1))
    return "".join(annotations.mark("loe", c) for c in codes if c)


def _loe_list(match: re.Match[str]) -> str:
    codes = [c.strip() for c in _LOE_CODE.findall(match.group(1))]
    if not codes and _PLAIN_CODES.fullmatch(match.group(1).strip()):  # "[Level of evidence: II]"
        codes = _AND.split(match.group(1).strip())
    if not codes:  # not a level of evidence, just text in brackets
        return match.group(0)
    return "".join(annotations.mark("loe", c) for c in codes if c)


def _loe_link(match: re.Match[str]) -> str:
    """A level of evidence after a statement becomes a marker; inside a sentence ("a very low
    level of evidence C3") its words stay, followed by the marker."""
    before = match.string[match.start() - 1 : match.start()] if match.start() else ""
    marker = annotations.mark("loe", match.group(2))
    if before.isalnum() or before == ",":
        return f" {match.group(1)}{marker}"
    return marker


def _links(text: str) -> str:
    """Citations and levels of evidence as markers; images dropped; links become their text."""
    text = _CITES.sub(_cite_marks, text)
    text = _LOE_SIMPLE.sub(_loe_simple, text)
    text = _LOE_LIST.sub(_loe_list, text)
    text = _LOE_LINK.sub(_loe_link, text)
    text = _CARD.sub("", text)
    text = _IMAGE.sub("", text)
    text = _ENLARGE.sub("", text)
    for _ in range(2):  # a link inside a link's text
        text = _LINK.sub(lambda m: m.group(1), text)
    while f" {annotations.OPEN}" in text or f"\t{annotations.OPEN}" in text:  # glue markers
        text = text.replace(f" {annotations.OPEN}", annotations.OPEN)
        text = text.replace(f"\t{annotations.OPEN}", annotations.OPEN)
    return _AUTOLINK.sub(lambda m: m.group(1), text) if "<http" in text else text


def _inline(line: str) -> str:
    """One line without emphasis, HTML tags, entities or escapes, spaces collapsed."""
    if "<" in line:
        line = _TAG.sub("", line)
    if "*" in line or "_" in line:
        for _ in range(2):
            line = _STRONG.sub(lambda m: m.group(2), line)
            line = _EM.sub(lambda m: m.group(1) or m.group(2), line)
    return " ".join(_unpark(unescape(line)).split())


def clean(markdown: str) -> str:
    """Markdown text (parked escapes allowed) as plain text lines; markers kept."""
    return "\n".join(line for line in (_inline(x) for x in _links(markdown).split("\n")) if line)


def _row(line: str) -> str:
    """A table row as one line of its non-empty cells joined with "; "."""
    if _TABLE_SEPARATOR.match(line):
        return ""
    cells = line.strip().strip("|").split("|")
    return "; ".join(c for c in (_inline(cell) for cell in cells) if c)


def _render(lines: list[str]) -> list[str]:
    """The raw Markdown of one section as clean text: paragraphs joined, list items, tables.

    Each table is a piece of its own (its caption, then a "- " line per row), so that the
    text after it is not read as part of the table; the other pieces are the text around it.
    """
    pieces: list[list[str]] = [[]]
    para: list[str] = []
    in_table = False

    def flush() -> None:
        if para:
            pieces[-1].extend(_inline(line) for line in unwrap("\n".join(para)).split("\n"))
            para.clear()

    for line in _links("\n".join(lines)).split("\n"):
        if line.lstrip().startswith("|"):
            if not in_table:
                flush()
                caption = pieces[-1].pop() if pieces[-1] and _CAPTION.match(pieces[-1][-1]) else ""
                pieces.append([caption])
                in_table = True
            row = _row(line)
            if row:
                pieces[-1].append("- " + row)
            continue
        if in_table:
            pieces.append([])
            in_table = False
        para.append(line)
    flush()
    texts = (
        "\n".join(_fields([x for x in piece if x and not _FURNITURE.match(x)])) for piece in pieces
    )
    return [text for text in texts if text]


def _fields(lines: list[str]) -> list[str]:
    """A drug page's "FDA Approved" / "Yes" lines as one list item, "- FDA Approved: Yes"."""
    out: list[str] = []
    for line in lines:
        if out and _FIELD.match(out[-1]) and not line.startswith("- "):
            out[-1] = f"- {out[-1]}: {line}"
        else:
            out.append(line)
    return out


def _reference(raw: str) -> dict[str, str]:
    pmid = _PMID.search(raw)
    text = clean(_PUBMED.sub("", raw)).replace("\n", " ")
    ref = {"text": annotations.strip(text).strip()}
    if pmid:
        ref["pmid"] = pmid.group(1)
    return ref


def _read(body: str) -> _Page:
    """Headings, sections, reference lists and the page furniture of a page body."""
    page = _Page()
    titles: list[str] = []
    stack: list[tuple[int, str]] = []
    node: _Node | None = None
    h2 = 0
    mode = "text"  # text | refs | drop | updated
    drop_level = 0
    refs: list[tuple[int, list[str]]] = []  # (number, raw lines) of the current list
    boiler: list[str] = []

    def close_refs() -> None:
        for number, raw in refs:
            page.references[f"{h2}.{number}"] = _reference(" ".join(raw))
        refs.clear()

    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            if node is None and len(titles) < 2:
                titles.append(clean_inline(clean(_park(heading.group(2) or ""))))
                continue
            heading = None  # a later H1 (a formula's numerator) is text
            line = line.lstrip("# ")
        if heading:
            level, raw_text = len(heading.group(1)), heading.group(2) or ""
            text = annotations.strip(clean_inline(clean(_park(raw_text))))
            if mode == "refs":
                close_refs()
            if level == 2:
                h2 += 1
            if _REFERENCES.match(text) and mode != "updated":
                mode = "refs"  # the list closing an H2 section, even after a dropped heading
                continue
            if mode in ("drop", "updated") and level > drop_level:
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            if _UPDATED.match(text):
                date = _DATE.search(text)
                if date:
                    month, day, year = date.groups()
                    page.updated = f"{year}-{int(month):02d}-{int(day):02d}"
                mode, drop_level = "updated", level
                continue
            if _DROP_HEADINGS.match(text):
                mode, drop_level = "drop", level
                continue
            mode = "text"
            stack.append((level, text))
            node = _Node(path=[t for _, t in stack])
            page.nodes.append(node)
            continue
        if mode in ("drop", "updated"):
            boiler.append(line)
            continue
        if mode == "refs":
            item = _REF_ITEM.match(line)
            if item and int(item.group(1)) == (refs[-1][0] + 1 if refs else 1):
                refs.append((int(item.group(1)), [_park(item.group(2))]))
            elif refs and line.strip():
                refs[-1][1].append(_park(line.strip()))
            continue
        go_to = _GO_TO.match(line)
        if go_to:
            target = urlparse(go_to.group(2)).path.strip("/")
            key = "patient_version" if go_to.group(1) == "Patient" else "professional_version"
            if target:
                page.versions[key] = f"nci:{target}"
            continue
        if node is None:
            if not line.strip():
                continue
            node = _Node(path=[])
            page.nodes.append(node)
        node.lines.append(_park(line))
    if mode == "refs":
        close_refs()
    board = _BOARD.search("\n".join(boiler))
    page.board = board.group(1) if board else ""
    page.title = _NCI_SUFFIX.sub("", titles[-1]) if titles else ""
    return page


def _untitled_heading(path: list[str], pieces: list[str]) -> list[str]:
    """An empty heading ("##") takes the short line that follows it as its text."""
    if not path or path[-1]:
        return path
    first, _, rest = pieces[0].partition("\n") if pieces else ("", "", "")
    if first and len(first.split()) <= 15 and not first.startswith("- "):
        pieces[0] = rest
        return [*path[:-1], annotations.strip(first)]
    return path[:-1]


def _sections(page: _Page) -> list[Section]:
    sections: list[Section] = []
    for node in page.nodes:
        pieces = _render(node.lines)
        heading = " › ".join(p for p in _untitled_heading(node.path, pieces) if p)
        for piece in pieces:
            lines = [line for line in piece.split("\n") if annotations.strip(line) != page.title]
            if any(annotations.strip(line) for line in lines):
                sections.append(Section(heading=heading, text="\n".join(lines)))
    return sections


@dataclass(frozen=True)
class Kind:
    """What a page is: its source, type, audience and evidence level."""

    source: str
    source_type: str
    audience: Audience
    level: EvidenceLevel
    reason: str


def page_kind(url_path: str, title: str, board: str = "") -> Kind:
    """A PDQ summary's health-professional version is an evidence-graded guideline summary;
    its patient version and the other cancer.gov pages are patient education, except the
    pages for health professionals that are not PDQ summaries (landing pages): not graded."""
    professional = bool(_HP_PATH.search(url_path) or _HP_TITLE.search(title))
    pdq = url_path.endswith("-pdq") or bool(_PDQ_TITLE.search(title))
    source = SOURCE_PDQ if pdq else SOURCE_SITE
    if professional and pdq:
        reason = "NCI PDQ health-professional summary, evidence graded by the " + (
            board or "PDQ editorial board"
        )
        return Kind(
            source, GUIDELINE_SUMMARY, Audience.PROFESSIONAL, EvidenceLevel.GUIDELINE, reason
        )
    if professional:
        reason = "cancer.gov page for health professionals, not a graded PDQ summary"
        return Kind(
            source, CONSUMER_HEALTH, Audience.PROFESSIONAL, EvidenceLevel.NOT_GRADED, reason
        )
    reason = "NCI PDQ patient version" if pdq else "cancer.gov page for patients and the public"
    return Kind(source, CONSUMER_HEALTH, Audience.CONSUMER, EvidenceLevel.PATIENT_EDUCATION, reason)


def _is_binary(text: str) -> bool:
    return len(_CONTROL.findall(text)) > MAX_CONTROL_SHARE * max(len(text), 1)


def _document(meta: dict[str, Any], body: str, path: str) -> ParsedDocument:
    url = str(meta.get("url") or "").strip()
    site = _URL.match(url)
    if not site:
        raise BadRecord(
            f"front matter url is not a cancer.gov page: {url!r}"
            if url
            else "no url in front matter"
        )
    if not body.strip():
        raise BadRecord("empty page: the file holds only its YAML header")
    if _is_binary(body):
        raise BadRecord("binary content converted to text (control characters), not a web page")
    page = _read(body)
    page.title = page.title or _NCI_SUFFIX.sub("", clean_inline(str(meta.get("title") or "")))
    sections = _sections(page)
    if not sections:
        raise BadRecord("no text beyond the page title (a video, a script or an empty page)")
    check_size("\n".join(s.text for s in sections))
    url_path = (site.group(1) or "").strip("/")
    kind = page_kind(url_path, page.title, page.board)
    extra = {"dataset": "nci_pdq", "file": Path(path).name, **page.versions}
    if meta.get("lastReviewed"):
        extra["collected"] = str(meta["lastReviewed"])
    if page.board:
        extra["board"] = page.board
    if page.references:
        extra["references"] = json.dumps(page.references, ensure_ascii=False)
    document = Document(
        id=f"nci:{url_path}" if url_path else "nci:home",
        title=page.title or url_path,
        source=kind.source,
        source_type=kind.source_type,
        url=url,
        pub_date=page.updated,
        year=int(page.updated[:4]) if page.updated else None,
        audience=kind.audience,
        evidence_level=kind.level,
        evidence_inferred=False,
        evidence_reason=kind.reason,
        extra=extra,
    )
    return ParsedDocument(document=document, sections=sections)


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """One cancer.gov page; a malformed file is Skipped with the reason."""
    try:
        text = decode(fh.read()).replace("\r\n", "\n")
        check_size(text)
        meta, body = front_matter(text)
        if not meta:
            raise BadRecord("no YAML front matter (--- ... ---) with the page url")
        yield _document(meta, body, path)
    except BadRecord as exc:
        yield Skipped(path=path, reason=str(exc))


# References: the label of one entry is citations.reference_label (every renderer uses it).
reference_label = citations.reference_label
