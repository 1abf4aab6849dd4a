"""BioASQ Task B gold JSON: the gold snippets of every question, merged into one document per PMID.

A title snippet gives the document its title; each abstract snippet becomes exactly one passage.
Snippets of one PMID from several questions and files are merged (see `merge`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from osler import evidence
from osler.ingest.base import (
    BadRecord,
    ParseResult,
    check_size,
    clean_inline,
    decode,
    strip_inline_html,
)
from osler.models import Audience, Document, ParsedDocument, Section, Skipped

_PMID = re.compile(r"(\d+)\s*/?\s*$")


def _pmid(url: str) -> str:
    match = _PMID.search(url or "")
    if not match:
        raise BadRecord(f"snippet document {url!r} has no PMID")
    return match.group(1)


def build(pmid: str, title: str, snippets: list[str]) -> ParsedDocument:
    """The document of one PMID from its title (may be empty) and abstract snippets."""
    verdict = evidence.assess(title=title, abstract=" ".join(snippets))
    doc = Document(
        id=f"bioasq:{pmid}",
        title=title or f"PubMed article {pmid} (excerpts)",
        source="PubMed",
        source_type="journal-article",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        pmid=pmid,
        audience=Audience.PROFESSIONAL,
        evidence_level=verdict.level,
        evidence_inferred=verdict.inferred,
        evidence_reason=verdict.reason,
        extra={"dataset": "bioasq", **({} if title else {"untitled": "1"})},
    )
    sections = [Section(heading="Title", text=title)] if title else []
    if snippets:
        sections.append(Section(heading="Abstract", text="\n".join(snippets), atomic=True))
    return ParsedDocument(document=doc, sections=sections)


def merge(stored: ParsedDocument, new: ParsedDocument) -> ParsedDocument:
    """Union of the snippets of two versions of one PMID's document, stored ones first."""
    title = _title(stored) or _title(new)
    snippets = list(dict.fromkeys(_snippets(stored) + _snippets(new)))
    return build(stored.document.pmid or new.document.pmid or "", title, snippets)


def _title(doc: ParsedDocument) -> str:
    return next((s.text for s in doc.sections if s.heading == "Title"), "")


def _snippets(doc: ParsedDocument) -> list[str]:
    return [
        line for s in doc.sections if s.heading == "Abstract" for line in s.text.split("\n") if line
    ]


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """One BioASQ golden file ({"questions": [...]}); yields one document per PMID."""
    data = json.loads(decode(fh.read()))
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list):
        raise BadRecord('BioASQ file must be a JSON object with a "questions" list')
    titles: dict[str, str] = {}
    abstracts: dict[str, list[tuple[int, str]]] = {}
    for q in questions:
        qid = str(q.get("id", "?")) if isinstance(q, dict) else "?"
        for snip in (q.get("snippets") or []) if isinstance(q, dict) else []:
            try:
                pmid = _pmid(str(snip.get("document", "")))
                text = strip_inline_html(clean_inline(snip.get("text")))
                if not text:
                    raise BadRecord("snippet without text")
                check_size(text)
            except (BadRecord, AttributeError) as exc:
                yield Skipped(path=path, record=f"question {qid}", reason=str(exc) or "bad snippet")
                continue
            if snip.get("beginSection") == "title":
                titles.setdefault(pmid, text)
            else:
                offset = snip.get("offsetInBeginSection")
                abstracts.setdefault(pmid, []).append(
                    (offset if isinstance(offset, int) else 0, text)
                )
    for pmid in sorted(set(titles) | set(abstracts), key=int):
        ordered = [t for _, t in sorted(abstracts.get(pmid, []))]
        yield build(pmid, titles.get(pmid, ""), list(dict.fromkeys(ordered)))
