"""MEDLINE text parser against the real tagged files in the shared sample folder."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from osler.ingest import medline
from osler.ingest.base import ParseResult
from osler.models import EvidenceLevel, ParsedDocument, Skipped

SHARED = Path(
    os.environ.get("OSLER_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SAMPLES = SHARED / "pubmed_xml_samples"
assert SAMPLES.is_dir(), f"shared data missing at {SAMPLES}; set OSLER_SHARED_DATA"

FOLDER = SAMPLES / "medline_text"
#: Records per file, as SOURCE.md states.
COUNTS = {
    "biopython_pubmed_result1.txt": 1,
    "biopython_pubmed_result2.txt": 4,
    "biopython_pubmed_result3.txt": 1,
}


def run(path: Path) -> list[ParseResult]:
    """Everything the parser yields for one file."""
    with path.open("rb") as fh:
        return list(medline.parse(fh, str(path)))


def docs(name: str) -> dict[str, ParsedDocument]:
    """The parsed records of a sample file, by PMID."""
    results = run(FOLDER / name)
    assert all(isinstance(r, ParsedDocument) for r in results)
    return {r.document.pmid: r for r in results if isinstance(r, ParsedDocument)}


def headings(result: ParsedDocument) -> list[str]:
    """Section headings in order."""
    return [s.heading for s in result.sections]


def test_sample_folder_is_as_documented() -> None:
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted(COUNTS)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_every_file_matches_its_text(name: str) -> None:
    text = (FOLDER / name).read_text(encoding="utf-8")
    pmids = re.findall(r"^PMID- (\d+)", text, re.M)
    found = docs(name)
    assert list(found) == pmids and len(pmids) == COUNTS[name]
    for raw, (pmid, result) in zip(re.split(r"\n\s*\n", text.strip()), found.items(), strict=True):
        doc = result.document
        assert doc.id == f"medline:{pmid}" and doc.url == f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
        assert doc.source == "PubMed" and doc.extra["dataset"] == "medline"
        assert doc.publication_types == re.findall(r"^PT  - (.+)$", raw, re.M)
        assert doc.authors == re.findall(r"^AU  - (.+)$", raw, re.M)
        assert doc.journal == re.search(r"^JT  - (.+)$", raw, re.M).group(1)
        assert doc.year == int(re.search(r"^DP  - (\d{4})", raw, re.M).group(1))
        assert len(doc.mesh_terms) == len(re.findall(r"^MH  - ", raw, re.M))
        assert all("*" not in m and "/" not in m for m in doc.mesh_terms)
        abstract = " ".join(s.text for s in result.sections)
        words = re.search(r"^AB  - (.+?)\n(?=[A-Z]{2,4} *- )", raw, re.M | re.S).group(1).split()
        assert words[-1] in abstract and abstract.endswith(words[-1])


def test_single_plain_abstract() -> None:
    result = docs("biopython_pubmed_result1.txt")["12230038"]
    assert result.document.title == "The Bio* toolkits--a brief overview."
    assert headings(result) == ["Abstract"]
    assert result.sections[0].text.startswith("Bioinformatics research is often difficult")
    assert "commercial software. The Open Source BioPerl" in result.sections[0].text
    assert result.document.pub_date == "2002-09"
    assert result.document.authors == ["Mangalam H"]
    assert result.document.journal == "Briefings in bioinformatics"
    assert result.document.doi is None and result.document.pmcid is None


def test_structured_abstracts_are_split_at_labels() -> None:
    found = docs("biopython_pubmed_result2.txt")
    assert headings(found["16403221"]) == ["Background", "Results", "Conclusion"]
    assert found["16403221"].sections[1].text.startswith("We have designed a set of python")
    assert headings(found["16377612"]) == ["Summary", "Availability", "Supplementary Information"]
    assert headings(found["14871861"]) == ["Summary", "Availability"]
    assert headings(found["14630660"]) == ["Abstract", "Availability"]  # unlabelled start
    assert "Algorithm::Cluster" in found["14871861"].sections[1].text


def test_identifiers_dates_and_mesh() -> None:
    found = docs("biopython_pubmed_result2.txt")
    scop = found["16403221"].document
    assert scop.pmcid == "PMC1373603" and scop.doi == "10.1186/1471-2105-7-10"
    assert scop.pub_date == "2006" and scop.authors == ["Casbon JA", "Crooks GE", "Saqi MA"]
    assert scop.mesh_terms[:3] == [
        "Database Management Systems",
        "Databases, Protein",
        "Information Storage and Retrieval",
    ]
    assert found["16377612"].document.pub_date == "2006-03-01"
    assert found["14871861"].document.pub_date == "2004-06-12"
    assert found["14630660"].document.doi is None
    cluster = found["14871861"].document
    assert cluster.evidence_level is EvidenceLevel.OBSERVATIONAL and not cluster.evidence_inferred


def test_continued_mesh_line_and_doi() -> None:
    result = docs("biopython_pubmed_result3.txt")["23039619"]
    doc = result.document
    assert (
        doc.title
        == "Effects of different parameters in the fast scanning method for HIFU treatment."
    )
    assert headings(result) == ["Purpose", "Methods", "Results", "Conclusions"]
    assert "High-Intensity Focused Ultrasound Ablation" in doc.mesh_terms
    assert doc.doi == "10.1118/1.4748329" and doc.pub_date == "2012-10"
    assert doc.journal == "Medical physics" and doc.authors[0] == "Qiao S"


def test_bad_records_are_skipped_and_parsing_continues() -> None:
    data = (
        b"TI  - A record without a PMID.\n\n"
        b"PMID- 2\nTI  - Caf\xe9 au lait.\n\n"
        b"PMID- 3\nDP  - 1998 Dec-1999 Jan\nTA  - J Abbr\nTI  - Title only,\n      continued.\n"
        b"PMID- 4\nOWN - NLM\n"
    )
    missing, latin1, title_only, empty = medline.parse(io.BytesIO(data), "m.txt")
    assert missing == Skipped(path="m.txt", record="record 1", reason="no PMID")
    assert isinstance(latin1, Skipped) and latin1.record == "PMID 2" and "UTF-8" in latin1.reason
    assert isinstance(title_only, ParsedDocument)
    assert title_only.document.title == "Title only, continued."
    assert [(s.heading, s.text) for s in title_only.sections] == [
        ("Title", "Title only, continued.")
    ]
    assert title_only.document.pub_date == "1998" and title_only.document.journal == "J Abbr"
    assert isinstance(empty, Skipped) and empty.record == "PMID 4"
