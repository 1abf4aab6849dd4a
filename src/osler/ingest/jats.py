"""PMC full text in JATS/NLM XML (<article>, or several in a <pmc-articleset>).

Sections: the abstract(s) first, then every body <sec> headed by its title path
("Methods › Study population"), each with only its own paragraphs. Tables, figures,
supplementary material and back matter (references) are left out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import PurePath
from typing import BinaryIO

from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, year_of
from osler.ingest.literature import (
    DEEP_MARKUP,
    flatten,
    heading_of,
    iter_records,
    normalize_pmcid,
    partial_date,
    professional_document,
)
from osler.models import ParsedDocument, Section, Skipped

#: Subtrees whose text is not running prose.
SKIP = frozenset(
    {"table-wrap", "table-wrap-group", "fig", "fig-group", "supplementary-material", "ref-list"}
)
#: Block elements of a <sec> or <body> that hold running text (besides nested <sec>s).
BLOCKS = frozenset(
    {"p", "list", "def-list", "disp-quote", "statement", "boxed-text", "verse-group"}
)
#: Abstract types that are not prose worth indexing.
SKIP_ABSTRACTS = frozenset({"graphical", "toc"})
#: JATS article-type -> PubMed publication type, for the evidence assessment only.
ARTICLE_TYPES: dict[str, str] = {
    "review-article": "Review",
    "case-report": "Case Reports",
    "systematic-review": "Systematic Review",
    "meta-analysis": "Meta-Analysis",
    "practice-guideline": "Practice Guideline",
}
#: pub-date types, most preferred first.
DATE_PREFERENCE = ["epub", "ppub", "pub", "epub-ppub", "collection"]
PATH_SEP = " › "
ACRONYM = re.compile(r"[A-Z0-9]{2,5}")


def _title(elem: ET.Element | None) -> str:
    """A section title, flattened; ALL-CAPS (but not an acronym like "HIV") and lower case fixed."""
    text = flatten(elem, SKIP)
    if not ACRONYM.fullmatch(text):
        text = heading_of(text)
    return text[:1].upper() + text[1:] if text.islower() else text


def _block_lines(block: ET.Element) -> list[str]:
    """The paragraph lines of one text block: one per list item, else one for the block."""
    if block.tag in ("list", "def-list"):
        items = block.findall("list-item") or block.findall("def-item")
        if items:
            return [text for text in (flatten(item, SKIP) for item in items) if text]
    text = flatten(block, SKIP)
    return [text] if text else []


def _walk(container: ET.Element, path: list[str], out: list[Section]) -> None:
    """Append container's paragraphs and, recursively, its sub-sections, in reading order."""
    heading = PATH_SEP.join(path) or "Body"
    lines: list[str] = []
    for child in container:
        if child.tag in BLOCKS:
            lines.extend(_block_lines(child))
        elif child.tag == "sec":
            if lines:
                out.append(Section(heading=heading, text="\n".join(lines)))
                lines = []
            title = _title(child.find("title"))
            _walk(child, [*path, title] if title else path, out)
    if lines:
        out.append(Section(heading=heading, text="\n".join(lines)))


def _abstract_sections(meta: ET.Element) -> list[Section]:
    """Each abstract as one section, or one per abstract <sec> ("Abstract — Background")."""
    out: list[Section] = []
    for abstract in meta.iterfind("abstract"):
        kind = abstract.get("abstract-type", "")
        if kind in SKIP_ABSTRACTS:
            continue
        base = "Abstract"
        if kind:
            base = _title(abstract.find("title")) or heading_of(kind.replace("-", " ").upper())
        found: list[Section] = []
        _walk(abstract, [], found)
        for section in found:
            heading = base if section.heading == "Body" else f"{base} — {section.heading}"
            out.append(Section(heading=heading, text=section.text))
    return out


def _initials(given: str) -> str:
    """ "JA" from "John A.", "MC" from "M-C"."""
    parts = given.replace(".", " ").replace("-", " ").split()
    return "".join(part[0] for part in parts if part[0].isalpha())


