"""The `osler` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import cli_env


def _osler(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["osler", *args], capture_output=True, text=True, env=cli_env(data_dir), timeout=300
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    out = _osler("--help", data_dir=tmp_path).stdout
    for command in ("ingest", "stats", "remove", "show", "formats"):
        assert command in out


def test_ingest_stats_show_remove(shared: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    run = _osler("ingest", str(shared / "pubmed_xml_samples"), "--json", data_dir=data)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert set(summary) == {"documents", "passages", "updated", "unchanged", "skipped", "seconds"}
    assert summary["documents"] == 24  # 9 PubMed + 9 PMC + 6 MEDLINE records
    stats = json.loads(_osler("stats", "--json", data_dir=data).stdout)
    assert stats["documents"] == 24 and set(stats["by_dataset"]) == {"pubmed", "pmc", "medline"}
    shown = _osler("show", "pubmed:29768149", "--json", data_dir=data)
    doc = json.loads(shown.stdout)
    assert doc["title"].startswith("Inhaled Combined Budesonide-Formoterol")
    assert doc["passages"] and doc["evidence_level"] == "3-rct"
    assert _osler("show", "pubmed:0", data_dir=data).returncode == 1
    removed = json.loads(_osler("remove", "pubmed:29768149", "--json", data_dir=data).stdout)
    assert removed == {"removed": ["pubmed:29768149"]}
    text = _osler("stats", data_dir=data).stdout
    assert "23 documents" in text and "Evidence level" in text


def test_empty_store_says_how_to_ingest(tmp_path: Path) -> None:
    assert "osler ingest" in _osler("stats", data_dir=tmp_path / "empty").stdout


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    run = _osler("ingest", str(tmp_path), "--format", "docx", data_dir=tmp_path)
    assert run.returncode == 2 and "unknown format" in run.stderr
