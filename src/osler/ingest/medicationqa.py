"""MedicationQA JSONL: each answer row (an excerpt of a trusted drug page) is one document.

The consumer's question is not stored; the title names the drug and the page section.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlparse

from osler import evidence
from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, json_object
from osler.models import Audience, Document, ParsedDocument, Section, Skipped

#: Host (suffix) -> (source name, written for consumers?)
HOSTS: dict[str, tuple[str, bool]] = {
    "dailymed.nlm.nih.gov": ("DailyMed", False),
    "medlineplus.gov": ("MedlinePlus", True),
    "ncbi.nlm.nih.gov": ("NCBI", False),
    "cdc.gov": ("CDC", True),
    "mayoclinic.org": ("Mayo Clinic", True),
    "wikipedia.org": ("Wikipedia", True),
    "healthline.com": ("Healthline", True),
    "fda.gov": ("FDA", False),
    "drugs.com": ("Drugs.com", True),
    "nih.gov": ("NIH", True),
}


def source_of(url: str) -> tuple[str, bool]:
    """Source name and consumer flag for an answer URL."""
    host = (urlparse(url).hostname or "").lower().removeprefix("www.")
    for suffix, found in HOSTS.items():
        if host == suffix or host.endswith("." + suffix):
            return found
    return (host or "MedicationQA", True)


def _row(rec: dict[str, object]) -> ParsedDocument:
    answer = str(rec.get("Answer") or "").strip()
    if not answer:
        raise BadRecord("row without Answer text")
    check_size(answer)
    row = str(rec.get("row") or "").strip()
    if not row:
        raise BadRecord("row without a row number")
    drug = clean_inline(str(rec.get("Focus (Drug)") or ""))
    section = clean_inline(str(rec.get("Section Title") or ""))
    url = str(rec.get("URL") or "").strip()
    name, consumer = source_of(url)
    verdict = (
        evidence.assess(consumer=True)
        if consumer
        else evidence.Assessment(evidence.L.EXPERT_OPINION, False, "drug information excerpt")
    )
    title = (
        f"{drug.capitalize()}: {section}" if drug and section else drug or section or f"Row {row}"
    )
    doc = Document(
        id=f"medicationqa:{row}",
        title=title,
        source=name,
        source_type="drug-information",
        url=url or None,
        audience=Audience.CONSUMER if consumer else Audience.PROFESSIONAL,
        evidence_level=verdict.level,
        evidence_inferred=verdict.inferred,
        evidence_reason=verdict.reason,
        extra={"dataset": "medicationqa", "focus": drug},
    )
    return ParsedDocument(document=doc, sections=[Section(heading=section, text=answer)])


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """MedicationQA JSONL, one sheet row a line."""
    for n, raw in enumerate(fh, 1):
        if not raw.strip():
            continue
        try:
            yield _row(json_object(raw))
        except (BadRecord, ValueError) as exc:
            yield Skipped(path=path, record=f"line {n}", reason=str(exc))
