"""What a cited passage rests on, as a reader sees it: its page, its grade, its references.

Parsers record these on passages (`Passage.extra`: 'cites', 'loe', 'page') and, for sources
with reference lists (PDQ), on the document (`extra['references']`: a JSON object of
reference key -> {'text', 'pmid'}). This module turns them into short labels.
"""

from __future__ import annotations

import json
import re
from datetime import date

from osler.models import Document, EvidenceLevel

#: "Authors: Title. Journal Volume (Issue): pages, Year." -> the journal and the year.
_JOURNAL = re.compile(
    r"(?:^|[.?!]\s+)([A-Z][^.?!:;]{0,80}?)\s+\d+[A-Za-z]?\s*(?:\([^()]*\))?\s*:\s*[^,]{1,60}?,"
    r"\s*((?:19|20)\d\d)\b"
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_SURNAME = re.compile(r"^(.+?)\s+[A-Z]{1,4}$")


def reference_label(ref: dict[str, str]) -> str:
    """A short label for a reference: "Valle 2010, N Engl J Med, PMID 20375404".

    References read "Authors: Title. Journal Volume (Issue): pages, Year." (PDQ, NLM style);
    the label is the first author's surname (or the organization), the year, the journal and
    the PMID, as far as the reference gives them.
    """
    text = " ".join(str(ref.get("text", "")).split())
    authors, sep, rest = text.partition(": ")
    if ". In" in authors:  # a book chapter: "Chapter. In: Editor A, ..., eds.: Book ..."
        authors = rest.partition(": ")[0]
    elif not sep or len(authors) > 300 or ". " in authors.replace("et al.", ""):
        authors, rest = "", text  # no author list: the colon was a later one
    first = authors.split(",")[0].strip()
    surname = _SURNAME.match(first)
    who = surname.group(1) if surname else first
    if len(who) > 40:
        who = who[:40].rsplit(" ", 1)[0]
    found = list(_JOURNAL.finditer(rest))
    journal = found[-1].group(1).strip() if found else ""
    years = _YEAR.findall(text)
    year = found[-1].group(2) if found else (years[-1] if years else "")
    if who:
        parts = [" ".join(p for p in (who, year) if p), journal]
    else:
        parts = [" ".join(p for p in (journal, year) if p)]
    if ref.get("pmid"):
        parts.append(f"PMID {ref['pmid']}")
    return ", ".join(p for p in parts if p) or text[:60]


def merged(first: dict[str, str], second: dict[str, str]) -> dict[str, str]:
    """The annotations of two adjoining passages as one span's (cites joined, pages spanned)."""
    out = dict(first)
    cites = [c for c in (first.get("cites", "") + "," + second.get("cites", "")).split(",") if c]
    if cites:
        out["cites"] = ",".join(dict.fromkeys(cites))
    if second.get("loe") and not first.get("loe"):
        out["loe"] = second["loe"]
    pages = [p for p in (first.get("page"), second.get("page")) if p]
    if pages:
        begin, finish = pages[0].split("-")[0], pages[-1].split("-")[-1]
        out["page"] = begin if begin == finish else f"{begin}-{finish}"
    return out


def references_of(doc: Document) -> dict[str, dict[str, str]]:
    """The document's reference list by key ({} when it has none or it is unreadable)."""
    raw = doc.extra.get("references")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def supported_by(doc: Document, annotations: dict[str, str]) -> list[str]:
    """Labels of the references a passage cites (its annotations' 'cites'), in order."""
    keys = [k for k in annotations.get("cites", "").split(",") if k]
    if not keys:
        return []
    refs = references_of(doc)
    return [reference_label(refs[k]) for k in keys if k in refs]


def grade(doc: Document, annotations: dict[str, str]) -> str | None:
    """The source's own level of evidence for a passage ('Level of evidence A1')."""
    value = annotations.get("loe")
    if not value:
        return None
    scheme = doc.extra.get("grade_scheme", "Level of evidence")
    return f"{scheme} {value}"


def age_note(doc: Document, today: date | None = None, max_age: int = 5) -> str | None:
    """'guideline from 2014, over 5 years old' for an aged guideline (settings'
    guideline_max_age_years); None otherwise."""
    if doc.evidence_level is not EvidenceLevel.GUIDELINE or not doc.year:
        return None
    limit = max_age
    age = (today or date.today()).year - doc.year
    if age <= limit:
        return None
    return f"guideline from {doc.year}, over {limit} years old: check for updates"
