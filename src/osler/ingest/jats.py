"""PMC full text in JATS/NLM XML (<article>, or several in a <pmc-articleset>).

Sections: the abstract(s) first ("Abstract › Background"), then every body <sec> headed by
its title path ("Methods › Study population"), each with only its own paragraphs. Each table
becomes an atomic section of its own ("Results › Table 2"): the caption line ("Table 2. Primary
outcomes at 12 weeks"), then one line per row, cells joined with "; " (header rows too); table
footnotes are dropped. Each figure becomes a section of its caption ("Figure 1. ..."). A table
or figure sits where the body has it; one kept apart in <floats-group> goes after the first
section that cites it. Numbered citations ("[12]", superscript "3,4") leave the text and become
'cite' annotations (the <ref> ids) on their passage; an author-year citation ("Smith et al.,
2010") stays as written and is annotated too. The reference list is not text: it is kept on the
document (extra 'references', JSON of ref id -> text and PMID). Supplementary material and the
rest of the back matter are left out.

The evidence level is assessed from the article's own metadata (article-type, the heading
subject of <article-categories>), then its title, abstract and methods section (see
`osler.evidence`).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import PurePath
from typing import BinaryIO

from osler import evidence
from osler.ingest import annotations
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
from osler.models import EvidenceLevel, ParsedDocument, Section, Skipped

#: Subtrees whose text is not running prose (tables and figures get sections of their own).
SKIP = frozenset(
    {"table-wrap", "table-wrap-group", "fig", "fig-group", "supplementary-material", "ref-list"}
)
#: Tables and figures: each becomes a section of its own.
FLOATS = frozenset({"table-wrap", "fig"})
#: A table or figure, or a group of them, in a section.
FLOAT_GROUPS = FLOATS | {"table-wrap-group", "fig-group"}
#: Subtrees never searched for tables and figures.
NOT_FLOATS = frozenset({"supplementary-material", "ref-list", "table-wrap-foot"})
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
    "editorial": "Editorial",
    "letter": "Letter",
    "article-commentary": "Comment",
    "correction": "Published Erratum",
    "retraction": "Retraction of Publication",
}
#: The journal's heading subject (<subj-group subj-group-type="heading">), lower case ->
#: PubMed publication type, for the assessment only: only headings that name a design or a
#: genre. "Clinical Trial" is not one of them: it does not say randomized, and as the PubMed
#: type it would rank a randomized trial as a non-randomized one.
HEADING_TYPES: dict[str, str] = {
    **dict.fromkeys(
        [
            "randomized controlled trial",
            "randomised controlled trial",
            "randomized clinical trial",
            "randomised clinical trial",
        ],
        "Randomized Controlled Trial",
    ),
    **dict.fromkeys(
        ["non-randomized controlled trial", "non-randomised controlled trial"],
        "Controlled Clinical Trial",
    ),
    **dict.fromkeys(["systematic review", "systematic reviews"], "Systematic Review"),
    **dict.fromkeys(["meta-analysis", "meta-analyses"], "Meta-Analysis"),
    **dict.fromkeys(
        ["review", "reviews", "review article", "narrative review", "mini review", "minireview"],
        "Review",
    ),
    **dict.fromkeys(["case report", "case reports"], "Case Reports"),
    **dict.fromkeys(["editorial", "editorials"], "Editorial"),
    **dict.fromkeys(["commentary", "commentaries", "comment"], "Comment"),
    **dict.fromkeys(["letter", "letters", "letter to the editor", "correspondence"], "Letter"),
    **dict.fromkeys(["practice guideline", "guideline", "guidelines"], "Practice Guideline"),
}
#: Levels of genres that report no study of their own (a review, an opinion) or one patient.
#: A publisher's tag for one is set aside when the abstract reports a study of its own (has
#: Methods and Results sections): then the article's own words decide.
NOT_A_STUDY = frozenset({EvidenceLevel.EXPERT_OPINION, EvidenceLevel.CASE_REPORT})
_ABSTRACT_METHODS = re.compile(r"method|design|patients|participants|subjects", re.I)
_ABSTRACT_RESULTS = re.compile(r"result|finding", re.I)
#: Body sections read for the evidence cues of a methods section: those with a heading of
#: methods, design, allocation, participants ..., but not under an introduction or discussion.
METHODS_HEADING = re.compile(
    r"method|design|randomi[sz]ation|allocation|procedure|protocol|participants|subjects|"
    r"patients|intervention",
    re.I,
)
NOT_METHODS = re.compile(r"introduction|background|discussion|conclusion", re.I)
#: pub-date types, most preferred first.
DATE_PREFERENCE = ["epub", "ppub", "pub", "epub-ppub", "collection"]
PATH_SEP = " › "
ACRONYM = re.compile(r"[A-Z0-9]{2,5}")
#: A citation marker that is only a pointer ("12", "[3–5]", "▶"), not words of the sentence.
POINTER = re.compile(r"[^A-Za-z]*")
_CITE = f"{annotations.OPEN}cite:[^{annotations.CLOSE}]*{annotations.CLOSE}"
#: Separators left between two citation markers ("[1], [2]–[5]", superscript "1,2").
_BETWEEN_CITES = re.compile(rf"(?<={annotations.CLOSE})\s*(?:[,;\u2013\u2014-]|and)\s*(?={_CITE})")
#: Brackets left around citation markers only ("[⟦1⟧⟦2⟧]", "(⟦3⟧)").
_BRACKETED_CITES = re.compile(rf"[\[(]\s*((?:{_CITE}\s*)+)[\])]")
#: Labels of tables and figures written as "Fig. 2" or "TABLE 1".
_FIG_LABEL = re.compile(r"^fig(?:ure)?\.?\s*", re.I)
_TABLE_LABEL = re.compile(r"^table\.?\s*", re.I)
_END = re.compile(r"[.!?:;]$")
#: Longest reference text kept on the document.
MAX_REFERENCE_CHARS = 400


def _tidy(text: str) -> str:
    """Prose with its citation markers packed: no brackets or commas left around them."""
    if annotations.OPEN in text:
        text = _BETWEEN_CITES.sub("", text)
        text = _BRACKETED_CITES.sub(r"\1", text)
    return clean_inline(text)


def _prose(elem: ET.Element | None) -> str:
    """The running text of an element: inline markup flattened, tables and figures left out."""
    return _tidy(flatten(elem, SKIP))


def _title(elem: ET.Element | None) -> str:
    """A section title, flattened; ALL-CAPS (but not an acronym like "HIV") and lower case fixed."""
    text = annotations.strip(flatten(elem, SKIP))
    if not ACRONYM.fullmatch(text):
        text = heading_of(text)
    return text[:1].upper() + text[1:] if text.islower() else text


def _block_lines(block: ET.Element) -> list[str]:
    """The paragraph lines of one text block: one per list item, else one for the block."""
    if block.tag in ("list", "def-list"):
        items = block.findall("list-item") or block.findall("def-item")
        if items:
            return [text for text in (_prose(item) for item in items) if text]
    text = _prose(block)
    return [text] if text else []


def _mark_citations(article: ET.Element) -> None:
    """Turn citation <xref>s into 'cite' annotations, in place (see the module docstring);
    footnote markers (table footnotes are dropped) go."""
    for xref in article.iter("xref"):
        kind = xref.get("ref-type")
        if kind == "bibr":
            marks = "".join(
                annotations.mark("cite", key) for key in (xref.get("rid") or "").split()
            )
            if POINTER.fullmatch("".join(xref.itertext())):
                for child in list(xref):
                    xref.remove(child)
                xref.text = marks
            else:
                xref.tail = marks + (xref.tail or "")
        elif kind in ("table-fn", "fn"):
            for child in list(xref):
                xref.remove(child)
            xref.text = ""


def _floats_in(elem: ET.Element) -> Iterator[ET.Element]:
    """The tables and figures inside elem (elem itself if it is one), in document order."""
    if elem.tag in FLOATS:
        yield elem
        return
    for child in elem:
        if child.tag not in NOT_FLOATS:
            yield from _floats_in(child)


def _cited_floats(block: ET.Element) -> list[str]:
    """Ids of the tables and figures a text block cites, in order."""
    return [
        rid
        for xref in block.iter("xref")
        if xref.get("ref-type") in ("table", "fig")
        for rid in (xref.get("rid") or "").split()
    ]


def _label(elem: ET.Element) -> str:
    """ "Table 2", "Figure 1" (from "Fig. 1"); the bare kind when the float has no label."""
    label = annotations.strip(flatten(elem.find("label"))).rstrip(".:")
    if elem.tag == "fig":
        return _FIG_LABEL.sub("Figure ", label).strip() if label else "Figure"
    return _TABLE_LABEL.sub("Table ", label).strip() if label else "Table"


def _caption_line(elem: ET.Element, label: str) -> str:
    """ "Table 2. Primary outcomes at 12 weeks. Values are means." from label and caption."""
    caption = elem.find("caption")
    parts = []
    if caption is not None:
        parts = [_prose(caption.find("title")), *(_prose(p) for p in caption.findall("p"))]
    text = " ".join(part if _END.search(part) else part + "." for part in parts if part)
    if not elem.findtext("label", "").strip():
        return text
    return f"{label}. {text}" if text else label


def _table_rows(elem: ET.Element) -> list[str]:
    """One line per table row (header rows too), cells joined with "; "."""
    rows: list[str] = []
    for table in elem.iter("table"):
        for tr in table.iter("tr"):
            cells = [_prose(cell) for cell in tr if cell.tag in ("td", "th")]
            while cells and not cells[-1]:
                cells.pop()
            if any(cells):
                rows.append("; ".join(cells))
    return rows


def _float_sections(elem: ET.Element, path: list[str]) -> list[Section]:
    """The section of one table (atomic: caption, then rows) or figure (its caption)."""
    label = _label(elem)
    heading = PATH_SEP.join([*path, label])
    caption = _caption_line(elem, label)
    if elem.tag == "fig":
        return [Section(heading=heading, text=caption)] if caption not in ("", label) else []
    lines = [line for line in [caption, *_table_rows(elem)] if line]
    return [Section(heading=heading, text="\n".join(lines), atomic=True)] if lines else []


def _walk(
    container: ET.Element, path: list[str], out: list[Section], floats: dict[str, ET.Element]
) -> None:
    """Append container's paragraphs, then its tables and figures, then (recursively) its
    sub-sections, in reading order; a float of `floats` (kept apart) goes with the first
    paragraphs citing it."""
    heading = PATH_SEP.join(path) or "Body"
    lines: list[str] = []
    found: list[ET.Element] = []
    cited: list[str] = []

    def flush() -> None:
        if lines:
            out.append(Section(heading=heading, text="\n".join(lines)))
            lines.clear()
        found.extend(floats.pop(rid) for rid in dict.fromkeys(cited) if rid in floats)
        for elem in found:
            out.extend(_float_sections(elem, path))
        found.clear()
        cited.clear()

    for child in container:
        if child.tag in BLOCKS:
            lines.extend(_block_lines(child))
            cited.extend(_cited_floats(child))
            found.extend(_floats_in(child))
        elif child.tag in FLOAT_GROUPS:
            found.extend(_floats_in(child))
        elif child.tag == "sec":
            flush()
            title = _title(child.find("title"))
            _walk(child, [*path, title] if title else path, out, floats)
    flush()


def _abstract_sections(meta: ET.Element) -> list[Section]:
    """Each abstract as one section, or one per abstract <sec> ("Abstract › Background")."""
    out: list[Section] = []
    for abstract in meta.iterfind("abstract"):
        kind = abstract.get("abstract-type", "")
        if kind in SKIP_ABSTRACTS:
            continue
        base = "Abstract"
        if kind:
            base = _title(abstract.find("title")) or heading_of(kind.replace("-", " ").upper())
        found: list[Section] = []
        _walk(abstract, [], found, {})
        for section in found:
            heading = base if section.heading == "Body" else f"{base}{PATH_SEP}{section.heading}"
            out.append(section.model_copy(update={"heading": heading}))
    return out


def _body_sections(article: ET.Element) -> list[Section]:
    """The body's sections; tables and figures of <floats-group> after the text citing them,
    any never cited at the end."""
    group = article.find("floats-group")
    kept_apart = _floats_in(group) if group is not None else iter(())
    floats = {elem.get("id", f"float-{i}"): elem for i, elem in enumerate(kept_apart)}
    sections: list[Section] = []
    body = article.find("body")
    if body is not None:
        _walk(body, [], sections, floats)
    for elem in floats.values():
        sections.extend(_float_sections(elem, []))
    return sections


def _reference_text(ref: ET.Element) -> str:
    """One reference as text: a <mixed-citation> as written, an <element-citation> as
    "Surname AB, Surname CD: Title. Source Year"."""
    citation = ref.find("mixed-citation")
    if citation is None:
        citation = ref.find("citation")  # NLM 2.x: mixed content like <mixed-citation>
    if citation is not None:
        return flatten(citation)
    citation = ref.find("element-citation")
    if citation is None:
        return flatten(ref)
    names = [
        f"{flatten(name.find('surname'))} {_initials(flatten(name.find('given-names')))}".strip()
        for name in citation.iter("name")
    ] + [flatten(collab) for collab in citation.iter("collab")]
    title = flatten(citation.find("article-title")) or flatten(citation.find("chapter-title"))
    head = ": ".join(part for part in (", ".join(n for n in names if n), title) if part)
    source = (flatten(citation.find("source")), flatten(citation.find("year")))
    tail = " ".join(part for part in source if part)
    return ". ".join(part for part in (head, tail) if part)


def _references(article: ET.Element) -> dict[str, dict[str, str]]:
    """The reference list by <ref> id: its text (shortened) and PMID when given."""
    refs: dict[str, dict[str, str]] = {}
    for ref in article.iterfind("back/ref-list//ref"):
        key = ref.get("id")
        text = _reference_text(ref)
        if not key or not text:
            continue
        entry = {"text": text[:MAX_REFERENCE_CHARS]}
        pmid = clean_inline(ref.findtext(".//pub-id[@pub-id-type='pmid']"))
        if pmid:
            entry["pmid"] = pmid
        refs[key] = entry
    return refs


def _heading_subjects(meta: ET.Element) -> list[str]:
    """The journal's heading subjects of the article ("Research Article", "Review")."""
    return [
        flatten(subject)
        for group in meta.iterfind("article-categories//subj-group")
        if group.get("subj-group-type") == "heading"
        for subject in group.findall("subject")
    ]


