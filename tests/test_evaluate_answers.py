"""The answer benchmark: ROUGE-L by hand, citation faithfulness on real answers, hiding documents,
the off-corpus plan, and end-to-end runs on a small real corpus (library and `osler eval answers`)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import cli_env

from osler.compose.answer import topic_names
from osler.evaluate import answers as ev
from osler.index.lexical import LexicalIndex
from osler.ingest.pipeline import ingest
from osler.models import Answer, Statement
from osler.service import Osler
from osler.settings import load
from osler.store import open_store

SMALL_LINES = 300  # the first 300 MedQuAD rows: 51 cancer.gov pages


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the first 300 rows of the shared MedQuAD file, ingested and indexed."""
    src = tmp_path_factory.mktemp("small-src")
    lines = (load().shared_data / "medquad" / "medquad.jsonl").read_text(encoding="utf-8")
    (src / "medquad.jsonl").write_text(
        "\n".join(lines.splitlines()[:SMALL_LINES]) + "\n", encoding="utf-8"
    )
    data_dir = tmp_path_factory.mktemp("small-data")
    store = open_store(data_dir)
    try:
        ingest(store, [src])
        LexicalIndex.at(data_dir).sync(store)
    finally:
        store.close()
    return data_dir


@pytest.fixture(scope="module")
def searcher(small: Path) -> Iterator[Osler]:
    with Osler.open(data_dir=small, dense=False) as osler:
        yield osler


def _row(question_start: str) -> ev.Row:
    rows = ev.medquad_rows(load().shared_data)[:SMALL_LINES]
    return next(r for r in rows if r.question.startswith(question_start))


# --- ROUGE-L ------------------------------------------------------------------------------


def test_tokens_lower_case_words_and_digits() -> None:
    assert ev.tokens("Metformin, first-line (500 mg)!") == [
        "metformin",
        "first",
        "line",
        "500",
        "mg",
    ]
    assert ev.tokens(" -- ") == []


def test_lcs_length_by_hand() -> None:
    assert ev.lcs_length("a b c d".split(), "b d e".split()) == 2  # b d
    assert ev.lcs_length("the cat sat on the mat".split(), "the cat is on the mat".split()) == 5
    assert ev.lcs_length("a b c".split(), "c b a".split()) == 1
    assert ev.lcs_length("a a a".split(), "a a".split()) == 2
    assert ev.lcs_length([], ["a"]) == 0
    assert ev.lcs_length(["a"], []) == 0


def test_lcs_length_matches_the_dynamic_programme() -> None:
    def table(a: list[str], b: list[str]) -> int:
        row = [0] * (len(b) + 1)
        for x in a:
            prev = 0
            for j, y in enumerate(b, 1):
                prev, row[j] = row[j], prev + 1 if x == y else max(row[j], row[j - 1])
        return row[-1]

    rng = random.Random(7)
    for _ in range(200):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 90))]
        b = [rng.choice("abcdef") for _ in range(rng.randint(0, 90))]
        assert ev.lcs_length(a, b) == table(a, b)


def test_rouge_l_f1_by_hand() -> None:
    # LCS 5 of 6 candidate and 6 reference tokens: P = R = F = 5/6.
    assert ev.rouge_l("The cat sat on the mat.", "the cat is on the mat") == pytest.approx(5 / 6)
    # LCS 2: P = 2/4, R = 2/3, F = 2PR/(P+R) = 4/7.
    assert ev.rouge_l("a b c d", "b d e") == pytest.approx(4 / 7)
    assert ev.rouge_l("Metformin, first-line!", "metformin first line") == 1.0
    assert ev.rouge_l("", "anything at all") == 0.0
    assert ev.rouge_l("nothing shared", "at all") == 0.0


# --- faithfulness on real answers -----------------------------------------------------------


def _real_answer(searcher: Osler) -> Answer:
    answer = searcher.fresh_answer(_row("What are the treatments for Adult Acute Lymph").question)
    assert not answer.abstained and answer.references
    return answer


