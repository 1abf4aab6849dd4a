"""The REST API and pages, through httpx against the app on the real shared corpus."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from osler.web.app import create_app


@pytest.fixture(scope="module")
def client(base_corpus) -> TestClient:
    with TestClient(create_app(base_corpus[0], rate_per_minute=0)) as c:
        yield c


def test_ask_returns_the_answer_contract(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "What are the treatments for gallbladder cancer?"})
    assert r.status_code == 200
    data = r.json()
    assert data["title"] == "Treatment of Gallbladder Cancer" and not data["abstained"]
    ref = data["references"][0]
    passage = client.get(f"/api/passages/{quote(ref['passage_id'], safe='')}").json()
    ctx = passage["context"]
    assert ctx["text"][ctx["highlight_start"] : ctx["highlight_end"]] == ref["quote"]
    assert passage["document"]["id"] == ref["document_id"]
    doc = client.get(f"/api/documents/{ref['document_id']}").json()
    assert doc["text"][ref["start"] : ref["end"]] == ref["quote"] and doc["passages"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"question": ""}, 400, "empty"),
        ({"question": "   "}, 400, "empty"),
        ({"question": "x" * 2001}, 400, "too long"),
        ({"question": "asthma", "audience": "robot"}, 400, "unknown audience"),
        ({"audience": "patient"}, 400, "question"),
        ({"question": 12}, 400, "question"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message(client: TestClient, body: dict, status: int, words: str) -> None:
    r = client.post("/api/ask", json=body)
    assert r.status_code == status
    assert words in r.json()["error"]


def test_malformed_and_oversized_bodies(client: TestClient) -> None:
    r = client.post("/api/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "invalid request" in r.json()["error"]
    r = client.post("/api/ask", content=b"x" * 70_000, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_search_documents_stats_health(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "symptoms of asthma", "k": 5}).json()
    assert len(hits) == 5 and {"passage_id", "evidence_level", "score"} <= set(hits[0])
    assert client.get("/api/search", params={"q": ""}).status_code == 400
    assert client.get("/api/search", params={"q": "asthma", "k": 0}).status_code == 400
    assert client.get("/api/documents/nope:1").status_code == 404
    assert client.get("/api/passages/nope%231").status_code == 404
    stats = client.get("/api/stats").json()
    assert stats["by_dataset"]["medquad"]["documents"] == 5467
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["lexical_index"]["ready"]
    assert client.get("/openapi.json").json()["paths"]["/api/ask"]


def test_pages_are_escaped_and_carry_security_headers(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200 and "Which best describes you?" in home.text
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert home.headers["x-frame-options"] == "DENY"
    page = client.get("/ask", params={"q": "<script>alert(1)</script> asthma treatment"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert "Pending human review" in page.text or "pending human review" in page.text
    bad = client.get("/ask", params={"q": ""})
    assert bad.status_code == 400 and "question is empty" in bad.text


def test_rate_limit_answers_429(base_corpus) -> None:
    with TestClient(create_app(base_corpus[0], rate_per_minute=3)) as c:
        codes = [c.get("/api/stats").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429
