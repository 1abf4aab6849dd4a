"""An ingest killed (SIGKILL) or interrupted (Ctrl-C) mid-run leaves a consistent store.

A real `osler ingest` of the shared MedQuAD runs in a subprocess; once at least one batch is
committed, it is stopped. The store must then hold whole batches only, every document with its
passages and every passage within its document's text; a re-run completes the rest.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import cli_env

from osler.ingest.pipeline import BATCH
from osler.settings import load
from osler.store import Store, open_store
from osler.store.sqlite import SQLiteStore

MEDQUAD_DIR = load().shared_data / "medquad"
#: Give up waiting for the first committed batch after this long.
POLL_LIMIT = 120.0
POLL_EVERY = 0.02


@cache
def medquad_total() -> int:
    """Documents a full MedQuAD ingest makes: one per (source, page) with any answer text."""
    pages: set[tuple[str, str]] = set()
    with open(MEDQUAD_DIR / "medquad.jsonl", "rb") as fh:
        for line in fh:
            rec = json.loads(line)
            if str(rec.get("answer") or "").strip():
                pages.add((str(rec["source"]), str(rec["doc_id"])))
    return len(pages)


def committed(db_path: Path) -> int | None:
    """Documents committed so far, read through a separate read-only connection."""
    if not db_path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1.0)
        try:
            return int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:  # not created or migrated yet, or busy
        return None


def start_ingest(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["osler", "ingest", str(MEDQUAD_DIR), "--data-dir", str(data_dir), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(data_dir),
    )


def stop_after_first_batches(proc: subprocess.Popen[str], db_path: Path, sig: int) -> int:
    """Wait until >= one batch is committed but the run is not done, then send `sig`.

    Returns the count seen just before the signal. Fails clearly if the run ends first or
    nothing is committed within POLL_LIMIT seconds.
    """
    total = medquad_total()
    deadline = time.monotonic() + POLL_LIMIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(
                f"ingest ended (exit {proc.returncode}) before it could be interrupted: "
                f"{out[-500:]!r} {err[-500:]!r}"
            )
        seen = committed(db_path)
        if seen is not None and BATCH <= seen < total:
            os.kill(proc.pid, sig)
            return seen
        time.sleep(POLL_EVERY)
    proc.kill()
    proc.communicate()
    pytest.fail(f"no batch of {BATCH} documents committed within {POLL_LIMIT:.0f} s")


def db_of(store: Store) -> sqlite3.Connection:
    assert isinstance(store, SQLiteStore)
    return store.db


def assert_consistent(store: Store) -> int:
    """Integrity, no bare documents, no orphan passages, passages slice their text.

    Returns the number of documents.
    """
    db = db_of(store)
    assert [tuple(r) for r in db.execute("PRAGMA integrity_check")] == [("ok",)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    bare = db.execute(
        "SELECT COUNT(*) FROM documents WHERE id NOT IN (SELECT document_id FROM passages)"
    ).fetchone()[0]
    assert bare == 0, f"{bare} documents without passages"
    orphans = db.execute(
        "SELECT COUNT(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)"
    ).fetchone()[0]
    assert orphans == 0, f"{orphans} passages without a document"
    texts = {r[0]: r[1] for r in db.execute("SELECT id, text FROM documents")}
    checked = 0
    for p in store.iter_passages():
        assert texts[p.document_id][p.start : p.end] == p.text, f"passage {p.id} off its text"
        checked += 1
    assert checked == db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    return len(texts)


def rerun(data_dir: Path) -> dict[str, Any]:
    proc = subprocess.run(
        ["osler", "ingest", str(MEDQUAD_DIR), "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        env=cli_env(data_dir),
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    ("sig", "exit_code"),
    [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130)],
    ids=["SIGKILL", "SIGINT"],
)
def test_interrupted_ingest_keeps_whole_batches_and_resumes(
    tmp_path: Path, sig: int, exit_code: int
) -> None:
    data_dir = tmp_path / "data"
    db_path = data_dir / SQLiteStore.FILENAME
    total = medquad_total()
    proc = start_ingest(data_dir)
    try:
        seen = stop_after_first_batches(proc, db_path, sig)
        out, err = proc.communicate(timeout=POLL_LIMIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == exit_code, err
    assert out.strip() == "", "an interrupted run prints no summary"
    if sig == signal.SIGINT:
        assert "Interrupted" in err

    store = open_store(data_dir)
    try:
        kept = assert_consistent(store)
    finally:
        store.close()
    assert kept >= seen >= BATCH
    assert kept < total, "the run finished before the signal"
    assert kept % BATCH == 0, f"{kept} documents is not a whole number of {BATCH}-document batches"

    summary = rerun(data_dir)

    assert summary["documents"] == total - kept
    assert summary["unchanged"] == kept
    assert summary["updated"] == 0
    assert all(item["record"] is None for item in summary["skipped"])  # only SOURCE.md
    store = open_store(data_dir)
    try:
        assert assert_consistent(store) == total
        assert len(store.document_ids(source="cancer.gov PDQ")) > 0
    finally:
        store.close()


def test_medquad_total_is_the_documented_count() -> None:
    assert medquad_total() == 5467
