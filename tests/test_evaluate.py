"""The retrieval benchmark: metrics by hand, the BM25 baseline, and small end-to-end runs on real data."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from osler.evaluate import metrics
from osler.evaluate.commands import eval_app
from osler.evaluate.retrieval import (
    TASK_METRICS,
    BM25Baseline,
    load_task,
    ranking_keys,
    run_benchmark,
    split_of,
    tables,
)
from osler.ingest.pipeline import ingest
from osler.models import Document
from osler.retrieve.search import Searcher
from osler.service import Osler
from osler.store import open_store

# A passage ranking collapsed to documents, and its judgements, used by several metric tests.
RANKING = ["d3", "d1", "d7", "d2"]
RELEVANT = {"d1", "d2", "d9"}


# --- metrics ----------------------------------------------------------------------------


def test_distinct_keeps_first_appearance() -> None:
    passages_to_docs = ["d3", "d3", "d1", "d3", "d7", "d1", "d2"]
    assert metrics.distinct(passages_to_docs) == RANKING


def test_recall_at_k() -> None:
    assert metrics.recall_at_k(RANKING, RELEVANT, 1) == 0.0
    assert metrics.recall_at_k(RANKING, RELEVANT, 2) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(RANKING, RELEVANT, 4) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(RANKING, RELEVANT, 10) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(["a", "b"], {"a"}, 1) == 1.0


def test_reciprocal_rank() -> None:
    assert metrics.reciprocal_rank(RANKING, RELEVANT) == 0.5
    assert metrics.reciprocal_rank(RANKING, RELEVANT, 1) == 0.0
    assert metrics.reciprocal_rank(RANKING, {"d2"}, 10) == 0.25
    assert metrics.reciprocal_rank(RANKING, {"zz"}) == 0.0


def test_ndcg_at_k_by_hand() -> None:
    # d1 at rank 2 and d2 at rank 4; the ideal ranking has 3 relevant documents first.
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg_at_k(RANKING, RELEVANT, 4) == pytest.approx(dcg / ideal)
    assert metrics.ndcg_at_k(RANKING, RELEVANT, 4) == pytest.approx(0.49819, abs=1e-5)
    # At k=2 only two relevant documents fit the ideal ranking.
    assert metrics.ndcg_at_k(RANKING, RELEVANT, 2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )
    assert metrics.ndcg_at_k(["a", "b", "x"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(["x", "y"], {"a"}, 10) == 0.0


def test_average_precision_at_k_by_hand() -> None:
    # Hits at ranks 2 and 4: precision 1/2 and 2/4, divided by min(3 relevant, k).
    assert metrics.average_precision_at_k(RANKING, RELEVANT, 4) == pytest.approx((0.5 + 0.5) / 3)
    assert metrics.average_precision_at_k(RANKING, RELEVANT, 2) == pytest.approx(0.5 / 2)
    assert metrics.average_precision_at_k(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx(
        (1 + 2 / 3) / 2
    )
    assert metrics.average_precision_at_k(["a", "b"], {"a", "b"}, 10) == 1.0


def test_metrics_refuse_questions_without_judgements() -> None:
    for metric in (metrics.recall_at_k, metrics.ndcg_at_k, metrics.average_precision_at_k):
        with pytest.raises(ValueError):
            metric(RANKING, set(), 10)
    with pytest.raises(ValueError):
        metrics.reciprocal_rank(RANKING, set())
    with pytest.raises(ValueError):
        metrics.recall_at_k(RANKING, RELEVANT, 0)


def test_mean_and_percentile() -> None:
    assert metrics.mean([1.0, 0.0, 0.5]) == 0.5
    assert metrics.mean([]) == 0.0
    values = [50.0, 10.0, 40.0, 20.0, 30.0]
    assert metrics.percentile(values, 50) == 30.0
    assert metrics.percentile(values, 95) == pytest.approx(48.0)
    assert metrics.percentile(values, 0) == 10.0
    assert metrics.percentile(values, 100) == 50.0
    assert metrics.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        metrics.percentile([], 50)


def test_pmid_level_keys_merge_documents_of_one_pmid() -> None:
    def doc(doc_id: str, pmid: str | None) -> Document:
        return Document(id=doc_id, title="t", source="s", source_type="journal-article", pmid=pmid)

    docs = {
        "bioasq:11": doc("bioasq:11", "11"),
        "pubmedqa:11": doc("pubmedqa:11", "11"),
        "pubmedqa:22": doc("pubmedqa:22", "22"),
        "medquad:GHR:1": doc("medquad:GHR:1", None),
    }
    fake = SimpleNamespace(documents=docs)
    ranked = ["medquad:GHR:1", "bioasq:11", "pubmedqa:11", "pubmedqa:22", "medquad:GHR:1"]
    keys = ranking_keys(ranked, fake, "pmid")  # type: ignore[arg-type]
    assert keys == ["medquad:GHR:1", "11", "22"]
    # The document without a PMID takes rank 1 but is never relevant.
    assert metrics.reciprocal_rank(keys, {"22"}) == pytest.approx(1 / 3)
    assert ranking_keys(ranked, fake, "document") == metrics.distinct(ranked)  # type: ignore[arg-type]


# --- the BM25 baseline --------------------------------------------------------------------


def test_bm25_baseline_stems_drops_stop_words_and_ignores_titles() -> None:
    baseline = BM25Baseline(
        ["p1", "p2", "p3"],
        ["doc-a", "doc-b", "doc-b"],
        [
            "Metformin is the first treatment for type 2 diabetes.",
            "Asthma inhalers relieve wheezing and cough.",
            "Corticosteroid inhalers treat persistent asthma in children.",
        ],
    )
    hits = baseline.search("treatments of diabetes")
    assert [pid for pid, _, _ in hits][:1] == ["p1"]
    assert hits[0][1] == "doc-a"
    # Stemming (Porter 2): "treating" matches "treat", "treatments" matches "treatment";
    # passages without a match are left out.
    assert [pid for pid, _, _ in baseline.search("treating")] == ["p3"]
    assert [pid for pid, _, _ in baseline.search("treatments")] == ["p1"]
    assert [pid for pid, _, _ in baseline.search("inhaler")] in (["p2", "p3"], ["p3", "p2"])
    # Stop words and unknown words alone find nothing.
    assert baseline.search("the of and with") == []
    assert baseline.search("zzyzx") == []
    # Only passage text is indexed: nothing else (such as a document title) is searchable.
    assert baseline.search("doc") == []
    assert len(baseline) == 3


def test_empty_baseline_finds_nothing() -> None:
    assert BM25Baseline([], [], []).search("asthma") == []


# --- end to end on real data ----------------------------------------------------------------


def _small_shared(shared: Path, target: Path) -> Path:
    """A shared-data-like folder: the MedQuAD pages of the first 300 rows (all their rows),
    one BioASQ golden file and PubMedQA."""
    rows = [
        json.loads(line)
        for line in (shared / "medquad" / "medquad.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    pages = {(r["source"], r["doc_id"]) for r in rows[:300]}
    (target / "medquad").mkdir(parents=True)
    (target / "medquad" / "medquad.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows if (r["source"], r["doc_id"]) in pages),
        encoding="utf-8",
    )
    (target / "bioasq").mkdir()
    shutil.copy(shared / "bioasq" / "Task7BGoldenEnriched" / "7B1_golden.json", target / "bioasq")
    (target / "pubmedqa").mkdir()
    shutil.copy(shared / "pubmedqa" / "ori_pqal.json", target / "pubmedqa")
    return target


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(data dir, its source folder) of a small real corpus, ingested and indexed once."""
    from osler.settings import load

    src = _small_shared(load().shared_data, tmp_path_factory.mktemp("small-shared"))
    data_dir = tmp_path_factory.mktemp("small-data")
    store = open_store(data_dir)
    summary = ingest(store, [src])
    store.close()
    assert summary.documents > 1000
    Osler.open(data_dir=data_dir).close()  # builds the lexical index
    yield data_dir, src


