"""The PostgreSQL backend's own checks (the shared ones are in tests/test_store_protocol.py):
its triggers, migrations and URLs, the settings that choose it, and Osler run on it end to end.

These tests need the session's PostgreSQL (tests/pg.py): they fail, never skip, without it."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import cli_env
from pg import EmbeddedPostgres, free_port
from test_store_protocol import MEDQUAD_LINES, article_and_version

from osler.ingest.pipeline import ingest
from osler.models import Role
from osler.retrieve.search import NothingIngested
from osler.review import auth
from osler.service import Osler
from osler.settings import load
from osler.store import Stores, open_store, open_stores, stored
from osler.store.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from osler.store.postgres import redacted
from osler.store.postgres_migrations import MIGRATIONS

SECRET = "s3cret-pw"


@pytest.fixture
def server(postgres: EmbeddedPostgres) -> Iterator[EmbeddedPostgres]:
    yield postgres
    postgres.drop_created()


@pytest.fixture
def url(server: EmbeddedPostgres) -> str:
    return server.new_database()


@pytest.fixture
def medquad(shared: Path, tmp_path: Path) -> Path:
    with (shared / "medquad" / "medquad.jsonl").open(encoding="utf-8") as f:
        lines = [line for i, line in enumerate(f) if i in MEDQUAD_LINES]
    path = tmp_path / "medquad.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def with_password(url: str) -> str:
    """The URL with a password in it (the test server trusts loopback, so any will do)."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")


def test_versions_approvals_and_audit_are_append_only(url: str) -> None:
    stores = open_stores(url)
    try:
        rev = stores.reviews.add_user("rev", [Role.REVIEWER])
        stores.reviews.create_article(*article_and_version(stores.corpus, "a1"))
        stores.reviews.update_article("a1", 1, {"status": "approved", "approved_version": 1},
                                      actor="rev", action="approve", approval_by=rev.id)
        log = stores.reviews.audit()
    finally:
        stores.close()
    with psycopg.connect(url, autocommit=True) as db:
        for statement in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "UPDATE article_versions SET comment = 'x'",
            "DELETE FROM article_versions",
            "TRUNCATE article_versions CASCADE",
            "UPDATE approvals SET at = 'x'",
            "DELETE FROM approvals",
            "TRUNCATE approvals",
        ):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation,
                               match=r"append-only|immutable"):
                db.execute(statement)  # type: ignore[call-overload]
        counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                  for t in ("audit_log", "article_versions", "approvals")]
        assert counts == [len(log), 1, 1]
        assert db.execute("SELECT revision FROM articles").fetchone() == (2,)


def test_passwords_tokens_and_sessions_are_hashed_at_rest(url: str) -> None:
    stores = open_stores(url)
    try:
        reviews = stores.reviews
        editor = reviews.add_user("editor", [Role.EDITOR])
        reviews.update_user("editor", password_hash=auth.hash_password("correct horse"))
        assert auth.login(reviews, "editor", "correct horse") is not None
        assert auth.login(reviews, "editor", "wrong horse!") is None
        token = auth.new_token(reviews, editor)
        sid = auth.new_session(reviews, editor)
        assert auth.session_user(reviews, sid) is not None
    finally:
        stores.close()
    with psycopg.connect(url) as db:
        stored_hash = db.execute("SELECT password_hash FROM users").fetchone()[0]  # type: ignore[index]
        tokens = [r[0] for r in db.execute("SELECT token_hash FROM api_tokens").fetchall()]
        sessions = [r[0] for r in db.execute("SELECT session_hash FROM sessions").fetchall()]
    assert stored_hash.startswith("$argon2") and "correct horse" not in stored_hash
    assert tokens == [auth.digest(token)] and sessions == [auth.digest(sid)]


