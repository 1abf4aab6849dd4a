"""A hospital's own documents: Markdown, HTML and text with YAML front matter."""

from __future__ import annotations

from pathlib import Path

from osler.ingest.pipeline import ingest
from osler.models import Audience, EvidenceLevel
from osler.store import Store

MARKDOWN = """---
title: Management of biliary obstruction before chemotherapy
source: St Elsewhere oncology handbook
date: 2024-03-01
evidence_level: guideline
authors: [A. Author, B. Author]
---
# Biliary drainage

## Recommendations
Jaundiced patients should have biliary drainage before chemotherapy starts.
Drainage may be endoscopic
or percutaneous.

- Check bilirubin weekly.
- Repeat imaging if it rises.

## Pitfalls
Do not start cisplatin while bilirubin is rising.
"""

HTML = """<html><head><title>Hand hygiene</title><script>alert(1)</script></head>
<body><h1>Hand hygiene for visitors</h1><nav>Home | About</nav>
<h2>When</h2><p>Clean your hands before
and after visiting.</p><ul><li>Use soap and water.</li><li>Or use sanitizer.</li></ul>
</body></html>"""


def test_markdown_with_front_matter(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "biliary.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    assert ingest(store, [path]).documents == 1
    [doc_id] = store.document_ids()
    doc = store.get_document(doc_id)
    assert doc is not None and doc_id.startswith("local:biliary-")
    assert doc.title == "Management of biliary obstruction before chemotherapy"
    assert doc.source == "St Elsewhere oncology handbook"
    assert (doc.year, doc.pub_date) == (2024, "2024-03-01")
    assert doc.evidence_level is EvidenceLevel.GUIDELINE and not doc.evidence_inferred
    assert doc.authors == ["A. Author", "B. Author"]
    passages = store.passages(doc_id)
    assert [p.section for p in passages] == ["Recommendations", "Pitfalls"]
    # soft-wrapped lines are joined, so no sentence is cut at a line break
    assert "Drainage may be endoscopic or percutaneous." in passages[0].text
    assert "- Check bilirubin weekly." in passages[0].text


def test_html_drops_scripts_and_navigation(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "hygiene.html"
    path.write_text(HTML, encoding="utf-8")
    ingest(store, [path])
    doc = store.get_document(store.document_ids()[0])
    assert doc is not None and doc.title == "Hand hygiene"
    assert "alert" not in doc.text and "Home | About" not in doc.text
    assert "Clean your hands before and after visiting." in doc.text
    assert store.passages(doc.id)[0].section == "When"


def test_plain_text_and_bad_front_matter(store: Store, tmp_path: Path) -> None:
    good = tmp_path / "note.txt"
    good.write_text("---\naudience: consumer\n---\nFlu vaccine\nGet a flu shot every year.\n")
    bad = tmp_path / "bad.md"
    bad.write_text("---\nevidence_level: gold standard\n---\nText.\n")
    worse = tmp_path / "worse.md"
    worse.write_text("---\ntitle: [unclosed\n---\nText.\n")
    summary = ingest(store, [tmp_path])
    assert summary.documents == 1
    doc = store.get_document(store.document_ids()[0])
    assert doc is not None and doc.title == "Flu vaccine"
    assert doc.audience is Audience.CONSUMER and doc.evidence_level is EvidenceLevel.PATIENT_EDUCATION
    reasons = {Path(s.path).name: s.reason for s in summary.skipped}
    assert "unknown evidence level" in reasons["bad.md"]
    assert "invalid YAML front matter" in reasons["worse.md"]
