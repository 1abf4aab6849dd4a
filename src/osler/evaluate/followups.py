"""Follow-up resolution benchmark: does a second question that does not name its topic
("What are the symptoms?") still find the right page when asked after a first question that
does ("What is (are) Gout?")?

Pairs come from MedQuAD pages with several QA pairs: the first question names the focus; the
second is the page's question of another type, asked in a fixed context-free form. Gold is the
page. We report recall@5 of the page for the resolved second question (with context) and for the
same second question asked alone (the baseline).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from osler.service import Osler

#: MedQuAD question type -> the follow-up asked without naming the topic.
CONTEXT_FREE: dict[str, str] = {
    "symptoms": "What are the symptoms?",
    "exams and tests": "How is it diagnosed?",
    "treatment": "What are the treatments?",
    "outlook": "What is the outlook?",
    "causes": "What causes it?",
    "susceptibility": "Who is at risk?",
    "prevention": "How can it be prevented?",
    "inheritance": "Is it inherited?",
    "frequency": "How many people are affected?",
    "genetic changes": "What are the genetic changes related to it?",
}


def pairs(medquad: Path, n: int, seed: int) -> list[dict[str, str]]:
    """Up to n (first question, follow-up, gold page) triples, sampled with a fixed seed."""
    pages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with open(medquad, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            pages[f"medquad:{row['source']}:{row['doc_id']}"].append(row)
    out = []
    for gold, rows in sorted(pages.items()):
        first = next((r for r in rows if r["question_type"] == "information"), None)
        second = [r for r in rows if r["question_type"] in CONTEXT_FREE]
        if first and second:
            out.append({"first": first["question"], "second": second[0], "gold": gold})
    rng = random.Random(seed)
    chosen = rng.sample(out, min(n, len(out)))
    return [
        {
            "first": c["first"],
            "follow_up": CONTEXT_FREE[c["second"]["question_type"]],
            "original": c["second"]["question"],
            "gold": c["gold"],
        }
        for c in chosen
    ]


def _rank_of(osler: Osler, question: str, gold: str) -> int | None:
    docs: list[str] = []
    for hit in osler.search(question, k=30, datasets={"medquad"}):
        if hit.document_id not in docs:
            docs.append(hit.document_id)
    return docs.index(gold) + 1 if gold in docs else None


def run(
    osler: Osler, medquad: Path, *, limit: int = 500, seed: int = 13,
    tick: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Recall@5 of the gold page with context (resolved) and without (the bare follow-up)."""
    items = pairs(medquad, limit, seed)
    with_context = without = 0
    failures = []
    for item in items:
        turn = osler.turn(item["first"])
        standalone = osler.standalone(item["follow_up"], [turn])
        rank = _rank_of(osler, standalone, item["gold"])
        base = _rank_of(osler, item["follow_up"], item["gold"])
        with_context += rank is not None and rank <= 5
        without += base is not None and base <= 5
        if (rank is None or rank > 5) and len(failures) < 10:
            failures.append({**item, "standalone": standalone, "rank": rank})
        if tick:
            tick()
    n = len(items) or 1
    return {
        "pairs": len(items),
        "recall@5_with_context": round(with_context / n, 4),
        "recall@5_without_context": round(without / n, 4),
        "target": ">= 0.90 with context",
        "failures": failures,
    }
