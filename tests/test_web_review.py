"""Editorial API and pages: token and session auth, CSRF, every status code, concurrent reviewers,
and a server killed with SIGKILL in the middle of writes."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import cli_env, copy_data_dir
from fastapi.testclient import TestClient

from osler.models import IngestSummary, Role
from osler.review import auth
from osler.settings import EditorialSettings
from osler.store import open_store, review_store
from osler.web.app import create_app

QUESTION = "What are the treatments for gallbladder cancer?"
PASSWORD = "a long test password"
PEOPLE = {
    "ed": [Role.EDITOR],
    "rev": [Role.REVIEWER],
    "rev2": [Role.REVIEWER],
    "reader": [Role.READER],
    "root": [Role.ADMIN],
}


@pytest.fixture(scope="module")
def site(
    base_corpus: tuple[Path, IngestSummary], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A private copy of the corpus with an editorial team: (data dir, API token per user)."""
    data = tmp_path_factory.mktemp("web-review") / "data"
    copy_data_dir(base_corpus[0], data)
    store = open_store(data)
    reviews = review_store(store)
    tokens = {}
    for name, roles in PEOPLE.items():
        user = reviews.add_user(name, roles, "MD" if Role.REVIEWER in roles else "",
                                auth.hash_password(PASSWORD))
        tokens[name] = auth.new_token(reviews, user, "tests")
    store.close()
    return data, tokens


