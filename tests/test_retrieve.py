"""Retrieval: question analysis, the lexical index kept in step, ranking, bad questions."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import cli_env

from osler.evaluate import metrics
from osler.evaluate.retrieval import load_task, ranking_keys, split_of
from osler.index.lexical import EXPANSION_BOOST, LexicalIndex
from osler.ingest.pipeline import ingest
from osler.models import Audience, Passage
from osler.retrieve.analyse import analyse
from osler.retrieve.context import DocumentCache
from osler.retrieve.rank import coverage_factor, question_stems, section_factor, term_weights
from osler.retrieve.search import NothingIngested, Searcher, UnknownAudience, fuse_scores
from osler.service import Osler
from osler.store import Store, open_store

#: MedQuAD's own question types -> Osler's.
MEDQUAD_TYPES = {
    "treatment": "treatment",
    "symptoms": "symptoms",
    "exams and tests": "diagnosis",
    "outlook": "prognosis",
    "susceptibility": "risk",
    "prevention": "prevention",
    "causes": "causes",
    "genetic changes": "genetics",
    "inheritance": "genetics",
    "frequency": "frequency",
    "information": "definition",
}


@pytest.fixture(scope="module")
def searcher(base_corpus) -> Searcher:
    with Osler.open(data_dir=base_corpus[0], dense=False) as osler:
        yield osler.searcher


def test_question_types_on_real_medquad_questions(shared: Path) -> None:
    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows:
        expected = MEDQUAD_TYPES.get(row["question_type"])
        if expected:
            total[expected] += 1
            right[expected] += analyse(row["question"]).question_type == expected
    for qtype, n in total.items():
        assert right[qtype] / n >= 0.9, (qtype, right[qtype], n)


def test_boilerplate_removed_and_focus_found() -> None:
    q = analyse("What is the recommended treatment for liver metastases from gallbladder cancer?")
    assert q.question_type == "treatment"
    assert q.cleaned == "treatment for liver metastases from gallbladder cancer"
    assert q.focus == "liver metastases gallbladder cancer"
    assert "what" not in q.terms and "recommended" not in q.terms
    assert analyse("Is Alström syndrome inherited?").focus == "Alström syndrome"
    assert analyse("Are gut microbiota profiles altered by irradiation?").yes_no


def test_abbreviations_are_learned_from_the_corpus(searcher: Searcher) -> None:
    assert searcher.lexical.abbreviations["COPD"] == "chronic obstructive pulmonary disease"
    q = searcher.analyse("What is the first-line treatment of COPD exacerbations?")
    assert q.expansions == {"COPD": "chronic obstructive pulmonary disease"}
    assert {"chronic", "obstructive", "pulmonary"} <= set(q.expansion_terms)


def test_treatment_question_finds_the_treatment_section(searcher: Searcher) -> None:
    hits = searcher.search(
        "What are the treatments for gallbladder cancer?", k=5, audience="patient"
    )
    assert hits[0].document_id == "medquad:CancerGov:0000020_1"
    assert hits[0].section.startswith("Treatment")
    assert all("section" in h.components and "evidence" in h.components for h in hits)


def test_at_most_two_passages_per_document_and_no_near_duplicates(searcher: Searcher) -> None:
    hits = searcher.search("clinical trials for cancer treatment", k=20, audience="patient")
    assert len(hits) == 20
    assert max(Counter(h.document_id for h in hits).values()) <= 2
    texts = [h.text for h in hits]
    assert len(set(texts)) == len(texts)
    boilerplate = [
        t for t in texts if t.startswith("Check the list of NCI-supported cancer clinical trials")
    ]
    assert len(boilerplate) <= 1


def test_generic_section_names_are_neutral_not_a_mismatch() -> None:
    treatment = analyse("What are the treatments for gallbladder cancer?")
    assert section_factor("Treatment", treatment) == 1.0
    assert section_factor("Symptoms", treatment) == 0.0
    # "Abstract" or "Title" says nothing about fit: neither a match nor a mismatch
    for generic in ("Abstract", "Title", "", "NA"):
        assert section_factor(generic, treatment) == 0.5


def test_coverage_rewards_having_all_question_words_rare_ones_most() -> None:
    query = analyse("Is metformin associated with lactic acidosis in chronic kidney disease?")
    stems = question_stems(query)
    assert {"metfor", "lactic", "acidos", "kidney"} <= set(stems)
    # every candidate is about kidney disease; few mention lactic acidosis
    candidates = [{"chroni", "kidney", "diseas"}] * 8 + [
        {"chroni", "kidney", "diseas", "metfor"},
        {"metfor", "lactic", "acidos", "kidney", "diseas", "chroni", "associ"},
    ]
    weights = term_weights(query, candidates)
    assert weights["lactic"] > weights["metfor"] > weights["kidney"] > 0
    scores = [coverage_factor(words, weights) for words in candidates]
    assert scores[-1] == pytest.approx(1.0)  # every question word present
    assert scores[-1] > scores[-2] > scores[0] > 0.0
    assert coverage_factor(set(), weights) == 0.0
    assert term_weights(analyse("the of and"), candidates) == {}


def test_corpus_specificity_outweighs_rarity_among_the_candidates() -> None:
    query = analyse("Is metformin associated with lactic acidosis in chronic kidney disease?")
    # among these candidates "associated" is as rare as "lactic"; the corpus knows it is not
    candidates = [{"chroni", "kidney", "diseas"}] * 8 + [
        {"chroni", "kidney", "diseas", "associ"},
        {"chroni", "kidney", "diseas", "lactic"},
    ]
    plain = term_weights(query, candidates)
    assert plain["associ"] == pytest.approx(plain["lactic"])
    specific = term_weights(query, candidates, {"associ": 2.0**2, "lactic": 8.0**2})
    assert specific["lactic"] == pytest.approx(plain["lactic"] * 64)
    assert specific["kidney"] == pytest.approx(plain["kidney"])  # no specificity: unchanged
    assert coverage_factor(candidates[-1], specific) > 5 * coverage_factor(candidates[-2], specific)


def test_document_frequencies_count_the_passages_that_have_a_word(searcher: Searcher) -> None:
    total, freqs = searcher.lexical.document_frequencies(["erenumab", "Erenumab", "zzqxv"])
    assert total == searcher.store.stats()["passages"]
    word = re.compile(r"\berenumab\b", re.I)
    having = sum(
        bool(word.search(p.text)) for _, ps in searcher.store.iter_documents_passages() for p in ps
    )
    assert freqs["erenumab"] == freqs["Erenumab"] == having > 10
    assert freqs["zzqxv"] == 0
    spec = searcher.specificity(analyse("What is the brand name for erenumab?"))
    assert spec is not None and spec["erenum"] > spec["name"] > 0


def test_specificity_improves_the_ranking_of_literature_questions(
    searcher: Searcher, shared: Path
) -> None:
    """Lexical-only nDCG@10 on a seeded sample of the BioASQ questions the power was chosen on
    (the `tune` half): corpus specificity in the coverage weights against rarity alone."""
    task = load_task("bioasq", searcher, shared, 200)
    questions = [q for q in task.questions if split_of(q.id) == "tune"]
    assert len(questions) > 50
    default = searcher.weights

    def ndcg() -> float:
        total = 0.0
        for q in questions:
            hits = searcher.search(q.text, k=50)
            keys = ranking_keys([h.document_id for h in hits], searcher, "pmid")
            total += metrics.ndcg_at_k(keys, q.relevant, 10)
        return total / len(questions)

    try:
        with_specificity = ndcg()
        searcher.weights = default.model_copy(update={"coverage_specificity": 0.0})
        without = ndcg()
    finally:
        searcher.weights = default
    assert default.coverage_specificity > 0
    assert with_specificity > without + 0.01


def test_coverage_is_a_component_of_the_explained_ranking(searcher: Searcher) -> None:
    hits = searcher.search("What are the treatments for high blood pressure?", k=5)
    assert hits and all(0.0 <= h.components["coverage"] <= 1.0 for h in hits)
    # the passages shown carry most of the question's words
    assert max(h.components["coverage"] for h in hits) > 0.5


def test_score_fusion_keeps_score_gaps_and_scores_every_candidate() -> None:
    lexical = {"a": 30.0, "b": 10.0, "c": 9.0}
    dense = {"a": 0.50, "b": 0.80, "c": 0.40, "d": 0.79}  # "d": no lexical match at all
    fused = fuse_scores(lexical, dense, dense_share=0.6)
    assert set(fused) == {"a", "b", "c", "d"}
    assert max(fused.values()) == 1.0 and min(fused.values()) == 0.0
    # "a" leads BM25 by far; "b" leads the cosine; together they lead; "d" has only the cosine
    assert fused["a"] > fused["d"] and fused["b"] > fused["d"] > fused["c"]
    assert fuse_scores(lexical, dense, 0.0)["a"] == 1.0  # all BM25
    assert fuse_scores(lexical, dense, 1.0)["b"] == 1.0  # all cosine
    assert fuse_scores({}, {}, 0.6) == {}
    assert fuse_scores({"a": 1.0}, {"a": 0.5}, 0.6) == {"a": 1.0}


def test_expansion_terms_search_the_text_at_a_lower_weight(searcher: Searcher) -> None:
    lexical = searcher.lexical
    main = dict(lexical.search(["bronchiectasis"], 50))
    expanded = dict(lexical.search(["zzzqqq"], 50, expansion_terms=["bronchiectasis"]))
    # the same passages (text matches, not only titles), each at the expansion boost
    assert main and set(expanded) == set(main)
    for pid, score in expanded.items():
        assert score == pytest.approx(main[pid] * EXPANSION_BOOST, rel=1e-4)


def test_audience_changes_which_sources_lead(searcher: Searcher) -> None:
    question = "How is asthma treated?"
    patient = searcher.search(question, k=10, audience="patient")
    clinician = searcher.search(question, k=10, audience="clinician")
    consumer = [sum(h.audience is Audience.CONSUMER for h in hits) for hits in (patient, clinician)]
    assert consumer[0] > consumer[1]


def test_bad_questions_never_raise(searcher: Searcher) -> None:
    assert searcher.search("") == []
    assert searcher.search("the of and is what") == []
    assert searcher.search('"AND" (:*) OR NOT title:x^2 [a TO b]')  # syntax is just words
    assert searcher.search("asthma " * 2000)  # a 10k-character question
    searcher.search("¿Cuáles son los síntomas del asma? 哮喘的症状是什么")
    with pytest.raises(UnknownAudience):
        searcher.search("asthma", audience="robot")


def test_searching_an_empty_store_says_how_to_ingest(tmp_path: Path) -> None:
    with (
        Osler.open(data_dir=tmp_path, dense=False) as osler,
        pytest.raises(NothingIngested, match="osler ingest"),
    ):
        osler.search("asthma")
    empty = tmp_path / "e"
    run = subprocess.run(
        ["osler", "search", "asthma"], capture_output=True, text=True, env=cli_env(empty)
    )
    assert run.returncode == 1 and "osler ingest" in run.stderr
    # the message names the data directory it looked in, and nothing is created there
    assert str(empty) in " ".join(run.stderr.split()) and not empty.exists()


def test_lexical_index_follows_ingest_and_remove_incrementally(
    shared: Path, store: Store, tmp_path: Path
) -> None:
    ingest(store, [shared / "pubmedqa" / "ori_pqal.json"])
    index = LexicalIndex(tmp_path / "lex")
    assert index.sync(store).rebuilt
    pmid_doc = "pubmedqa:10808977"  # the mammography-counselling trial
    question = "tailored telephone counseling mammography HMO women"
    assert pmid_doc in {pid.split("#")[0] for pid, _ in index.search(question.split(), 5)}
    store.remove(ids=[pmid_doc])
    report = index.sync(store)
    assert (report.rebuilt, report.documents, report.passages) == (False, 1, 0)
    assert pmid_doc not in {pid.split("#")[0] for pid, _ in index.search(question.split(), 50)}
    ingest(store, [shared / "medicationqa" / "medicationqa.jsonl"])
    report = index.sync(store)
    assert not report.rebuilt and report.documents == 690
    hits = index.search(["rivastigmine"], 5)
    assert hits and hits[0][0].startswith("medicationqa:")
    reopened = LexicalIndex(tmp_path / "lex")
    assert reopened.seq == store.corpus_version()
    assert reopened.search(["rivastigmine"], 5) == hits


def test_search_cli_json_explain_and_batch(base_corpus, tmp_path: Path) -> None:
    env = cli_env(base_corpus[0])
    run = subprocess.run(
        ["osler", "search", "symptoms of gallbladder cancer", "--json", "--explain", "--k", "3"],
        capture_output=True,
        text=True,
        env=env,
    )
    out = json.loads(run.stdout)
    assert out["query"]["question_type"] == "symptoms"
    first = out["results"][0]
    assert set(first) >= {
        "passage_id",
        "document_id",
        "title",
        "section",
        "text",
        "score",
        "source",
        "evidence_level",
        "year",
        "url",
        "components",
    }
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"question": "asthma inhaler"}\nWhat causes gout?\n\n', encoding="utf-8")
    run = subprocess.run(
        ["osler", "search", "--batch", str(batch), "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["question"] for line in lines] == ["asthma inhaler", "What causes gout?"]
    assert all(len(line["results"]) == 10 for line in lines)


def test_ingest_keeps_the_index_in_step(shared: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "d")
    subprocess.run(
        ["osler", "ingest", str(shared / "medicationqa")], env=env, check=True, capture_output=True
    )
    store = open_store(tmp_path / "d")
    version = store.corpus_version()
    store.close()
    assert LexicalIndex.at(tmp_path / "d").seq == version


def test_document_cache_reads_once_and_empties_when_the_store_changes(
    store: Store, shared: Path, tmp_path: Path
) -> None:
    src = tmp_path / "few.jsonl"
    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        src.write_text("".join(next(fh) for _ in range(6)), encoding="utf-8")
    ingest(store, [src])
    doc = store.document_ids()[0]
    reads: list[str] = []
    original = store.passages

    def counted(document_id: str) -> list[Passage]:
        reads.append(document_id)
        return original(document_id)

    store.passages = counted  # type: ignore[method-assign]
    cache = DocumentCache(store, size=2)
    cache.refresh()
    first = cache.passages(doc)
    assert first == original(doc) and cache.passages(doc) is first and reads == [doc]
    assert cache.get_document(doc) == store.get_document(doc)
    cache.refresh()  # nothing changed: still cached
    assert cache.passages(doc) is first and reads == [doc]
    store.remove(ids=[doc])
    cache.refresh()  # a new corpus version: read again
    assert cache.passages(doc) == [] and cache.get_document(doc) is None and reads == [doc, doc]
