"""Cochrane reviews: each line of the real file becomes a linked results / plain-language pair."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from osler.ingest import cochrane
from osler.ingest.base import BadRecord
from osler.ingest.pipeline import ingest, prepare
from osler.ingest.registry import detect
from osler.models import Audience, EvidenceLevel, ParsedDocument
from osler.store import Store


@pytest.fixture
def jsonl(shared: Path) -> Path:
    return shared / "cochrane" / "cochrane_pls.jsonl"


def test_whole_file_gives_two_linked_documents_per_review(jsonl: Path) -> None:
    assert detect(jsonl) == "cochrane"
    began = time.perf_counter()
    with open(jsonl, "rb") as fh:
        results = list(cochrane.parse(fh, str(jsonl)))
    docs = [r for r in results if isinstance(r, ParsedDocument)]
    assert len(docs) == len(results) == 1782  # 891 reviews, no line skipped
    by_id = {d.document.id: d for d in docs}
    assert len(by_id) == 1782
    passages = 0
    for parsed in docs:
        doc = parsed.document
        other = by_id[doc.extra["linked"]]
        assert other.document.extra["linked"] == doc.id
        assert doc.doi == other.document.doi and doc.url == f"https://doi.org/{doc.doi}"
        assert doc.source == "Cochrane" and doc.source_type == "systematic-review"
        assert doc.pub_date is None and doc.year is None and doc.extra["untitled"] == "1"
        assert not doc.evidence_inferred
        if doc.id.endswith(":pls"):
            assert doc.audience is Audience.CONSUMER
            assert doc.evidence_level is EvidenceLevel.PATIENT_EDUCATION
            assert [s.heading for s in parsed.sections] == ["Plain language summary"]
        else:
            assert doc.audience is Audience.PROFESSIONAL
            assert doc.evidence_level is EvidenceLevel.SYSTEMATIC_REVIEW
            assert [s.heading for s in parsed.sections] == ["Results"]
        passages += len(prepare(parsed)[1])
    assert passages == 6425
    assert time.perf_counter() - began < 30


def test_first_review_ids_titles_and_numbers(jsonl: Path) -> None:
    line = json.loads(jsonl.open(encoding="utf-8").readline())
    assert line["doi"] == "10.1002/14651858.CD000370"
    results, summary = cochrane.review(line)
    assert results.document.id == "cochrane:CD000370"
    assert results.document.title == "Cochrane review CD000370 (results)"
    assert summary.document.id == "cochrane:CD000370:pls"
    assert summary.document.title == "Cochrane review CD000370 (plain-language summary)"
    doc, passages = prepare(results)
    # confidence intervals and odds ratios are kept as written
    assert "(Peto odds ratio (OR) 4.60; 95% confidence interval (CI) 1.53 to 13.85)" in doc.text
    assert any("95% CI 10 to 28%" in p.text for p in passages)
    assert all(p.section == "Results" for p in passages)
    _, pls = prepare(summary)
    assert pls[0].text.startswith("The goal of this systematic review was to examine")


def test_versioned_doi_keeps_the_review_number_as_id(jsonl: Path) -> None:
    with open(jsonl, encoding="utf-8") as fh:
        rec = next(r for r in map(json.loads, fh) if r["doi"].endswith(".pub2"))
    results, summary = cochrane.review(rec)
    number = rec["doi"].split(".")[-2]
    assert results.document.id == f"cochrane:{number}"
    assert results.document.extra["version"] == "pub2"
    assert results.document.doi == rec["doi"]
    assert summary.document.url == f"https://doi.org/{rec['doi']}"


def test_bad_lines_are_reported_and_the_rest_ingests(
    jsonl: Path, store: Store, tmp_path: Path
) -> None:
    lines = jsonl.read_text(encoding="utf-8").splitlines()[:4]
    missing = json.loads(lines[2])
    del missing["plain_language_summary"]
    foreign = json.loads(lines[3])
    foreign["doi"] = "10.1056/NEJMoa123456"
    inbox = tmp_path / "in"
    inbox.mkdir()
    path = inbox / "cochrane_pls.jsonl"
    rows = [lines[0], '{"doi": "10.1002/14651858.CD0', lines[1], json.dumps(missing), ""]
    path.write_text("\n".join([*rows, json.dumps(foreign)]) + "\n", encoding="utf-8")
    assert detect(path) == "cochrane"
    summary = ingest(store, [inbox])
    assert summary.documents == 4
    first, second = (cochrane.review_number(json.loads(line)["doi"])[0] for line in lines[:2])
    assert sorted(store.document_ids()) == [
        f"cochrane:{first}",
        f"cochrane:{first}:pls",
        f"cochrane:{second}",
        f"cochrane:{second}:pls",
    ]
    assert [(s.record, s.reason) for s in summary.skipped] == [
        ("line 2", summary.skipped[0].reason),
        ("line 4", "missing field 'plain_language_summary'"),
        (
            "line 6",
            "DOI '10.1056/NEJMoa123456' is not a Cochrane review DOI (10.1002/14651858.CD...)",
        ),
    ]
    assert summary.skipped[0].reason.startswith("invalid JSON")
    assert all(s.path == str(path) for s in summary.skipped)
    doc = store.get_document(f"cochrane:{first}:pls")
    assert doc is not None and doc.audience is Audience.CONSUMER
    assert doc.extra["linked"] == f"cochrane:{first}"


def test_empty_field_is_a_bad_record() -> None:
    rec = {
        "doi": "10.1002/14651858.CD000370",
        "abstract_results": " ",
        "plain_language_summary": "x",
    }
    with pytest.raises(BadRecord, match="empty field 'abstract_results'"):
        cochrane.review(rec)
