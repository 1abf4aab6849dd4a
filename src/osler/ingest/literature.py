"""Helpers the PubMed, PMC (JATS) and MEDLINE parsers share: streaming XML records, flattening
inline markup, partial ISO dates, abstract label headings and professional documents."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import BinaryIO

from osler import evidence
from osler.ingest.base import clean_inline, year_of
from osler.models import Audience, Document

MONTHS: dict[str, int] = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
#: Words kept lower case inside a heading made from an ALL-CAPS abstract label.
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "vs"}
#: Skip reason for a record whose elements nest too deeply to walk.
DEEP_MARKUP = "markup nested too deeply"
#: Elements that never run into their neighbours' words when markup is flattened.
SPACED = frozenset(
    {"p", "title", "label", "list", "list-item", "def-item", "term", "def", "disp-formula"}
    | {"disp-quote", "caption", "graphic", "break"}
)


def local_name(tag: object) -> str:
    """An element tag without its {namespace}; "" for comments and processing instructions."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def strip_namespaces(root: ET.Element) -> None:
    """Rename every element under root to its local name, so plain paths find them."""
    for elem in root.iter():
        if isinstance(elem.tag, str) and "}" in elem.tag:
            elem.tag = local_name(elem.tag)


def text_parts(elem: ET.Element, skip: frozenset[str] = frozenset()) -> Iterator[str]:
    """The text inside elem in document order, leaving out subtrees tagged in skip.

    MathML loses its layout (newline) whitespace: "V.O2max", not "V . O 2 m a x".
    """
    if local_name(elem.tag) == "math":
        packed = (part.strip() if "\n" in part else part for part in elem.itertext())
        yield " " + "".join(packed) + " "
        return
    if elem.text:
        yield elem.text
    for child in elem:
        tag = local_name(child.tag)
        if tag in skip:
            yield " "
        elif tag in SPACED:
            yield " "
            yield from text_parts(child, skip)
            yield " "
        else:
            yield from text_parts(child, skip)
        if child.tail:
            yield child.tail


def flatten(elem: ET.Element | None, skip: frozenset[str] = frozenset()) -> str:
    """All text inside an element (inline markup dropped), whitespace collapsed."""
    return clean_inline("".join(text_parts(elem, skip))) if elem is not None else ""


def iter_records(fh: BinaryIO, is_record: Callable[[str, int], bool]) -> Iterator[ET.Element]:
    """Stream the records of an XML file (is_record(tag, depth)), clearing each after use.

    Records before a syntax error or truncation are yielded; then ValueError is raised.
    """
    count = 0
    depth = 0
    root: ET.Element | None = None
    clear_root = False
    try:
        for event, elem in ET.iterparse(fh, events=("start", "end")):
            if event == "start":
                if root is None:
                    root, clear_root = elem, not is_record(local_name(elem.tag), 0)
                depth += 1
                continue
            depth -= 1
            if depth > 1:  # records are the root or its children; nothing to do deeper
                continue
            if is_record(local_name(elem.tag), depth):
                strip_namespaces(elem)
                yield elem
                count += 1
                elem.clear()
            if depth == 1 and clear_root and root is not None:
                root.clear()
    except ET.ParseError as exc:
        noun = "record" if count == 1 else "records"
        raise ValueError(f"XML syntax error after {count} {noun}: {exc}") from exc


def month_number(value: str | None) -> int | None:
    """1-12 from "Jan", "January", "01" or "1"; None otherwise."""
    text = (value or "").strip().lower()
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return MONTHS.get(text[:3]) if text[:3] in MONTHS and text.isalpha() else None


def partial_date(year: str | None, month: str | None = None, day: str | None = None) -> str | None:
    """ "YYYY", "YYYY-MM" or "YYYY-MM-DD" from date parts; None without a plausible year."""
    number = year_of(year)
    if number is None:
        return None
    month_no = month_number(month)
    if month_no is None:
        return f"{number:04d}"
    day_text = (day or "").strip()
    if day_text.isdigit() and 1 <= int(day_text) <= 31:
        return f"{number:04d}-{month_no:02d}-{int(day_text):02d}"
    return f"{number:04d}-{month_no:02d}"


def heading_of(label: str) -> str:
    """A section heading from an abstract label: "PATIENTS AND METHODS" -> "Patients and Methods"."""
    label = clean_inline(label).rstrip(":").strip()
    if not label.isupper():
        return label

    def word(match: re.Match[str]) -> str:
        """One word of the label, capitalized unless a small word inside the heading."""
        text = match.group(0).lower()
        return text if match.start() > 0 and text in SMALL_WORDS else text.capitalize()

    return re.sub(r"[A-Za-z]+", word, label)


def normalize_pmcid(value: str | None) -> str | None:
    """ "PMC123" from "PMC123", "pmc123" or "123"; None when empty."""
    text = clean_inline(value)
    if text.upper().startswith("PMC"):
        text = text[3:]
    return f"PMC{text}" if text else None


def professional_document(
    *,
    title: str,
    abstract: str,
    publication_types: list[str],
    mesh_terms: list[str],
    assess_types: list[str] | None = None,
    methods: str = "",
    **fields: object,
) -> Document:
    """A professional Document, its evidence level assessed from the metadata given.

    assess_types, when given, replaces publication_types for the assessment only; methods is
    the text of a full text's methods section, for its cues.
    """
    verdict = evidence.assess(
        title=title,
        abstract=abstract,
        methods=methods,
        publication_types=publication_types if assess_types is None else assess_types,
        mesh_terms=mesh_terms,
    )
    return Document.model_validate(
        {
            **fields,
            "title": title,
            "publication_types": publication_types,
            "mesh_terms": mesh_terms,
            "audience": Audience.PROFESSIONAL,
            "evidence_level": verdict.level,
            "evidence_inferred": verdict.inferred,
            "evidence_reason": verdict.reason,
        }
    )
