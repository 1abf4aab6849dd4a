"""Issue 14: no 500s, headers on every response, body limit while reading, sign-in throttling,
user names, caching, forwarded headers, drafts. Against the app on the real base corpus."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import copy_data_dir
from fastapi.testclient import TestClient

from osler.models import IngestSummary, Role
from osler.review import auth
from osler.settings import EditorialSettings
from osler.store import open_store, review_store
from osler.web import security
from osler.web.app import create_app

PASSWORD = "a long test password"
HEADER_NAMES = [k.lower() for k in security.HEADERS]


@pytest.fixture(scope="module")
def data(base_corpus: tuple[Path, IngestSummary], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the corpus with an admin, an editor and a reviewer."""
    target = tmp_path_factory.mktemp("hardening") / "data"
    copy_data_dir(base_corpus[0], target)
    store = open_store(target)
    reviews = review_store(store)
    for name, roles in {"root": [Role.ADMIN], "ed": [Role.EDITOR], "rev": [Role.REVIEWER]}.items():
        reviews.add_user(name, roles, "", auth.hash_password(PASSWORD))
    store.close()
    return target


@pytest.fixture(scope="module")
def client(data: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data, rate_per_minute=0)) as c:
        yield c


def has_headers(response) -> bool:  # type: ignore[no-untyped-def]
    return all(name in response.headers for name in HEADER_NAMES)


