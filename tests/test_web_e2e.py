"""End-to-end in Debian's Chromium (Playwright): ask, read, open a citation, switch audience,
ask a follow-up; and no script from a document ever runs. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from conftest import copy_data_dir
from playwright.sync_api import Browser, Page, sync_playwright

from osler import __version__
from osler.index.lexical import LexicalIndex
from osler.ingest.pipeline import ingest
from osler.store import open_store, review_store
from osler.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("OSLER_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))

EVIL = """---
title: Gout flares <script>window.__pwned = 1</script>
---
## Treatment
Gout flares are treated with colchicine <img src=x onerror="window.__pwned = 2"> started early.
Allopurinol lowers uric acid <script>window.__pwned = 3</script> over months of treatment.
"""


def _serve(data_dir: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(data_dir, rate_per_minute=0), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "server did not start within 60 s"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian chromium missing: apt-get install chromium"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base_url(base_corpus) -> Iterator[str]:
    yield from _serve(base_corpus[0])


def _page(browser: Browser, width: int = 1200) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    return page


def test_ask_read_cite_switch_and_follow_up(browser: Browser, base_url: str) -> None:
    page = _page(browser)
    page.goto(base_url)
    page.get_by_label("Ask a clinical question").fill("What are the treatments for gallbladder cancer?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector("h1.answer-title")
    assert page.inner_text("h1.answer-title") == "Treatment of Gallbladder Cancer"
    assert page.locator(".answer-section").count() >= 2
    assert page.locator(".steps li.current").inner_text() == "Submitted"
    assert "pending human review" in page.inner_text(".banner")
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)

    first = page.locator("sup.cite a").first
    statement = first.get_attribute("data-statement")
    first.click()
    page.wait_for_selector("#source-panel:not([hidden]) mark.sentence")
    assert page.inner_text("#source-panel mark.sentence") == statement
    assert page.inner_text("#source-panel .badge")
    page.screenshot(path=str(ARTIFACTS / "citation.png"))

    page.get_by_label("Patient or caregiver").first.check()
    page.get_by_role("button", name="Update answer").click()
    page.wait_for_url("**audience=patient**")
    assert page.locator("input[name=audience][value=patient]").first.is_checked()
    assert "not a diagnosis" in page.inner_text(".disclaimer")

    page.get_by_label("Ask a follow-up question").fill("What is the outlook for gallbladder cancer?")
    page.locator(".follow-up button[type=submit]").click()
    page.wait_for_url("**outlook**")
    assert "Gallbladder Cancer" in page.inner_text("h1.answer-title")
    page.screenshot(path=str(ARTIFACTS / "follow-up.png"), full_page=True)


def test_reading_works_without_javascript(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(base_url + "/ask?q=What+are+the+symptoms+of+asthma%3F")
    assert page.locator(".answer-section").count() >= 1
    page.locator("a.in-source").first.click()
    assert page.locator("mark#hl").inner_text()
    page.screenshot(path=str(ARTIFACTS / "no-js-phone.png"), full_page=True)
    context.close()


def test_scripts_in_documents_never_run(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("evil")
    (root / "gout.md").write_text(EVIL, encoding="utf-8")
    store = open_store(root / "data")
    ingest(store, [root / "gout.md"])
    LexicalIndex.at(root / "data").sync(store)
    store.close()
    for url in _serve(root / "data"):
        page = _page(browser)
        page.goto(url + "/ask?q=How+are+gout+flares+treated%3F")
        assert "Gout flares" in page.inner_text("body")
        page.locator("sup.cite a").first.click()
        page.wait_for_selector("#source-panel:not([hidden])")
        assert page.evaluate("window.__pwned === undefined")
        assert "<img src=x" in page.inner_text("#source-panel")  # shown as text
        page.screenshot(path=str(ARTIFACTS / "escaped.png"))


def test_api_docs_work_offline_under_the_csp(browser: Browser, base_url: str) -> None:
    page = _page(browser)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base_url) else None)
    page.goto(base_url + "/docs")
    page.wait_for_selector(".opblock-summary-path[data-path='/api/ask']")
    assert page.locator(".opblock").count() >= 10
    assert outside == [] and blocked == []


def test_a_reviewer_signs_in_and_approves_with_the_keyboard(
    browser: Browser, base_corpus, tmp_path: Path
) -> None:
    """The review screens in a real browser (forms, CSRF fields, CSP): sign in, start, approve."""

    from osler.models import Role
    from osler.review import articles, auth

    data = tmp_path / "data"
    copy_data_dir(base_corpus[0], data)
    store = open_store(data)
    reviews = review_store(store)
    editor = reviews.add_user("ed", [Role.EDITOR])
    reviews.add_user("dr-rev", [Role.REVIEWER], "MD, PhD", auth.hash_password("board member pw"))
    article = articles.create(reviews, _answer_for(data, "How is gallbladder cancer diagnosed?"), editor)
    articles.transition(reviews, article.id, "submit", editor, article.revision)
    store.close()
    for base in _serve(data):
        page = _page(browser)
        page.goto(base + "/review")
        page.get_by_label("Name").fill("dr-rev")
        page.get_by_label("Password").fill("board member pw")
        page.keyboard.press("Enter")
        page.wait_for_selector("h1:text('Review queue')")
        page.get_by_role("link", name="How is gallbladder cancer diagnosed?").first.click()
        page.get_by_label("Comment (kept in the audit trail)").fill("Sources checked.")
        page.get_by_role("button", name="Start review").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(".article-status:text('under review')")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_selector(".article-status:text('approved')")
        assert "Sources checked." in page.inner_text("section.trail")
        assert page.inner_text("footer.site").startswith(f"Osler {__version__} ")
        assert "Approved by the medical advisory board" in page.inner_text("article.answer")
        page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
        page.goto(f"{base}/articles/{article.id}")
        assert page.locator(".steps li.current").inner_text() == "Approved"
        assert "dr-rev, MD, PhD" in page.inner_text(".status")


def _answer_for(data: Path, question: str):
    from osler.service import Osler

    with Osler.open(data_dir=data) as osler:
        return osler.fresh_answer(question)
