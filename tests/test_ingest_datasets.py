"""The shared QA datasets ingest with the right documents, sections and evidence levels."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

from osler.ingest.base import strip_inline_html
from osler.ingest.pipeline import ingest
from osler.models import Audience, EvidenceLevel
from osler.store import Store


def _lines(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(next(fh)) for _ in range(n)]


def test_medquad_one_document_per_page_sections_by_question_type(
    shared: Path, store: Store, tmp_path: Path
) -> None:
    rows = _lines(shared / "medquad" / "medquad.jsonl", 40)
    sample = tmp_path / "medquad.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = ingest(store, [sample])
    pages = {(r["source"], r["doc_id"]) for r in rows}
    assert summary.documents == len(pages) and not summary.skipped
    first = rows[0]
    doc = store.get_document(f"medquad:{first['source']}:{first['doc_id']}")
    assert doc is not None
    assert doc.title == first["focus"]
    assert doc.url == first["url"]
    assert doc.source == "cancer.gov PDQ"
    assert doc.audience is Audience.CONSUMER
    assert doc.evidence_level is EvidenceLevel.PATIENT_EDUCATION
    sections = {p.section.split(" › ")[0] for p in store.passages(doc.id)}
    assert {"Overview", "Symptoms", "Treatment", "Outlook and prognosis"} <= sections
    # the questions themselves are never stored
    assert all(r["question"] not in doc.text for r in rows if r["doc_id"] == first["doc_id"])


def test_medquad_original_xml_layout(shared: Path, store: Store, tmp_path: Path) -> None:
    rows = [r for r in _lines(shared / "medquad" / "medquad.jsonl", 20) if r["doc_id"] == "0000001_1"]
    pairs = "".join(
        f'<QAPair pid="{r["pair_id"]}"><Question qid="{r["qid"]}" qtype="{r["question_type"]}">'
        f"{escape(r['question'])}</Question><Answer>{escape(r['answer'])}</Answer></QAPair>"
        for r in rows
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><Document id="0000001_1" source="CancerGov" '
        f'url="{rows[0]["url"]}"><Focus>{escape(rows[0]["focus"])}</Focus>'
        f"<QAPairs>{pairs}</QAPairs></Document>"
    )
    path = tmp_path / "0000001_1.xml"
    path.write_text(xml, encoding="utf-8")
    summary = ingest(store, [path])
    assert summary.documents == 1 and not summary.skipped
    doc = store.get_document("medquad:CancerGov:0000001_1")
    assert doc is not None and doc.title == rows[0]["focus"]
    assert rows[-1]["answer"].split("\n")[-1] in doc.text


def test_pubmedqa_contexts_become_the_abstract(shared: Path, store: Store) -> None:
    data = json.loads((shared / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    summary = ingest(store, [shared / "pubmedqa" / "ori_pqal.json"])
    assert summary.documents == len(data) == 800
    pmid, item = next(iter(data.items()))
    doc = store.get_document(f"pubmedqa:{pmid}")
    assert doc is not None and doc.pmid == pmid and doc.year == int(item["YEAR"])
    assert doc.mesh_terms == item["MESHES"]
    assert item["QUESTION"] not in doc.text
    for context in item["CONTEXTS"]:
        assert " ".join(context.split()) in doc.text
    sections = [p.section for p in store.passages(doc.id)]
    assert sections[0] == item["LABELS"][0].capitalize() and sections[-1] == "Conclusions"
    levels = {store.get_document(f"pubmedqa:{k}").evidence_level for k in list(data)[:200]}
    assert EvidenceLevel.RCT in levels and EvidenceLevel.OBSERVATIONAL in levels


def test_bioasq_snippets_merge_by_pmid_across_files(shared: Path, store: Store) -> None:
    files = sorted((shared / "bioasq" / "Task8BGoldenEnriched").glob("8B[12]_golden.json"))
    snippets: dict[str, set[str]] = {}
    titles: dict[str, str] = {}
    for f in files:
        for q in json.loads(f.read_text(encoding="utf-8"))["questions"]:
            for s in q["snippets"]:
                pmid = s["document"].rstrip("/").rsplit("/", 1)[-1]
                # the snippet as text: publisher HTML ("<b>", "&amp;") decoded
                text = strip_inline_html(" ".join(s["text"].split()))
                if s["beginSection"] == "title":
                    titles.setdefault(pmid, text)
                else:
                    snippets.setdefault(pmid, set()).add(text)
    ingest(store, [files[0]])
    ingest(store, [files[1]])  # a later run merges with what is stored
    for pmid in list(snippets)[:300]:
        passages = store.passages(f"bioasq:{pmid}")
        assert snippets[pmid] <= {p.text for p in passages if p.section == "Abstract"}
    with_title = next(p for p in titles if p in snippets)
    doc = store.get_document(f"bioasq:{with_title}")
    assert doc is not None and doc.title == titles[with_title]
    again = ingest(store, files)
    assert again.documents == 0 and again.updated == 0 and again.unchanged > 0


def test_medicationqa_rows_with_source_from_url(shared: Path, store: Store) -> None:
    summary = ingest(store, [shared / "medicationqa" / "medicationqa.jsonl"])
    assert summary.documents == 690
    row = _lines(shared / "medicationqa" / "medicationqa.jsonl", 1)[0]
    doc = store.get_document(f"medicationqa:{row['row']}")
    assert doc is not None
    assert doc.url == row["URL"] and doc.source == "MedlinePlus"
    assert doc.evidence_level is EvidenceLevel.PATIENT_EDUCATION
    assert row["Question"] not in doc.text


def test_whole_shared_folder_ingests_every_dataset(whole_corpus, whole_store: Store) -> None:
    _, summary = whole_corpus
    stats = whole_store.stats()
    assert set(stats["by_dataset"]) >= {
        "medquad", "pubmedqa", "bioasq", "medicationqa", "pubmed", "pmc", "medline"
    }
    assert stats["by_dataset"]["medquad"]["documents"] == 5467
    levels = stats["by_evidence_level"]
    assert levels["patient-education"]["documents"] >= 5467
    assert levels["3-rct"]["documents"] > 0 and levels["2-systematic-review"]["documents"] > 0
    reasons = {s.reason for s in summary.skipped}
    assert "documentation of the dataset folder" in reasons
    assert not [s for s in summary.skipped if s.record], summary.skipped[:5]


def test_gard_phenotype_tables_become_lists_without_losing_a_word(shared: Path) -> None:
    """Every flattened phenotype table of MedQuAD is laid out as a list; only separators change."""
    import re

    from osler.ingest.medquad import PHENOTYPE_HEADER, unflatten_phenotype_table

    def bare(text: str) -> str:
        return re.sub(r"[\s:-]", "", text)

    tables = laid_out = 0
    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        for rec in map(json.loads, fh):
            answer = rec["answer"]
            if PHENOTYPE_HEADER not in answer:
                continue
            tables += 1
            text = unflatten_phenotype_table(answer)
            assert bare(text) == bare(answer)
            laid_out += f"{PHENOTYPE_HEADER}: - " in text
    assert tables > 2000 and laid_out == tables


def test_glued_pdq_subheadings_are_split_off_without_losing_a_word(shared: Path) -> None:
    """cancer.gov PDQ answers glue their sub-headings onto the next sentence ("Surgery
    Gallbladder cancer may be treated ..."); ingest puts each on a line of its own, which
    chunking reads as a sub-heading. Only line breaks change."""
    from osler.ingest import chunking
    from osler.ingest.medquad import clean_answer, subheadings, unglue_subheadings
    from osler.models import Section

    changed = 0
    gallbladder = None
    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        for rec in map(json.loads, fh):
            answer = rec["answer"]
            text = unglue_subheadings(answer)
            assert text.split() == answer.split()
            changed += text != answer
            if not answer.startswith("Key Points"):
                assert not subheadings(answer) and text == answer
            if rec["question"] == "What are the treatments for Gallbladder Cancer ?":
                gallbladder = answer
    assert changed > 100 and gallbladder is not None
    assert "\nSurgery\nGallbladder cancer may be treated" in unglue_subheadings(gallbladder)
    _, passages = chunking.build("doc", [Section(heading="Treatment", text=clean_answer(gallbladder))])
    surgery = [p for p in passages if p.section == "Treatment › Surgery"]
    assert surgery and surgery[0].text.startswith("Gallbladder cancer may be treated")
    assert not any(p.text.startswith("Surgery Gallbladder") for p in passages)