@pytest.fixture
def searcher(small: tuple[Path, Path]) -> Iterator[Searcher]:
    with Osler.open(data_dir=small[0], dense=False) as osler:
        yield osler.searcher


def _check_metrics(task: dict, name: str, system: str) -> dict[str, float]:
    values = task[system]
    assert set(values) == set(TASK_METRICS[name])
    assert all(0.0 <= v <= 1.0 for v in values.values())
    return values


def test_medquad_task_end_to_end(small: tuple[Path, Path], searcher: Searcher) -> None:
    src = small[1]
    rows = (src / "medquad" / "medquad.jsonl").read_text(encoding="utf-8").splitlines()
    records: list[dict] = []
    report = run_benchmark(searcher, ["medquad"], limit=50, shared=src, details=records.append)
    assert set(report) == {"tasks", "latency_ms", "corpus", "settings", "targets"}
    task = report["tasks"]["medquad"]
    assert task["questions"] == 50 and len(records) == 50
    assert task["available"] == len(rows)
    assert task["excluded"] == {"questions_gold_not_in_corpus": 0}
    assert task["dense"] is None and task["osler_lexical"] is None
    osler = _check_metrics(task, "medquad", "osler")
    bm25 = _check_metrics(task, "medquad", "bm25")
    assert osler["recall@1"] <= osler["recall@5"] <= osler["recall@10"]
    assert osler["recall@10"] > 0.5
    assert bm25["recall@10"] > 0.5
    assert osler["recall@10"] >= bm25["recall@10"] - 0.1
    # Both rankers are restricted to MedQuAD pages; the baseline indexes MedQuAD passages only.
    for record in records:
        assert record["relevant"][0].startswith("medquad:")
        for system in ("osler", "bm25"):
            assert all(key.startswith("medquad:") for key in record[system]["top"])
    corpus = report["corpus"]
    assert 0 < task["baseline_passages"] < corpus["passages"]
    assert corpus["datasets"]["medquad"] == len({json.loads(r)["doc_id"] for r in rows})
    latency = report["latency_ms"]
    assert latency["osler_lexical"]["n"] == 50
    assert latency["osler_lexical"]["p95"] >= latency["osler_lexical"]["p50"] > 0
    assert latency["osler_hybrid"] is None
    assert any(t["target"] == "MedQuAD recall@5 >= 0.97" for t in report["targets"])
    assert len(tables(report)) == 3


