"""Write and check the clinician question set of `osler eval clinician` (tests/data).

Usage:
  python benchmarks/clinician_set.py --check           validate the set against the shared data
                                                       (gold exists, each answer phrase is in a gold)
  python benchmarks/clinician_set.py fill              give new lines an id and the split it hashes to
  python benchmarks/clinician_set.py grep GOLD REGEX   the passages of a gold document matching REGEX
                                                       (its normalised text, as --check greps it)
  python benchmarks/clinician_set.py nci WORD...       cancer.gov pages whose id has all the words
  python benchmarks/clinician_set.py ngc WORD...       NGC guidelines whose title has all the words

A new line needs "question", "type", "gold", "source_kind" and "answer"; `fill` gives it the next
free id ("c001") and the split its id hashes to, and leaves lines that have an id alone: a
split, once written, never changes. The check is
`osler.evaluate.clinician_set.check_clinician`; the tests run it too. Nothing here runs Osler:
the questions are written without looking at its answers.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

from osler.evaluate import clinician_set as cs
from osler.evaluate.retrieval import split_of
from osler.settings import load


def fill(path: Path) -> int:
    rows = cs.read_clinician(path)
    used = [int(r["id"][1:]) for r in rows if re.fullmatch(r"c\d+", str(r.get("id", "")))]
    n = max(used, default=0) + 1
    for r in rows:
        if "id" not in r:
            r["id"] = f"c{n:03d}"
            n += 1
        r.setdefault("split", split_of(r["id"]))
    cs.dump(rows, path)
    print(f"{path}: {len(rows)} questions")
    return 0


def check(gold: cs.SharedGold, path: Path) -> int:
    result = cs.check_clinician(cs.read_clinician(path), gold)
    for e in result.errors:
        print(e, file=sys.stderr)
    c = result.counts
    print(f"{c['questions']} questions; splits {c['splits']}")
    print(f"types: {c['types']}")
    print(f"source kinds: {c['source_kinds']}")
    print("OK" if result.ok else f"{len(result.errors)} errors")
    return 0 if result.ok else 1


def grep(gold: cs.SharedGold, doc: str, pattern: str, width: int = 160) -> int:
    text = gold.text(doc)
    if not text:
        print(f"{doc}: not in the shared data", file=sys.stderr)
        return 1
    found = 0
    for m in re.finditer(pattern, text, re.I):
        print("...", text[max(0, m.start() - width) : m.end() + width], "...\n")
        found += 1
        if found >= 12:
            break
    print(f"{found} matches in {doc} ({len(text):,} chars)")
    return 0 if found else 1


def ngc_titles(shared: Path) -> dict[str, str]:
    title = re.compile(r'Name="Guideline Title"[^>]*>\s*<FieldValue Value="([^"]*)"')
    out = {}
    for path in sorted((shared / "guidelines_ngc").glob("ngc-*.xml")):
        with path.open(encoding="utf-8", errors="replace") as fh:
            m = title.search(fh.read(30000))
        if m:
            out[f"ngc:{path.stem[4:]}"] = " ".join(
                cs.markup_text(html.unescape(m.group(1))).split()
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="validate the set")
    parser.add_argument("--shared-data", type=Path, default=None)
    parser.add_argument("--file", type=Path, default=cs.CLINICIAN_FILE)
    parser.add_argument("command", nargs="?", choices=["fill", "grep", "nci", "ngc"])
    parser.add_argument("words", nargs="*")
    args = parser.parse_args(argv)
    shared = args.shared_data or load().shared_data
    if args.command == "fill":
        return fill(args.file)
    if args.command == "ngc":
        for doc_id, title in ngc_titles(shared).items():
            if all(w.lower() in title.lower() for w in args.words):
                print(doc_id, "|", title)
        return 0
    gold = cs.load_gold(shared)
    if args.command == "nci":
        for doc_id in gold.nci:
            if all(w.lower() in doc_id.lower() for w in args.words):
                print(doc_id, "(HP)" if cs.is_hp_summary(doc_id) else "")
        return 0
    if args.command == "grep":
        return grep(gold, args.words[0], " ".join(args.words[1:]))
    return check(gold, args.file)


if __name__ == "__main__":
    sys.exit(main())
