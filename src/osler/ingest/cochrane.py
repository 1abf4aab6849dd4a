"""Cochrane reviews as JSONL: a review's results paragraph and its plain-language summary.

Each line (`doi`, `abstract_results`, `plain_language_summary`, `split`) gives two documents
that point at each other through `extra["linked"]`:

- `cochrane:<CD number>`: the results part of the technical abstract, for clinicians
  (systematic review, professional audience), section "Results";
- `cochrane:<CD number>:pls`: the plain-language summary the authors wrote for patients and
  the public (patient education, consumer audience), section "Plain language summary". It is
  the same review's evidence, so the level's reason says so; patient education is the level
  the consumer side of ranking and composing is built on.

The id is the review number without the DOI's version suffix (`10.1002/14651858.CD000370.pub2`
→ `cochrane:CD000370`, version kept as `extra["version"]`): a later version of a review
replaces the earlier one instead of standing beside it. `doi` is the whole DOI and the url is
`https://doi.org/<doi>`. The records have neither titles nor dates: the title is a
placeholder naming the review number (`extra["untitled"]`, so search does not index it), and
`pub_date` and `year` stay empty. A bad line (invalid JSON, a missing or empty field, a DOI
that names no Cochrane review) is skipped with its line number; the other lines ingest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from osler.ingest.base import BadRecord, ParseResult, check_size, json_object
from osler.models import Audience, Document, EvidenceLevel, ParsedDocument, Section, Skipped

SOURCE = "Cochrane"
SOURCE_TYPE = "systematic-review"

#: The review number in a Cochrane DOI (CD: intervention review, MR: methodology review),
#: and the version suffix of an updated review.
_REVIEW = re.compile(r"^10\.1002/14651858\.((?:CD|MR)\d{6})(?:\.(pub\d+))?$", re.I)


def review_number(doi: str) -> tuple[str, str]:
    """("CD000370", "pub2") for "10.1002/14651858.CD000370.pub2"; BadRecord for other DOIs."""
    match = _REVIEW.match(doi)
    if not match:
        raise BadRecord(f"DOI {doi!r} is not a Cochrane review DOI (10.1002/14651858.CD...)")
    return match.group(1).upper(), (match.group(2) or "").lower()


def _field(rec: dict[str, Any], name: str) -> str:
    if name not in rec:
        raise BadRecord(f"missing field {name!r}")
    value = rec[name]
    if not isinstance(value, str) or not value.strip():
        raise BadRecord(f"empty field {name!r}")
    check_size(value)
    return value.strip()


def review(rec: dict[str, Any]) -> tuple[ParsedDocument, ParsedDocument]:
    """The results document and the plain-language summary document of one review."""
    doi = _field(rec, "doi")
    number, version = review_number(doi)
    results = _field(rec, "abstract_results")
    summary = _field(rec, "plain_language_summary")
    ids = f"cochrane:{number}", f"cochrane:{number}:pls"
    common = {
        "dataset": "cochrane",
        "review": number,
        "untitled": "1",
        **({"version": version} if version else {}),
        **({"split": str(rec["split"])} if rec.get("split") else {}),
    }

    def document(
        which: int, title: str, audience: Audience, level: EvidenceLevel, reason: str
    ) -> Document:
        return Document(
            id=ids[which],
            title=title,
            source=SOURCE,
            source_type=SOURCE_TYPE,
            url=f"https://doi.org/{doi}",
            doi=doi,
            audience=audience,
            evidence_level=level,
            evidence_inferred=False,
            evidence_reason=reason,
            extra={**common, "linked": ids[1 - which]},
        )

    return (
        ParsedDocument(
            document=document(
                0,
                f"Cochrane review {number} (results)",
                Audience.PROFESSIONAL,
                EvidenceLevel.SYSTEMATIC_REVIEW,
                "Cochrane systematic review (results of the abstract)",
            ),
            sections=[Section(heading="Results", text=results)],
        ),
        ParsedDocument(
            document=document(
                1,
                f"Cochrane review {number} (plain-language summary)",
                Audience.CONSUMER,
                EvidenceLevel.PATIENT_EDUCATION,
                "plain-language summary of a Cochrane systematic review, written for patients",
            ),
            sections=[Section(heading="Plain language summary", text=summary)],
        ),
    )


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """Cochrane JSONL, one review a line; a bad line is Skipped with its number and reason."""
    for n, raw in enumerate(fh, 1):
        if not raw.strip():
            continue
        try:
            yield from review(json_object(raw))
        except BadRecord as exc:
            yield Skipped(path=path, record=f"line {n}", reason=str(exc))