@pytest.fixture(scope="module")
def client(site: tuple[Path, dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(site[0], rate_per_minute=0)) as c:
        yield c


def bearer(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


def act(client: Any, tokens: dict[str, str], who: str, article: dict, action: str) -> Any:
    return client.post(
        f"/api/articles/{article['id']}/transitions",
        json={"action": action, "revision": article["revision"], "comment": f"{who} {action}"},
        headers=bearer(tokens, who),
    )


def new_article(client: Any, tokens: dict[str, str], question: str = QUESTION) -> dict:
    r = client.post("/api/articles", json={"question": question}, headers=bearer(tokens, "ed"))
    assert r.status_code == 201, r.text
    return r.json()


def test_api_status_codes(client: TestClient, site: tuple[Path, dict[str, str]]) -> None:
    tokens = site[1]
    body = {"question": QUESTION}
    assert client.post("/api/articles", json=body).status_code == 401
    r = client.post("/api/articles", json=body, headers={"Authorization": "Bearer osl_forged"})
    assert r.status_code == 401 and "invalid API token" in r.json()["error"]
    r = client.post("/api/articles", json=body, headers=bearer(tokens, "reader"))
    assert r.status_code == 403 and "editor role" in r.json()["error"]
    article = new_article(client, tokens)
    assert article["status"] == "draft" and article["served"] is None
    # drafts are invisible without a staff token
    assert client.get(f"/api/articles/{article['id']}").status_code == 404
    assert article["id"] not in [a["id"] for a in client.get("/api/articles").json()]
    assert client.get(f"/api/articles/{article['id']}", headers=bearer(tokens, "rev")).status_code == 200
    assert client.get("/api/articles/nope", headers=bearer(tokens, "ed")).status_code == 404
    # wrong role, wrong status, unknown action, anonymous, reader
    assert act(client, tokens, "ed", article, "start").status_code == 403
    assert act(client, tokens, "rev", article, "approve").status_code == 409
    assert act(client, tokens, "reader", article, "submit").status_code == 404  # drafts are staff-only
    anonymous = client.post(
        f"/api/articles/{article['id']}/transitions", json={"action": "submit", "revision": 1}
    )
    assert anonymous.status_code == 401
    bad = client.post(
        f"/api/articles/{article['id']}/transitions",
        json={"action": "publish", "revision": 1},
        headers=bearer(tokens, "ed"),
    )
    assert bad.status_code == 400
    # the legitimate path, then a stale revision
    submitted = act(client, tokens, "ed", article, "submit").json()
    assert submitted["status"] == "submitted"
    stale = act(client, tokens, "rev", article, "start")  # still holds revision 1
    assert stale.status_code == 409 and "changed by someone else" in stale.json()["error"]
    started = act(client, tokens, "rev", submitted, "start").json()
    approved = act(client, tokens, "rev", started, "approve").json()
    assert approved["status"] == "approved"
    assert approved["served"]["reviewed_by"] == ["rev, MD"]
    assert act(client, tokens, "reader", approved, "archive").status_code == 403
    assert act(client, tokens, "rev", approved, "archive").status_code == 403
    public = client.get(f"/api/articles/{article['id']}").json()
    assert public["served"]["status"] == "approved"
    audit = client.get("/api/audit", params={"article": article["id"]}, headers=bearer(tokens, "rev"))
    assert [e["action"] for e in audit.json()] == ["create", "submit", "start", "approve"]
    assert client.get("/api/audit", headers=bearer(tokens, "reader")).status_code == 403
    assert client.get("/api/audit").status_code == 401
    # no route changes or deletes the log
    assert client.delete("/api/audit", headers=bearer(tokens, "root")).status_code == 405


def test_versions_edit_and_serving(client: TestClient, site: tuple[Path, dict[str, str]]) -> None:
    tokens = site[1]
    article = new_article(client, tokens, "How is gallbladder cancer diagnosed?")
    versions = client.get(f"/api/articles/{article['id']}/versions", headers=bearer(tokens, "ed")).json()
    answer = versions[0]["answer"]
    retitled = {**answer, "title": answer["title"] + " in Adults"}
    r = client.post(
        f"/api/articles/{article['id']}/versions",
        json={"revision": article["revision"], "answer": retitled},
        headers=bearer(tokens, "ed"),
    )
    assert r.status_code == 400 and "title cannot be edited" in r.json()["error"]
    first = answer["references"][0]
    forged = {**first, "title": "ACR 2025 Gout Guideline", "evidence_level": "1-guideline",
              "url": "javascript:alert(1)"}
    shorter = {**answer, "sections": answer["sections"][:1], "disclaimer": "",
               "references": [forged, *answer["references"][1:]]}
    r = client.post(
        f"/api/articles/{article['id']}/versions",
        json={"revision": article["revision"], "answer": shorter, "comment": "shorter"},
        headers=bearer(tokens, "ed"),
    )
    assert r.status_code == 201 and r.json()["latest_version"] == 2
    uncited = {**shorter, "bottom_line": {**shorter["bottom_line"], "citations": []}}
    r2 = client.post(
        f"/api/articles/{article['id']}/versions",
        json={"revision": r.json()["revision"], "answer": uncited},
        headers=bearer(tokens, "ed"),
    )
    assert r2.status_code == 400 and "without a citation" in r2.json()["error"]
    rev_edit = client.post(
        f"/api/articles/{article['id']}/versions",
        json={"revision": r.json()["revision"], "regenerate": True},
        headers=bearer(tokens, "rev"),
    )
    assert rev_edit.status_code == 403
    listed = client.get(f"/api/articles/{article['id']}/versions", headers=bearer(tokens, "ed")).json()
    assert [v["number"] for v in listed] == [1, 2]
    assert listed[1]["author"] == "ed" and listed[1]["diff"].startswith("--- previous")
    assert "+# " not in listed[1]["diff"]  # the title is Osler's
    saved = listed[1]["answer"]
    assert saved["references"][0] == first  # metadata from the store, not the payload
    assert saved["disclaimer"] == answer["disclaimer"] != ""


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; return the session's CSRF token (from the queue page)."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"name": name, "password": password, "csrf": csrf},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/review")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def test_web_review_with_sessions_and_csrf(site: tuple[Path, dict[str, str]]) -> None:
    data, tokens = site
    with TestClient(create_app(data, rate_per_minute=0)) as web, \
            TestClient(create_app(data, rate_per_minute=0)) as api:
        article = new_article(api, tokens, "What causes gallbladder cancer?")
        article = act(api, tokens, "ed", article, "submit").json()
        assert web.get("/review", follow_redirects=False).status_code == 303  # to /login
        # a login form posted without its CSRF cookie/token pair is refused
        forged_login = web.post("/login", data={"name": "rev", "password": PASSWORD, "csrf": "x"})
        assert forged_login.status_code == 403
        bad = web.get("/login")
        wrong = web.post("/login", data={
            "name": "rev", "password": "wrong password",
            "csrf": re.search(r'name="csrf" value="([^"]+)"', bad.text).group(1),  # type: ignore[union-attr]
        })
        assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
        csrf = login(web, "rev")
        queue = web.get("/review")
        assert "What causes gallbladder cancer?" in queue.text
        view = web.get(f"/review/{article['id']}")
        assert view.status_code == 200 and "Start review" in view.text and "Approve" not in view.text
        form = {"action": "start", "revision": str(article["revision"]), "comment": "looking"}
        forged = web.post(f"/review/{article['id']}/transition", data=form, follow_redirects=False)
        assert forged.status_code == 403 and "CSRF" in forged.text
        assert api.get(f"/api/articles/{article['id']}", headers=bearer(tokens, "rev")).json()["status"] == "submitted"
        ok = web.post(f"/review/{article['id']}/transition", data={**form, "csrf": csrf},
                      follow_redirects=False)
        assert ok.status_code == 303
        after = api.get(f"/api/articles/{article['id']}", headers=bearer(tokens, "rev")).json()
        assert after["status"] == "under_review"
        approve = {"action": "approve", "revision": str(after["revision"]), "csrf": csrf}
        assert web.post(f"/review/{article['id']}/transition", data=approve,
                        follow_redirects=False).status_code == 303
        public = web.get(f"/articles/{article['id']}")
        assert "Approved by the medical advisory board" in public.text and "rev, MD" in public.text
        assert "Pending human review" not in public.text and 'href="/policy"' in public.text
        asked = web.get("/ask", params={"q": "What causes gallbladder cancer?"})
        assert "Reviewed by rev, MD" in asked.text
        assert "Editorial policy" in web.get("/policy").text
        trail = web.get("/audit")
        assert trail.status_code == 200 and "under review → approved" in trail.text
        # a reader's session sees no queue; only admins manage users
        web.cookies.clear()
        login(web, "reader")
        assert web.get("/review").status_code == 403
        assert web.get("/admin/users").status_code == 403
        web.cookies.clear()
        admin_csrf = login(web, "root")
        users = web.get("/admin/users")
        admin_csrf = re.search(r'name="csrf" value="([^"]+)"', users.text).group(1)  # type: ignore[union-attr]
        new_user = {"name": "newrev", "roles": "reviewer", "password": PASSWORD, "credentials": "DO"}
        assert web.post("/admin/users", data=new_user).status_code == 403  # no CSRF token
        added = web.post("/admin/users", data={**new_user, "csrf": admin_csrf})
        assert added.status_code == 200 and "newrev" in added.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "osler", "serve", "--port", str(port), "--rate", "0"],
        env={**cli_env(data), "OSLER_DENSE": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.3)


def test_two_reviewers_at_once_never_lose_an_update(site: tuple[Path, dict[str, str]]) -> None:
    data, tokens = site
    port = _free_port()
    proc = _server(data, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as c:
            article = new_article(c, tokens, "What is the outlook for gallbladder cancer?")
            article = act(c, tokens, "ed", article, "submit").json()
            article = act(c, tokens, "rev", article, "start").json()
        results: dict[str, httpx.Response] = {}
        barrier = threading.Barrier(2)

        def decide(who: str, action: str) -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                barrier.wait()
                results[who] = act(c, tokens, who, article, action)

        threads = [
            threading.Thread(target=decide, args=("rev", "approve")),
            threading.Thread(target=decide, args=("rev2", "request_changes")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results.values())
        assert codes == [200, 409], {k: r.text for k, r in results.items()}
        loser = next(r for r in results.values() if r.status_code == 409)
        assert "reload it and try again" in loser.json()["error"]
        winner = next(r for r in results.values() if r.status_code == 200).json()
        with httpx.Client(base_url=base, timeout=60) as c:
            final = c.get(f"/api/articles/{article['id']}", headers=bearer(tokens, "ed")).json()
            log = c.get("/api/audit", params={"article": article["id"]}, headers=bearer(tokens, "ed")).json()
        assert final["status"] == winner["status"] and final["revision"] == article["revision"] + 1
        assert len([e for e in log if e["action"] in {"approve", "request_changes"}]) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_kill_9_during_writes_loses_nothing_committed(
    base_corpus: tuple[Path, IngestSummary], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    copy_data_dir(base_corpus[0], data)
    store = open_store(data)
    reviews = review_store(store)
    editor = reviews.add_user("ed", [Role.EDITOR])
    token = auth.new_token(reviews, editor)
    store.close()
    port = _free_port()
    proc = _server(data, port)
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged: list[tuple[str, int]] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=headers) as c:
        article = c.post("/api/articles", json={"question": QUESTION}).json()
        answer = c.get(f"/api/articles/{article['id']}/versions").json()[0]["answer"]
        acknowledged.append((article["id"], 1))

        def write_forever() -> None:
            current = article
            try:
                while True:
                    r = c.post(
                        f"/api/articles/{current['id']}/versions",
                        json={"revision": current["revision"], "answer": answer, "comment": "edit"},
                    )
                    if r.status_code != 201:
                        return
                    current = r.json()
                    acknowledged.append((current["id"], current["latest_version"]))
            except httpx.HTTPError:
                return

        writer = threading.Thread(target=write_forever)
        writer.start()
        while len(acknowledged) < 15:
            assert writer.is_alive(), "writes stopped before the kill"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        writer.join(timeout=60)
        proc.wait(timeout=30)
    db = sqlite3.connect(data / "osler.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    latest = db.execute("SELECT latest_version, revision FROM articles WHERE id = ?",
                        (article["id"],)).fetchone()
    numbers = [r[0] for r in db.execute(
        "SELECT number FROM article_versions WHERE article_id = ? ORDER BY number", (article["id"],)
    )]
    edits = db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE article_id = ? AND action = 'edit'", (article["id"],)
    ).fetchone()[0]
    assert numbers == list(range(1, latest[0] + 1))  # no gap, no half-written version
    assert edits == latest[0] - 1 and latest[1] == latest[0]  # every version audited
    assert max(n for _, n in acknowledged) <= latest[0]  # every acknowledged write survived
    db.close()


def test_deployers_can_require_readers_to_sign_in(site: tuple[Path, dict[str, str]]) -> None:
    data, tokens = site
    settings = EditorialSettings(require_login=True)
    with TestClient(create_app(data, rate_per_minute=0, editorial=settings)) as c:
        page = c.get("/ask", params={"q": QUESTION}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert c.post("/api/ask", json={"question": QUESTION}).status_code == 401
        assert c.get("/policy").status_code == 200 and c.get("/login").status_code == 200
        ok = c.post("/api/ask", json={"question": QUESTION}, headers=bearer(tokens, "reader"))
        assert ok.status_code == 200 and ok.json()["references"]
        login(c, "reader")
        assert c.get("/ask", params={"q": QUESTION}).status_code == 200
