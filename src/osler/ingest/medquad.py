"""MedQuAD: NIH consumer-health QA pairs, as JSONL or in the original XML layout.

One document per source page (MedQuAD file); each QA pair's answer is a section headed by its
question type ("Treatment", "Symptoms"). The question text is never stored: it is what a user
asks, and evaluation must not find it in the index.
"""

from __future__ import annotations

import re
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


#: GARD symptom pages: the header of the Human Phenotype Ontology table, and the sentence that
#: starts the explanation after it. MedQuAD flattens the table into one run of text.
PHENOTYPE_HEADER = "Signs and Symptoms Approximate number of patients (when available)"
PHENOTYPE_AFTER = "The Human Phenotype Ontology (HPO) has collected"
_FREQUENCY_ITEM = re.compile(r"\s*(\S.*?)\s+(\d+(?:\.\d+)?%|\d+/\d+|\d+ of \d+)(?=\s|$)")


def phenotype_items(table: str) -> list[str] | None:
    """The rows of a flattened phenotype table, each as it is written in the source: first the
    rows with a frequency ("Malabsorption 90%"), then those without ("Ataxia -"). None when the
    text does not read as such a table."""
    items: list[str] = []
    pos = 0
    rest = table.strip()
    while True:
        m = _FREQUENCY_ITEM.match(rest, pos)
        if m is None or " - " in m.group(1) or m.group(1).endswith(" -"):
            break
        items.append(f"{m.group(1)} {m.group(2)}")
        pos = m.end()
    tail = rest[pos:].strip()
    if tail:
        if not tail.endswith("-"):
            return None
        items += [part.strip() for part in tail[:-1].split(" - ")]
    if not items or any(not item for item in items):
        return None
    return items


def unflatten_phenotype_table(answer: str) -> str:
    """A GARD symptom answer with its flattened Human Phenotype Ontology table laid out as a
    list: the table header as the lead-in (a colon added), each row a " - " item, on a line of
    its own between the text before and after the table. Only separators change: every word,
    number and row of the source stays, in its order."""
    start = answer.find(PHENOTYPE_HEADER)
    if start < 0:
        return answer
    body = answer[start + len(PHENOTYPE_HEADER) :]
    end = body.find(PHENOTYPE_AFTER)
    table, after = (body[:end], body[end:]) if end >= 0 else (body, "")
    items = phenotype_items(table)
    if items is None:
        return answer
    lines = [answer[:start].strip(), f"{PHENOTYPE_HEADER}: - " + " - ".join(items), after.strip()]
    return "\n".join(line for line in lines if line)


#: cancer.gov PDQ answers open with "Key Points", a line of " - " items; the short items are the
#: sub-headings of the text below, which MedQuAD glues onto the next sentence ("Surgery
#: Gallbladder cancer may be treated ...", "... surgery. Radiation therapy Radiation therapy is").
KEY_POINTS = "Key Points"
MAX_SUBHEADING_WORDS = 6


def subheadings(answer: str) -> list[str]:
    """The short items of a PDQ answer's "Key Points" line (no full stop, at most
    MAX_SUBHEADING_WORDS words): the sub-headings its text uses. Empty for other answers."""
    lines = answer.split("\n", 2)
    if len(lines) < 2 or lines[0].strip() != KEY_POINTS:
        return []
    items = (item.strip().lstrip("- ").rstrip(":").strip() for item in lines[1].split(" - "))
    return [
        item
        for item in dict.fromkeys(items)
        if item and len(item.split()) <= MAX_SUBHEADING_WORDS and not item.endswith(".")
    ]


def unglue_subheadings(answer: str) -> str:
    """A PDQ answer with each glued sub-heading on a line of its own, so that chunking reads it
    as a sub-heading ("Treatment › Surgery") instead of the first words of a sentence. Only
    separators change; a heading is split off only at a line start or after a full stop, and
    only before a capitalised word."""
    heads = subheadings(answer)
    if not heads:
        return answer
    first, rest = answer.split("\n", 1)
    names = "|".join(re.escape(h) for h in sorted(heads, key=len, reverse=True))
    glued = re.compile(rf"(?:^|(?<=\. ))(?P<head>{names}) (?=[A-Z])", re.M)

    def split_off(m: re.Match[str]) -> str:
        at_line_start = m.start() == 0 or rest[m.start() - 1] == "\n"
        return ("" if at_line_start else "\n") + m.group("head") + "\n"

    return first + "\n" + glued.sub(split_off, rest)


def clean_answer(answer: str) -> str:
    """A MedQuAD answer laid out as its page shows it: glued PDQ sub-headings split off, a GARD
    phenotype table as a list."""
    return unflatten_phenotype_table(unglue_subheadings(answer))


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
            Section(
                heading=heading_for(str(rec.get("question_type", ""))),
                text=clean_answer(answer),
            )
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
            doc.sections.append(
                Section(heading=heading_for(qtype), text=clean_answer(answer))
            )
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
