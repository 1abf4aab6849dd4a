"""The verifier benchmark (`osler eval verifier`): does the LLM-mode check of a statement
against its quote (`compose.paraphrase`) accept faithful paraphrases and catch corruptions?

Pairs are built by code from the shared data, never written by hand:

- genuine, Cochrane: a plain-language-summary sentence with a number of weight (a decimal, or
  11 and up), whose every number lies in one or two consecutive sentences of its review's
  results paragraph; those sentences are its quote, the four around them its passage;
- genuine, MedQuAD: an answer sentence naming its page's focus, restated with another of the
  focus's names (the page's own synonym list); the original sentence is the quote;
- corruptions of each genuine statement: a number changed, a unit changed, negation flipped, a
  drug swapped for another of its MeSH class, a condition swapped for a sibling (a corpus name
  with the same head word: "hepatitis B" -> "hepatitis C"), a claim from another review or page
  added.

The source documents are split once, with a fixed seed, into a tuning and a held-out half; the
similarity threshold is chosen on the tuning half only (the highest acceptance of genuine
paraphrases that still catches 95% of corruptions) and both halves are reported.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osler.compose.entities import Names, drug_class, key
from osler.compose.paraphrase import UNITS, Checker
from osler.compose.verify import NEGATION, content_words, numbers
from osler.evaluate.retrieval import BenchmarkError
from osler.ingest.sentences import sentence_spans

SEED = 19
#: MedQuAD foci restated (one sentence each), before the split.
MEDQUAD_PAIRS = 500
#: Targets on the held-out half.
TARGET_CAUGHT = 0.95
TARGET_ACCEPTED = 0.80
#: Genuine acceptance the similarity threshold may cost on the tuning half.
TUNE_COST = 0.01
#: Share of a plain-language sentence's content words its results sentences must use: it
#: restates them (a sentence that only shares a number with them is no paraphrase of them).
MIN_OVERLAP = 0.5
CORRUPTIONS = ("number", "unit", "negation", "drug", "condition", "added_claim")


@dataclass
class Pair:
    """A statement, the quote(s) it rests on and their passage; genuine or a corruption."""

    id: str
    group: str  # the source document: both halves never share one
    kind: str  # "cochrane", "medquad", or a corruption in CORRUPTIONS
    statement: str
    quotes: list[str]
    passage: str
    genuine: bool
    base: str = ""  # the genuine statement a corruption was made from
    verdict: dict[str, Any] = field(default_factory=dict)


def _sentences(text: str) -> list[str]:
    return [text[a:b].strip() for a, b in sentence_spans(text) if text[a:b].strip()]


def _weighty(value: str) -> bool:
    return "." in value or float(value) >= 11


def cochrane_pairs(shared: Path, names: Names) -> list[Pair]:
    """Plain-language sentences whose numbers all lie in 1-2 sentences of the results.

    It must restate them (`MIN_OVERLAP`). The quote is those sentences, and for each drug or condition the sentence names that they
    do not, the first results sentence naming it (as a model may quote several); the passage
    is the results paragraph."""
    path = shared / "cochrane" / "cochrane_pls.jsonl"
    if not path.exists():
        raise BenchmarkError(f"the Cochrane summaries are missing: no {path}")
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            results = _sentences(record["abstract_results"])
            for n, sentence in enumerate(_sentences(record["plain_language_summary"])):
                stated = numbers(sentence)
                if not stated or not any(_weighty(v) for v in stated) or len(sentence) > 400:
                    continue
                window = _window(stated, results)
                if window is None:
                    continue
                i, j = window
                quotes = [" ".join(results[i:j])]
                if _overlap(sentence, quotes[0]) < MIN_OVERLAP:
                    continue  # it shares a number with the results, not what it says
                for concept in sorted(names.concepts_in(sentence) - names.concepts_in(quotes[0])):
                    naming = next((r for r in results if concept in names.concepts_in(r)), None)
                    if naming and naming not in quotes and len(quotes) < 3:
                        quotes.append(naming)
                out.append(
                    Pair(
                        id=f"{record['doi']}#{n}",
                        group=record["doi"],
                        kind="cochrane",
                        statement=sentence,
                        quotes=quotes,
                        passage=record["abstract_results"],
                        genuine=True,
                    )
                )
    return out


def _overlap(sentence: str, quote: str) -> float:
    """Share of a sentence's content words (stemmed) that a quote uses."""
    said = set(content_words(sentence))
    return len(said & set(content_words(quote))) / len(said) if said else 0.0


def _window(stated: set[str], results: list[str]) -> tuple[int, int] | None:
    for width in (1, 2):
        for i in range(len(results) - width + 1):
            if stated <= numbers(" ".join(results[i : i + width])):
                return i, i + width
    return None


