"""PubMedQA (PQA-L) JSON: each item's labelled contexts and conclusion become its PMID's abstract.

The item's question (the article title turned into a question) is not stored, so that
evaluation cannot find the question itself in the index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from osler import evidence
from osler.ingest.base import BadRecord, ParseResult, check_size, decode, strip_inline_html, year_of
from osler.models import Audience, Document, ParsedDocument, Section, Skipped


def _heading(label: str) -> str:
    return label.strip().replace("_", " ").capitalize() or "Abstract"


def _item(pmid: str, item: object) -> ParsedDocument:
    if not isinstance(item, dict):
        raise BadRecord("item is not a JSON object")
    contexts = item.get("CONTEXTS") or []
    labels = item.get("LABELS") or []
    if not isinstance(contexts, list) or not any(str(c).strip() for c in contexts):
        raise BadRecord("item without CONTEXTS text")
    sections = [
        Section(
            heading=_heading(str(labels[i]) if i < len(labels) else ""),
            text=strip_inline_html(str(text)),
        )
        for i, text in enumerate(contexts)
        if str(text).strip()
    ]
    conclusion = strip_inline_html(str(item.get("LONG_ANSWER") or "").strip())
    if conclusion:
        sections.append(Section(heading="Conclusions", text=conclusion))
    body = "\n".join(s.text for s in sections)
    check_size(body)
    mesh = [str(m) for m in item.get("MESHES") or []]
    verdict = evidence.assess(abstract=body, mesh_terms=mesh)
    year = year_of(str(item.get("YEAR") or ""))
    doc = Document(
        id=f"pubmedqa:{pmid}",
        title=f"PubMed abstract {pmid}",
        source="PubMed",
        source_type="journal-article",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        pmid=pmid,
        pub_date=str(year) if year else None,
        year=year,
        mesh_terms=mesh,
        audience=Audience.PROFESSIONAL,
        evidence_level=verdict.level,
        evidence_inferred=verdict.inferred,
        evidence_reason=verdict.reason,
        extra={"dataset": "pubmedqa", "untitled": "1"},
    )
    return ParsedDocument(document=doc, sections=sections)


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """A PubMedQA file: a JSON object mapping PMID to item."""
    data = json.loads(decode(fh.read()))
    if not isinstance(data, dict):
        raise BadRecord("PubMedQA file must be a JSON object keyed by PMID")
    for pmid, item in data.items():
        try:
            yield _item(str(pmid).strip(), item)
        except BadRecord as exc:
            yield Skipped(path=path, record=f"PMID {pmid}", reason=str(exc))