def test_medquad_sample_is_fixed_by_seed(small: tuple[Path, Path], searcher: Searcher) -> None:
    src = small[1]
    first = [q.id for q in load_task("medquad", searcher, src, 30).questions]
    again = [q.id for q in load_task("medquad", searcher, src, 30).questions]
    other = [q.id for q in load_task("medquad", searcher, src, 30, seed=14).questions]
    assert first == again and first != other and len(set(first)) == 30
    assert all(
        q.relevant <= searcher.documents.keys()
        for q in load_task("medquad", searcher, src, None).questions
    )


def test_bioasq_and_pubmedqa_tasks_end_to_end(small: tuple[Path, Path], searcher: Searcher) -> None:
    src = small[1]
    report = run_benchmark(searcher, ["bioasq", "pubmedqa"], limit=40, shared=src, latency=False)
    bioasq, pubmedqa = report["tasks"]["bioasq"], report["tasks"]["pubmedqa"]
    assert bioasq["questions"] == 40 and pubmedqa["questions"] == 40
    # Questions come from the shared folder given (one golden file here); those with no
    # judged PMID in the corpus are counted out, not scored.
    excluded = bioasq["excluded"]
    assert excluded["questions_total"] == 100
    assert bioasq["available"] + excluded["questions_without_relevant_in_corpus"] == 100
    assert excluded["judged_pmids_not_in_corpus"] < excluded["judged_pmids"]
    assert bioasq["level"] == pubmedqa["level"] == "pmid"
    assert pubmedqa["baseline_passages"] == report["corpus"]["passages"]
    b_osler = _check_metrics(bioasq, "bioasq", "osler")
    b_bm25 = _check_metrics(bioasq, "bioasq", "bm25")
    assert b_osler["ndcg@10"] > 0.3 and b_bm25["ndcg@10"] > 0.4
    p_osler = _check_metrics(pubmedqa, "pubmedqa", "osler")
    p_bm25 = _check_metrics(pubmedqa, "pubmedqa", "bm25")
    assert p_osler["recall@1"] <= p_osler["recall@5"]
    assert p_osler["recall@5"] > 0.6 and p_bm25["recall@5"] > 0.8
    assert report["latency_ms"]["osler_lexical"] is None
    # BioASQ (the task ranking weights were chosen on) is also reported on each fixed half.
    splits = bioasq["splits"]
    assert set(splits) == {"tune", "held_out"} and "splits" not in pubmedqa
    assert splits["tune"]["questions"] + splits["held_out"]["questions"] == 40
    for half in splits.values():
        assert set(half["osler"]) == set(half["bm25"]) == set(TASK_METRICS["bioasq"])
    for metric, value in b_osler.items():  # the halves average back to the whole
        n = {h: splits[h]["questions"] for h in splits}
        whole = sum(splits[h]["osler"][metric] * n[h] for h in splits) / 40
        assert abs(whole - value) < 1e-3
    assert {split_of(q.id) for q in load_task("bioasq", searcher, src, None).questions} == {
        "tune",
        "held_out",
    }
    task = load_task("bioasq", searcher, src, None)
    pmids = {d.pmid for d in searcher.documents.values() if d.pmid}
    assert all(q.relevant and q.relevant <= pmids for q in task.questions)


