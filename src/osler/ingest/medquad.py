"""MedQuAD: NIH consumer-health QA pairs, as JSONL or in the original XML layout.

One document per source page (MedQuAD file); each QA pair's answer is a section headed by its
question type ("Treatment", "Symptoms"). The question text is never stored: it is what a user
asks, and evaluation must not find it in the index.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from osler import evidence
from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, json_object
from osler.models import Audience, Document, ParsedDocument, Section, Skipped

SOURCE_NAMES = {
    "CancerGov": "cancer.gov PDQ",
    "GARD": "GARD (NIH)",
    "GHR": "Genetics Home Reference",
    "MPlusHealthTopics": "MedlinePlus",
    "NIDDK": "NIDDK",
    "NINDS": "NINDS",
    "NIHSeniorHealth": "NIHSeniorHealth",
    "NHLBI": "NHLBI",
    "CDC": "CDC",
}

SECTION_HEADINGS = {
    "information": "Overview",
    "symptoms": "Symptoms",
    "exams and tests": "Diagnosis and tests",
    "treatment": "Treatment",
    "outlook": "Outlook and prognosis",
    "susceptibility": "Who is at risk",
    "causes": "Causes",
    "prevention": "Prevention",
    "inheritance": "Inheritance",
    "frequency": "Frequency",
    "genetic changes": "Genetic changes",
    "research": "Research and clinical trials",
    "stages": "Stages",
    "considerations": "Considerations",
    "complications": "Complications",
    "support groups": "Support groups",
}


def heading_for(question_type: str) -> str:
    """The section heading for a MedQuAD question type."""
    return SECTION_HEADINGS.get(question_type.strip().lower(), question_type.strip().capitalize())


def _document(source: str, page: str, focus: str, url: str, synonyms: list[str]) -> Document:
    verdict = evidence.assess(consumer=True)
    return Document(
        id=f"medquad:{source}:{page}",
        title=focus or page,
        source=SOURCE_NAMES.get(source, source),
        source_type="consumer-health",
        url=url or None,
        audience=Audience.CONSUMER,
        evidence_level=verdict.level,
        evidence_inferred=verdict.inferred,
        evidence_reason=verdict.reason,
        extra={"dataset": "medquad", "focus": focus, "focus_synonyms": "; ".join(synonyms)},
    )


def _parse_jsonl(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    pages: dict[tuple[str, str], ParsedDocument] = {}
    for n, raw in enumerate(fh, 1):
        if not raw.strip():
            continue
        try:
            rec = json_object(raw)
            answer = str(rec.get("answer") or "").strip()
            if not answer:
                raise BadRecord("record without answer text")
            check_size(answer)
            source, page = str(rec["source"]), str(rec["doc_id"])
        except (BadRecord, ValueError, KeyError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            yield Skipped(path=path, record=f"line {n}", reason=reason)
            continue
        key = (source, page)
        if key not in pages:
            synonyms = rec.get("focus_synonyms") or []
            pages[key] = ParsedDocument(
                document=_document(
                    source,
                    page,
                    clean_inline(rec.get("focus")),
                    str(rec.get("url") or ""),
                    [str(s) for s in synonyms] if isinstance(synonyms, list) else [],
                ),
                sections=[],
            )
        pages[key].sections.append(
            Section(heading=heading_for(str(rec.get("question_type", ""))), text=answer)
        )
    yield from pages.values()


def _parse_xml(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    root = ET.parse(fh).getroot()
    source = root.get("source", "MedQuAD")
    page = Path(path).name.split(".")[0]
    focus = clean_inline(root.findtext("Focus"))
    synonyms = [clean_inline(s.text) for s in root.iter("Synonym") if s.text]
    doc = ParsedDocument(
        document=_document(source, page, focus, root.get("url", ""), synonyms), sections=[]
    )
    for pair in root.iter("QAPair"):
        question = pair.find("Question")
        answer = (
            "".join(pair.find("Answer").itertext()).strip()
            if pair.find("Answer") is not None
            else ""
        )
        if answer:
            qtype = question.get("qtype", "") if question is not None else ""
            doc.sections.append(Section(heading=heading_for(qtype), text=answer))
    if doc.sections:
        yield doc
    else:
        yield Skipped(
            path=path, record=page, reason="no answered QA pairs (MedQuAD subsets without answers)"
        )


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """MedQuAD JSONL (.jsonl) or one MedQuAD XML file."""
    if path.lower().removesuffix(".gz").endswith(".xml"):
        return _parse_xml(fh, path)
    return _parse_jsonl(fh, path)