def medquad_records(shared: Path) -> list[dict[str, Any]]:
    path = shared / "medquad" / "medquad.jsonl"
    if not path.exists():
        raise BenchmarkError(f"the medquad questions are missing: no {path}")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _usable_name(name: str) -> bool:
    return len(name) >= 4 and not name.isupper() and "," not in name and len(name.split()) <= 5


def medquad_pairs(records: Sequence[dict[str, Any]], rng: random.Random) -> list[Pair]:
    """Answer sentences naming their focus, restated with another of the focus's names."""
    by_focus: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("focus") and r.get("focus_synonyms"):
            by_focus[str(r["focus"])].append(r)
    out = []
    foci = sorted(by_focus)
    rng.shuffle(foci)
    for focus in foci:
        rows = by_focus[focus]
        names = [n for n in [focus, *rows[0]["focus_synonyms"]] if _usable_name(str(n))]
        if len(names) < 2:
            continue
        found = _restated(rows, names, rng)
        if found is None:
            continue
        sentence, line, restated = found
        doc = f"medquad:{rows[0]['source']}:{rows[0]['doc_id']}"
        out.append(
            Pair(
                id=f"{doc}#{focus}",
                group=doc,
                kind="medquad",
                statement=restated,
                quotes=[sentence],
                passage=line,
                genuine=True,
            )
        )
        if len(out) >= MEDQUAD_PAIRS:
            break
    return out


def _restated(
    rows: list[dict[str, Any]], names: list[str], rng: random.Random
) -> tuple[str, str, str] | None:
    for r in rows:
        for line in str(r.get("answer") or "").split("\n"):
            for sentence in _sentences(line):
                words = len(sentence.split())
                if not 8 <= words <= 40 or sentence.startswith("-"):
                    continue
                for name in sorted(names, key=len, reverse=True):
                    hit = re.search(rf"\b{re.escape(name)}\b", sentence, re.I)
                    if not hit:
                        continue
                    others = [n for n in names if n.lower() != name.lower()]
                    other = rng.choice(others)
                    restated = sentence[: hit.start()] + other + sentence[hit.end() :]
                    return sentence, line, restated[:1].upper() + restated[1:]
    return None


# --- corruptions ---------------------------------------------------------------------------

_AUX = re.compile(
    r"\b(is|are|was|were|can|could|may|might|will|would|should|does|do|did|has|have|had)\b(?! not)"
)
_UNIT_SWAPS = {
    "day": ("week", "month"), "week": ("month", "day"), "month": ("year", "week"),
    "year": ("month", "week"), "hour": ("day", "minute"), "minute": ("hour", "second"),
    "mg": ("g", "mcg"), "g": ("mg", "kg"), "kg": ("g", "mg"), "mcg": ("mg",), "ml": ("l",),
    "l": ("ml",), "%": ("mg", "times"),
}


