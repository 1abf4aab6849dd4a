"""The settings tree: environment, osler.toml, precedence, errors; every variable documented;
the public API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import cli_env

import osler
from osler.settings import Settings, environment_names, load

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No OSLER_* variable set, and a working directory without osler.toml."""
    for name in environment_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OSLER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_and_the_derived_store_url(clean: Path) -> None:
    s = load()
    assert s.llm.base_url == "" and not s.llm.configured
    assert s.editorial.required_approvals == 1 and s.editorial.save_drafts is True
    assert s.dense.enabled is None and s.ranking.coverage == 0.7
    assert s.store == f"sqlite:///{s.data_dir / 'osler.sqlite3'}"
    moved = s.with_data_dir(clean / "elsewhere")
    assert moved.store == f"sqlite:///{clean / 'elsewhere' / 'osler.sqlite3'}"


def test_environment_sets_sections_and_keeps_the_old_names(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSLER_DATA_DIR", str(clean / "d"))
    monkeypatch.setenv("OSLER_LLM_BASE_URL", "http://h:1/v1")
    monkeypatch.setenv("OSLER_LLM_TIMEOUT", "2.5")  # the name it has always had
    monkeypatch.setenv("OSLER_RANKING_COVERAGE", "0.5")
    monkeypatch.setenv("OSLER_DENSE", "0")
    monkeypatch.setenv("OSLER_SAVE_DRAFTS", "no")
    monkeypatch.setenv("OSLER_REQUIRED_APPROVALS", "")  # empty counts as unset
    s = load()
    assert s.data_dir == clean / "d" and s.llm.configured and s.llm.timeout_s == 2.5
    assert s.ranking.coverage == 0.5 and s.dense.enabled is False
    assert s.editorial.save_drafts is False and s.editorial.required_approvals == 1


def test_the_store_url_is_osler_store(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's name for the store (a top-level setting with a name of its own)."""
    assert environment_names()["OSLER_STORE"] == ("store_url",)
    assert "OSLER_STORE_URL" not in environment_names()  # one variable per setting
    monkeypatch.setenv("OSLER_STORE", "postgresql://osler@db.example.org/osler")
    s = load()
    assert s.store_url == s.store == "postgresql://osler@db.example.org/osler"
    assert s.with_data_dir(clean / "elsewhere").store == "postgresql://osler@db.example.org/osler"
    (clean / "osler.toml").write_text('store_url = "sqlite:///x.db"\n', encoding="utf-8")
    assert load().store.startswith("postgresql://")  # the environment wins over the file
    monkeypatch.delenv("OSLER_STORE")
    assert load().store == "sqlite:///x.db"


def test_toml_file_below_environment_below_arguments(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / "osler.toml").write_text(
        '[llm]\nmodel = "from-toml"\nbase_url = "http://toml/v1"\n'
        "[editorial]\nrequired_approvals = 3\n",
        encoding="utf-8",
    )
    s = load()
    assert (s.llm.model, s.llm.base_url, s.editorial.required_approvals) == (
        "from-toml", "http://toml/v1", 3
    )
    monkeypatch.setenv("OSLER_LLM_MODEL", "from-env")
    s = load()
    assert (s.llm.model, s.llm.base_url) == ("from-env", "http://toml/v1")  # merged, not replaced
    assert load(guideline_max_age_years=9).guideline_max_age_years == 9
    other = clean / "other.toml"
    other.write_text("guideline_max_age_years = 7\n", encoding="utf-8")
    monkeypatch.setenv("OSLER_CONFIG", str(other))
    assert load().guideline_max_age_years == 7 and load().editorial.required_approvals == 1


def test_a_bad_value_is_a_clear_error_and_the_cli_exits_2(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSLER_REQUIRED_APPROVALS", "0")
    with pytest.raises(ValueError, match=r"editorial\.required_approvals"):
        load()
    env = {**cli_env(clean / "data"), "OSLER_ARTICLE_MATCH": "lots"}
    run = subprocess.run(["osler", "stats"], capture_output=True, text=True, env=env)
    assert run.returncode == 2 and "match_threshold" in run.stderr
    assert "Traceback" not in run.stderr


def test_every_variable_is_documented_and_every_documented_one_exists() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = {
        line.split("`")[1]
        for line in text.splitlines()
        if line.startswith("| `OSLER_") and line.split("`")[1].startswith("OSLER_")
    }
    others = {"OSLER_CONFIG", "OSLER_USER"}
    assert set(environment_names()) <= documented
    assert documented - others <= set(environment_names())


def test_the_public_api_is_importable_and_complete() -> None:
    for name in osler.__all__:
        assert getattr(osler, name) is not None, name
    assert {"Osler", "Answer", "Settings", "Document", "Passage", "Hit", "Query"} <= set(
        osler.__all__
    )
    assert isinstance(osler.load(), Settings)
    assert osler.Osler.open.__doc__ and osler.Osler.ask.__doc__


def test_eval_reads_the_same_data_dir_as_every_command(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`osler eval` without --data-dir evaluates the settings' data dir (not a temporary corpus);
    when nothing is ingested there it says so, names the directory and creates nothing."""
    empty = clean / "nothing-here"
    monkeypatch.setenv("OSLER_DATA_DIR", str(empty))
    run = subprocess.run(
        ["osler", "eval", "retrieval", "--limit", "1"], capture_output=True, text=True,
        env={**cli_env(empty), "COLUMNS": "300"},
    )
    assert run.returncode == 2, run.stderr
    said = " ".join(run.stderr.split())
    assert str(empty) in said and "--fresh" in said and not empty.exists()
