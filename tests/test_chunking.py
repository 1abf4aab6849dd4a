"""Sentences and passages on real MedQuAD and PubMedQA text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pysbd

from osler.ingest import chunking
from osler.ingest.sentences import sentence_spans
from osler.models import Section


def _medquad(shared: Path, n: int) -> list[dict[str, str]]:
    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        return [json.loads(next(fh)) for _ in range(n)]


def test_sentence_spans_agree_with_pysbd_on_real_text(shared: Path) -> None:
    """Ours = pysbd's sentences, further split where an inline " - " list item begins."""
    seg = pysbd.Segmenter(language="en", clean=False)
    bullet = re.compile(r"(?<=[.:;!?])\s+(?=-\s)")
    lines = [line for rec in _medquad(shared, 150) for line in rec["answer"].split("\n")]
    agree = 0
    for line in lines:
        ours = [line[s:e] for s, e in sentence_spans(line)]
        theirs = [p for s in seg.segment(line) for p in bullet.split(s.strip()) if p]
        agree += ours == theirs
    assert agree / len(lines) >= 0.99


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Dr. Smith et al. gave 5 mg b.i.d. to patients. Outcomes improved, e.g. pain. It worked."
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences[0].startswith("Dr. Smith et al. gave 5 mg")
    assert sentences[-1] == "It worked."


def test_passages_hold_whole_sentences_and_point_into_the_text(shared: Path) -> None:
    for rec in _medquad(shared, 60):
        sections = [Section(heading="Treatment", text=rec["answer"])]
        text, passages = chunking.build("doc", sections)
        body = chunking.normalize(rec["answer"])
        sentences = {line[s:e] for line in body.split("\n") for s, e in sentence_spans(line)}
        for p in passages:
            assert text[p.start : p.end] == p.text
            first_line = p.text.split("\n")[0]
            assert any(first_line.startswith(s) for s in sentences), first_line[:80]
            spans = [line[s:e] for line in p.text.split("\n") for s, e in sentence_spans(line)]
            n_sent = len(spans)
            # Longer only to keep a lead-in ("... include:") with what it introduces.
            joined_list = any(s.rstrip().endswith(":") for s in spans[:-1])
            assert n_sent <= 4 or len(p.text.split()) <= 120 or joined_list
            assert len(p.text.split()) <= 120 or n_sent == 1 or joined_list
        assert [p.ordinal for p in passages] == list(range(len(passages)))


def test_subheadings_become_section_labels(shared: Path) -> None:
    rec = _medquad(shared, 1)[0]  # CancerGov answer that opens with "Key Points"
    _, passages = chunking.build("doc", [Section(heading="Overview", text=rec["answer"])])
    assert passages[0].section == "Overview › Key Points"
    assert "Key Points" not in passages[0].text


def test_atomic_sections_keep_one_passage_per_line() -> None:
    lines = ["First gold snippet. It has two sentences.", "Second snippet."]
    text, passages = chunking.build(
        "d", [Section(heading="Abstract", text="\n".join(lines), atomic=True)]
    )
    assert [p.text for p in passages] == lines
    assert all(text[p.start : p.end] == p.text for p in passages)


def test_overlong_runs_without_punctuation_are_cut_at_whitespace() -> None:
    text, passages = chunking.build("d", [Section(text="word " * 5000)])
    assert all(len(p.text) <= 1500 for p in passages)
    assert all(text[p.start : p.end] == p.text for p in passages)


def test_a_lead_in_stays_with_its_list(shared: Path) -> None:
    """GARD's phenotype table, laid out as a list at ingest, is one passage with its lead-in."""
    from osler.ingest.medquad import PHENOTYPE_HEADER, unflatten_phenotype_table

    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        rec = next(r for r in map(json.loads, fh) if PHENOTYPE_HEADER in r["answer"])
    _, passages = chunking.build(
        "doc", [Section(heading="Symptoms", text=unflatten_phenotype_table(rec["answer"]))]
    )
    table = [p for p in passages if PHENOTYPE_HEADER in p.text]
    assert len(table) == 1
    assert table[0].text.startswith(PHENOTYPE_HEADER + ": - ")
    assert table[0].text.count(" - ") >= 3
    assert "Human Phenotype Ontology (HPO) has collected" not in table[0].text


def test_annotation_markers_do_not_hide_sentence_ends() -> None:
    """A citation glued after a full stop still ends the sentence, and stays with it."""
    from osler.ingest.annotations import mark

    cite = mark("cite", "1.2")
    text = f"The tumor is rarely diagnosed early.{cite} In such cases it cannot be removed.{cite}"
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        f"The tumor is rarely diagnosed early.{cite}",
        f"In such cases it cannot be removed.{cite}",
    ]


def test_annotated_lead_ins_and_sentences_are_not_subheadings() -> None:
    from osler.ingest.annotations import mark

    body = "\n".join(
        [
            f"Cancer of this kind is rare.{mark('cite', '1.1')}",
            f"The histological types include:{mark('cite', '2.1')}",
            "- Adenocarcinoma.",
            "- Squamous cell carcinoma.",
        ]
    )
    _, passages = chunking.build("d", [Section(heading="Histology", text=body)])
    assert {p.section for p in passages} == {"Histology"}
    assert passages[0].extra == {"cites": "1.1,2.1"}
    assert passages[0].text.endswith("Squamous cell carcinoma.")


def test_a_marker_between_words_keeps_them_apart() -> None:
    """A page marker written before the words it qualifies ("the ⟦page:14⟧patients") is lifted
    without gluing the words; a trailing citation takes the space before it along."""
    from osler.ingest.annotations import mark

    body = (
        f"The trial enrolled 410 patients. {mark('cite', '5.10')} Then the {mark('page', '14')}"
        f"patients were followed.{mark('cite', '5.11')}"
    )
    text, [passage] = chunking.build("d", [Section(heading="Results", text=body)])
    assert passage.text == "The trial enrolled 410 patients. Then the patients were followed."
    assert text[passage.start : passage.end] == passage.text
    assert passage.extra == {"cites": "5.10,5.11", "page": "14"}
