"""PubMed efetch and MEDLINE baseline XML (<PubmedArticleSet>): one document per article."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
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

RECORD_TAGS = {"PubmedArticle", "PubmedBookArticle"}


def _texts(parent: ET.Element | None, path: str) -> list[str]:
    """The flattened, non-empty texts of parent's elements at path."""
    if parent is None:
        return []
    return [text for text in (flatten(e) for e in parent.iterfind(path)) if text]


def _author(author: ET.Element) -> str:
    """ "LastName Initials", or the collective name."""
    last = clean_inline(author.findtext("LastName"))
    if not last:
        return flatten(author.find("CollectiveName"))
    initials = clean_inline(author.findtext("Initials"))
    if not initials:
        fore = clean_inline(author.findtext("ForeName"))
        initials = "".join(part[0] for part in re.split(r"[\s.\-]+", fore) if part)
    return f"{last} {initials}".strip()


def _authors(article: ET.Element) -> list[str]:
    """Valid authors of the article, in order."""
    authors = (_author(a) for a in article.iterfind("AuthorList/Author") if a.get("ValidYN") != "N")
    return [name for name in authors if name]


def _pub_date(article: ET.Element) -> str | None:
    """The journal issue's publication date; MedlineDate ranges give the year only."""
    date = article.find("Journal/JournalIssue/PubDate")
    if date is not None:
        if date.findtext("Year"):
            return partial_date(date.findtext("Year"), date.findtext("Month"), date.findtext("Day"))
        found = year_of(date.findtext("MedlineDate"))
        if found:
            return str(found)
    electronic = article.find("ArticleDate")
    if electronic is not None:
        return partial_date(
            electronic.findtext("Year"), electronic.findtext("Month"), electronic.findtext("Day")
        )
    return None


def _article_ids(record: ET.Element) -> dict[str, str]:
    """The record's own ArticleIdList (not its references') by IdType."""
    ids: dict[str, str] = {}
    for elem in record.iterfind("PubmedData/ArticleIdList/ArticleId"):
        kind, value = elem.get("IdType", ""), clean_inline(elem.text)
        if value and kind not in ids:
            ids[kind] = value
    return ids


def _doi(record: ET.Element, article: ET.Element) -> str | None:
    """The DOI from the ArticleIdList, else from an ELocationID."""
    doi = _article_ids(record).get("doi")
    if doi:
        return doi
    for elem in article.iterfind("ELocationID"):
        if elem.get("EIdType") == "doi" and clean_inline(elem.text):
            return clean_inline(elem.text)
    return None


def _sections(article: ET.Element, title: str) -> list[Section]:
    """One section per AbstractText (labelled or "Abstract"); the title alone if no abstract."""
    sections: list[Section] = []
    for elem in article.iterfind("Abstract/AbstractText"):
        text = flatten(elem)
        if not text:
            continue
        heading = heading_of(elem.get("Label", "")) or "Abstract"
        if sections and heading == "Abstract" and sections[-1].heading == "Abstract":
            sections[-1] = Section(heading="Abstract", text=f"{sections[-1].text}\n{text}")
        else:
            sections.append(Section(heading=heading, text=text))
    if not sections and title:
        sections.append(Section(heading="Title", text=title))
    return sections


def _journal(article: ET.Element, citation: ET.Element) -> str | None:
    """Journal title, else its ISO abbreviation, else the MEDLINE abbreviation."""
    for name in (
        flatten(article.find("Journal/Title")),
        flatten(article.find("Journal/ISOAbbreviation")),
        flatten(citation.find("MedlineJournalInfo/MedlineTA")),
    ):
        if name:
            return name
    return None


def _article(record: ET.Element, citation: ET.Element, pmid: str) -> ParsedDocument:
    """The document of one PubmedArticle; BadRecord when it holds no text."""
    article = citation.find("Article")
    if article is None:
        raise BadRecord("no Article element")
    title = flatten(article.find("ArticleTitle")) or flatten(article.find("VernacularTitle"))
    sections = _sections(article, title)
    if not sections:
        raise BadRecord("no title and no abstract text")
    abstract = "\n".join(s.text for s in sections if s.heading != "Title")
    check_size(abstract + title)
    pub_date = _pub_date(article)
    keywords = _texts(citation, "KeywordList/Keyword")
    extra = {"dataset": "pubmed"} | ({"keywords": "; ".join(keywords)} if keywords else {})
    doc = professional_document(
        title=title,
        abstract=abstract,
        publication_types=_texts(article, "PublicationTypeList/PublicationType"),
        mesh_terms=_texts(citation, "MeshHeadingList/MeshHeading/DescriptorName"),
        id=f"pubmed:{pmid}",
        source="PubMed",
        source_type="journal-article",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        pmid=pmid,
        pmcid=normalize_pmcid(_article_ids(record).get("pmc")),
        doi=_doi(record, article),
        authors=_authors(article),
        journal=_journal(article, citation),
        pub_date=pub_date,
        year=year_of(pub_date),
        extra=extra,
    )
    return ParsedDocument(document=doc, sections=sections)


def _record(record: ET.Element, path: str, ordinal: int) -> ParseResult:
    """A ParsedDocument for a PubmedArticle, or Skipped for book records and bad records."""
    book = record.tag == "PubmedBookArticle"
    pmid = clean_inline(record.findtext("BookDocument/PMID" if book else "MedlineCitation/PMID"))
    label = f"PMID {pmid}" if pmid else f"record {ordinal}"
    if book:
        return Skipped(path=path, record=label, reason="book records not supported")
    citation = record.find("MedlineCitation")
    if citation is None or not pmid:
        return Skipped(path=path, record=label, reason="no PMID")
    try:
        return _article(record, citation, pmid)
    except BadRecord as exc:
        return Skipped(path=path, record=label, reason=str(exc))
    except RecursionError:
        return Skipped(path=path, record=label, reason=DEEP_MARKUP)


def _is_record(tag: str, depth: int) -> bool:
    """PubmedArticle / PubmedBookArticle as the root or a child of the root."""
    return tag in RECORD_TAGS and depth <= 1


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """Stream a PubmedArticleSet: one ParsedDocument (or Skipped) per article."""
    for ordinal, record in enumerate(iter_records(fh, _is_record), 1):
        yield _record(record, path, ordinal)