def _change_number(pair: Pair, rng: random.Random) -> str | None:
    quoted = numbers(" ".join(pair.quotes))
    found = list(re.finditer(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", pair.statement))
    if not found:
        return None
    m = rng.choice(found)
    text = m.group()
    for _ in range(10):
        if "." in text:
            whole, frac = text.split(".")
            new = whole + "." + frac[:-1] + str((int(frac[-1]) + rng.randint(1, 8)) % 10)
        else:
            value = int(text)
            new = str(value + rng.choice([1, 2, 3, max(2, value // 3)]) * rng.choice([1, -1]))
        if new not in quoted and not new.startswith("-") and new != text:
            return pair.statement[: m.start()] + new + pair.statement[m.end() :]
    return None


def _change_unit(pair: Pair, rng: random.Random) -> str | None:
    pattern = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(\s*)(%|[A-Za-z]+)")
    options = []
    for m in pattern.finditer(pair.statement):
        unit = UNITS.get(m.group(3).lower().rstrip("s")) or UNITS.get(m.group(3).lower())
        if unit in _UNIT_SWAPS:
            options.append((m, unit))
    if not options:
        return None
    m, unit = rng.choice(options)
    new = rng.choice(_UNIT_SWAPS[unit])
    plural = m.group(3).endswith("s") and len(m.group(3)) > 2
    word = new + ("s" if plural and len(new) > 2 else "")
    space = "" if new == "%" else " "
    return pair.statement[: m.start(2)] + space + word + pair.statement[m.end(3) :]


def _flip_negation(pair: Pair, rng: random.Random) -> str | None:
    text = pair.statement
    neg = NEGATION.search(text)
    if neg and neg.group().lower() in {"not", "no", "never", "without"}:
        cut = neg.group().lower()
        if cut == "no":
            return text[: neg.start()] + "a" + text[neg.end() :]
        if cut == "without":
            return text[: neg.start()] + "with" + text[neg.end() :]
        return (text[: neg.start()] + text[neg.end() :]).replace("  ", " ")
    aux = _AUX.search(text)
    if aux:
        return text[: aux.end()] + " not" + text[aux.end() :]
    return None


def _swap_drug(pair: Pair, names: Names, rng: random.Random, drugs: _DrugClasses) -> str | None:
    quoted = names.concepts_in(" ".join(pair.quotes) + " " + pair.passage)
    mentions = [m for m in names.find(pair.statement) if m.kind == "drug"]
    rng.shuffle(mentions)
    for m in mentions:
        siblings = sorted(
            d for d in drugs.siblings(m.concept) if f"drug:{d}" not in quoted and len(d) > 3
        )
        if siblings:
            return _replace_words(pair.statement, m, drugs.name(rng.choice(siblings)))
    return None


def _swap_condition(
    pair: Pair, names: Names, rng: random.Random, heads: dict[str, list[str]]
) -> str | None:
    quoted = names.concepts_in(" ".join(pair.quotes) + " " + pair.passage)
    mentions = [m for m in names.find(pair.statement) if m.kind == "condition"]
    rng.shuffle(mentions)
    for m in mentions:
        head = key(m.surface.split()).split()[-1]
        options = sorted(
            n
            for n in heads.get(head, [])
            if names.concepts.get(key(n.split())) not in quoted | {m.concept}
        )
        if options:
            return _replace_words(pair.statement, m, rng.choice(options))
    return None


def _replace_words(text: str, mention: Any, new: str) -> str:
    from osler.compose.entities import tokens

    words = tokens(text)
    start, end = words[mention.start][1], words[mention.end - 1][2]
    if text[start:end][:1].isupper() and start == 0:
        new = new[:1].upper() + new[1:]
    return text[:start] + new + text[end:]


def _add_claim(pair: Pair, rng: random.Random, pool: Sequence[Pair]) -> str | None:
    for _ in range(5):
        other = rng.choice(pool)
        if other.group != pair.group and other.kind == pair.kind:
            claim = other.statement.rstrip(" .")
            claim = claim[:1].lower() + claim[1:] if not claim[:2].isupper() else claim
            return pair.statement.rstrip(" .") + ", and " + claim + "."
    return None


class _DrugClasses:
    """Drugs by MeSH class (the parent of a tree number), from drug-named-entity-recognition."""

    def __init__(self) -> None:
        from osler.compose.entities import _drugs

        _, data = _drugs()
        self.data = data
        self.members: dict[str, set[str]] = defaultdict(set)
        for canonical, info in data.items():
            for tree in info.get("mesh_tree") or []:
                if "." in tree:
                    self.members[tree.rsplit(".", 1)[0]].add(canonical)

    def siblings(self, concept: str) -> set[str]:
        own = concept.removeprefix("drug:")
        out: set[str] = set()
        for parent in drug_class(concept):
            out |= self.members.get(parent, set())
        return out - {own}

    def name(self, canonical: str) -> str:
        return str(self.data.get(canonical, {}).get("name") or canonical).lower()


def _heads(names: Names) -> dict[str, list[str]]:
    """Condition names by their last word ("hepatitis B" under "b", "breast cancer" under
    "cancer"), the names a sibling is drawn from."""
    out: dict[str, list[str]] = defaultdict(list)
    for concept, written in names.names.items():
        for name in written:
            words = name.split()
            if 2 <= len(words) <= 4 and _usable_name(name) and concept.startswith("name:"):
                out[key(words).split()[-1]].append(name)
    return out


def corrupt(
    pairs: Sequence[Pair], names: Names, rng: random.Random
) -> list[Pair]:
    """Every corruption each genuine pair admits (one of each kind)."""
    drugs, heads = _DrugClasses(), _heads(names)
    out = []
    for pair in pairs:
        made = {
            "number": _change_number(pair, rng),
            "unit": _change_unit(pair, rng),
            "negation": _flip_negation(pair, rng),
            "drug": _swap_drug(pair, names, rng, drugs),
            "condition": _swap_condition(pair, names, rng, heads),
            "added_claim": _add_claim(pair, rng, pairs),
        }
        for kind, statement in made.items():
            if statement and statement != pair.statement:
                out.append(
                    Pair(
                        id=f"{pair.id}~{kind}",
                        group=pair.group,
                        kind=kind,
                        statement=statement,
                        quotes=pair.quotes,
                        passage=pair.passage,
                        genuine=False,
                        base=pair.statement,
                    )
                )
    return out


def split(pairs: Iterable[Pair], seed: int = SEED) -> tuple[list[Pair], list[Pair]]:
    """(tuning, held-out): the source documents shuffled once with `seed`, halved."""
    pairs = list(pairs)
    groups = sorted({p.group for p in pairs})
    random.Random(seed).shuffle(groups)
    tuning = set(groups[: len(groups) // 2])
    return [p for p in pairs if p.group in tuning], [p for p in pairs if p.group not in tuning]


def build(shared: Path, seed: int = SEED) -> tuple[list[Pair], Names]:
    """All pairs (genuine and corrupted) and the names they are checked with."""
    rng = random.Random(seed)
    records = medquad_records(shared)
    names = Names.from_records(records)
    genuine = cochrane_pairs(shared, names) + medquad_pairs(records, rng)
    return genuine + corrupt(genuine, names, rng), names


# --- measuring ---------------------------------------------------------------------------


def judge(pairs: Sequence[Pair], checker: Checker) -> None:
    """Each pair's verdict (deterministic checks and similarity), stored on the pair."""
    for pair in pairs:
        v = checker.check(pair.statement, pair.quotes, [pair.passage])
        pair.verdict = {"failed": v.failed, "reasons": v.reasons, "similarity": v.similarity}


def _passes(pair: Pair, threshold: float) -> bool:
    failed = [c for c in pair.verdict["failed"] if c != "similarity"]
    return not failed and (pair.verdict["similarity"] or 0) >= threshold


def rates(pairs: Sequence[Pair], threshold: float) -> dict[str, Any]:
    """Acceptance of genuine pairs and catch rate of corruptions (overall and per kind)."""
    genuine = [p for p in pairs if p.genuine]
    bad = [p for p in pairs if not p.genuine]
    accepted = [p for p in genuine if _passes(p, threshold)]
    caught = [p for p in bad if not _passes(p, threshold)]
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted({p.kind for p in pairs}):
        these = [p for p in pairs if p.kind == kind]
        ok = sum(_passes(p, threshold) for p in these)
        share = ok / len(these) if these[0].genuine else 1 - ok / len(these)
        label = "accepted" if these[0].genuine else "caught"
        by_kind[kind] = {"pairs": len(these), label: round(share, 4)}
    rejected_by = Counter(
        next(
            (c for c in p.verdict["failed"] if c != "similarity"),
            "similarity",
        )
        for p in genuine
        if not _passes(p, threshold)
    )
    return {
        "genuine": len(genuine),
        "corruptions": len(bad),
        "accepted": round(len(accepted) / len(genuine), 4) if genuine else 0.0,
        "caught": round(len(caught) / len(bad), 4) if bad else 0.0,
        "by_kind": by_kind,
        "genuine_rejected_by": dict(rejected_by.most_common()),
    }


def tune(pairs: Sequence[Pair]) -> float:
    """The similarity threshold: the highest that costs genuine paraphrases at most one point
    of acceptance (against no threshold) and still catches 95% of corruptions; 0 if none."""
    floor = rates(pairs, 0.0)["accepted"] - TUNE_COST
    candidates = sorted({round(p.verdict["similarity"] or 0, 2) for p in pairs} | {0.0})
    best = 0.0
    for t in candidates:
        r = rates(pairs, t)
        if r["accepted"] >= floor - 1e-9 and r["caught"] >= TARGET_CAUGHT:
            best = t
    return best


def measure(
    shared: Path, *, seed: int = SEED, checker: Checker | None = None, show: int = 0
) -> dict[str, Any]:
    """The benchmark's report: threshold chosen on the tuning half, both halves measured."""
    began = time.perf_counter()
    pairs, names = build(shared, seed)
    tuning, held_out = split(pairs, seed)
    checker = checker or Checker(names)
    judge(pairs, checker)
    threshold = tune(tuning)
    report = {
        "seed": seed,
        "threshold": threshold,
        "shipped_threshold": checker.min_similarity,
        "tuning": rates(tuning, threshold),
        "held_out": rates(held_out, threshold),
        "held_out_at_shipped": rates(held_out, checker.min_similarity),
        "targets": {"caught": TARGET_CAUGHT, "accepted": TARGET_ACCEPTED},
        "seconds": round(time.perf_counter() - began, 1),
    }
    if show:
        report["examples"] = _examples(held_out, threshold, show)
    return report


def _examples(pairs: Sequence[Pair], threshold: float, n: int) -> dict[str, list[dict[str, Any]]]:
    wrong_accept = [p for p in pairs if p.genuine and not _passes(p, threshold)]
    missed = [p for p in pairs if not p.genuine and _passes(p, threshold)]

    def row(p: Pair) -> dict[str, Any]:
        return {"kind": p.kind, "statement": p.statement, "quote": p.quotes[0], **p.verdict}

    return {
        "genuine_rejected": [row(p) for p in wrong_accept[:n]],
        "corruptions_missed": [row(p) for p in missed[:n]],
    }
