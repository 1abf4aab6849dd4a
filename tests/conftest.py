"""Shared fixtures: the shared data folder (required), and fresh data dirs under tmp."""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osler.ingest.pipeline import ingest
from osler.models import Answer, IngestSummary, Statement
from osler.service import Osler
from osler.settings import load
from osler.store import Store, open_store

SHARED = load().shared_data


def pytest_configure(config: pytest.Config) -> None:
    # Tests that run the `osler` command run the one installed beside this interpreter (the
    # project's .venv under `make test`), never another install found first on PATH.
    scripts = sysconfig.get_path("scripts")
    os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])
    if not (SHARED / "medquad" / "medquad.jsonl").is_file():
        raise pytest.UsageError(
            f"The shared medical data is missing at {SHARED}. "
            "Set OSLER_SHARED_DATA to the folder holding medquad/, pubmedqa/, bioasq/ ..."
        )


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test touches the user's real data dir."""
    monkeypatch.setenv("OSLER_DATA_DIR", str(tmp_path_factory.mktemp("osler-home")))


@pytest.fixture
def shared() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A PostgreSQL 18 server with pgvector for the session (tests/pg.py), started on first
    use; a test needing it fails (never skips) when it cannot be started."""
    import pg

    with pg.EmbeddedPostgres() as server:
        pg.RUNNING = server
        try:
            yield server
        finally:
            pg.RUNNING = None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "data")
    yield s
    s.close()


#: The folders the consumer and research answer tests were written on (NIH consumer pages,
#: PubMed/BioASQ/PubMedQA research, MedicationQA). Their checks pin behaviour on this corpus;
#: the professional evidence (PDQ, guidelines, trials, Cochrane) is tested on the whole corpus.
BASE_FOLDERS = ("medquad", "medicationqa", "pubmedqa", "bioasq", "mirage", "pubmed_xml_samples")


def _ingest_once(data_dir: Path, paths: list[Path]) -> tuple[Path, IngestSummary]:
    s = open_store(data_dir)
    summary = ingest(s, paths)
    s.close()
    return data_dir, summary


@pytest.fixture(scope="session")
def base_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestSummary]:
    """The base folders of the shared data, ingested once per test session (data dir, summary)."""
    return _ingest_once(
        tmp_path_factory.mktemp("base-corpus"), [SHARED / name for name in BASE_FOLDERS]
    )


@pytest.fixture(scope="session")
def whole_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestSummary]:
    """All of the shared data (what `make demo` ingests), once per test session."""
    return _ingest_once(tmp_path_factory.mktemp("whole-corpus"), [SHARED])


@pytest.fixture
def base_store(base_corpus: tuple[Path, IngestSummary]) -> Iterator[Store]:
    s = open_store(base_corpus[0])
    yield s
    s.close()


@pytest.fixture
def whole_store(whole_corpus: tuple[Path, IngestSummary]) -> Iterator[Store]:
    s = open_store(whole_corpus[0])
    yield s
    s.close()


def open_osler(data_dir: Path) -> Osler:
    """The service over a data dir, filing no drafts (the session's corpora are shared)."""
    settings = load().with_data_dir(data_dir)
    editorial = settings.editorial.model_copy(update={"save_drafts": False})
    return Osler.open(settings.model_copy(update={"editorial": editorial}))


@pytest.fixture(scope="module")
def osler(base_corpus: tuple[Path, IngestSummary]) -> Iterator[Osler]:
    """The service over the base corpus, opened once per test module."""
    with open_osler(base_corpus[0]) as service:
        yield service


@pytest.fixture(scope="module")
def whole_osler(whole_corpus: tuple[Path, IngestSummary]) -> Iterator[Osler]:
    """The service over the whole shared corpus, professional evidence included."""
    with open_osler(whole_corpus[0]) as service:
        yield service


def copy_data_dir(source: Path, target: Path) -> Path:
    """A copy of a data dir whose SQLite store may be open in this process.

    The store is copied with SQLite's backup API, never read as a file: closing a file
    descriptor on a database file drops every POSIX lock this process holds on it, so a plain
    copy of a live store can let two connections of this process write at once and corrupt
    it ("database disk image is malformed", seen with shutil.copytree).
    """
    import shutil
    import sqlite3

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("osler.sqlite3*"))
    src = sqlite3.connect(source / "osler.sqlite3")
    dst = sqlite3.connect(target / "osler.sqlite3")
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def statements(answer: Answer) -> list[Statement]:
    """The bottom line and every section item of an answer, in order."""
    return [answer.bottom_line, *[item for s in answer.sections for item in s.items]]


def cli_env(data_dir: Path) -> dict[str, str]:
    """Environment for running the `osler` command in a subprocess against a data dir."""
    return {**os.environ, "OSLER_DATA_DIR": str(data_dir), "COLUMNS": "200"}
