"""PubMed XML parser against the real efetch files in the shared sample folder."""

from __future__ import annotations

import gzip
import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from osler.ingest import pubmed
from osler.ingest.base import ParseResult
from osler.models import EvidenceLevel, ParsedDocument, Skipped

SHARED = Path(
    os.environ.get("OSLER_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SAMPLES = SHARED / "pubmed_xml_samples"
assert SAMPLES.is_dir(), f"shared data missing at {SAMPLES}; set OSLER_SHARED_DATA"

FOLDER = SAMPLES / "pubmed"
#: Articles per file, as SOURCE.md states.
#: Any leftover XML tag such as <i>, </sub> or <mml:mi>.
MARKUP = re.compile(r"</?[A-Za-z][\w:.-]*>")
COUNTS = {
    "pubmed-29768149.xml": 1,
    "biopython_pubmed1.xml": 2,
    "biopython_pubmed2.xml": 2,
    "biopython_pubmed4.xml": 1,
    "biopython_pubmed5.xml": 1,
    "biopython_pubmed6.xml": 1,
    "biopython_pubmed7.xml": 1,
}


def run(path: Path) -> list[ParseResult]:
    """Everything the parser yields for one file."""
    with path.open("rb") as fh:
        return list(pubmed.parse(fh, str(path)))


def docs(name: str) -> dict[str, ParsedDocument]:
    """The parsed documents of a sample file, by PMID."""
    results = run(FOLDER / name)
    assert all(isinstance(r, ParsedDocument) for r in results)
    return {r.document.pmid: r for r in results if isinstance(r, ParsedDocument)}


def collapse(elem: ET.Element | None) -> str:
    """Independent flattening of an element's text, for comparisons."""
    return " ".join("".join(elem.itertext()).split()) if elem is not None else ""


def squash(text: str) -> str:
    """Text without any whitespace."""
    return "".join(text.split())


def test_sample_folder_is_as_documented() -> None:
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted(COUNTS)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_every_file_matches_its_xml(name: str) -> None:
    results = run(FOLDER / name)
    articles = list(ET.parse(FOLDER / name).getroot().iter("PubmedArticle"))
    assert len(results) == len(articles) == COUNTS[name]
    for result, article in zip(results, articles, strict=True):
        assert isinstance(result, ParsedDocument)
        doc = result.document
        pmid = article.findtext("MedlineCitation/PMID")
        assert doc.pmid == pmid and doc.id == f"pubmed:{pmid}"
        assert doc.url == f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
        assert doc.source == "PubMed" and doc.source_type == "journal-article"
        assert doc.extra["dataset"] == "pubmed"
        assert doc.title and not MARKUP.search(doc.title) and "  " not in doc.title
        assert doc.publication_types == [e.text for e in article.iter("PublicationType")]
        heads = article.findall("MedlineCitation/MeshHeadingList/MeshHeading/DescriptorName")
        assert doc.mesh_terms == [e.text for e in heads]
        ids = {
            e.get("IdType"): e.text for e in article.findall("PubmedData/ArticleIdList/ArticleId")
        }
        assert doc.doi == ids.get("doi")
        assert doc.pmcid == ids.get("pmc")
        authors = article.findall("MedlineCitation/Article/AuthorList/Author")
        assert len(doc.authors) == len(authors)
        assert doc.journal == article.findtext("MedlineCitation/Article/Journal/Title")
        year = article.findtext("MedlineCitation/Article/Journal/JournalIssue/PubDate/Year")
        assert doc.year == int(year) and doc.pub_date.startswith(year)
        abstracts = article.findall("MedlineCitation/Article/Abstract/AbstractText")
        texts = [s.text for s in result.sections]
        if abstracts:
            # same characters; MathML layout whitespace is dropped by the parser
            assert [squash(t) for t in texts] == [squash(collapse(e)) for e in abstracts]
        else:
            assert [s.heading for s in result.sections] == ["Title"]
        assert not any(MARKUP.search(t) or "  " in t for t in texts)


def test_nejm_rct_with_structured_abstract() -> None:
    result = docs("pubmed-29768149.xml")["29768149"]
    doc = result.document
    assert doc.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert [s.heading for s in result.sections] == [
        "Background",
        "Methods",
        "Results",
        "Conclusions",
    ]
    assert result.sections[1].text.startswith("We conducted a 52-week, double-blind trial")
    assert "Randomized Controlled Trial" in doc.publication_types
    assert doc.evidence_level is EvidenceLevel.RCT and not doc.evidence_inferred
    assert doc.journal == "The New England journal of medicine"
    assert doc.pub_date == "2018-05-17" and doc.year == 2018
    assert doc.doi == "10.1056/NEJMoa1715274" and doc.pmcid is None
    assert doc.authors[:2] == ["O'Byrne PM", "FitzGerald JM"]
    assert "Asthma" in doc.mesh_terms


def test_record_without_abstract_is_ingested_by_title() -> None:
    found = docs("biopython_pubmed1.xml")
    no_abstract = found["12091962"]
    title = "The treatment of AIDS behind the walls of correctional facilities."
    assert no_abstract.document.title == title
    assert [(s.heading, s.text) for s in no_abstract.sections] == [("Title", title)]
    assert no_abstract.document.pub_date == "1990"  # <Year>1990</Year><Season>Spring</Season>
    assert no_abstract.document.authors == ["Olivero JM"]
    assert no_abstract.document.doi is None
    assert no_abstract.document.evidence_level is EvidenceLevel.EXPERT_OPINION
    assert no_abstract.document.evidence_reason == "publication type 'Review'"
    with_abstract = found["9997"].document
    assert with_abstract.pub_date == "1976-09-28"  # Month given as "Sep"
    assert with_abstract.doi == "10.1016/0005-2795(76)90109-4"
    assert with_abstract.journal == "Biochimica et biophysica acta"
    assert [s.heading for s in found["9997"].sections] == ["Abstract"]


def test_two_plain_abstracts() -> None:
    found = docs("biopython_pubmed2.xml")
    assert list(found) == ["11748933", "11700088"]
    assert found["11748933"].document.pub_date == "2001-06"
    assert found["11700088"].document.pub_date == "2001-11"
    assert found["11700088"].document.title.startswith("Proton MRI of (13)C distribution")
    assert found["11748933"].document.authors[0] == "Taddei AR"


def test_inline_markup_is_flattened() -> None:
    result = docs("biopython_pubmed4.xml")["27797938"]
    doc = result.document
    assert doc.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
        "pancreatic cancer."
    )
    assert [s.heading for s in result.sections] == ["Objective", "Design", "Results", "Conclusions"]
    assert "telomerase reverse transcriptase (TERT) gene region" in result.sections[0].text
    assert doc.pmcid == "PMC5442267" and doc.doi == "10.1136/gutjnl-2016-312510"
    assert doc.evidence_level is EvidenceLevel.OBSERVATIONAL and not doc.evidence_inferred
    assert doc.pub_date == "2017-06" and doc.journal == "Gut"


def test_labels_with_nlm_categories() -> None:
    result = docs("biopython_pubmed5.xml")["28775130"]
    assert [s.heading for s in result.sections] == [
        "Objectives",
        "Methods",
        "Results",
        "Conclusions",
    ]
    assert result.document.pub_date == "2018-02"
    assert result.document.pmcid == "PMC5771820"


def test_entities_and_mathml() -> None:
    doc = docs("biopython_pubmed6.xml")["30108519"]
    assert doc.document.title.startswith('A "Blood Relationship" Between the Overlooked Minimum')
    assert doc.document.pub_date == "2018" and doc.document.year == 2018
    text = doc.sections[0].text
    assert "maximal oxygen uptake ( V.O2max )" in text
    assert "mml" not in text and not MARKUP.search(text)


def test_collective_author_and_reference_list_ids_ignored() -> None:
    doc = docs("biopython_pubmed7.xml")["29963580"].document
    assert doc.authors[0] == "Guo F"
    assert doc.authors[-1] == "Canadian Respiratory Research Network"
    assert doc.pmcid == "PMC6022861" and doc.doi == "10.1117/1.JMI.5.2.026002"
    assert doc.journal == "Journal of medical imaging (Bellingham, Wash.)"
    assert doc.pub_date == "2018-04"


def test_truncated_file_yields_first_record_then_raises(tmp_path: Path) -> None:
    data = (FOLDER / "biopython_pubmed1.xml").read_bytes()
    second = data.index(b"<PubmedArticle>", data.index(b"<PubmedArticle>") + 1)
    cut = tmp_path / "truncated.xml"
    cut.write_bytes(data[: (second + len(data)) // 2])
    with cut.open("rb") as fh:
        results = pubmed.parse(fh, str(cut))
        first = next(results)
        assert isinstance(first, ParsedDocument) and first.document.pmid == "12091962"
        with pytest.raises(ValueError, match="XML syntax error after 1 record:"):
            next(results)


def test_not_xml_raises_value_error() -> None:
    with pytest.raises(ValueError, match="XML syntax error after 0 records"):
        list(pubmed.parse(io.BytesIO(b"PMID- 1\nTI  - not xml\n"), "x.xml"))


def test_gzip_stream_parses_identically(tmp_path: Path) -> None:
    source = FOLDER / "biopython_pubmed2.xml"
    packed = tmp_path / "biopython_pubmed2.xml.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    with gzip.open(packed, "rb") as fh:
        from_gzip = list(pubmed.parse(fh, str(packed)))
    assert [r.model_dump() for r in from_gzip] == [r.model_dump() for r in run(source)]


def test_book_and_empty_records_are_skipped() -> None:
    xml = b"""<?xml version="1.0"?><PubmedArticleSet>
    <PubmedBookArticle><BookDocument><PMID>111</PMID></BookDocument></PubmedBookArticle>
    <PubmedArticle><MedlineCitation><PMID>222</PMID><Article><ArticleTitle/></Article>
    </MedlineCitation></PubmedArticle>
    <PubmedArticle><MedlineCitation><PMID>333</PMID><Article><ArticleTitle/>
    <VernacularTitle>Titre <i>original</i>.</VernacularTitle>
    <Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate>
    </JournalIssue><ISOAbbreviation>J Abbr</ISOAbbreviation></Journal></Article>
    </MedlineCitation></PubmedArticle></PubmedArticleSet>"""
    book, empty, vernacular = pubmed.parse(io.BytesIO(xml), "set.xml")
    assert book == Skipped(path="set.xml", record="PMID 111", reason="book records not supported")
    assert isinstance(empty, Skipped) and empty.record == "PMID 222"
    assert isinstance(vernacular, ParsedDocument)
    assert vernacular.document.title == "Titre original."
    assert vernacular.document.pub_date == "1998" and vernacular.document.journal == "J Abbr"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("2018", "05", "17"), "2018-05-17"),
        (("1976", "Sep", "28"), "1976-09-28"),
        (("2001", "Jun", None), "2001-06"),
        (("1990", "Spring", None), "1990"),
        (("", "Jan", "1"), None),
    ],
)
def test_partial_date(parts: tuple[str, str | None, str | None], expected: str | None) -> None:
    assert pubmed.partial_date(*parts) == expected


def test_heading_of_labels() -> None:
    assert pubmed.heading_of("BACKGROUND") == "Background"
    assert pubmed.heading_of("PATIENTS AND METHODS") == "Patients and Methods"
    assert pubmed.heading_of("Conclusions/Significance") == "Conclusions/Significance"
    assert pubmed.heading_of("Background:") == "Background"
