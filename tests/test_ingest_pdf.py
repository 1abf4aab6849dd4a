"""PDF ingestion on the real guideline PDFs: an FDA label, a NICE guideline, the 940-page WHO
report, and PDFs that cannot be read (not a PDF, truncated, encrypted, without text)."""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from osler.ingest import pdf as pdf_format
from osler.ingest.pipeline import Progress, ingest, prepare
from osler.models import Document, EvidenceLevel, IngestSummary, Passage
from osler.settings import load
from osler.store import Store

SHARED = load().shared_data
GUIDE = SHARED / "guideline_pdfs"
METFORMIN = GUIDE / "fda" / "fda_metformin_highlights_2026.pdf"
NICE = GUIDE / "nice" / "nice_lisinopril_guideline_hypertension_2019.pdf"
SMALL_NICE = GUIDE / "nice" / "nice_upper_gi_bleeding_management_cg141_2016.pdf"
WHO = GUIDE / "who" / "who_selection_and_use_of_essential_medicine_2023.pdf"


def page_texts(path: Path) -> list[str]:
    """The library's own text of every page (PDFium's, as the parser reads it)."""
    doc = pdfium.PdfDocument(path)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def squash(text: str) -> str:
    """Letters only: whitespace, line breaks, hyphens and bullets normalised away, and digits
    (PDFium reads a superscript "2" at the end of the page, the parser puts it back)."""
    return re.sub(r"[^A-Za-z]", "", text)


def only(store: Store) -> tuple[Document, list[Passage]]:
    [doc_id] = store.document_ids()
    doc = store.get_document(doc_id)
    assert doc is not None
    return doc, store.passages(doc_id)


def on_page(passage: Passage, pages: list[str]) -> int:
    """The passage's page, checked: its text occurs in that page's text (squashed)."""
    page = int(passage.extra["page"])
    assert squash(passage.text) in squash(pages[page - 1]), (page, passage.text)
    return page


# ---------------------------------------------------------------- an FDA drug label


def test_fda_label_is_a_drug_label_with_its_standard_sections(store: Store) -> None:
    summary = ingest(store, [METFORMIN])
    assert summary.documents == 1 and not summary.skipped
    doc, passages = only(store)
    digest = hashlib.sha1(METFORMIN.read_bytes()).hexdigest()[:8]
    assert doc.id == f"pdf:fda-metformin-highlights-2026-{digest}"
    assert doc.title == "METFORMIN HYDROCHLORIDE - metformin hydrochloride tablet, film coated"
    assert (doc.source, doc.source_type) == ("FDA label", "drug-label")
    assert doc.evidence_level is EvidenceLevel.NOT_GRADED and not doc.evidence_inferred
    assert "FDA drug label" in doc.evidence_reason and "HIGHLIGHTS" in doc.evidence_reason
    assert (doc.pub_date, doc.year) == ("2026-01", 2026)  # "Revised: 1/2026"
    assert doc.extra["pages"] == "26" and doc.extra["pages_without_text"] == "0"
    assert doc.extra["labeler"] == "A-S Medication Solutions"
    assert doc.extra["headings_from"] == "outline"

    sections = {p.section.split(" › ")[0] for p in passages}
    for name in (
        "1 Indications and Usage",
        "2 Dosage and Administration",
        "4 Contraindications",
        "5 Warnings and Precautions",
        "6 Adverse Reactions",
        "7 Drug Interactions",
        "8 Use in Specific Populations",
    ):
        assert name in sections, sorted(sections)
    assert any(p.section == "Highlights › Dosage and Administration" for p in passages)
    assert "⟦" not in doc.text and all("⟦" not in p.section + p.text for p in passages)

    pages = page_texts(METFORMIN)
    [dosage] = [
        p
        for p in passages
        if p.section.startswith("2 Dosage and Administration › 2.1 Adult Dosage")
        and "recommended starting dose" in p.text
    ]
    assert "500 mg orally twice a day or 850 mg once a day" in dosage.text
    assert on_page(dosage, pages) == 4
    assert not any(squash(dosage.text) in squash(t) for t in pages[:3] + pages[4:])
    # every passage of the section carries a page on which its text stands
    for p in passages:
        if p.section.startswith("2 Dosage and Administration") and "-" not in p.extra["page"]:
            on_page(p, pages)
    # a superscript PDFium reads at the end of the page goes back into its line
    assert any("below 30 mL/minute/1.73 m2 (2.3)" in p.text for p in passages)


# ---------------------------------------------------------------- a NICE guideline


