"""Bad input is reported and skipped; everything else in the same run is ingested.

Every bad file is built in tmp_path from real shared data (cut, re-encoded or emptied) and put
next to a good real file. After each run the store must hold exactly the good documents: no
document or passage of the bad part half-exists.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import cli_env

from osler.ingest.medquad import unflatten_phenotype_table
from osler.ingest.pipeline import ingest
from osler.models import IngestSummary, Skipped
from osler.settings import load
from osler.store import Store, open_store
from osler.store.sqlite import SQLiteStore

SHARED = load().shared_data
MEDQUAD = SHARED / "medquad" / "medquad.jsonl"
PUBMED = SHARED / "pubmed_xml_samples" / "pubmed"
#: Lines of medquad.jsonl written as the good file of every folder.
GOOD_LINES = 50

SUMMARY_KEYS = {"documents", "passages", "updated", "unchanged", "skipped", "seconds"}
SKIPPED_KEYS = {"path", "record", "reason"}


# ---------------------------------------------------------------- real data, cut to size


@cache
def medquad_lines() -> tuple[bytes, ...]:
    """The raw lines of the real MedQuAD JSONL, newline included."""
    return tuple(MEDQUAD.read_bytes().splitlines(keepends=True))


def medquad_id(line: bytes) -> str:
    rec = json.loads(line)
    return f"medquad:{rec['source']}:{rec['doc_id']}"


def medquad_titles(lines: list[bytes]) -> dict[str, str]:
    """Document id -> title (the focus) of the MedQuAD documents these lines make."""
    titles: dict[str, str] = {}
    for line in lines:
        rec = json.loads(line)
        titles.setdefault(medquad_id(line), " ".join(rec["focus"].split()))
    return titles


def good_medquad(folder: Path) -> dict[str, str]:
    """Write the first lines of the real MedQuAD as good.jsonl; return its ids and titles."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = list(medquad_lines()[:GOOD_LINES])
    (folder / "good.jsonl").write_bytes(b"".join(lines))
    return medquad_titles(lines)


def loners(count: int, start: int, exclude: set[str]) -> Iterator[int]:
    """Indexes of MedQuAD lines, from `start` on, each the only line of its document
    among those returned, from documents not in `exclude` and not in the good file."""
    lines = medquad_lines()
    taken = set(exclude) | set(medquad_titles(list(lines[:GOOD_LINES])))
    found = 0
    for i in range(start, len(lines)):
        doc = medquad_id(lines[i])
        if doc in taken:
            continue
        taken.add(doc)
        yield i
        found += 1
        if found == count:
            return


def line_with_cp1252_char() -> int:
    """Index of the first MedQuAD line whose answer has a non-ASCII char cp1252 can encode."""
    for i, line in enumerate(medquad_lines()):
        if line.isascii():
            continue
        rec = json.loads(line)
        if rec["answer"].isascii():
            continue
        try:
            json.dumps(rec, ensure_ascii=False).encode("cp1252")
        except UnicodeEncodeError:
            continue
        return i
    raise AssertionError("no MedQuAD line with a cp1252-encodable non-ASCII character")


def article_title(citation: ET.Element) -> str:
    """The whitespace-collapsed ArticleTitle of a MedlineCitation."""
    title = citation.find("Article/ArticleTitle")
    assert title is not None
    return " ".join("".join(title.itertext()).split())


def pubmed_title(path: Path) -> tuple[str, str]:
    """(document id, title) of a one-article real PubMed file."""
    citation = ET.parse(path).getroot().find("PubmedArticle/MedlineCitation")
    assert citation is not None
    return f"pubmed:{citation.findtext('PMID')}", article_title(citation)


# ---------------------------------------------------------------- checks


def db_of(store: Store) -> sqlite3.Connection:
    assert isinstance(store, SQLiteStore)
    return store.db


def skips_for(summary: IngestSummary, path: Path) -> list[Skipped]:
    return [s for s in summary.skipped if Path(s.path) == path]


def only_skip(summary: IngestSummary, path: Path) -> Skipped:
    """The one Skipped entry naming `path` (a file or record of it)."""
    found = skips_for(summary, path)
    assert len(found) == 1, f"expected one skip for {path}, got {found} in {summary.skipped}"
    return found[0]


def assert_has(store: Store, titles: dict[str, str]) -> None:
    for doc_id, title in titles.items():
        doc = store.get_document(doc_id)
        assert doc is not None, f"{doc_id} not ingested"
        assert doc.title == title
        assert doc.text.strip()


