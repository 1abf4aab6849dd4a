"""cancer.gov pages (NCI PDQ summaries) as Markdown: real files of the shared nci_pdq folder."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import SHARED

from osler.ingest import pdq, registry
from osler.ingest.pipeline import ingest, prepare
from osler.models import Audience, Document, EvidenceLevel, Passage, Skipped
from osler.store import Store

FOLDER = SHARED / "nci_pdq"
GALLBLADDER_HP = FOLDER / "pdq" / "types-gallbladder-hp-gallbladder-treatment-pdq.md"
GALLBLADDER_PATIENT = (
    FOLDER / "cancer-types" / "types-gallbladder-patient-gallbladder-treatment-pdq.md"
)
NIVOLUMAB = FOLDER / "treatment" / "about-cancer-treatment-drugs-nivolumab.md"
HP_ID = "nci:types/gallbladder/hp/gallbladder-treatment-pdq"

#: A health-professional page: an `hp` part in its URL path (/hp/, /hp-..., ...-hp-pdq).
HP = re.compile(r"(?:^nci:|[/-])hp(?:[/-]|$)")
#: What no passage may hold: link syntax, citation brackets, HTML, table pipes, markers.
LEFTOVERS = {
    "link": re.compile(r"\]\("),
    "citation": re.compile(r"\[\["),
    "html": re.compile(r"<[a-z/]"),
    "table": re.compile(r"^\|", re.M),
    "marker": re.compile("⟦"),
}


def _parse(path: Path) -> tuple[Document, list[Passage]]:
    with open(path, "rb") as fh:
        [result] = list(pdq.parse(fh, str(path)))
    assert not isinstance(result, Skipped), result.reason
    return prepare(result)


def _references(doc: Document) -> dict[str, dict[str, str]]:
    return json.loads(doc.extra.get("references", "{}"))


def _cites(passage: Passage) -> list[str]:
    return [c for c in passage.extra.get("cites", "").split(",") if c]


def _one(passages: list[Passage], needle: str) -> Passage:
    found = [p for p in passages if needle in p.text]
    assert len(found) == 1, (needle, len(found))
    return found[0]


def test_health_professional_summary(store: Store) -> None:
    assert ingest(store, [GALLBLADDER_HP]).documents == 1
    doc = store.get_document(HP_ID)
    assert doc is not None
    assert doc.title == "Gallbladder Cancer Treatment (PDQ®)–Health Professional Version"
    assert doc.url == "https://www.cancer.gov/types/gallbladder/hp/gallbladder-treatment-pdq"
    assert (doc.source, doc.source_type) == ("NCI PDQ", "guideline-summary")
    assert doc.audience is Audience.PROFESSIONAL
    assert doc.evidence_level is EvidenceLevel.GUIDELINE and not doc.evidence_inferred
    assert "PDQ health-professional summary" in doc.evidence_reason
    assert "PDQ Adult Treatment Editorial Board" in doc.evidence_reason
    # the date of "Latest Updates to This Summary (02/12/2025)"; lastReviewed is the collection
    assert (doc.pub_date, doc.year) == ("2025-02-12", 2025)
    assert doc.extra["collected"] == "2025-12-30"
    assert doc.extra["patient_version"] == "nci:types/gallbladder/patient/gallbladder-treatment-pdq"

    passages = store.passages(HP_ID)
    for p in passages:
        for bad in ("](", "[[", "Permission to Use", "Contact Us", "Go to Patient Version"):
            assert bad not in p.text, (bad, p.text[:120])
        assert not LEFTOVERS["html"].search(p.text)  # "P < .001" is text, "<br>" would not be
        assert not p.text.startswith("PUBMED")
    assert not any("clinical trial search" in p.text for p in passages)
    assert not any("Latest Updates" in p.section or "About This" in p.section for p in passages)
    backbone = _one(passages, "reference standard chemotherapy backbone")
    assert backbone.section.startswith("Treatment of Unresectable, Metastatic, or Recurrent")

    refs = _references(doc)
    valle = _one(passages, "11.7 months vs. 8.1 months")
    assert "5.10" in _cites(valle) and valle.extra["loe"] == "A1"
    assert refs["5.10"] == {
        "text": "Valle J, Wasan H, Palmer DH, et al.: Cisplatin plus gemcitabine versus "
        "gemcitabine for biliary tract cancer. N Engl J Med 362 (14): 1273-81, 2010.",
        "pmid": "20375404",
    }
    assert pdq.reference_label(refs["5.10"]) == "Valle 2010, N Engl J Med, PMID 20375404"
    topaz = _one(passages, "TOPAZ-1 [NCT03875235]")
    assert "5.12" in _cites(topaz) and refs["5.12"]["pmid"] == "38823398"
    # a range [2]-[4] is 5.2, 5.3 and 5.4; the reference lists are not passages
    dpyd = _one(passages, "with a range of clinical effects")
    assert {"5.2", "5.3", "5.4"} <= set(_cites(dpyd))
    assert not any("PUBMED Abstract" in p.text or "Shoup M, Fong Y" in p.text for p in passages)


def test_text_is_clean_and_laid_out_as_the_page() -> None:
    doc, passages = _parse(GALLBLADDER_HP)
    text = doc.text
    # hard-wrapped lines joined; emphasis and escapes removed; lists kept as "- " lines
    assert "caused by gallbladder cancer are jaundice, pain, and fever." in text
    assert "- Carcinoma in situ." in text and "*" not in text.replace("DPYD*2A", "")
    assert "Patients with the DPYD*2A variant" in text
    # sections from the heading tree, joined below the page title
    sections = {p.section for p in passages}
    assert "General Information About Gallbladder Cancer › Incidence and Mortality" in sections
    assert any(
        s.endswith("› Systemic therapy › Capecitabine and fluorouracil dosing") for s in sections
    )
    # a table: its caption heads its rows, one "- " line per row, cells joined with "; "
    table = [p for p in passages if p.section.endswith("Table 1. Definitions of TNM Stage 0a")]
    assert table and "- 0; Tis, N0, M0; Tis = Carcinoma in situ." in "\n".join(
        p.text for p in table
    )
    assert not any(re.search(r"^- ?(; )*$|---", p.text, re.M) for p in table)


def test_patient_version_is_patient_education() -> None:
    doc, passages = _parse(GALLBLADDER_PATIENT)
    assert doc.id == "nci:types/gallbladder/patient/gallbladder-treatment-pdq"
    assert doc.title == "Gallbladder Cancer Treatment (PDQ®)–Patient Version"
    assert (doc.source, doc.source_type) == ("NCI PDQ", "consumer-health")
    assert doc.audience is Audience.CONSUMER
    assert doc.evidence_level is EvidenceLevel.PATIENT_EDUCATION
    assert doc.extra["professional_version"] == HP_ID
    assert doc.pub_date is None  # a patient version has no "Latest Updates" date
    assert not any(
        "Go to Health Professional" in p.text or "About PDQ" in p.section for p in passages
    )
    assert any(p.section.endswith("› Key Points") for p in passages)
    assert any(
        "jaundice (yellowing of the skin and whites of the eyes)" in p.text for p in passages
    )


def test_other_cancer_gov_page_is_consumer_health() -> None:
    doc, _ = _parse(NIVOLUMAB)
    assert (doc.source, doc.source_type) == ("cancer.gov", "consumer-health")
    assert doc.audience is Audience.CONSUMER
    assert doc.evidence_level is EvidenceLevel.PATIENT_EDUCATION
    assert doc.title == "Nivolumab"
    assert "- FDA Approved: Yes" in doc.text
    assert "Placeholder slot" not in doc.text and "Find Clinical Trials" not in doc.text


def test_reference_labels() -> None:
    book = {
        "text": "Gallbladder. In: Amin MB, Edge SB, Greene FL, et al., eds.: AJCC Cancer Staging "
        "Manual. 8th ed. Springer; 2017, pp 303–9."
    }
    assert pdq.reference_label(book) == "Amin 2017"
    anonymous = {
        "text": "New treatment option for postmenopausal women with early breast cancer. "
        "Expert Rev Anticancer Ther 2 (6): 617, 2002.",
        "pmid": "12503198",
    }
    assert pdq.reference_label(anonymous) == "Expert Rev Anticancer Ther 2002, PMID 12503198"


@dataclass
class Folder:
    """Every cancer.gov file of the folder parsed and chunked (no store)."""

    seconds: float = 0.0
    documents: list[tuple[Path, Document, list[Passage]]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@pytest.fixture(scope="module")
def folder() -> Folder:
    out = Folder()
    files = sorted(p for p in FOLDER.rglob("*.md") if not registry.DOC_FILE.match(p.name))
    began = time.perf_counter()
    for path in files:
        if registry.detect(path) != "cancer-gov":
            continue
        with open(path, "rb") as fh:
            for result in pdq.parse(fh, str(path)):
                if isinstance(result, Skipped):
                    out.skipped.append(result)
                else:
                    out.documents.append((path, *prepare(result)))
    out.seconds = time.perf_counter() - began
    print(f"\nnci_pdq: {len(out.documents)} documents in {out.seconds:.1f} s")
    return out


def test_whole_folder_text_is_clean(folder: Folder) -> None:
    assert len(folder.documents) > 1350
    assert folder.seconds < 120  # measured 21-31 s on 2 busy cores
    for path, _, passages in folder.documents:
        assert passages, path.name
        for p in passages:
            for name, pattern in LEFTOVERS.items():
                assert not pattern.search(p.text), (name, path.name, p.text[:200])


def test_whole_folder_citations_resolve(folder: Folder) -> None:
    cites = resolved = 0
    for _, doc, passages in folder.documents:
        if doc.evidence_level is not EvidenceLevel.GUIDELINE:
            continue
        refs = _references(doc)
        for p in passages:
            for key in _cites(p):
                cites += 1
                resolved += key in refs
    assert cites > 45_000
    assert resolved / cites >= 0.99  # measured: all 50,411


def test_whole_folder_health_professional_summaries(folder: Folder) -> None:
    hp = [
        doc for path, doc, _ in folder.documents if path.parent.name == "pdq" and HP.search(doc.id)
    ]
    assert len(hp) == 242
    assert all(d.evidence_level is EvidenceLevel.GUIDELINE for d in hp)
    assert all(d.audience is Audience.PROFESSIONAL and not d.evidence_inferred for d in hp)
    assert all(d.source == "NCI PDQ" and d.pub_date for d in hp)
    levels = {p.extra["loe"] for _, d, ps in folder.documents for p in ps if "loe" in p.extra}
    assert {"A1", "B1", "C1"} <= {v for value in levels for v in value.split(",")}
    patient = [
        d
        for _, d, _ in folder.documents
        if d.source == "NCI PDQ" and d.audience is Audience.CONSUMER
    ]
    assert len(patient) >= 150
    assert all(d.evidence_level is EvidenceLevel.PATIENT_EDUCATION for d in patient)


def test_whole_folder_skips_pages_without_content(folder: Folder) -> None:
    reasons = {Path(s.path).name: s.reason for s in folder.skipped}
    assert (
        "binary content"
        in reasons["publications-patient-education-coping-with-advance-cancer-mobi.md"]
    )
    assert (
        "no text beyond the page title"
        in reasons["publications-dictionaries-cancer-terms-def-survivorship.md"]
    )
    assert len(reasons) < 25


def test_malformed_files_are_skipped_and_the_rest_ingests(store: Store, tmp_path: Path) -> None:
    raw = GALLBLADDER_HP.read_text(encoding="utf-8")
    header_end = raw.index("\n---\n", 4) + 5
    (tmp_path / "good.md").write_text(raw, encoding="utf-8")
    (tmp_path / "broken-yaml.md").write_text(
        raw.replace("title: Gallbladder Cancer Treatment", "title: [Gallbladder", 1),
        encoding="utf-8",
    )
    (tmp_path / "header-only.md").write_text(raw[:header_end], encoding="utf-8")
    (tmp_path / "latin1.md").write_bytes(
        raw.replace("PDQ®", "PDQ\xae").encode("latin-1", "replace")
    )
    for name in ("broken-yaml.md", "header-only.md", "latin1.md"):
        assert registry.detect(tmp_path / name) == "cancer-gov"
        with open(tmp_path / name, "rb") as fh:
            [result] = list(pdq.parse(fh, name))  # never raises
        assert isinstance(result, Skipped)
    summary = ingest(store, [tmp_path])
    assert summary.documents == 1 and store.document_ids() == [HP_ID]
    reasons = {Path(s.path).name: s.reason for s in summary.skipped}
    assert reasons["broken-yaml.md"].startswith("invalid YAML front matter")
    assert reasons["header-only.md"] == "empty page: the file holds only its YAML header"
    assert reasons["latin1.md"].startswith("not valid UTF-8")


def test_registry_tells_cancer_gov_from_local_markdown(tmp_path: Path) -> None:
    assert registry.detect(GALLBLADDER_HP) == "cancer-gov"
    assert registry.detect(GALLBLADDER_PATIENT) == "cancer-gov"
    local = tmp_path / "handbook.md"
    local.write_text(
        "---\ntitle: Handbook\nurl: https://intranet.example/x\n---\n# Handbook\n\nText.\n"
    )
    assert registry.detect(local) == "markdown"
    assert registry.detect(FOLDER / "breast-cancer-screening.md") == "markdown"  # no url