def test_nice_guideline_headings_pages_and_no_running_lines(store: Store) -> None:
    ingest(store, [NICE])
    doc, passages = only(store)
    assert doc.title == "Hypertension in adults: diagnosis and management"
    assert (doc.source, doc.source_type) == ("NICE", "guideline")
    assert doc.evidence_level is EvidenceLevel.GUIDELINE and not doc.evidence_inferred
    assert "NICE guideline" in doc.evidence_reason
    assert doc.pub_date == "2023-11-21" and doc.extra["date_from"] == "last updated"
    assert doc.extra["pages"] == "52"

    sections = {p.section for p in passages}
    assert "Recommendations › 1.2 Diagnosing hypertension" in sections
    assert "Recommendations › 1.1 Measuring blood pressure › Postural hypotension" in sections
    assert any(s.startswith("Rationale and impact › ") for s in sections)

    pages = page_texts(NICE)
    single = [p for p in passages if "-" not in p.extra["page"]]
    assert len(single) > 0.9 * len(passages)
    for p in random.Random(14).sample(single, 5):
        on_page(p, pages)
    spanning = next(p for p in passages if "-" in p.extra["page"])
    first, last = map(int, spanning.extra["page"].split("-"))
    assert last == first + 1
    words = squash(spanning.text)
    assert words[:30] in squash(pages[first - 1]) and words[-30:] in squash(pages[last - 1])

    # the running header and footer of every page are gone
    for text in [doc.text, *(p.text for p in passages)]:
        assert "All rights reserved" not in text and "Notice of rights" not in text
        assert not re.search(r"Page \d+ of", text)
        assert "diagnosis and management (NG136)" not in text
    # soft-wrapped lines make whole sentences; a recommendation stays one paragraph
    assert any(
        "1.2.6 When using ABPM to confirm a diagnosis of hypertension, ensure that at least "
        "2 measurements per hour are taken" in p.text
        for p in passages
    )
    # a hyphen at a line end is never left as "left- right" or "left right" split
    assert_hyphens_resolved(pages, doc.text, footer="notice-of-rights")
    assert "beta-blockers" in doc.text


def assert_hyphens_resolved(pages: list[str], text: str, footer: str = "") -> int:
    """Every word PDFium reads hyphenated at a line end is one word or one compound in the
    stored text, never two ("medi cation") or a dangling "medi- cation"; the count."""
    broken = [
        (m.group(1), m.group(2))
        for page in pages
        for m in re.finditer(r"([A-Za-z]+)\ufffe([a-z]+)", page)
        if not footer or footer not in page[m.start() : m.end() + 20]
    ]
    assert broken
    for left, right in broken:
        if right not in ("and", "or", "to"):  # "first- and second-line" keeps its space
            assert f"{left}{right}" in text or f"{left}-{right}" in text, (left, right)
    return len(broken)


# ---------------------------------------------------------------- the 940-page WHO report


class Recorder(Progress):
    def __init__(self) -> None:
        self.done: list[int] = []

    def advance(self, done_bytes: int, documents: int) -> None:
        self.done.append(done_bytes)


def test_940_page_report_ingests_with_progress_inside_the_file(store: Store) -> None:
    progress = Recorder()
    began = time.perf_counter()
    summary = ingest(store, [WHO], progress=progress)
    seconds = time.perf_counter() - began
    assert summary.documents == 1 and not summary.skipped
    doc, passages = only(store)
    print(f"\n940-page WHO report: {len(passages)} passages, {seconds:.1f} s")
    assert doc.extra["pages"] == "940"
    assert doc.extra["pages_without_text"] == "4"
    assert doc.extra["pages_without_text_at"] == "6, 56, 774, 920"
    assert (doc.source, doc.evidence_level) == ("WHO", EvidenceLevel.GUIDELINE)
    assert "Expert Committee" in doc.evidence_reason
    assert len(passages) > 5000
    assert max(int(p.extra["page"].split("-")[-1]) for p in passages) >= 930
    # progress moved page by page within the one file, never backwards
    size = WHO.stat().st_size
    inside = [d for d in progress.done if 0 < d < size]
    assert len(set(inside)) >= 900
    assert progress.done == sorted(progress.done) and progress.done[-1] == size
    pages = page_texts(WHO)
    assert assert_hyphens_resolved(pages, doc.text) > 400
    assert "did not include participants with treatment-resistant depression" in doc.text
    assert "(determined by all-cause discontinuations)" in doc.text
    rng = random.Random(1049)
    sample = rng.sample([p for p in passages if "-" not in p.extra["page"]], 20)
    checked = 0
    for p in sample:
        page = int(p.extra["page"])
        if squash(p.text) in squash(pages[page - 1]):
            checked += 1
        else:  # a page set in table cells may be read in another order: same words, though
            assert set(re.findall(r"[a-z]{4,}", p.text.lower())) <= set(
                re.findall(r"[a-z]{4,}", pages[page - 1].lower().replace("\ufffe", ""))
            ), (page, p.text)
    assert checked >= 15


# ---------------------------------------------------------------- PDFs that cannot be read


def encrypted(source: Path, target: Path, user_password: str) -> Path:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=str(source))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    with open(target, "wb") as fh:
        writer.write(fh)
    return target


def blank_pdf(target: Path, pages: int = 2) -> Path:
    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(595, 842)
    doc.save(target)
    doc.close()
    return target


def reasons(summary: IngestSummary) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in summary.skipped}