def assert_consistent(store: Store) -> None:
    """Every document has passages, every passage a document, and passages slice the text."""
    db = db_of(store)
    orphans = db.execute(
        "SELECT COUNT(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)"
    ).fetchone()[0]
    assert orphans == 0
    bare = db.execute(
        "SELECT COUNT(*) FROM documents WHERE id NOT IN (SELECT document_id FROM passages)"
    ).fetchone()[0]
    assert bare == 0
    texts = {r[0]: r[1] for r in db.execute("SELECT id, text FROM documents")}
    for p in store.iter_passages():
        assert texts[p.document_id][p.start : p.end] == p.text, p.id


def assert_exactly(store: Store, titles: dict[str, str]) -> None:
    """The store holds these documents and nothing else, all consistent."""
    assert_has(store, titles)
    assert set(store.document_ids()) == set(titles)
    assert_consistent(store)


def run_cli(*args: str | Path, data_dir: Path) -> tuple[int, dict[str, Any]]:
    """`osler ingest ARGS --json` in a subprocess: exit code and the parsed JSON summary."""
    proc = subprocess.run(
        ["osler", "ingest", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        env=cli_env(data_dir),
        timeout=300,
        check=False,
    )
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON summary (exit {proc.returncode}): {proc.stdout!r} {proc.stderr!r}")
    return proc.returncode, data


def assert_summary_shape(data: dict[str, Any]) -> None:
    """The documented --json shape, exactly."""
    assert set(data) == SUMMARY_KEYS
    for key in ("documents", "passages", "updated", "unchanged"):
        assert isinstance(data[key], int) and data[key] >= 0
    assert isinstance(data["seconds"], int | float)
    assert isinstance(data["skipped"], list)
    for item in data["skipped"]:
        assert set(item) == SKIPPED_KEYS
        assert isinstance(item["path"], str) and item["path"]
        assert item["record"] is None or isinstance(item["record"], str)
        assert isinstance(item["reason"], str) and item["reason"]


# ---------------------------------------------------------------- builders of bad files


def truncated_pubmed(folder: Path) -> tuple[Path, dict[str, str], str]:
    """biopython_pubmed1.xml (2 articles) cut in the middle of the 2nd article.

    Returns the file, the first article's id and title, and the cut article's id.
    """
    data = (PUBMED / "biopython_pubmed1.xml").read_bytes()
    end_first = data.index(b"</PubmedArticle>")
    start_second = data.index(b"<PubmedArticle>", end_first)
    end_second = data.index(b"</PubmedArticle>", start_second)
    whole = ET.fromstring(data)
    articles = whole.findall("PubmedArticle/MedlineCitation")
    assert len(articles) == 2
    first, second = (a.findtext("PMID") for a in articles)
    title = article_title(articles[0])
    path = folder / "cut_pubmed1.xml"
    path.write_bytes(data[: (start_second + end_second) // 2])
    return path, {f"pubmed:{first}": title}, f"pubmed:{second}"


def good_pubmed(folder: Path) -> dict[str, str]:
    source = PUBMED / "pubmed-29768149.xml"
    shutil.copy(source, folder / source.name)
    doc_id, title = pubmed_title(source)
    return {doc_id: title}


# ---------------------------------------------------------------- file-level faults


def test_truncated_pubmed_xml_keeps_the_records_before_the_cut(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = good_pubmed(folder)
    cut, first, second_id = truncated_pubmed(folder)

    summary = ingest(store, [folder])

    skip = only_skip(summary, cut)
    assert skip.record is None
    assert "XML syntax error" in skip.reason
    assert "after 1 record" in skip.reason
    assert summary.documents == 2
    assert second_id not in store.document_ids()
    assert_exactly(store, good | first)


def test_truncated_pubmed_xml_via_cli(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = good_pubmed(folder) | good_medquad(folder)
    cut, first, second_id = truncated_pubmed(folder)
    data_dir = tmp_path / "data"

    code, data = run_cli(folder, data_dir=data_dir)

    assert code == 0
    assert_summary_shape(data)
    assert data["documents"] == len(good) + 1
    assert data["skipped"] == [
        {"path": str(cut), "record": None, "reason": data["skipped"][0]["reason"]}
    ]
    assert "XML syntax error" in data["skipped"][0]["reason"]
    store = open_store(data_dir)
    try:
        assert second_id not in store.document_ids()
        assert_exactly(store, good | first)
    finally:
        store.close()


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.xml"])
def test_empty_file(tmp_path: Path, store: Store, name: str) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    empty = folder / name
    empty.write_bytes(b"")

    summary = ingest(store, [folder])

    skip = only_skip(summary, empty)
    assert skip.record is None
    assert "empty" in skip.reason
    assert summary.documents == len(good)
    assert_exactly(store, good)


def test_whitespace_only_file_counts_as_empty(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    blank = folder / "blank.jsonl"
    blank.write_bytes(b"\n\n   \n")

    summary = ingest(store, [folder])

    assert "empty" in only_skip(summary, blank).reason
    assert_exactly(store, good)


def test_binary_garbage(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    rng = random.Random(20240607)
    noise_xml = folder / "noise.xml"
    noise_xml.write_bytes(rng.randbytes(64 * 1024))
    noise_json = folder / "noise.json"
    noise_json.write_bytes(rng.randbytes(64 * 1024))
    # A renamed .gz: compressed real bytes under a .json name.
    zipped_json = folder / "medquad_head.json"
    zipped_json.write_bytes(gzip.compress(b"".join(medquad_lines()[:20])))
    # A UTF-16 text file: real text, every other byte NUL.
    utf16_txt = folder / "answer.txt"
    answer = json.loads(medquad_lines()[0])["answer"]
    utf16_txt.write_bytes(answer.encode("utf-16-le"))
    nul_txt = folder / "nul.txt"
    nul_txt.write_bytes(medquad_lines()[1][:200] + b"\x00" * 64 + medquad_lines()[2][:200])

    summary = ingest(store, [folder])

    for path in (noise_xml, noise_json, zipped_json, utf16_txt, nul_txt):
        skip = only_skip(summary, path)
        assert "binary" in skip.reason and "NUL" in skip.reason
    assert len(summary.skipped) == 5
    assert summary.documents == len(good)
    assert_exactly(store, good)


def test_json_that_is_no_known_dataset(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    labels = folder / "test_ground_truth.json"
    shutil.copy(SHARED / "pubmedqa" / "test_ground_truth.json", labels)
    benchmark = folder / "benchmark.json"
    shutil.copy(SHARED / "mirage" / "benchmark.json", benchmark)

    summary = ingest(store, [folder])

    for path in (labels, benchmark):
        skip = only_skip(summary, path)
        assert skip.record is None
        assert "not BioASQ or PubMedQA" in skip.reason
    assert_exactly(store, good)


def test_unsupported_extensions(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    xlsx = folder / "MedInfo2019-QA-Medications.xlsx"
    shutil.copy(SHARED / "medicationqa" / "MedInfo2019-QA-Medications.xlsx", xlsx)

    summary = ingest(store, [folder])

    skip = only_skip(summary, xlsx)
    assert skip.record is None
    assert "unsupported" in skip.reason and ".xlsx" in skip.reason
    assert_exactly(store, good)


def test_pdf_header_before_other_content_is_a_damaged_pdf(tmp_path: Path, store: Store) -> None:
    """A PDF is a supported format now: a file with a %PDF- header and JSON after it is
    reported as a broken PDF, not as an unsupported type."""
    folder = tmp_path / "in"
    good = good_medquad(folder)
    pdf = folder / "leukemia.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"".join(medquad_lines()[:3]))

    summary = ingest(store, [folder])

    skip = only_skip(summary, pdf)
    assert skip.record is None and "PDF" in skip.reason
    assert "truncated" in skip.reason or "damaged" in skip.reason
    assert_exactly(store, good)


def test_missing_path_is_reported(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    missing = tmp_path / "no-such-folder"

    summary = ingest(store, [folder, missing])

    assert "no such file" in only_skip(summary, missing).reason
    assert_exactly(store, good)


# ---------------------------------------------------------------- record-level faults


def test_line_in_wrong_encoding_is_skipped(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    bad_index = line_with_cp1252_char()
    lines = medquad_lines()
    bad_id = medquad_id(lines[bad_index])
    before, after = loners(2, bad_index - 40, {bad_id})
    rec = json.loads(lines[bad_index])
    latin = (json.dumps(rec, ensure_ascii=False) + "\n").encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        latin.decode("utf-8")
    mixed = folder / "mixed.jsonl"
    mixed.write_bytes(lines[before] + latin + lines[after])

    summary = ingest(store, [folder])

    skip = only_skip(summary, mixed)
    assert skip.record == "line 2"
    assert "UTF-8" in skip.reason
    assert bad_id not in store.document_ids()
    assert_exactly(store, good | medquad_titles([lines[before], lines[after]]))


def test_ten_megabyte_line_is_skipped_as_too_large(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    lines = medquad_lines()
    first, big_source, last = loners(3, 1000, set())
    rec = json.loads(lines[big_source])
    rec["answer"] = (rec["answer"] + "\n") * (10_000_000 // (len(rec["answer"]) + 1) + 1)
    huge = (json.dumps(rec) + "\n").encode()
    assert len(huge) >= 10_000_000 and huge.count(b"\n") == 1
    big = folder / "big.jsonl"
    big.write_bytes(lines[first] + huge + lines[last])

    summary = ingest(store, [folder])

    skip = only_skip(summary, big)
    assert skip.record == "line 2"
    assert "too large" in skip.reason
    assert medquad_id(lines[big_source]) not in store.document_ids()
    assert_exactly(store, good | medquad_titles([lines[first], lines[last]]))


def test_medquad_record_without_answer(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    lines = medquad_lines()
    first, empty_source, last = loners(3, 2000, set())
    rec = json.loads(lines[empty_source])
    rec["answer"] = "   "
    hollow = folder / "hollow.jsonl"
    hollow.write_bytes(lines[first] + (json.dumps(rec) + "\n").encode() + lines[last])

    summary = ingest(store, [folder])

    skip = only_skip(summary, hollow)
    assert skip.record == "line 2"
    assert "without answer" in skip.reason
    assert medquad_id(lines[empty_source]) not in store.document_ids()
    assert_exactly(store, good | medquad_titles([lines[first], lines[last]]))


def test_pubmedqa_item_without_contexts(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    items = json.loads((SHARED / "pubmedqa" / "ori_pqal.json").read_bytes())
    pmids = list(items)[:3]
    sample = {pmid: items[pmid] for pmid in pmids}
    sample[pmids[1]] = {**sample[pmids[1]], "CONTEXTS": []}
    pqa = folder / "ori_pqal_head.json"
    pqa.write_text(json.dumps(sample), encoding="utf-8")

    summary = ingest(store, [folder])

    skip = only_skip(summary, pqa)
    assert skip.record == f"PMID {pmids[1]}"
    assert "CONTEXTS" in skip.reason and "without" in skip.reason
    kept = {f"pubmedqa:{p}": f"PubMed abstract {p}" for p in (pmids[0], pmids[2])}
    assert f"pubmedqa:{pmids[1]}" not in store.document_ids()
    assert_exactly(store, good | kept)
    for p in (pmids[0], pmids[2]):
        doc = store.get_document(f"pubmedqa:{p}")
        assert doc is not None and items[p]["CONTEXTS"][0].strip() in doc.text


def test_bioasq_snippet_without_text(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    golden = json.loads(
        (SHARED / "bioasq" / "Task7BGoldenEnriched" / "7B1_golden.json").read_bytes()
    )
    questions = golden["questions"][:5]

    def pmid(snippet: dict[str, Any]) -> str:
        return snippet["document"].rstrip("/").rsplit("/", 1)[-1]

    uses: dict[str, int] = {}
    for q in questions:
        for s in q["snippets"]:
            uses[pmid(s)] = uses.get(pmid(s), 0) + 1
    target_q, target = next((q, s) for q in questions for s in q["snippets"] if uses[pmid(s)] == 1)
    target["text"] = ""
    gold = folder / "7B1_head.json"
    gold.write_text(json.dumps({"questions": questions}), encoding="utf-8")

    summary = ingest(store, [folder])

    skip = only_skip(summary, gold)
    assert skip.record == f"question {target_q['id']}"
    assert "without text" in skip.reason
    assert f"bioasq:{pmid(target)}" not in store.document_ids()
    expected = {f"bioasq:{p}" for p in uses if p != pmid(target)}
    assert set(store.document_ids()) == set(good) | expected
    assert_has(store, good)
    assert_consistent(store)


@pytest.mark.parametrize("dataset", ["medquad", "medicationqa"])
def test_invalid_json_line_is_skipped(tmp_path: Path, store: Store, dataset: str) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    if dataset == "medquad":
        lines = medquad_lines()
        first, cut_source, last = loners(3, 3000, set())
        ids = [medquad_id(lines[i]) for i in (first, cut_source, last)]
    else:
        path = SHARED / "medicationqa" / "medicationqa.jsonl"
        lines = tuple(path.read_bytes().splitlines(keepends=True))
        first, cut_source, last = 0, 1, 2
        ids = [f"medicationqa:{json.loads(lines[i])['row']}" for i in (first, cut_source, last)]
    line = lines[cut_source]
    broken = folder / "broken.jsonl"
    broken.write_bytes(lines[first] + line[: len(line) // 2] + b"\n" + lines[last])

    summary = ingest(store, [folder])

    skip = only_skip(summary, broken)
    assert skip.record == "line 2"
    # The reason must say what is wrong with the line; json's own message ("Unterminated
    # string starting at: line 1 column 12") names neither JSON nor the file's line.
    assert "invalid JSON" in skip.reason, skip.reason
    assert ids[1] not in store.document_ids()
    assert set(store.document_ids()) == set(good) | {ids[0], ids[2]}
    assert_has(store, good)
    assert_consistent(store)


def test_line_that_is_not_an_object(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    lines = medquad_lines()
    first, last = loners(2, 4000, set())
    odd = folder / "odd.jsonl"
    answer = json.loads(lines[first])["answer"]
    odd.write_bytes(lines[first] + (json.dumps([answer]) + "\n").encode() + lines[last])

    summary = ingest(store, [folder])

    skip = only_skip(summary, odd)
    assert skip.record == "line 2"
    assert "not a JSON object" in skip.reason
    assert_exactly(store, good | medquad_titles([lines[first], lines[last]]))


# ---------------------------------------------------------------- the CLI: shape and exit codes


def bad_folder(folder: Path) -> dict[str, Path]:
    """A folder of only bad files, each made from real data; name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = medquad_lines()
    bad_index = line_with_cp1252_char()
    latin = (json.dumps(json.loads(lines[bad_index]), ensure_ascii=False) + "\n").encode("cp1252")
    files = {
        "empty": folder / "empty.jsonl",
        "latin": folder / "latin.jsonl",
        "cut": folder / "cut.jsonl",
        "noise": folder / "noise.xml",
        "xlsx": folder / "medications.xlsx",
    }
    files["empty"].write_bytes(b"")
    files["latin"].write_bytes(latin)
    files["cut"].write_bytes(lines[0][: len(lines[0]) // 2] + b"\n")
    files["noise"].write_bytes(random.Random(7).randbytes(4096))
    shutil.copy(SHARED / "medicationqa" / "MedInfo2019-QA-Medications.xlsx", files["xlsx"])
    truncated_pubmed_only = folder / "cut_pubmed.xml"
    data = (PUBMED / "biopython_pubmed1.xml").read_bytes()
    truncated_pubmed_only.write_bytes(data[: data.index(b"<ArticleTitle>")])
    files["xml"] = truncated_pubmed_only
    return files


def test_cli_exit_0_when_something_ingested_despite_skips(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    bad = bad_folder(folder)
    good = good_medquad(folder)
    data_dir = tmp_path / "data"

    code, data = run_cli(folder, data_dir=data_dir)

    assert code == 0
    assert_summary_shape(data)
    assert data["documents"] == len(good)
    assert data["updated"] == data["unchanged"] == 0
    assert {item["path"] for item in data["skipped"]} == {str(p) for p in bad.values()}
    by_path = {item["path"]: item for item in data["skipped"]}
    assert by_path[str(bad["latin"])]["record"] == "line 1"
    assert "UTF-8" in by_path[str(bad["latin"])]["reason"]
    assert "unsupported" in by_path[str(bad["xlsx"])]["reason"]
    assert "empty" in by_path[str(bad["empty"])]["reason"]
    store = open_store(data_dir)
    try:
        assert_exactly(store, good)
        assert (
            data["passages"] == db_of(store).execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        )
    finally:
        store.close()


def test_cli_strict_exits_1_when_anything_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    cut, first, _ = truncated_pubmed(folder)
    data_dir = tmp_path / "data"

    code, data = run_cli(folder, "--strict", data_dir=data_dir)

    assert code == 1
    assert_summary_shape(data)
    assert [item["path"] for item in data["skipped"]] == [str(cut)]
    assert data["documents"] == len(good) + 1
    store = open_store(data_dir)
    try:
        assert_exactly(store, good | first)
    finally:
        store.close()

    # Strict with nothing skipped: a clean folder exits 0.
    clean = tmp_path / "clean"
    good_medquad(clean)
    code, data = run_cli(clean, "--strict", data_dir=data_dir)
    assert code == 0
    assert data["skipped"] == []
    assert data["documents"] == 0 and data["unchanged"] == len(good)


def test_cli_exit_1_when_nothing_ingested(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    bad = bad_folder(folder)
    data_dir = tmp_path / "data"

    code, data = run_cli(folder, data_dir=data_dir)

    assert code == 1
    assert_summary_shape(data)
    assert data["documents"] == data["passages"] == data["updated"] == data["unchanged"] == 0
    assert {item["path"] for item in data["skipped"]} == {str(p) for p in bad.values()}
    store = open_store(data_dir)
    try:
        assert store.document_ids() == []
        assert db_of(store).execute("SELECT COUNT(*) FROM passages").fetchone()[0] == 0
    finally:
        store.close()


def test_cli_exit_1_for_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    code, data = run_cli(folder, data_dir=tmp_path / "data")
    assert code == 1
    assert_summary_shape(data)
    assert data["documents"] == 0 and data["skipped"] == []


# ---------------------------------------------------------------- re-ingest: idempotent, in place


def test_reingest_of_the_same_folder_writes_nothing(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder) | good_pubmed(folder)

    first = ingest(store, [folder])
    assert first.documents == len(good) and first.passages > 0 and first.skipped == []
    version = store.corpus_version()
    passages = db_of(store).execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    assert passages == first.passages

    second = ingest(store, [folder])

    assert second.documents == 0
    assert second.updated == 0
    assert second.unchanged == len(good)
    assert second.passages == 0
    assert second.skipped == []
    assert store.corpus_version() == version
    assert db_of(store).execute("SELECT COUNT(*) FROM passages").fetchone()[0] == passages
    assert_exactly(store, good)


def test_reingest_via_cli_is_idempotent(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    data_dir = tmp_path / "data"

    code, first = run_cli(folder, data_dir=data_dir)
    assert code == 0 and first["documents"] == len(good)
    code, second = run_cli(folder, data_dir=data_dir)

    assert code == 0
    assert_summary_shape(second)
    assert (second["documents"], second["updated"], second["passages"]) == (0, 0, 0)
    assert second["unchanged"] == len(good)


def test_changed_record_is_updated_in_place(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "in"
    good = good_medquad(folder)
    lines = list(medquad_lines()[:GOOD_LINES])
    first = ingest(store, [folder])
    assert first.documents == len(good)
    db = db_of(store)
    total_before = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    # Line 2 is the "symptoms" answer of the first document: replace it with another real answer.
    target = medquad_id(lines[1])
    old_answer = json.loads(lines[1])["answer"].strip()
    new_answer = json.loads(medquad_lines()[5000])["answer"].strip()
    assert old_answer not in new_answer
    rec = json.loads(lines[1])
    rec["answer"] = new_answer
    lines[1] = (json.dumps(rec) + "\n").encode()
    (folder / "good.jsonl").write_bytes(b"".join(lines))
    old_rowid = db.execute("SELECT rowid FROM documents WHERE id = ?", (target,)).fetchone()[0]
    old_count = len(store.passages(target))

    second = ingest(store, [folder])

    assert second.updated == 1
    assert second.documents == 0
    assert second.unchanged == len(good) - 1
    assert second.skipped == []
    doc = store.get_document(target)
    assert doc is not None
    assert (
        db.execute("SELECT rowid FROM documents WHERE id = ?", (target,)).fetchone()[0] == old_rowid
    )
    stored_answer = unflatten_phenotype_table(new_answer)  # how ingest lays out GARD tables
    assert stored_answer.split("\n")[0].strip() in doc.text
    assert old_answer.split("\n")[0].strip() not in doc.text
    new_passages = store.passages(target)
    assert second.passages == len(new_passages)
    assert [p.ordinal for p in new_passages] == list(range(len(new_passages)))
    assert len({p.id for p in new_passages}) == len(new_passages)
    total_after = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    assert total_after == total_before - old_count + len(new_passages)
    orphans = db.execute(
        "SELECT COUNT(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)"
    ).fetchone()[0]
    assert orphans == 0
    assert_exactly(store, good)
