"""Write and check the natural-question set of `osler eval natural` (tests/data).

Usage:
  python benchmarks/natural_set.py --check            validate both files against the shared data
                                                      (fabricated names: against its titles and text)
  python benchmarks/natural_set.py pages FOCUS...     the MedQuAD pages on a focus, with their types
  python benchmarks/natural_set.py nci WORD...        cancer.gov pages whose URL or title has the words
  python benchmarks/natural_set.py drug NAME...       the MedicationQA rows on a drug, with their kinds
  python benchmarks/natural_set.py fill               complete new lines of natural_questions.jsonl

A new line of natural_questions.jsonl needs only "question", "type", "audience" and "topic", and
may say where its gold is: "foci" (MedQuAD focus names; default: the topic), "drugs"
(MedicationQA drugs), "extra" (ids as they are, e.g. a cancer.gov "nci:" page). `fill` resolves
the gold ids (every page on those foci or drugs with a section of the type, and the cancer.gov
twin of a MedQuAD CancerGov page), gives the line the next free id and the split its id hashes
to, and leaves the lines that have an id alone: a split, once written, never changes.
New lines of off_corpus_questions.jsonl get an id and split the same way.

The checks are `osler.evaluate.natural_set.check_natural` and `check_off_corpus`; the tests run
them too. Nothing here runs Osler: the questions are written without looking at its answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from osler.evaluate import natural_set as ns
from osler.evaluate.retrieval import split_of
from osler.settings import load

HINTS = ("foci", "drugs", "extra")


def _next_ids(rows: list[dict[str, Any]], prefix: str) -> int:
    used = [int(r["id"][len(prefix) :]) for r in rows if str(r.get("id", "")).startswith(prefix)]
    return max(used, default=0) + 1


def fill(index: ns.SharedIndex, path: Path, off_path: Path) -> int:
    rows = ns.read_jsonl(path)
    n = _next_ids(rows, "n")
    failed = 0
    out = []
    for r in rows:
        if "id" not in r:
            r["id"] = f"n{n:03d}"
            n += 1
        if "gold" not in r:
            given = any(r.get(h) for h in HINTS)
            r["gold"] = ns.resolve_gold(
                index,
                r["type"],
                foci=r.get("foci") or ([] if given else [r["topic"]]),
                drugs=r.get("drugs") or [],
                extra=r.get("extra") or [],
            )
            if not r["gold"]:
                failed += 1
                print(f"{r['id']}: no gold for {r['question']!r} ({r['type']})", file=sys.stderr)
        r.setdefault("split", split_of(r["id"]))
        out.append(
            {k: r[k] for k in ns.FIELDS} | {k: r[k] for k in HINTS if k in r and not r["gold"]}
        )
    ns.write_jsonl(path, out)
    off = ns.read_jsonl(off_path) if off_path.exists() else []
    m = _next_ids(off, "o")
    for r in off:
        if "id" not in r:
            r["id"] = f"o{m:03d}"
            m += 1
        r.setdefault("name", "")
        r.setdefault("split", split_of(r["id"]))
    ns.write_jsonl(off_path, [{k: r[k] for k in ns.OFF_FIELDS} for r in off])
    print(f"{path}: {len(out)} questions; {off_path}: {len(off)} questions")
    return 1 if failed else 0


def check(shared: Path, path: Path, off_path: Path) -> int:
    index = ns.load_index(shared)
    natural = ns.check_natural(ns.read_jsonl(path), index)
    off = ns.check_off_corpus(ns.read_jsonl(off_path), ns.name_vocabulary(shared))
    for name, result in (("natural", natural), ("off-corpus", off)):
        print(f"{name}: {json.dumps(result.counts)}")
        for e in result.errors:
            print(f"  error: {e}")
        print(f"{name}: {'valid' if result.ok else f'{len(result.errors)} errors'}")
    return 0 if natural.ok and off.ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="validate both files")
    parser.add_argument("--shared-data", type=Path, default=None)
    parser.add_argument("--file", type=Path, default=ns.NATURAL_FILE)
    parser.add_argument("--off-corpus", type=Path, default=ns.OFF_CORPUS_FILE)
    parser.add_argument("command", nargs="?", choices=("pages", "nci", "drug", "fill"))
    parser.add_argument("words", nargs="*")
    args = parser.parse_args()
    shared = args.shared_data or load().shared_data
    if args.check:
        return check(shared, args.file, args.off_corpus)
    index = ns.load_index(shared)
    if args.command == "fill":
        return fill(index, args.file, args.off_corpus)
    wanted = " ".join(args.words).lower()
    if args.command == "pages":
        for doc_id, page in index.medquad.items():
            if wanted in page.focus.lower():
                types = ",".join(sorted(index.types_of(doc_id)))
                twin = index.nci_twin(doc_id) or ""
                print(f"{doc_id}\t{page.focus}\t{types}\t{twin}")
    elif args.command == "nci":
        for doc_id, page in index.nci.items():
            if all(w in f"{doc_id} {page.title}".lower() for w in args.words):
                print(f"{doc_id}\t{page.title}\t{','.join(sorted(index.types_of(doc_id)))}")
    elif args.command == "drug":
        for doc_id, row in index.medicationqa.items():
            if wanted in row.drug.lower():
                print(
                    f"{doc_id}\t{row.drug}\t{row.kind}\t{','.join(sorted(index.types_of(doc_id)))}"
                )
    else:
        parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