def test_faithfulness_of_a_real_extractive_answer_is_one(searcher: Osler) -> None:
    answer = _real_answer(searcher)
    assert len(ev.statements(answer)) >= 2
    assert ev.citation_failures(answer) == []
    assert ev.faithfulness(answer) == 1.0
    assert ev.answer_text(answer).startswith(answer.bottom_line.text)


def test_faithfulness_drops_on_a_corrupted_answer(searcher: Osler) -> None:
    answer = _real_answer(searcher)
    n = len(ev.statements(answer))
    bad = answer.model_copy(deep=True)
    bad.bottom_line.text = bad.bottom_line.text.replace(" ", "  ", 1) + " Always."
    assert ev.faithfulness(bad) == pytest.approx((n - 1) / n)
    assert ev.citation_failures(bad)[0]["why"].startswith("not verbatim in the quote of")
    # A statement citing nothing, or a reference that does not exist, is not faithful either.
    bad.sections[0].items.append(Statement(text=answer.bottom_line.text))
    bad.sections[0].items.append(Statement(text=answer.bottom_line.text, citations=[99]))
    whys = [f["why"] for f in ev.citation_failures(bad)]
    assert "cites no reference" in whys and "cites [99], which is not a reference" in whys
    assert ev.faithfulness(bad) == pytest.approx((n - 1) / (n + 2))


def test_an_abstention_has_no_statements() -> None:
    answer = Answer(
        question="q",
        standalone_question="q",
        audience="clinician",
        question_type="definition",
        title="t",
        bottom_line=Statement(text="Insufficient evidence."),
        abstained=True,
    )
    assert ev.statements(answer) == [] and ev.answer_text(answer) == ""
    assert ev.faithfulness(answer) == 1.0


# --- hiding the gold page, and the off-corpus plan --------------------------------------------


def test_hiding_the_gold_page_removes_it_from_answers_and_restores_it(searcher: Osler) -> None:
    row = _row("What are the treatments for Adult Acute Lymph")
    bench = ev.Bench(searcher)
    cited = {r.document_id for r in bench.ask(row.question)[0].references}
    assert row.gold in cited
    with bench.without([row.gold]):
        hits = bench.osler.search(row.question, k=30)
        assert hits and row.gold not in {h.document_id for h in hits}
        answer, _ = bench.ask(row.question)
        assert row.gold not in {r.document_id for r in answer.references}
    assert row.gold in bench.osler.documents
    assert row.gold in {h.document_id for h in bench.osler.search(row.question, k=30)}


def test_hiding_a_page_hides_the_topic_names_only_it_holds(searcher: Osler) -> None:
    bench = ev.Bench(searcher)
    before = set(searcher.composer.topics)
    topics_of = {d: topic_names(doc) for d, doc in searcher.documents.items()}
    topic_count = Counter(t for names in topics_of.values() for t in names)
    unique = next(
        d for d, names in topics_of.items() if names and all(topic_count[t] == 1 for t in names)
    )
    shared = next(
        d for d, names in topics_of.items() if names and all(topic_count[t] > 1 for t in names)
    )
    with bench.without([unique, shared]):
        assert searcher.composer.topics == before - topics_of[unique]
    assert searcher.composer.topics == before


def test_names_are_matched_without_case_possessives_or_punctuation(searcher: Osler) -> None:
    assert ev.normalise("Graves' Disease") == ev.normalise("graves disease") == "graves disease"
    assert ev.normalise("Kaposi's Sarcoma") == "kaposi sarcoma"
    found = ev.documents_about(["ADULT acute lymphoblastic leukemia"], searcher.documents)
    assert found and all(
        "acute lymphoblastic leukemia" in searcher.documents[d].title.lower() for d in found
    )
    # Whole words only: "Leuk" names nothing.
    assert ev.documents_about(["Leuk"], searcher.documents) == []