def _authors(meta: ET.Element) -> list[str]:
    """Authors as "Surname Initials" (or the collaboration name), in order."""
    names: list[str] = []
    for contrib in meta.iterfind("contrib-group/contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        if name is None:
            name = contrib.find("name-alternatives/name")
        if name is not None:
            surname = flatten(name.find("surname"))
            full = f"{surname} {_initials(flatten(name.find('given-names')))}".strip()
        else:
            full = flatten(contrib.find("collab"))
        if full:
            names.append(full)
    return names


def _pub_date(meta: ET.Element) -> str | None:
    """The preferred publication date (epub, ppub, pub, ...) as a partial ISO date."""
    dates = {}
    for elem in meta.iterfind("pub-date"):
        kind = elem.get("pub-type") or elem.get("date-type") or ""
        if year_of(elem.findtext("year")):
            dates.setdefault(kind, elem)
    if not dates:
        return None
    kind = next((k for k in DATE_PREFERENCE if k in dates), next(iter(dates)))
    chosen = dates[kind]
    return partial_date(chosen.findtext("year"), chosen.findtext("month"), chosen.findtext("day"))


def _ids(meta: ET.Element) -> dict[str, str]:
    """pmcid, pmid and doi from <article-id>."""
    ids: dict[str, str] = {}
    for elem in meta.iterfind("article-id"):
        kind, value = elem.get("pub-id-type", ""), clean_inline(elem.text)
        kind = "pmcid" if kind in ("pmc", "pmcid") else kind
        if value and kind in ("pmcid", "pmid", "doi"):
            ids.setdefault(kind, value)
    if "pmcid" in ids:
        ids["pmcid"] = normalize_pmcid(ids["pmcid"]) or ""
    return ids


def _journal(article: ET.Element) -> str | None:
    """The journal title, else its NLM or ISO abbreviation."""
    journal_meta = article.find("front/journal-meta")
    if journal_meta is None:
        return None
    title = flatten(journal_meta.find(".//journal-title"))
    if title:
        return title
    for elem in journal_meta.iterfind("journal-id"):
        if elem.get("journal-id-type") in ("nlm-ta", "iso-abbrev") and clean_inline(elem.text):
            return clean_inline(elem.text)
    return None


def _identity(ids: dict[str, str], path: str, ordinal: int) -> tuple[str, str | None]:
    """The document id and URL: by PMCID, else PMID, else the file name."""
    if ids.get("pmcid"):
        pmcid = ids["pmcid"]
        return f"pmc:{pmcid}", f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}/"
    if ids.get("pmid"):
        return f"pmc-pmid:{ids['pmid']}", f"https://pubmed.ncbi.nlm.nih.gov/{ids['pmid']}/"
    stem = PurePath(path).name.split(".")[0]
    return (f"pmc-file:{stem}" if ordinal == 1 else f"pmc-file:{stem}:{ordinal}"), None


def _article(article: ET.Element, path: str, ordinal: int) -> ParsedDocument:
    """The document of one <article>; BadRecord when it has no abstract or body text."""
    meta = article.find("front/article-meta")
    if meta is None:
        raise BadRecord("no <front>/<article-meta>")
    abstract = _abstract_sections(meta)
    sections = list(abstract)
    body = article.find("body")
    if body is not None:
        _walk(body, [], sections)
    if not sections:
        raise BadRecord("no abstract or body text")
    title = flatten(meta.find("title-group/article-title"), SKIP)
    check_size(title + "".join(s.text for s in sections))
    ids = _ids(meta)
    doc_id, url = _identity(ids, path, ordinal)
    article_type = article.get("article-type", "")
    keywords = [k for k in (flatten(e) for e in meta.iterfind("kwd-group/kwd")) if k]
    pub_date = _pub_date(meta)
    doc = professional_document(
        title=title,
        abstract="\n".join(s.text for s in abstract),
        publication_types=[article_type] if article_type else [],
        assess_types=[ARTICLE_TYPES[article_type]] if article_type in ARTICLE_TYPES else [],
        mesh_terms=[],
        id=doc_id,
        source="PMC",
        source_type="journal-article",
        url=url,
        pmid=ids.get("pmid"),
        pmcid=ids.get("pmcid"),
        doi=ids.get("doi"),
        authors=_authors(meta),
        journal=_journal(article),
        pub_date=pub_date,
        year=year_of(pub_date),
        extra={"dataset": "pmc"} | ({"keywords": "; ".join(keywords)} if keywords else {}),
    )
    return ParsedDocument(document=doc, sections=sections)


def _label(article: ET.Element, ordinal: int) -> str:
    """How a skipped article is named in the report: PMCID, PMID or its position."""
    meta = article.find("front/article-meta")
    ids = _ids(meta) if meta is not None else {}
    if ids.get("pmcid"):
        return ids["pmcid"]
    return f"PMID {ids['pmid']}" if ids.get("pmid") else f"article {ordinal}"


def _is_record(tag: str, depth: int) -> bool:
    """<article> as the root or as a child of <pmc-articleset>."""
    return tag == "article" and depth <= 1


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """Stream a JATS file: one ParsedDocument (or Skipped) per <article>."""
    for ordinal, article in enumerate(iter_records(fh, _is_record), 1):
        result: ParseResult
        try:
            result = _article(article, path, ordinal)
        except BadRecord as exc:
            result = Skipped(path=path, record=_label(article, ordinal), reason=str(exc))
        except RecursionError:
            result = Skipped(path=path, record=_label(article, ordinal), reason=DEEP_MARKUP)
        yield result
