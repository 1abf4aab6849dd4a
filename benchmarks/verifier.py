"""How well the citation verifier separates supported sentences from corrupted ones, on real text.

Sentences come from MedQuAD answers and PubMedQA abstracts; each is checked against its passage
(the sentence with its neighbours, as a retrieved passage would hold it) verbatim and lightly
trimmed (supported), and in four corruptions: a number changed, negation flipped, the disease
or MeSH term swapped for another from the data, and a sentence from another document.

Usage: python benchmarks/verifier.py [--n 50] [--seed 0] [--show] [--held-out]
Prints recall on corrupted sentences (per kind and overall) and the false-alarm rate on supported.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from osler.compose.verify import GENERIC, numbers, stem, verify
from osler.config import shared_data_dir
from osler.ingest.sentences import sentence_spans

#: MeSH terms too general to be the entity a sentence is about.
GENERAL_MESH = frozenset(
    "humans female male adult aged middle aged young adult adolescent child infant "
    "retrospective studies prospective studies risk factors treatment outcome time factors "
    "follow-up studies cohort studies cross-sectional studies surveys and questionnaires".split(" ")
)
AUX = re.compile(r"\b(is|are|was|were|can|may|could|should|will|does|do|did|has|have|had)\b")
NEG = re.compile(r"\b(not|never|no)\s+|\bwithout\b|n't\b", re.I)


@dataclass
class Item:
    """One real sentence, its passage, and what it is about."""

    sentence: str
    passage: str
    entities: list[str]
    doc: str


def _sentences(text: str) -> list[str]:
    return [line[s:e].strip() for line in text.split("\n") for s, e in sentence_spans(line)]


def _usable(sentence: str) -> bool:
    n = len(sentence.split())
    return 8 <= n <= 40 and sentence[0].isupper() and sentence.endswith(".") and "?" not in sentence


def _items(sents: list[str], entities: list[str], doc: str) -> list[Item]:
    out = []
    for i, s in enumerate(sents):
        ents = [e for e in entities if re.search(rf"\b{re.escape(e)}\b", s, re.I)]
        if _usable(s) and ents:
            out.append(Item(s, " ".join(sents[max(0, i - 1) : i + 2]), ents, doc))
    return out


def load(shared: Path, seed: int) -> tuple[list[Item], list[Item], list[str], list[str]]:
    """Candidate items from MedQuAD and PubMedQA, plus the entity pools to swap from."""
    rng = random.Random(seed)
    medquad, foci = [], set()
    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    for r in rng.sample(records, 600):
        if not r.get("answer") or not r.get("focus"):
            continue
        foci.add(r["focus"])
        focus_words = [r["focus"], *[w for w in r["focus"].split() if len(w) > 6]]
        medquad += _items(_sentences(r["answer"]), focus_words, r["doc_id"])
    pubmed, mesh = [], set()
    data = json.loads((shared / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    for pmid in rng.sample(sorted(data), 300):
        r = data[pmid]
        terms = [m for m in r.get("MESHES", []) if m.lower() not in GENERAL_MESH]
        mesh.update(terms)
        for context in r["CONTEXTS"]:
            pubmed += _items(_sentences(context), terms, pmid)
    return medquad, pubmed, sorted(foci), sorted(mesh)


def load_held_out(shared: Path) -> tuple[list[Item], list[str]]:
    """MedicationQA answers (not used while tuning the verifier), with the drug as the entity."""
    items, drugs = [], set()
    with open(shared / "medicationqa" / "medicationqa.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            drug = (r.get("Focus (Drug)") or "").strip()
            if not drug or not r.get("Answer"):
                continue
            drugs.add(drug)
            items += _items(_sentences(r["Answer"]), [drug], f"mqa{r['row']}")
    return items, sorted(drugs)


def change_number(item: Item, rng: random.Random) -> str | None:
    found = list(re.finditer(r"(?<![\w.\[])\d+(?:\.\d+)?(?!\])", item.sentence))
    if not found:
        return None
    m = rng.choice(found)
    have = numbers(item.passage)
    value = float(m.group())
    for new in (value + 1, value * 2, value + 7, value * 3 + 1, value + 13):
        text = f"{new:.{len(m.group().split('.')[1])}f}" if "." in m.group() else str(int(new))
        if not numbers(text) & have:
            return item.sentence[: m.start()] + text + item.sentence[m.end() :]
    return None


def flip_negation(item: Item) -> str | None:
    neg = NEG.search(item.sentence)
    if neg:
        word = neg.group().strip().lower()
        repl = "with" if word == "without" else ""
        return (item.sentence[: neg.start()] + repl + " " + item.sentence[neg.end() :]).replace(
            "  ", " "
        )
    aux = AUX.search(item.sentence)
    if not aux:
        return None
    return item.sentence[: aux.end()] + " not" + item.sentence[aux.end() :]


def swap_entity(item: Item, pool: list[str], rng: random.Random) -> str | None:
    entity = max(item.entities, key=len)
    passage = item.passage.lower()
    generic = {stem(w) for w in GENERIC}
    choices = [  # a name the passage lacks, not a generic phrase such as "Child Care"
        e
        for e in pool
        if e.lower() != entity.lower()
        and any(
            w.lower() not in passage and stem(w) not in generic for w in re.findall(r"\w{4,}", e)
        )
    ]
    if not choices:
        return None
    other = rng.choice(choices)
    return re.sub(rf"\b{re.escape(entity)}\b", other, item.sentence, count=1, flags=re.I)


def trim(sentence: str) -> str:
    """A light edit a writer makes: parentheticals and a leading connective dropped."""
    out = re.sub(r"\s+\([^()]*\)(?=[\s.,;:])", "", sentence)
    out = re.sub(
        r"^(however|in addition|also|furthermore|moreover|thus|therefore),\s*", "", out, flags=re.I
    )
    return out[:1].upper() + out[1:]


def measure(
    n: int = 50,
    seed: int = 0,
    shared: Path | None = None,
    show: bool = False,
    held_out: bool = False,
) -> dict:
    """Recall on corrupted and false-alarm rate on supported sentences, over `n` real sentences.

    The default set (MedQuAD + PubMedQA) is the one the verifier was tuned on; `held_out` uses
    MedicationQA answers instead, swapping drug names.
    """
    rng = random.Random(seed)
    if held_out:
        medquad, foci = load_held_out(shared or shared_data_dir())
        pubmed, mesh = [i for i in medquad if numbers(i.sentence)], foci
    else:
        medquad, pubmed, foci, mesh = load(shared or shared_data_dir(), seed)
    with_numbers = [i for i in pubmed if numbers(i.sentence)]
    picked = rng.sample(medquad, n // 2) + rng.sample(with_numbers, n - n // 2)
    everything = medquad + pubmed
    supported: list[tuple[str, str, Item]] = []
    corrupted: list[tuple[str, str, Item]] = []
    for item in picked:
        supported.append(("verbatim", item.sentence + " [1]", item))
        if trim(item.sentence) != item.sentence:
            supported.append(("trimmed", trim(item.sentence) + " [1]", item))
        pool = foci if item in medquad else mesh
        other = rng.choice([o for o in everything if o.doc != item.doc])
        for kind, text in (
            ("number", change_number(item, rng)),
            ("negation", flip_negation(item)),
            ("entity", swap_entity(item, pool, rng)),
            ("unrelated", other.sentence),
        ):
            if text and text != item.sentence:
                corrupted.append((kind, text + " [1]", item))
    figures: dict = {"sentences": len(picked), "supported": {}, "corrupted": {}}
    alarms = 0
    for kind in ("verbatim", "trimmed"):
        cases = [c for c in supported if c[0] == kind]
        bad = [c for c in cases if not verify(c[1], [c[2].passage]).supported]
        alarms += len(bad)
        figures["supported"][kind] = {"n": len(cases), "false_alarms": len(bad)}
        if show:
            for _, text, item in bad:
                print("FALSE ALARM", verify(text, [item.passage]).reasons, "|", text)
    caught_all = 0
    for kind in ("number", "negation", "entity", "unrelated"):
        cases = [c for c in corrupted if c[0] == kind]
        caught = [c for c in cases if not verify(c[1], [c[2].passage]).supported]
        caught_all += len(caught)
        figures["corrupted"][kind] = {
            "n": len(cases),
            "caught": len(caught),
            "recall": round(len(caught) / max(len(cases), 1), 3),
        }
        if show:
            for _, text, item in cases:
                if (text, item) not in [(c[1], c[2]) for c in caught]:
                    print(f"MISSED {kind}:", text, "|", item.passage)
    no_citation = sum(not verify(item.sentence, []).supported for item in picked)
    figures["corrupted"]["no_citation"] = {"n": len(picked), "caught": no_citation}
    figures["recall"] = round(caught_all / max(len(corrupted), 1), 3)
    figures["false_alarm_rate"] = round(alarms / max(len(supported), 1), 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", action="store_true", help="print misses and false alarms")
    parser.add_argument(
        "--held-out", action="store_true", help="MedicationQA instead of MedQuAD + PubMedQA"
    )
    args = parser.parse_args()
    figures = measure(args.n, args.seed, show=args.show, held_out=args.held_out)
    print(json.dumps(figures, indent=2))
    ok = figures["recall"] >= 0.95 and figures["false_alarm_rate"] <= 0.05
    print(
        f"recall {figures['recall']:.3f}, false alarms {figures['false_alarm_rate']:.3f}: "
        f"{'meets' if ok else 'misses'} the target (recall >= 0.95 at <= 5% false alarms)"
    )


if __name__ == "__main__":
    main()