def test_names_of_a_focus_take_its_last_part_and_long_synonyms() -> None:
    rows = [r for r in ev.medquad_rows(load().shared_data) if r.focus == "Factor XI deficiency"]
    names = ev.names_of("Factor XI deficiency", rows)
    assert names[0] == "Factor XI deficiency" and "Rosenthal syndrome" in names
    assert all(len(n) >= ev.MIN_SYNONYM for n in names)
    assert ev.names_of("Parasites - Lice - Head Lice", []) == [
        "Parasites - Lice - Head Lice",
        "Head Lice",
    ]


def test_off_corpus_plan_removes_every_page_on_the_foci(searcher: Osler) -> None:
    rows = ev.medquad_rows(load().shared_data)
    plan = ev.plan_off_corpus(rows, searcher.documents, n=5, seed=3)
    assert len(plan.foci) == len(plan.off_corpus) == len(plan.in_corpus) == 5
    removed = set(plan.removed)
    assert all(r.gold in removed for r in plan.off_corpus)
    assert all(r.gold in searcher.documents and r.gold not in removed for r in plan.in_corpus)
    for focus in plan.foci:
        assert not ev.documents_about(
            [focus], {d: doc for d, doc in searcher.documents.items() if d not in removed}
        )
    assert plan == ev.plan_off_corpus(rows, searcher.documents, n=5, seed=3)


# --- end to end ----------------------------------------------------------------------------


def test_run_answers_on_a_small_real_corpus(small: Path) -> None:
    report = ev.run_answers(small, limit=8, cli_runs=1)
    quality = report["quality"]
    assert quality["questions"] == 8 and quality["available"] >= SMALL_LINES
    present, removed = quality["gold_indexed"], quality["gold_removed"]
    assert present["gold_cited"] > 0.5
    assert removed["gold_cited"] == 0.0
    for m in (present, removed):
        assert 0.0 <= m["abstention_rate"] <= 1.0 and 0.0 <= m["rouge_l_f1"] <= 1.0
    assert present["rouge_l_f1"] > 0.1
    assert report["faithfulness"]["share"] == 1.0 and report["faithfulness"]["statements"] > 8
    assert report["faithfulness"]["failures"] == []
    for key in ("tuned", "held_out", "answers"):
        v = report["verifier"][key]
        assert 0.0 <= v["recall"] <= 1.0 and 0.0 <= v["false_alarm_rate"] <= 1.0
    assert report["verifier"]["answers"]["sentences"] > 0
    abstention = report["abstention"]
    assert abstention["foci"] == 8 and abstention["documents_removed"] >= 8
    assert abstention["off_corpus"]["questions"] == abstention["in_corpus"]["questions"] == 8
    assert set(abstention["failures"]) == {"off_corpus_answered", "in_corpus_abstained"}
    warm = report["latency_ms"]["ask_warm"]
    assert warm["n"] == 8 and 0 < warm["p50"] <= warm["p95"]
    assert len(report["latency_ms"]["cli_cold"]["runs_ms"]) == 1
    assert report["corpus"]["documents"] == 51
    targets = {t["target"] for t in report["targets"]}
    assert {"100%", ">= 0.95", "<= 5%", ">= 90%", ">= 95%", "<= 150 ms"} <= targets
    json.dumps(report)  # the report is plain JSON
    # The data dir itself is untouched: the off-corpus questions ran on a copy.
    store = open_store(small)
    try:
        assert store.stats()["documents"] == 51
    finally:
        store.close()


def test_osler_eval_answers_command(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "osler",
            "eval",
            "answers",
            "--limit",
            "10",
            "--data-dir",
            str(small),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "home"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Answer benchmark" in done.stdout and "citation" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quality"]["questions"] == 10
    assert report["faithfulness"]["share"] == 1.0
    assert report["latency_ms"]["cli_cold"]["median"] > 0
    assert report["settings"]["seed"] == ev.SEED and report["settings"]["limit"] == 10
