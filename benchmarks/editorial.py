"""Editorial workflow at scale: approve N articles, then time serving lookups and workflow writes.

Usage: python benchmarks/editorial.py --data-dir DIR [--articles 300]
DIR must hold an ingested corpus; the script works on a temporary copy of it. It answers N seeded
MedQuAD questions, takes each through create -> submit -> start -> approve, then measures:
- write latency of each workflow step (p50/p95 ms);
- `served()` lookups for the same questions (exact), reworded ones (lower case, no question mark,
  "the" dropped) and N other MedQuAD questions never approved, with how many of each got an article;
  for the unseen ones a served article is a *false serve* unless its question is the same text.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rich.progress import Progress

from osler.models import Role
from osler.review import articles
from osler.service import Osler
from osler.settings import EditorialSettings, load


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args()
    with open(load().shared_data / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        questions = sorted({json.loads(line)["question"] for line in fh})
    rng = random.Random(11)
    picked = rng.sample(questions, 2 * args.articles)
    approved_qs, unseen = picked[: args.articles], picked[args.articles :]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data_dir, data, ignore=shutil.ignore_patterns("dense-*"))
        # the lookups do not depend on the dense index
        osler = Osler.open(data_dir=data, dense=False)
        reviews = osler.reviews
        editor = reviews.add_user("bench-editor", [Role.EDITOR])
        reviewer = reviews.add_user("bench-reviewer", [Role.REVIEWER])
        writes: dict[str, list[float]] = {k: [] for k in ("create", "submit", "start", "approve")}
        with Progress() as bar:
            task = bar.add_task("approving articles", total=len(approved_qs))
            for q in approved_qs:
                answer = osler.fresh_answer(q)
                t = time.perf_counter()
                a = articles.create(reviews, answer, editor)
                writes["create"].append((time.perf_counter() - t) * 1000)
                for action, who in (("submit", editor), ("start", reviewer), ("approve", reviewer)):
                    t = time.perf_counter()
                    a = articles.transition(reviews, a.id, action, who, a.revision)
                    writes[action].append((time.perf_counter() - t) * 1000)
                bar.advance(task)
        settings = EditorialSettings()
        stored = {a.normalized_question for a in reviews.articles()}
        results = {}
        examples: list[tuple[str, str]] = []
        for name, asked in (
            ("exact", approved_qs),
            ("reworded", [_reword(q) for q in approved_qs]),
            ("unseen", unseen),
        ):
            times, hits, false = [], 0, 0
            for q in asked:
                t = time.perf_counter()
                got = articles.served(reviews, q, "clinician", settings)
                times.append((time.perf_counter() - t) * 1000)
                if got is not None:
                    hits += 1
                    if name == "unseen" and articles.normalize(q) not in stored:
                        false += 1
                        examples.append((q, got.standalone_question))
            results[name] = (hits, false, pct(times, 50), pct(times, 95))
        osler.close()
    print(f"\n{args.articles} approved articles (MedQuAD questions, seed 11)")
    print("workflow write     p50 ms   p95 ms")
    for k, v in writes.items():
        print(f"  {k:<15} {pct(v, 50):7.2f}  {pct(v, 95):7.2f}")
    print("served() lookup    served     false   p50 ms   p95 ms")
    for name, (hits, false, p50, p95) in results.items():
        print(f"  {name:<15} {hits:4d}/{args.articles:<4d} {false:5d}  {p50:7.2f}  {p95:7.2f}")
    for asked, served in examples:
        print(f"  false serve: {asked!r} got the article for {served!r}")


def _reword(q: str) -> str:
    words = [w for w in q.rstrip("?").split() if w.lower() != "the"]
    return " ".join(words).lower()


if __name__ == "__main__":
    main()