def form_csrf(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found, text[:500]
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    csrf = form_csrf(client.get("/login").text)
    r = client.post("/login", data={"name": name, "password": password, "csrf": csrf},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return form_csrf(client.get("/admin/users" if name == "root" else "/review").text)


# --- 4: the three 500s, and headers on every response ----------------------------------------


def test_a_lone_surrogate_in_a_question_is_a_400(client: TestClient) -> None:
    body = '{"question": "What is gout?\\ud800", "audience": "patient"}'
    r = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "surrogate" in r.json()["error"] and has_headers(r)
    r = client.get("/api/search", params={"q": "gout"}, headers={})
    assert r.status_code == 200


def test_a_non_ascii_csrf_value_is_a_403(data: Path) -> None:
    with TestClient(create_app(data, rate_per_minute=0)) as web:
        web.get("/login")
        r = web.post("/login", data={"name": "rev", "password": PASSWORD, "csrf": "é" * 32})
        assert r.status_code == 403 and has_headers(r)
        login(web, "rev")
        r = web.post("/review/nope/transition",
                     data={"action": "start", "revision": "1", "csrf": "ü✓"})
        assert r.status_code == 403 and "CSRF" in r.text and has_headers(r)


def test_adding_an_existing_user_with_spaces_or_other_case_is_a_409(data: Path) -> None:
    with TestClient(create_app(data, rate_per_minute=0)) as web:
        csrf = login(web, "root")
        for name in (" rev", "REV", "ｒｅｖ", "rev "):
            r = web.post("/admin/users", data={"name": name, "roles": "editor",
                                                "password": PASSWORD, "csrf": csrf})
            assert r.status_code == 409 and "exists" in r.text, name
        r = web.post("/admin/users", data={"name": "zed\u202e", "roles": "editor",
                                            "password": PASSWORD, "csrf": csrf})
        assert r.status_code == 400 and "U+202E" in r.text
        r = web.post("/admin/users", data={"name": " New  Person ", "roles": "editor",
                                            "password": PASSWORD, "csrf": csrf},
                     follow_redirects=False)
        assert r.status_code == 303
        listing = web.get("/admin/users")
        assert "New Person" in listing.text
        assert listing.headers["cache-control"] == "no-store"
    with TestClient(create_app(data, rate_per_minute=0)) as other:
        login(other, "new person")  # names compare case-insensitively at sign-in too


def test_every_response_carries_the_security_headers(data: Path) -> None:
    app = create_app(data, rate_per_minute=2)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a fault the app did not foresee")

    with TestClient(app, raise_server_exceptions=False) as c:
        crash = c.get("/boom")
        assert crash.status_code == 500 and "trace" not in crash.text.lower() and has_headers(crash)
        assert "RuntimeError" not in crash.text
        missing = c.get("/no/such/page")
        assert missing.status_code == 404 and has_headers(missing)
        big = c.post("/api/ask", content=b"x" * 70_000, headers={"content-type": "application/json"})
        assert big.status_code == 413 and has_headers(big)
        limited = c.get("/api/stats")  # the third request of a two-a-minute budget
        assert limited.status_code == 429 and has_headers(limited)


# --- 3: the body limit is enforced while reading -------------------------------------------


def test_chunked_bodies_over_the_limit_are_refused_while_reading(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(32):
            yield b"a" * 8192
        yield b'"}'

    r = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers  # sent chunked
    assert r.status_code == 413 and "too large" in r.json()["error"] and has_headers(r)
    small = client.post("/api/ask", content=iter([b'{"question": "What is gout?"}']),
                        headers={"content-type": "application/json"})
    assert small.status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_64_mib_chunked_body_is_cut_off_by_the_server(data: Path) -> None:
    """Over a real socket: the server answers 413 and stops reading long before 64 MiB."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(data, rate_per_minute=0), host="127.0.0.1",
                                           port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        sent, reply = 0, b""
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"a" * 65536
            frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
            sock.settimeout(0.01)
            try:
                while sent < 64 * 1024 * 1024:
                    sock.sendall(frame)
                    sent += len(chunk)
                    try:
                        reply += sock.recv(65536)
                    except TimeoutError:
                        continue
                    if reply:
                        break
            except OSError:  # the server closed the connection
                pass
            sock.settimeout(5)
            try:
                while b"\r\n\r\n" not in reply:
                    more = sock.recv(65536)
                    if not more:
                        break
                    reply += more
            except OSError:
                pass
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        assert sent < 16 * 1024 * 1024
    finally:
        server.should_exit = True
        thread.join(10)


# --- 2: sign-in throttling -----------------------------------------------------------------


def test_throttle_backs_off_per_account_and_per_address() -> None:
    now = [1000.0]
    t = auth.Throttle(free_per_account=3, free_per_address=5, base=1, cap=60, clock=lambda: now[0])
    for _ in range(2):
        assert t.wait("Rev", "10.0.0.1") == 0
        t.failed("rev", "10.0.0.1")
    assert t.wait("rev", "10.0.0.1") == 0
    t.failed("rev", "10.0.0.1")  # the third failure locks
    assert t.wait("REV", "10.0.0.9") == 1  # the account is locked from any address
    now[0] += 1.5
    t.failed("rev", "10.0.0.1")
    assert t.wait("rev", "10.0.0.1") == 2  # doubling
    t.failed("other", "10.0.0.1")  # fifth failure from this address, on another account
    assert t.wait("third", "10.0.0.1") == 1 and t.wait("third", "10.0.0.2") == 0
    for _ in range(20):
        t.failed("rev", "10.0.0.3")
    assert t.wait("rev", "10.0.0.3") == 60  # capped
    t.succeeded("rev")
    assert t.wait("rev", "10.0.0.4") == 0  # a success clears the account, not the addresses
    assert t.wait("rev", "10.0.0.3") == 60


def test_wrong_passwords_are_throttled_and_the_right_one_waits_too(data: Path) -> None:
    slow = EditorialSettings(login_base_backoff=600)  # no lock ends during the test
    with TestClient(create_app(data, rate_per_minute=0, editorial=slow)) as web:
        csrf = form_csrf(web.get("/login").text)
        codes = [
            web.post("/login", data={"name": "ed", "password": f"wrong {i}", "csrf": csrf}).status_code
            for i in range(8)
        ]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3
        locked = web.post("/login", data={"name": "ED", "password": PASSWORD, "csrf": csrf})
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
        assert int(locked.headers["retry-after"]) >= 1 and has_headers(locked)
        # another account is not locked by ed's failures
        ok = web.post("/login", data={"name": "rev", "password": PASSWORD, "csrf": csrf},
                      follow_redirects=False)
        assert ok.status_code == 303


# --- 6: caching, HEAD, NUL, strict booleans ------------------------------------------------


def test_head_nul_and_strict_booleans(client: TestClient) -> None:
    head = client.head("/")
    assert head.status_code == 200 and head.content == b"" and has_headers(head)
    assert client.head("/healthz").status_code == 200
    r = client.post("/api/ask", json={"question": "What is gout?\x00"})
    assert r.status_code == 400 and "NUL" in r.json()["error"]
    r = client.post("/api/ask", json={"question": "What is gout?", "llm": "yes"})
    assert r.status_code == 400 and "llm" in r.json()["error"]
    r = client.post("/api/articles/x/versions", json={"revision": 1, "regenerate": "true"},
                    headers={"Authorization": "Bearer osl_x"})
    assert r.status_code in {400, 401}
    assert client.get("/review", follow_redirects=False).headers["cache-control"] == "no-store"


def test_user_names_are_normalised() -> None:
    assert auth.clean_name("  Ｚed   Smith ") == "Zed Smith"
    for bad in ("zed\u202e", "zed\u200b", "a\x00b", "tab\there", "   "):
        with pytest.raises(ValueError):
            auth.clean_name(bad)


# --- 5: forwarded headers, static assets, browsers' 429 ------------------------------------


def test_forwarded_for_is_believed_only_from_configured_proxies() -> None:
    proxies = security.trusted_proxies("127.0.0.1, 10.1.0.0/16")
    def scope(peer: str, forwarded: str) -> dict:
        return {"client": (peer, 1), "headers": [(b"x-forwarded-for", forwarded.encode())]}
    assert security.client_address(scope("192.0.2.7", "203.0.113.9"), proxies) == "192.0.2.7"
    assert security.client_address(scope("127.0.0.1", "203.0.113.9"), proxies) == "203.0.113.9"
    # a client's own X-Forwarded-For entry is not believed past the last untrusted hop
    spoof = scope("127.0.0.1", "1.2.3.4, 203.0.113.9, 10.1.2.3")
    assert security.client_address(spoof, proxies) == "203.0.113.9"
    assert security.client_address(scope("127.0.0.1", "203.0.113.9"), ()) == "127.0.0.1"
    with pytest.raises(ValueError, match="OSLER_TRUSTED_PROXIES"):
        security.trusted_proxies("not an address")


def test_rate_limit_spares_static_assets_and_browsers_get_a_page(data: Path) -> None:
    app = create_app(data, rate_per_minute=3, proxies=())
    with TestClient(app) as c:
        assert [c.get("/static/style.css").status_code for _ in range(10)] == [200] * 10
        pages = [c.get("/", headers={"accept": "text/html"}) for _ in range(4)]
        assert [p.status_code for p in pages[:3]] == [200] * 3
        limited = pages[3]
        assert limited.status_code == 429 and limited.headers["content-type"].startswith("text/html")
        assert "Too many requests" in limited.text and limited.headers["retry-after"]
        api = c.get("/api/stats", headers={"accept": "text/html"})
        assert api.status_code == 429 and "error" in api.json()
        # X-Forwarded-For from an untrusted peer does not buy a new budget
        dodge = c.get("/api/stats", headers={"x-forwarded-for": "203.0.113.50"})
        assert dodge.status_code == 429