def test_malformed_pdfs_are_skipped_and_the_rest_ingests(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SMALL_NICE, folder / "good.pdf")
    (folder / "notes.pdf").write_text("These are my notes, saved with the wrong extension.\n")
    data = NICE.read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (folder / "damaged.pdf").write_bytes(data[:1000] + b"\n" + bytes(range(256)) * 40 + b"%%EOF\n")
    encrypted(SMALL_NICE, folder / "locked.pdf", user_password="secret")
    encrypted(SMALL_NICE, folder / "owner-only.pdf", user_password="")  # opens without one
    blank_pdf(folder / "scanned.pdf")

    summary = ingest(store, [folder])

    why = reasons(summary)
    assert set(why) == {"notes.pdf", "truncated.pdf", "damaged.pdf", "locked.pdf", "scanned.pdf"}
    assert "not a PDF" in why["notes.pdf"]
    assert "truncated PDF" in why["truncated.pdf"]
    assert "damaged PDF" in why["damaged.pdf"]
    assert "encrypted PDF" in why["locked.pdf"] and "password" in why["locked.pdf"]
    assert "no extractable text (scanned?)" in why["scanned.pdf"]
    assert summary.documents == 2  # good.pdf, and owner-only.pdf (no password needed to read)
    titles = {store.get_document(i).title for i in store.document_ids()}  # type: ignore[union-attr]
    assert titles == {"Acute upper gastrointestinal bleeding in over 16s: management"}


def test_a_page_without_text_is_counted_not_guessed(tmp_path: Path, store: Store) -> None:
    doc = pdfium.PdfDocument(SMALL_NICE)
    doc.new_page(595, 842)  # page 14: no text at all, as a scanned page would be
    target = tmp_path / "with-blank.pdf"
    doc.save(target)
    doc.close()

    summary = ingest(store, [target])

    assert summary.documents == 1 and not summary.skipped
    stored, passages = only(store)
    assert stored.extra["pages"] == "14"
    assert stored.extra["pages_without_text"] == "1"
    assert stored.extra["pages_without_text_at"] == "14"
    assert max(int(p.extra["page"].split("-")[-1]) for p in passages) <= 13


# ---------------------------------------------------------------- the metadata sidecar


SIDECAR = """\
title: Upper GI bleeding (local copy)
source: St Elsewhere formulary
date: 2024-05-01
evidence_level: expert opinion
authors: [Gastroenterology team]
url: https://example.org/gi-bleeding
"""


def test_sidecar_overrides_metadata_and_is_not_reported(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SMALL_NICE, folder / "gi.pdf")
    (folder / "gi.pdf.yaml").write_text(SIDECAR, encoding="utf-8")
    (folder / "orphan.pdf.yaml").write_text("title: nothing\n", encoding="utf-8")

    summary = ingest(store, [folder])

    assert summary.documents == 1
    assert reasons(summary) == {"orphan.pdf.yaml": "sidecar without orphan.pdf"}
    doc, passages = only(store)
    assert doc.title == "Upper GI bleeding (local copy)"
    assert doc.source == "St Elsewhere formulary"
    assert (doc.pub_date, doc.year) == ("2024-05-01", 2024)
    assert doc.evidence_level is EvidenceLevel.EXPERT_OPINION and not doc.evidence_inferred
    assert doc.evidence_reason == "given by the document"
    assert doc.authors == ["Gastroenterology team"]
    assert doc.url == "https://example.org/gi-bleeding"
    assert doc.source_type == "guideline"  # what the PDF is does not change
    assert passages and all(p.extra.get("page") for p in passages)

    # the sidecar may name the document; a changed sidecar updates it in place
    (folder / "gi.pdf.yaml").write_text(SIDECAR + "id: local:gi-bleeding\n", encoding="utf-8")
    (folder / "orphan.pdf.yaml").unlink()
    again = ingest(store, [folder])
    assert again.documents == 1 and not again.skipped
    assert "local:gi-bleeding" in store.document_ids()


def test_bad_sidecar_skips_its_pdf_with_the_reason(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SMALL_NICE, folder / "gi.pdf")
    (folder / "gi.pdf.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    shutil.copy(SMALL_NICE, folder / "other.pdf")
    (folder / "other.pdf.yaml").write_text("evidence_level: gold standard\n", encoding="utf-8")

    summary = ingest(store, [folder])

    why = reasons(summary)
    assert "invalid YAML in sidecar gi.pdf.yaml" in why["gi.pdf"]
    assert "unknown evidence level" in why["other.pdf"]
    assert summary.documents == 0


def test_parse_reports_progress_page_by_page() -> None:
    shares: list[float] = []
    with open(SMALL_NICE, "rb") as fh:
        [parsed] = list(pdf_format.parse(fh, str(SMALL_NICE), progress=shares.append))
    assert shares == [(i + 1) / 13 for i in range(13)]
    _, passages = prepare(parsed)  # type: ignore[arg-type]
    assert {p.extra["page"] for p in passages} >= {"1", "5", "13"}
