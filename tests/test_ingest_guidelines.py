"""National Guideline Clearinghouse summaries: real records become graded guideline documents."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from osler.ingest import ngc
from osler.ingest.local import html_fragment_text
from osler.ingest.pipeline import ingest, prepare
from osler.ingest.registry import detect
from osler.models import Audience, Document, EvidenceLevel, Passage, Skipped
from osler.store import Store

#: An HTML tag left in the text (the sources also write "<" as text: "(<grade 3)").
TAG = re.compile(
    r"</?(p|div|span|ul|ol|li|table|thead|tbody|tfoot|tr|td|th|strong|b|em|i|u|a|br|hr|img"
    r"|sup|sub|h[1-6]|blockquote)\b[^<>]*>",
    re.I,
)
ENTITY = re.compile(r"&(lt|gt|amp|nbsp|quot|ndash|mdash|reg|#\d+);")


@pytest.fixture
def folder(shared: Path) -> Path:
    return shared / "guidelines_ngc"


def parsed(path: Path) -> tuple[Document, list[Passage]]:
    with open(path, "rb") as fh:
        [result] = list(ngc.parse(fh, str(path)))
    assert not isinstance(result, Skipped), result
    assert result.sections[0].heading == "Major Recommendations"
    return prepare(result)


def assert_clean(passages: list[Passage]) -> None:
    for p in passages:
        assert not TAG.search(p.text), p.text
        assert not ENTITY.search(p.text), p.text
        assert "⟦" not in p.text and "\x01" not in p.text and "Â" not in p.text, p.text


def test_acr_appropriateness_criteria_tables_become_labelled_rows(folder: Path) -> None:
    doc, passages = parsed(folder / "ngc-10142.xml")
    assert doc.id == "ngc:10142" and doc.url is None
    assert doc.title.startswith("ACR Appropriateness Criteria® nonischemic myocardial disease")
    assert (doc.source, doc.source_type) == ("National Guideline Clearinghouse", "guideline")
    assert doc.evidence_level is EvidenceLevel.GUIDELINE and not doc.evidence_inferred
    assert doc.evidence_reason == "National Guideline Clearinghouse guideline summary"
    assert doc.audience is Audience.PROFESSIONAL
    assert (doc.pub_date, doc.year) == ("2013", 2013)
    assert doc.authors == ["American College of Radiology"]
    assert doc.extra["developer"] == "American College of Radiology"
    assert doc.extra["citation"].startswith("Mammen L, Woodard PK")
    assert doc.extra["status"] == "This is the current release of the guideline."
    assert passages[0].section.startswith("Major Recommendations")
    # the bold "Variant 1: ..." paragraph is a sub-heading; each table row a labelled item
    variant = [p for p in passages if p.section.endswith("Suspected arrhythmogenic cardiomyopathy")]
    assert variant and variant[0].section == (
        "Major Recommendations › Variant 1: Suspected arrhythmogenic cardiomyopathy"
    )
    rows = "\n".join(p.text for p in variant)
    assert (
        "- Radiologic Procedure: MRI heart function and morphology without and with contrast; "
        "Rating: 9;" in rows
    )
    assert "- Radiologic Procedure: Arteriography pulmonary; Rating: 1; RRL*: ☢☢☢☢" in rows
    assert_clean(passages)


def test_uspstf_recommendation_grades_and_revision_date(folder: Path) -> None:
    doc, passages = parsed(folder / "ngc-10056.xml")
    assert doc.title == (
        "Medications for risk reduction of primary breast cancer in women: U.S. Preventive "
        "Services Task Force recommendation statement"
    )
    assert doc.extra["released"] == "2002 Jul (revised 2013 Nov 19)"
    assert (doc.pub_date, doc.year) == ("2013-11-19", 2013)
    assert doc.authors == ["U.S. Preventive Services Task Force"]
    assert doc.extra["rating_scheme"] == "USPSTF"
    assert doc.extra["grade_scheme"] == "Guideline's grade:"
    assert "This guideline updates a previous version" in doc.extra["status"]
    sections = list(dict.fromkeys(p.section.split(" › ")[0] for p in passages))
    assert sections[:2] == [
        "Major Recommendations",
        "Rating Scheme for the Strength of the Recommendations",
    ]
    assert "Intended Users" in sections and "Qualifying Statements" not in sections
    graded = [p for p in passages if p.extra.get("loe")]
    first = graded[0]
    # the grade is lifted onto the passage and stays readable in the sentence
    assert first.extra["loe"] == "B recommendation"
    assert first.text.endswith("such as tamoxifen or raloxifene. (B recommendation)")
    assert {p.extra["loe"] for p in graded} >= {"B recommendation", "D recommendation"}
    assert_clean(passages)


def test_nice_lists_survive_as_items(folder: Path) -> None:
    doc, passages = parsed(folder / "ngc-10797.xml")
    assert doc.title == "Coeliac disease: recognition, assessment and management"
    assert doc.authors == ["National Institute for Health and Care Excellence (NICE)"]
    assert (doc.pub_date, doc.year) == ("2015-09-02", 2015)
    recognition = [
        p for p in passages if p.section == "Major Recommendations › Recognition of Coeliac Disease"
    ]
    text = "\n".join(p.text for p in recognition)
    assert "Offer serological testing for coeliac disease to:\n- People with any of" in text
    assert "\n- Faltering growth\n" in text and "\n- Turner syndrome" in text
    assert_clean(passages)


def test_html_fragment_text_layout() -> None:
    html = (
        "<div><p><strong>Diagnosis</strong></p><ul><li>Do A.</li><li>Do <em>B</em> "
        "(<strong>2C</strong>)</li></ul><p>10<sup>9</sup>/L cells<sup>d</sup> PaCO<sub>2</sub>"
        " &lt;7.35 &ndash; ok</p><table><tr><th>Test</th><th>Rating</th><th>Note</th></tr>"
        "<tr><td>CT</td><td>9</td><td>&nbsp;</td></tr></table></div>"
    )
    assert html_fragment_text(html) == (
        "Diagnosis\n- Do A.\n- Do B (2C)\n10^9/L cells PaCO2 <7.35 – ok\n- Test: CT; Rating: 9"
    )


@pytest.mark.parametrize(
    ("inner", "grade"),
    [
        ("Grade 1C", "Grade 1C"),
        ("Level of Evidence = V", "Level of Evidence = V"),
        ("LE=4, GR=C", "LE=4; GR=C"),
        (
            "Strong recommendation, moderate-quality evidence",
            "Strong recommendation; moderate-quality evidence",
        ),
        ("B recommendation", "B recommendation"),
        ("2|++OO", "2|++OO"),
        ("Recommendation 3", None),
        ("2016", None),
        ("new 2014", None),
        ("A, B, C, D, or I", None),
        ("A–C", None),
        ("strong, weak", None),
        ("the strength of the recommendation", None),
        ("low grade", None),
        ("GRADE", None),
        ("+", None),
    ],
)
def test_grade_of(inner: str, grade: str | None) -> None:
    """The grade a bracket states (commas become semicolons), or None for other brackets."""
    found = ngc.grade_of(inner)
    assert (found[0] if found else None) == grade


def test_grades_mark_only_statement_closing_brackets() -> None:
    marked = ngc.recommendations_text(
        "Offer statins to adults at risk (Grade 1B). Monitor lipids yearly. [C]\n"
        "(Level of Evidence = IV)\n"
        "The quality of evidence is graded as high (A), moderate (B) or low (C).\n"
        "Measure forced vital capacity (VC) in all.\n"
        "In adults with obstruction (P), should surgery (I) or stenting (C) be used?"
    )
    marks = re.findall("⟦loe:([^⟧]*)⟧", marked)
    assert marks == ["Grade 1B", "C", "Level of Evidence = IV"]
    assert marked.split("\n")[0].endswith(
        "[C]⟦loe:C⟧ (Level of Evidence = IV)⟦loe:Level of Evidence = IV⟧"
    )


def test_release_dates() -> None:
    assert ngc.release_date("2011 May (revised 2013 Aug)") == "2013-08"
    assert ngc.release_date("2014 Feb 12") == "2014-02-12"
    assert ngc.release_date("2016 Sept 30") == "2016-09-30"
    assert ngc.release_date("2009 Nov (reaffirmed 2014 Oct 15)") == "2009-11"
    assert ngc.release_date("2015") == "2015"
    assert ngc.release_date("") is None


def test_whole_folder_parses_without_html(folder: Path) -> None:
    """All 1,000 records parse and chunk; no passage keeps markup or a marker."""
    began = time.perf_counter()
    documents = passages = graded = 0
    literal_lt: list[tuple[Path, str]] = []
    for path in sorted(folder.glob("*.xml")):
        with open(path, "rb") as fh:
            results = list(ngc.parse(fh, str(path)))
        assert len(results) == 1 and not isinstance(results[0], Skipped), results
        doc, cut = prepare(results[0])
        assert doc.evidence_level is EvidenceLevel.GUIDELINE and doc.year and doc.authors
        assert cut and cut[0].section.startswith("Major Recommendations")
        assert_clean(cut)
        documents += 1
        passages += len(cut)
        graded += any("loe" in p.extra for p in cut)
        literal_lt += [
            (path, m.group(1)) for p in cut for m in re.finditer(r"<([a-z/].{0,6})", p.text)
        ]
    seconds = time.perf_counter() - began
    assert documents == 1000
    assert passages == 71871  # with chunking that reads past annotation markers
    assert graded == 378
    # every "<" before a letter is text the source escaped twice (&amp;lt;), not a tag
    assert len(literal_lt) == 2
    for path, after in literal_lt:
        assert f"&amp;lt;{after}" in path.read_text(encoding="utf-8"), (path, after)
    assert seconds < 90, f"{seconds:.1f} s"


def test_detection_and_truncated_file(folder: Path, store: Store, tmp_path: Path) -> None:
    assert {detect(p) for p in folder.glob("*.xml")} == {"ngc"}
    inbox = tmp_path / "in"
    inbox.mkdir()
    data = (folder / "ngc-10000.xml").read_bytes()
    cut = inbox / "ngc-10000.xml"
    cut.write_bytes(data[: len(data) // 2])
    (inbox / "ngc-10142.xml").write_bytes((folder / "ngc-10142.xml").read_bytes())
    assert detect(cut) == "ngc"
    summary = ingest(store, [inbox])
    assert summary.documents == 1 and store.document_ids() == ["ngc:10142"]
    [skip] = summary.skipped
    assert skip.path == str(cut) and skip.record is None
    assert skip.reason.startswith("XML syntax error")


def test_record_without_recommendations_is_skipped(folder: Path, tmp_path: Path) -> None:
    text = (folder / "ngc-10000.xml").read_text(encoding="utf-8")
    text = text.replace('Name="Major Recommendations"', 'Name="Something Else"')
    path = tmp_path / "ngc-10000.xml"
    path.write_text(text, encoding="utf-8")
    with open(path, "rb") as fh:
        [result] = list(ngc.parse(fh, str(path)))
    assert result == Skipped(path=str(path), record="ngc:10000", reason="no Major Recommendations")