def _reports_a_study(abstract: list[Section]) -> bool:
    """Whether the abstract has sections of methods and of results."""
    parts = [s.heading.split(PATH_SEP, 1)[-1] for s in abstract if PATH_SEP in s.heading]
    return any(_ABSTRACT_METHODS.search(p) for p in parts) and any(
        _ABSTRACT_RESULTS.search(p) for p in parts
    )


def _assess_types(article_type: str, subjects: list[str], abstract: list[Section]) -> list[str]:
    """PubMed publication types from the article-type and the heading subjects, for the
    assessment; a genre of no study of its own is dropped when the abstract reports one."""
    types = [ARTICLE_TYPES[article_type]] if article_type in ARTICLE_TYPES else []
    types += [HEADING_TYPES[s.lower()] for s in subjects if s.lower() in HEADING_TYPES]
    if _reports_a_study(abstract):
        types = [t for t in types if evidence.PUBLICATION_TYPE_LEVELS[t.lower()] not in NOT_A_STUDY]
    return list(dict.fromkeys(types))


def _methods_text(body: list[Section]) -> str:
    """The text of the body's methods sections (see METHODS_HEADING)."""
    return "\n".join(
        s.text
        for s in body
        if METHODS_HEADING.search(s.heading)
        and not NOT_METHODS.search(s.heading.split(PATH_SEP, 1)[0])
    )


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
    _mark_citations(article)
    abstract = _abstract_sections(meta)
    body = _body_sections(article)
    sections = abstract + body
    if not sections:
        raise BadRecord("no abstract or body text")
    title = annotations.strip(flatten(meta.find("title-group/article-title"), SKIP))
    check_size(title + "".join(s.text for s in sections))
    ids = _ids(meta)
    doc_id, url = _identity(ids, path, ordinal)
    article_type = article.get("article-type", "")
    keywords = [k for k in (flatten(e) for e in meta.iterfind("kwd-group/kwd")) if k]
    pub_date = _pub_date(meta)
    references = _references(article)
    extra = {"dataset": "pmc"} | ({"keywords": "; ".join(keywords)} if keywords else {})
    if references:
        extra["references"] = json.dumps(references, ensure_ascii=False)
    doc = professional_document(
        title=title,
        abstract=annotations.strip("\n".join(s.text for s in abstract)),
        methods=annotations.strip(_methods_text(body)),
        publication_types=[article_type] if article_type else [],
        assess_types=_assess_types(article_type, _heading_subjects(meta), abstract),
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
        extra=extra,
    )
    return ParsedDocument(document=doc, sections=sections)


def _record_label(article: ET.Element, ordinal: int) -> str:
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
            result = Skipped(path=path, record=_record_label(article, ordinal), reason=str(exc))
        except RecursionError:
            result = Skipped(path=path, record=_record_label(article, ordinal), reason=DEEP_MARKUP)
        yield result
