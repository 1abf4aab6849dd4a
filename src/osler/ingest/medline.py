"""MEDLINE/PubMed text format: "TAG - value" records separated by blank lines.

Continuation lines are indented by six spaces and joined to the field with one space.
A structured abstract ("BACKGROUND: ... METHODS: ...") is split at its ALL-CAPS labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, decode, year_of
from osler.ingest.literature import heading_of, normalize_pmcid, partial_date, professional_document
from osler.models import ParsedDocument, Section, Skipped

TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3}) {0,3}-(?: (.*))?$")
#: An ALL-CAPS label ending in ":" at the start of the abstract or of a sentence.
LABEL = re.compile(r"(?:^|(?<=[.!?)\]] ))([A-Z][A-Z0-9]*(?:[ ,/&-]+[A-Z0-9]+)*): ")
ID_KIND = re.compile(r"^(\S+)\s*\[([a-z-]+)\]$")


def _raw_records(fh: BinaryIO) -> Iterator[bytes]:
    """The bytes of each record: runs of non-blank lines, also split before a new PMID line."""
    lines: list[bytes] = []
    for line in fh:
        if not line.strip():
            if lines:
                yield b"".join(lines)
            lines = []
            continue
        if line.startswith(b"PMID-") and lines:
            yield b"".join(lines)
            lines = []
        lines.append(line)
    if lines:
        yield b"".join(lines)


def _fields(text: str) -> dict[str, list[str]]:
    """Tag -> values in file order, continuation lines joined with a space."""
    pairs: list[list[str]] = []
    for line in text.splitlines():
        match = TAG.match(line)
        if match:
            pairs.append([match.group(1), (match.group(2) or "").strip()])
        elif pairs:
            pairs[-1][1] = f"{pairs[-1][1]} {line.strip()}".strip()
    fields: dict[str, list[str]] = {}
    for tag, value in pairs:
        fields.setdefault(tag, []).append(clean_inline(value))
    return fields


def _first(fields: dict[str, list[str]], *tags: str) -> str:
    """The first non-empty value of the first tag that has one."""
    for tag in tags:
        for value in fields.get(tag, []):
            if value:
                return value
    return ""


def _abstract_sections(abstract: str) -> list[Section]:
    """One "Abstract" section, or one per ALL-CAPS label ("BACKGROUND: ...")."""
    matches = list(LABEL.finditer(abstract))
    if not matches:
        return [Section(heading="Abstract", text=abstract)] if abstract else []
    sections: list[Section] = []
    preamble = abstract[: matches[0].start()].strip()
    if preamble:
        sections.append(Section(heading="Abstract", text=preamble))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(abstract)
        text = abstract[match.end() : end].strip()
        if text:
            sections.append(Section(heading=heading_of(match.group(1)), text=text))
    return sections


def _mesh(value: str) -> str:
    """The descriptor of an MH line: qualifiers after "/" and the major-topic "*" dropped."""
    return value.split("/", 1)[0].strip().lstrip("*").strip()


def _date(value: str) -> str | None:
    """ "2001 Jan 15" -> "2001-01-15"; ranges like "1998 Dec-1999 Jan" give the year only."""
    parts = value.split()
    if not parts:
        return None
    if not re.fullmatch(r"\d{4}", parts[0]):
        found = year_of(value)
        return str(found) if found else None
    return partial_date(parts[0], *parts[1:3])


def _doi(fields: dict[str, list[str]]) -> str | None:
    """The DOI of an AID (or LID) value "10.x/y [doi]"."""
    for tag in ("AID", "LID"):
        for value in fields.get(tag, []):
            match = ID_KIND.match(value)
            if match and match.group(2) == "doi":
                return match.group(1)
    return None


def _record(text: str) -> ParsedDocument:
    """The document of one MEDLINE record; BadRecord when it has no PMID or no text."""
    fields = _fields(text)
    pmid = _first(fields, "PMID")
    if not pmid:
        raise BadRecord("no PMID")
    title = _first(fields, "TI", "TT")
    abstract = " ".join(v for v in fields.get("AB", []) if v)
    sections = _abstract_sections(abstract)
    if not sections and title:
        sections = [Section(heading="Title", text=title)]
    if not sections:
        raise BadRecord("no title and no abstract text")
    check_size(text)
    pub_date = _date(_first(fields, "DP"))
    keywords = [v for v in fields.get("OT", []) if v]
    authors = [v for tag, values in fields.items() if tag in ("AU", "CN") for v in values if v]
    doc = professional_document(
        title=title,
        abstract=abstract,
        publication_types=[v for v in fields.get("PT", []) if v],
        mesh_terms=[m for m in (_mesh(v) for v in fields.get("MH", [])) if m],
        id=f"medline:{pmid}",
        source="PubMed",
        source_type="journal-article",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        pmid=pmid,
        pmcid=normalize_pmcid(_first(fields, "PMC")),
        doi=_doi(fields),
        authors=authors,
        journal=_first(fields, "JT", "TA") or None,
        pub_date=pub_date,
        year=year_of(pub_date),
        extra={"dataset": "medline"} | ({"keywords": "; ".join(keywords)} if keywords else {}),
    )
    return ParsedDocument(document=doc, sections=sections)


def _pmid_of(raw: bytes) -> str | None:
    """The PMID of a raw record, for naming it in a Skipped report."""
    match = re.search(rb"^PMID- *(\d+)", raw.lstrip(b"\xef\xbb\xbf"), re.M)
    return match.group(1).decode("ascii") if match else None


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """Stream a MEDLINE text file: one ParsedDocument (or Skipped) per record."""
    for ordinal, raw in enumerate(_raw_records(fh), 1):
        pmid = _pmid_of(raw)
        result: ParseResult
        try:
            result = _record(decode(raw))
        except BadRecord as exc:
            label = f"PMID {pmid}" if pmid else f"record {ordinal}"
            result = Skipped(path=path, record=label, reason=str(exc))
        yield result