def test_the_schema_matches_sqlites_migrations_and_opening_is_safe_at_once(url: str) -> None:
    assert [name for name, _ in MIGRATIONS] == [name for name, _ in SQLITE_MIGRATIONS]
    opened: list[Stores] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def open_new() -> None:
        barrier.wait()
        try:
            opened.append(open_stores(url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_new) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(opened) == 3
        assert {s.corpus.stats()["schema_version"] for s in opened} == {len(MIGRATIONS)}
    finally:
        for s in opened:
            s.close()
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT name FROM _osler_migrations ORDER BY name").fetchall()
    assert [r[0] for r in rows] == sorted(name for name, _ in MIGRATIONS)


def test_stored_never_creates_and_open_creates_the_database(server: EmbeddedPostgres) -> None:
    missing = server.url("osler_not_yet")
    server.created.append("osler_not_yet")  # dropped after the test
    assert stored(missing) is False
    with server.admin() as db:
        assert db.execute("SELECT 1 FROM pg_database WHERE datname = 'osler_not_yet'").fetchone() is None
    empty = server.new_database()
    assert stored(empty) is False  # a database without Osler's tables holds no store
    store = open_store(missing)  # made, as SQLite makes its file
    try:
        assert stored(missing) is True
        assert store.stats()["documents"] == 0
    finally:
        store.close()
    with pytest.raises(psycopg.OperationalError):  # no server there: an error, not "nothing"
        stored(f"postgresql://postgres@127.0.0.1:{free_port()}/x?connect_timeout=5")


def test_no_password_is_shown(url: str, tmp_path: Path) -> None:
    assert redacted("postgresql://osler:pw@db:5432/osler?sslmode=require") == (
        "postgresql://osler@db:5432/osler?sslmode=require"
    )
    assert redacted("postgresql://osler@db/osler?password=pw&sslmode=require") == (
        "postgresql://osler@db/osler?sslmode=require"
    )
    assert redacted("postgres://:pw@db/osler") == "postgres://db/osler"
    assert redacted("postgresql://db/osler") == "postgresql://db/osler"
    secret = with_password(url)
    stores = open_stores(secret)
    try:
        assert stores.corpus.url == url and SECRET not in json.dumps(stores.corpus.stats())
        assert stores.corpus.stats()["path"] == url
    finally:
        stores.close()
    with Osler.open(load(store_url=secret, data_dir=tmp_path / "data")) as osler:
        with pytest.raises(NothingIngested) as nothing:
            osler.require_documents()
        assert SECRET not in str(nothing.value) and url in str(nothing.value)


def test_copy_to_refuses_a_used_database_and_another_backend(
    url: str, server: EmbeddedPostgres, medquad: Path, tmp_path: Path
) -> None:
    stores = open_stores(url)
    try:
        ingest(stores.corpus, [medquad])
        other = server.new_database()
        used = open_stores(other)
        used.reviews.add_user("someone", [Role.READER])
        used.close()
        with pytest.raises(ValueError, match="already holds an Osler store"):
            stores.corpus.copy_to(other)
        with pytest.raises(ValueError, match="another PostgreSQL database"):
            stores.corpus.copy_to(f"sqlite:///{tmp_path}/copy.sqlite3")
        copy = server.new_database()
        stores.corpus.copy_to(copy)
        again = open_stores(copy)
        try:
            assert again.corpus.stats()["documents"] == 4
            # the copy's own sequences go on from the copied rows
            assert again.reviews.add_user("ed", [Role.EDITOR]).id == 1
            ingest(again.corpus, [medquad])
        finally:
            again.close()
    finally:
        stores.close()


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(["osler", *args], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return run


def test_osler_runs_on_postgresql_chosen_by_osler_store(
    url: str, medquad: Path, tmp_path: Path
) -> None:
    """OSLER_STORE=postgresql://... : ingest, stats and ask in separate processes, the indexes
    in the data directory; no password in anything printed."""
    env = {**cli_env(tmp_path / "data"), "OSLER_STORE": with_password(url)}
    env.pop("OSLER_STORE_URL", None)
    assert "4 new" in _run(env, "ingest", str(medquad)).stdout.replace(",", "")
    shown = _run(env, "stats", "--json")
    stats: dict[str, Any] = json.loads(shown.stdout)
    assert (stats["documents"], stats["path"]) == (4, url)
    asked = _run(env, "ask", "What is A1C?", "--format", "json")
    answer = json.loads(asked.stdout)
    assert answer["references"] and answer["references"][0]["document_id"].startswith("medquad:")
    for run in (shown, asked):
        assert SECRET not in run.stdout + run.stderr
    assert not (tmp_path / "data" / "osler.sqlite3").exists()  # nothing went to SQLite
    settings = load(store_url=with_password(url), data_dir=tmp_path / "data")
    with Osler.open(settings) as osler:
        assert osler.store.url == url and len(osler.documents) == 4