class _LexicalAsDense:
    """A stand-in dense index (the real one is an optional extra): lexical passage search."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.calls = 0

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        return self.search_vector(self.query_vector(text), k)

    def query_vector(self, text: str) -> str:
        self.calls += 1
        return text

    def search_vector(self, query: str, k: int) -> list[tuple[str, float]]:
        return self.searcher.lexical.search(self.searcher.analyse(query).terms, k)

    def similarities(self, query: str, passage_ids: list[str]) -> dict[str, float]:
        return {}


def test_dense_column_and_hybrid_latency_when_a_dense_index_exists(
    small: tuple[Path, Path], searcher: Searcher
) -> None:
    dense = _LexicalAsDense(searcher)
    searcher.dense = dense
    records: list[dict] = []
    report = run_benchmark(searcher, ["medquad"], limit=20, shared=small[1], details=records.append)
    task = report["tasks"]["medquad"]
    _check_metrics(task, "medquad", "osler_lexical")
    assert _check_metrics(task, "medquad", "dense")["recall@10"] > 0.5
    # The dense ranking is restricted to MedQuAD documents like the others.
    assert all(k.startswith("medquad:") for r in records for k in r["dense"]["top"])
    assert report["latency_ms"]["osler_hybrid"]["n"] == 20
    assert report["settings"]["dense"] is True
    assert dense.calls >= 20 * 3  # dense-only, Osler hybrid, hybrid latency
    assert "dense" in [c.header for c in tables(report)[0].columns]


# --- the command --------------------------------------------------------------------------


def test_eval_retrieval_command(small: tuple[Path, Path], tmp_path: Path) -> None:
    data_dir, src = small
    out, lines = tmp_path / "out.json", tmp_path / "per-question.jsonl"
    args = ["retrieval", "--tasks", "medquad", "--limit", "20", "--data-dir", str(data_dir)]
    args += ["--shared-data", str(src), "--json", str(out), "--per-question", str(lines)]
    result = CliRunner().invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    assert "Retrieval benchmark" in result.output and "MedQuAD (20 q)" in result.output
    report = json.loads(out.read_text())
    assert list(report["tasks"]) == ["medquad"]
    task = report["tasks"]["medquad"]
    assert task["questions"] == 20 and task["osler"]["recall@10"] > 0.5
    assert task["dense"] is None
    assert set(report["corpus"]) >= {"documents", "passages", "corpus_version"}
    assert report["latency_ms"]["osler_lexical"]["n"] == 20
    assert len(lines.read_text().splitlines()) == 20


def test_eval_retrieval_builds_a_temporary_corpus_from_the_shared_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from osler.settings import load

    monkeypatch.setenv("OSLER_DENSE", "0")  # the dense path is covered above; keep this one lexical

    src = tmp_path / "shared"
    _small_shared(load().shared_data, src)
    shutil.rmtree(src / "bioasq")
    out = tmp_path / "out.json"
    args = ["retrieval", "--tasks", "pubmedqa,medquad", "--limit", "10", "--fresh"]
    result = CliRunner().invoke(eval_app, [*args, "--shared-data", str(src), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert list(report["tasks"]) == ["pubmedqa", "medquad"]
    rows = (src / "medquad" / "medquad.jsonl").read_text(encoding="utf-8").splitlines()
    pages = len({json.loads(r)["doc_id"] for r in rows})
    assert report["corpus"]["datasets"] == {"medquad": pages, "pubmedqa": 800}
    assert report["corpus"]["data_dir"].startswith("temporary")
    assert report["tasks"]["pubmedqa"]["osler"]["recall@5"] > 0.5


def test_eval_retrieval_refuses_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(eval_app, ["retrieval", "--tasks", "medquad,trec"])
    assert result.exit_code == 2 and "trec" in result.output
    result = runner.invoke(eval_app, ["retrieval", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no Osler store" in " ".join(result.output.split())
    open_store(tmp_path).close()
    result = runner.invoke(eval_app, ["retrieval", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "corpus is empty" in " ".join(result.output.split())
