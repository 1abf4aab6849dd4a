"""Follow-up questions: standalone resolution, carried focus, suggestions, API and CLI."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import cli_env
from fastapi.testclient import TestClient

from osler.conversation import Turn, resolve
from osler.service import Osler
from osler.web.app import create_app

TOPICS = {"gallbladder cancer", "bile duct cancer", "gout", "asthma"}
PREVIOUS = [
    Turn(
        question="What are the treatments for gallbladder cancer?",
        standalone="What are the treatments for gallbladder cancer?",
        focus="gallbladder cancer",
        question_type="treatment",
    )
]


@pytest.mark.parametrize(
    ("follow_up", "standalone"),
    [
        ("How is it diagnosed?", "How is gallbladder cancer diagnosed?"),
        ("What are the symptoms?", "What are the symptoms of gallbladder cancer?"),
        ("and in children?", "What are the treatments for gallbladder cancer in children?"),
        ("and if the patient is jaundiced?", "What are the treatments for gallbladder cancer if the patient is jaundiced?"),
        ("is radiotherapy an option?", "is radiotherapy an option for gallbladder cancer?"),
        ("what about bile duct cancer?", "What are the treatments for bile duct cancer?"),
        ("What causes gout?", "What causes gout?"),
    ],
)
def test_follow_ups_become_standalone_questions(follow_up: str, standalone: str) -> None:
    assert resolve(follow_up, PREVIOUS, TOPICS) == standalone


def test_first_question_stands_alone() -> None:
    assert resolve("How is it diagnosed?", [], TOPICS) == "How is it diagnosed?"


def test_conversation_carries_focus_and_suggests_other_facets(osler: Osler) -> None:
    first = osler.ask("What are the treatments for gallbladder cancer?", conversation="c-1")
    assert first.conversation_id == "c-1"
    assert len(first.follow_ups) == 3 and all("gallbladder cancer" in f for f in first.follow_ups)
    assert not any(f.startswith("What are the treatments") for f in first.follow_ups)
    second = osler.ask("How is it diagnosed?", conversation="c-1")
    assert second.standalone_question == "How is gallbladder cancer diagnosed?"
    assert second.question == "How is it diagnosed?"
    assert second.title == "Diagnosis of Gallbladder Cancer" and not second.abstained
    assert any("gallbladder" in r.title.lower() for r in second.references)
    turns = osler.store.get_conversation("c-1")
    assert [t["question_type"] for t in turns] == ["treatment", "diagnosis"]


def test_api_and_cli_keep_the_conversation(base_corpus) -> None:
    with TestClient(create_app(base_corpus[0], rate_per_minute=0)) as client:
        first = client.post("/api/ask", json={"question": "What causes gout?"}).json()
        cid = first["conversation_id"]
        assert cid
        second = client.post("/api/ask", json={"question": "How is it treated?", "conversation_id": cid}).json()
        assert second["standalone_question"] == "How is gout treated?"
        bad = client.post("/api/ask", json={"question": "x", "conversation_id": "../etc"})
        assert bad.status_code == 400 and "conversation_id" in bad.json()["error"]
        page = client.get("/ask", params={"q": "What are the symptoms?", "c": cid})
        assert "Understood as" in page.text and "gout" in page.text.lower()
    env = cli_env(base_corpus[0])
    subprocess.run(["osler", "ask", "What is asthma?"], env=env, capture_output=True, check=True)
    run = subprocess.run(
        ["osler", "ask", "How is it treated?", "--follow-up", "--format", "json"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert json.loads(run.stdout)["standalone_question"] == "How is asthma treated?"


def test_follow_up_benchmark_beats_asking_without_context(osler: Osler, shared) -> None:
    from osler.evaluate.followups import pairs, run

    sample = pairs(shared / "medquad" / "medquad.jsonl", 5, seed=1)
    assert all(p["follow_up"] in p["original"] or "?" in p["follow_up"] for p in sample)
    report = run(osler, shared / "medquad" / "medquad.jsonl", limit=40, seed=3)
    assert report["pairs"] == 40
    assert report["recall@5_with_context"] >= 0.8
    assert report["recall@5_with_context"] > report["recall@5_without_context"] + 0.5


@pytest.mark.parametrize(
    ("first", "follow_up", "standalone"),
    [
        # a follow-up that only names a question type is that question about the focus,
        # grammatical, never the previous question with words glued on
        ("What is metformin used for?", "What about its side effects?",
         "What are the side effects of metformin?"),
        ("What are the treatments for gallbladder cancer?", "What about its side effects?",
         "What are the side effects of gallbladder cancer?"),
        ("What are the symptoms of lupus?", "what about treatment", "What are the treatments for lupus?"),
        ("What is metformin used for?", "and the dose?", "What is the usual dose of metformin?"),
        # a pronoun is replaced; a qualifier narrows the previous question
        ("what is psoriasis", "how is it treated", "how is psoriasis treated"),
        ("What causes gout?", "and in children?", "What causes gout in children?"),
    ],
)
def test_type_only_follow_ups_are_written_from_the_focus(
    osler: Osler, first: str, follow_up: str, standalone: str
) -> None:
    assert osler.standalone(follow_up, [osler.turn(first)]) == standalone
