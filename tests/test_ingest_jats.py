"""PMC JATS parser against the real full-text files in the shared sample folder."""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from osler.ingest import jats
from osler.ingest.base import ParseResult
from osler.models import EvidenceLevel, ParsedDocument, Skipped

SHARED = Path(
    os.environ.get("OSLER_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SAMPLES = SHARED / "pubmed_xml_samples"
assert SAMPLES.is_dir(), f"shared data missing at {SAMPLES}; set OSLER_SHARED_DATA"

FOLDER = SAMPLES / "pmc_jats"
#: file -> (PMCID, PMID), as SOURCE.md lists them (the efetch file's ids read from the file).
IDS = {
    "1471-2180-11-174.nxml": ("3166277", "21810267"),
    "1472-6831-8-11.nxml": ("2329613", "18405359"),
    "6605965a.nxml": ("2994229", "21045829"),
    "ehp-116-1694.nxml": ("2599765", "19079722"),
    "mds526.nxml": ("3574550", "23149571"),
    "pntd.0002065.nxml": ("3585041", "23469300"),
    "pone.0000217.nxml": ("1790863", "17299597"),
    "pone.0046493.nxml": ("3460867", "23029536"),
    "biopython_efetch_pmc.xml": ("8435807", "34527728"),
}
MARKUP = re.compile(r"</?[A-Za-z][\w:.-]*>")


def run(path: Path) -> list[ParseResult]:
    """Everything the parser yields for one file."""
    with path.open("rb") as fh:
        return list(jats.parse(fh, str(path)))


def one(name: str) -> ParsedDocument:
    """The single parsed article of a sample file."""
    (result,) = run(FOLDER / name)
    assert isinstance(result, ParsedDocument)
    return result


def headings(result: ParsedDocument) -> list[str]:
    """Section headings in order."""
    return [s.heading for s in result.sections]


def flat(elem: ET.Element | None) -> str:
    """Independent flattening of an element's text, for comparisons."""
    return " ".join("".join(elem.itertext()).split()) if elem is not None else ""


def test_nine_articles_in_the_folder() -> None:
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted(IDS)
    assert sum(len(run(FOLDER / name)) for name in IDS) == 9


@pytest.mark.parametrize("name", sorted(IDS))
def test_every_file_matches_its_xml(name: str) -> None:
    result = one(name)
    doc = result.document
    root = ET.parse(FOLDER / name).getroot()
    article = root if root.tag == "article" else root.find("article")
    meta = article.find("front/article-meta")
    pmc, pmid = IDS[name]
    assert doc.id == f"pmc:PMC{pmc}" and doc.pmcid == f"PMC{pmc}" and doc.pmid == pmid
    assert doc.url == f"https://www.ncbi.nlm.nih.gov/pmc/articles/PMC{pmc}/"
    assert doc.doi == meta.findtext("article-id[@pub-id-type='doi']")
    assert doc.title == flat(meta.find("title-group/article-title"))
    assert doc.journal == flat(article.find("front/journal-meta").find(".//journal-title"))
    assert doc.publication_types == [article.get("article-type")]
    assert doc.source == "PMC" and doc.source_type == "journal-article"
    assert doc.mesh_terms == [] and doc.extra["dataset"] == "pmc"
    contribs = [c for c in meta.iter("contrib") if c.get("contrib-type") == "author"]
    assert len(doc.authors) == len(contribs)
    epub = meta.find("pub-date[@pub-type='epub']")
    assert doc.year == int(epub.findtext("year"))
    assert doc.pub_date == "{}-{:02d}-{:02d}".format(
        epub.findtext("year"), int(epub.findtext("month")), int(epub.findtext("day"))
    )
    assert result.sections and all(s.text.strip() and s.heading for s in result.sections)
    for section in result.sections:
        assert not MARKUP.search(section.text) and not MARKUP.search(section.heading)
        assert all(line == " ".join(line.split()) for line in section.text.split("\n"))
    assert doc.title not in headings(result)


@pytest.mark.parametrize("name", sorted(n for n in IDS if n.endswith(".nxml")))
def test_tables_and_references_left_out(name: str) -> None:
    text = "\n".join(s.text for s in one(name).sections)
    root = ET.parse(FOLDER / name).getroot()
    for table in root.iter("table-wrap"):
        caption = flat(table.find("caption"))
        if len(caption) > 30:
            assert caption not in text
    for title in root.findall("back/ref-list/ref//article-title")[:5]:
        assert flat(title) not in text


def test_structured_abstract_then_nested_body_sections() -> None:
    result = one("1471-2180-11-174.nxml")
    doc = result.document
    assert doc.title == "Factors influencing lysis time stochasticity in bacteriophage λ"
    assert doc.authors == ["Dennehy JJ", "Wang IN"]
    assert doc.journal == "BMC Microbiology" and doc.pub_date == "2011-08-02"
    assert headings(result)[:5] == [
        "Abstract — Background",
        "Abstract — Results",
        "Abstract — Conclusions",
        "Background",
        "Results",
    ]
    assert "Results › Effect of allelic variation in holin sequence" in headings(result)
    assert "Results › Effect of late promoter pR' activity" in headings(result)  # <italic> title
    assert "Methods › Statistical analysis" in headings(result)
    assert "Methods" not in headings(result)  # only sub-sections, no own paragraphs
    assert "Supplementary Material" not in headings(result)
    background = next(s for s in result.sections if s.heading == "Background")
    assert len(background.text.split("\n")) == 7  # one line per <p>
    results = next(s for s in result.sections if s.heading == "Results")
    assert len(results.text.split("\n")) == 1  # nested secs' paragraphs not repeated


def test_three_levels_of_nesting() -> None:
    result = one("pone.0000217.nxml")
    assert (
        "Methods › Appendix B: robustness to assumptions › Slope of the fitness function"
        in headings(result)
    )
    assert headings(result)[:3] == [
        "Abstract — Background",
        "Abstract — Methodology",
        "Abstract — Conclusions/Significance",
    ]
    assert result.document.authors == ["Tenaillon O", "Silander OK", "Uzan JP", "Chao L"]


def test_body_paragraphs_outside_sections_and_keywords() -> None:
    result = one("6605965a.nxml")
    doc = result.document
    assert headings(result) == [
        "Abstract — Background",  # the file's titles are "Background:" etc.
        "Abstract — Methods",
        "Abstract — Results",
        "Abstract — Conclusion",
        "Body",
        "Materials and Methods",
        "Results",
        "Discussion",
    ]
    assert doc.extra["keywords"] == (
        "oral contraceptives; reproductive history; colorectal cancer; cohort study"
    )
    assert doc.mesh_terms == []
    assert doc.authors[10] == "Boutron-Ruault MC"
    assert doc.journal == "British Journal of Cancer"
    assert doc.pub_date == "2010-11-02"  # epub preferred over ppub (2010-11)


def test_lower_case_titles_and_epub_before_ppub() -> None:
    result = one("mds526.nxml")
    assert headings(result)[4:7] == ["Introduction", "Methods › Data", "Methods › Analysis"]
    assert "Abstract — Patients and methods" in headings(result)
    assert result.document.pub_date == "2012-11-12" and result.document.year == 2012


def test_unstructured_abstract_and_author_summary() -> None:
    result = one("pntd.0002065.nxml")
    assert headings(result)[:3] == ["Abstract", "Author Summary", "Introduction"]
    assert result.document.title == (
        "Serological Evidence of Rift Valley Fever Virus Circulation in Sheep and Goats in "
        "Zambézia Province, Mozambique"
    )
    assert "Materials and Methods › Ethical approval" in headings(result)


def test_inline_markup_in_section_titles() -> None:
    result = one("pone.0046493.nxml")
    assert "Results › In vitro inhibition studies" in headings(result)
    assert "Materials and Methods › Inhibition by MmPPOX and THL" in headings(result)


def test_efetch_articleset_front_matter_and_body_paragraph() -> None:
    result = one("biopython_efetch_pmc.xml")
    doc = result.document
    assert doc.publication_types == ["correction"]
    assert doc.authors == [] and doc.journal == "ERJ Open Research"
    assert doc.title.startswith("“Lung diffusing capacity for nitric oxide")
    assert "ERJ Open Res 2021; 7: 00193-2021." in doc.title  # <italic> flattened
    assert headings(result) == ["Body"]
    assert result.sections[0].text.startswith("This article was originally published with an error")


def article_xml(
    meta: str = "", body: str = "", article_type: str = "research-article", wrap: bool = False
) -> io.BytesIO:
    """A small synthetic JATS document."""
    article = (
        f'<article article-type="{article_type}"><front><journal-meta><journal-id '
        f'journal-id-type="nlm-ta">J Test</journal-id></journal-meta><article-meta>{meta}'
        f"<title-group><article-title>T</article-title></title-group></article-meta></front>"
        f"{body}</article>"
    )
    text = f"<pmc-articleset>{article}{article}</pmc-articleset>" if wrap else article
    return io.BytesIO(text.encode())


@pytest.mark.parametrize(
    ("article_type", "level", "inferred"),
    [
        ("review-article", EvidenceLevel.EXPERT_OPINION, False),
        ("systematic-review", EvidenceLevel.SYSTEMATIC_REVIEW, False),
        ("meta-analysis", EvidenceLevel.SYSTEMATIC_REVIEW, False),
        ("case-report", EvidenceLevel.CASE_REPORT, False),
        ("practice-guideline", EvidenceLevel.GUIDELINE, False),
        ("research-article", EvidenceLevel.NOT_GRADED, False),
    ],
)
def test_article_type_drives_evidence(
    article_type: str, level: EvidenceLevel, inferred: bool
) -> None:
    fh = article_xml("<abstract><p>Some text.</p></abstract>", article_type=article_type)
    (result,) = jats.parse(fh, "a.nxml")
    assert isinstance(result, ParsedDocument)
    assert result.document.evidence_level is level
    assert result.document.evidence_inferred is inferred
    assert result.document.publication_types == [article_type]


def test_id_fallbacks_and_skips() -> None:
    pmid_only = '<article-id pub-id-type="pmid">42</article-id>'
    (by_pmid,) = jats.parse(article_xml(pmid_only, "<body><p>x</p></body>"), "a.nxml")
    assert by_pmid.document.id == "pmc-pmid:42" and by_pmid.document.journal == "J Test"
    first, second = jats.parse(article_xml(body="<body><p>x</p></body>", wrap=True), "/d/set.xml")
    assert (first.document.id, second.document.id) == ("pmc-file:set", "pmc-file:set:2")
    pmcid = '<article-id pub-id-type="pmcid">PMC7</article-id>'
    (empty,) = jats.parse(article_xml(pmcid), "e.nxml")
    assert empty == Skipped(path="e.nxml", record="PMC7", reason="no abstract or body text")


def test_truncated_file_raises_value_error(tmp_path: Path) -> None:
    data = (FOLDER / "pone.0046493.nxml").read_bytes()
    cut = tmp_path / "cut.nxml"
    cut.write_bytes(data[: len(data) // 2])
    with cut.open("rb") as fh, pytest.raises(ValueError, match="XML syntax error after 0 records"):
        list(jats.parse(fh, str(cut)))


def test_section_titles_lists_and_namespaces() -> None:
    body = (
        "<body><sec><title>METHODS</title><p>a <italic>b</italic></p><list>"
        "<list-item><p>one</p></list-item><list-item><p>two</p></list-item></list>"
        "<sec><title>HIV</title><p>c</p><table-wrap><caption><p>Table text</p></caption>"
        "</table-wrap></sec></sec><sec><title>results</title><p>d</p></sec></body>"
    )
    fh = article_xml(body=body)
    namespaced = fh.getvalue().replace(b"<article ", b'<article xmlns="urn:x" ', 1)
    for data in (fh.getvalue(), namespaced):
        (result,) = jats.parse(io.BytesIO(data), "a.nxml")
        assert [(s.heading, s.text) for s in result.sections] == [
            ("Methods", "a b\none\ntwo"),
            ("Methods › HIV", "c"),
            ("Results", "d"),
        ]
        assert result.document.journal == "J Test"
