"""The answer benchmark (`osler eval answers`): what `Osler.ask` gives on real questions.

Five figures, all from one corpus in one process (see docs/answers.md):

1. **Quality**: a fixed-seed sample of MedQuAD questions, answered twice: with the gold page
   indexed, and with it hidden from retrieval. ROUGE-L F1 of the answer text against the MedQuAD
   reference answer, the share of answers citing the gold page, the abstention rate.
2. **Citation faithfulness**: the share of answer statements found verbatim in the quote of
   every reference they cite.
3. **Verifier**: recall of `verify` on corrupted sentences and its false-alarm rate on supported
   ones, built from real passages (also what `benchmarks/verifier.py` prints).
4. **Abstention**: questions about conditions removed from a copy of the corpus (off-corpus)
   against questions whose gold page is present (in-corpus).
5. **Latency**: `ask` warm (p50/p95) and a cold `osler ask` process.

The composer is never tuned on these questions.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from osler import settings
from osler.compose.verify import GENERIC, numbers, stem, verify
from osler.evaluate import metrics
from osler.evaluate.retrieval import BenchmarkError, Progress, corpus_info
from osler.index.lexical import LexicalIndex
from osler.ingest.sentences import sentence_spans
from osler.models import Answer, Statement
from osler.service import Osler
from osler.store import open_store, store_url, stored

SEED = 13
#: MedQuAD questions answered for figures 1, 2 and 5.
SAMPLE = 300
#: Off-corpus foci (and as many in-corpus questions) for figure 4.
OFF_CORPUS = 100
#: Real sentences each verifier set is built from.
VERIFIER_SENTENCES = 200
CLI_RUNS = 3
WARMUP = 5
#: Failures of each kind kept in the report.
FAILURES_SHOWN = 10
AUDIENCE = "clinician"
#: Synonyms shorter than this are not used to find the documents of a removed focus.
MIN_SYNONYM = 4


# --- MedQuAD questions --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One MedQuAD question with its reference answer and gold page."""

    id: str
    question: str
    reference: str
    gold: str
    focus: str
    synonyms: tuple[str, ...]
    question_type: str


def medquad_rows(shared: Path) -> list[Row]:
    """Every MedQuAD row with a question and an answer, in file order."""
    path = shared / "medquad" / "medquad.jsonl"
    if not path.exists():
        raise BenchmarkError(f"the medquad questions are missing: no {path}")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            question, reference = str(r.get("question") or ""), str(r.get("answer") or "")
            if not question.strip() or not reference.strip():
                continue
            synonyms = r.get("focus_synonyms") or []
            rows.append(
                Row(
                    id=str(r["id"]),
                    question=" ".join(question.split()),
                    reference=reference,
                    gold=f"medquad:{r['source']}:{r['doc_id']}",
                    focus=str(r.get("focus") or "").strip(),
                    synonyms=tuple(str(s) for s in synonyms if str(s).strip()),
                    question_type=str(r.get("question_type") or ""),
                )
            )
    return rows


# --- ROUGE-L --------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (runs of letters and digits), as rouge-score tokenizes."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists.

    Bit-parallel (Allison-Dix / Hyyrö): one big-integer step per token of `b`, so a long
    reference answer costs milliseconds, not the O(len(a) * len(b)) table.
    """
    if not a or not b:
        return 0
    where: dict[str, int] = {}
    for i, token in enumerate(a):
        where[token] = where.get(token, 0) | (1 << i)
    mask = (1 << len(a)) - 1
    v = mask
    for token in b:
        u = v & where.get(token, 0)
        v = ((v + u) | (v - u)) & mask
    return len(a) - v.bit_count()


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (beta = 1) of a candidate against a reference, on lower-cased word tokens."""
    c, r = tokens(candidate), tokens(reference)
    lcs = lcs_length(c, r)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(c), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


# --- answers: text, statements, faithfulness ------------------------------------------------


def statements(answer: Answer) -> list[Statement]:
    """The answer's statements: the bottom line and every section item ([] when it abstained)."""
    if answer.abstained:
        return []
    return [answer.bottom_line, *(item for s in answer.sections for item in s.items)]


def answer_text(answer: Answer) -> str:
    """What ROUGE-L scores: the statements joined ("" for an abstention)."""
    return " ".join(s.text for s in statements(answer))


def _checked(answer: Answer) -> list[tuple[str, list[int]]]:
    """Every cited text of an answer: its statements and any glossary definitions."""
    glossary = getattr(answer, "glossary", None) or []
    return [(s.text, s.citations) for s in statements(answer)] + [
        (g.definition, [g.citation]) for g in glossary
    ]


def citation_failures(answer: Answer) -> list[dict[str, Any]]:
    """Statements (and glossary definitions) not found verbatim in the quote of every reference
    they cite, with why."""
    quotes = {r.n: r.quote for r in answer.references}
    out = []
    for text, citations in _checked(answer):
        if not citations:
            why = "cites no reference"
        else:
            unknown = [n for n in citations if n not in quotes]
            absent = [n for n in citations if n in quotes and text not in quotes[n]]
            if unknown:
                why = f"cites [{unknown[0]}], which is not a reference"
            elif absent:
                why = f"not verbatim in the quote of [{absent[0]}]"
            else:
                continue
        out.append({"statement": text, "citations": citations, "why": why})
    return out


def faithfulness(answer: Answer) -> float:
    """Share of the answer's statements found verbatim in every quote they cite (1.0 if none)."""
    total = len(_checked(answer))
    return 1.0 if total == 0 else 1 - len(citation_failures(answer)) / total


# --- hiding documents from retrieval ----------------------------------------------------------


class Bench:
    """The service, asked with a clock; documents can be hidden as if never ingested
    (`Osler.hiding`: their passages are not ranked, their names name no topic)."""

    def __init__(self, osler: Osler) -> None:
        self.osler = osler

    def without(self, ids: Iterable[str]) -> AbstractContextManager[None]:
        return self.osler.hiding(ids)

    def ask(self, question: str) -> tuple[Answer, float]:
        """The answer and the wall-clock ms of `ask` (neither served from nor saved as an
        article: the benchmark measures what the composer writes)."""
        began = time.perf_counter()
        answer = self.osler.ask(question, AUDIENCE, serve_approved=False, save_draft=False)
        return answer, (time.perf_counter() - began) * 1000


# --- figure 1 and 2: quality and faithfulness -------------------------------------------------


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def answer_record(row: Row, answer: Answer, ms: float, documents: dict[str, Any]) -> dict[str, Any]:
    """What one answered question contributes to figures 1, 2 and 5."""
    cited = [] if answer.abstained else [r.document_id for r in answer.references]
    focus = row.focus.lower()
    return {
        "id": row.id,
        "question": row.question,
        "gold": row.gold,
        "abstained": answer.abstained,
        "rouge_l": rouge_l(answer_text(answer), row.reference),
        "gold_cited": row.gold in cited,
        "same_focus_cited": bool(focus)
        and any(
            d != row.gold
            and d in documents
            and documents[d].extra.get("focus", "").lower() == focus
            for d in cited
        ),
        "statements": len(_checked(answer)),
        "citation_failures": citation_failures(answer),
        "ms": ms,
    }


def summarise_quality(records: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(records)
    answered = [r for r in records if not r["abstained"]]
    return {
        "questions": n,
        "answered": len(answered),
        "abstention_rate": _rate(n - len(answered), n),
        "rouge_l_f1": round(metrics.mean([r["rouge_l"] for r in records]), 4),
        "rouge_l_f1_answered": round(metrics.mean([r["rouge_l"] for r in answered]), 4),
        "gold_cited": _rate(sum(r["gold_cited"] for r in records), n),
        "gold_cited_answered": _rate(sum(r["gold_cited"] for r in answered), len(answered)),
        "same_focus_cited": _rate(sum(r["same_focus_cited"] for r in records), n),
    }


def run_quality(
    bench: Bench, rows: list[Row], *, hide_gold: bool, progress: Progress, name: str
) -> tuple[list[dict[str, Any]], list[tuple[Row, Answer]]]:
    """Answer every row (its gold page hidden or not): one record per question, and the answers."""
    progress.start(name, len(rows))
    records, answers = [], []
    for row in rows:
        with bench.without([row.gold] if hide_gold else []):
            answer, ms = bench.ask(row.question)
        records.append(answer_record(row, answer, ms, bench.osler.documents))
        answers.append((row, answer))
        progress.advance()
    progress.done()
    return records, answers


def summarise_faithfulness(records: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(r["statements"] for r in records)
    failures = [{"question": r["question"], **f} for r in records for f in r["citation_failures"]]
    return {
        "answers": sum(not r["abstained"] for r in records),
        "statements": total,
        "faithful": total - len(failures),
        "share": round((total - len(failures)) / total, 4) if total else 1.0,
        "failures": failures[:FAILURES_SHOWN],
    }


# --- figure 3: the verifier on supported and corrupted sentences ------------------------------

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


def _focus_words(focus: str) -> list[str]:
    return [focus, *[w for w in focus.split() if len(w) > 6]]


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
        medquad += _items(_sentences(r["answer"]), _focus_words(r["focus"]), r["doc_id"])
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
    """The sentence with one of its numbers changed to one the passage does not state."""
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
    """The sentence with its first negation removed, or "not" added after its first auxiliary."""
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
    """The sentence with its disease, drug or MeSH term swapped for another from the pool."""
    if not item.entities:
        return None
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


Case = tuple[str, str, Item]
CORRUPTIONS = ("number", "negation", "entity", "unrelated")


def build_cases(
    picked: list[Item],
    pool_of: Callable[[Item], list[str]],
    everything: list[Item],
    rng: random.Random,
) -> tuple[list[Case], list[Case]]:
    """Supported cases (verbatim, trimmed) and corrupted ones (the four corruptions) per item."""
    supported: list[Case] = []
    corrupted: list[Case] = []
    for item in picked:
        supported.append(("verbatim", item.sentence + " [1]", item))
        if trim(item.sentence) != item.sentence:
            supported.append(("trimmed", trim(item.sentence) + " [1]", item))
        pool = pool_of(item)
        other = rng.choice([o for o in everything if o.doc != item.doc])
        for kind, text in (
            ("number", change_number(item, rng)),
            ("negation", flip_negation(item)),
            ("entity", swap_entity(item, pool, rng)),
            ("unrelated", other.sentence),
        ):
            if text and text != item.sentence:
                corrupted.append((kind, text + " [1]", item))
    return supported, corrupted


def score_cases(
    picked: list[Item], supported: list[Case], corrupted: list[Case], show: bool = False
) -> dict[str, Any]:
    """Recall per corruption and overall, false alarms per kind of supported sentence."""
    figures: dict[str, Any] = {"sentences": len(picked), "supported": {}, "corrupted": {}}
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
    for kind in CORRUPTIONS:
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


def measure(
    n: int = 50,
    seed: int = 0,
    shared: Path | None = None,
    show: bool = False,
    held_out: bool = False,
) -> dict[str, Any]:
    """Recall on corrupted and false-alarm rate on supported sentences, over `n` real sentences.

    Sentences come from MedQuAD answers and PubMedQA abstracts (half of them with a number);
    each is checked against its passage (the sentence with its neighbours). This default set is
    the one the verifier was tuned on; `held_out` uses MedicationQA answers instead, swapping
    drug names.
    """
    rng = random.Random(seed)
    if held_out:
        medquad, foci = load_held_out(shared or settings.load().shared_data)
        pubmed, mesh = [i for i in medquad if numbers(i.sentence)], foci
    else:
        medquad, pubmed, foci, mesh = load(shared or settings.load().shared_data, seed)
    with_numbers = [i for i in pubmed if numbers(i.sentence)]
    picked = rng.sample(medquad, n // 2) + rng.sample(with_numbers, n - n // 2)
    supported, corrupted = build_cases(
        picked, lambda item: foci if item in medquad else mesh, medquad + pubmed, rng
    )
    return score_cases(picked, supported, corrupted, show)


def measure_items(items: list[Item], pool: list[str], n: int, seed: int) -> dict[str, Any]:
    """The verifier figures on `n` of the given items (e.g. answer statements and their quotes)."""
    rng = random.Random(seed)
    picked = rng.sample(items, min(n, len(items)))
    if len({i.doc for i in items}) < 2:
        return score_cases(picked, [], [])
    supported, corrupted = build_cases(picked, lambda _: pool, items, rng)
    return score_cases(picked, supported, corrupted)


def statement_items(answers: list[tuple[Row, Answer]]) -> list[Item]:
    """Each single-citation statement of the answers, with the quote it cites as its passage."""
    out = []
    for row, answer in answers:
        quotes = {r.n: (r.quote, r.document_id) for r in answer.references}
        words = _focus_words(row.focus) if row.focus else []
        for s in statements(answer):
            if len(s.citations) != 1 or s.citations[0] not in quotes:
                continue
            quote, doc = quotes[s.citations[0]]
            ents = [e for e in words if re.search(rf"\b{re.escape(e)}\b", s.text, re.I)]
            out.append(Item(s.text, quote, ents, doc))
    return out


# --- figure 4: abstention off-corpus and in-corpus --------------------------------------------


def normalise(name: str) -> str:
    """A name as matched: lower case, possessives and punctuation gone ("Graves' Disease" ->
    "graves disease", "Kaposi's sarcoma" -> "kaposi sarcoma")."""
    name = re.sub(r"'s\b", "", name.lower().replace("’", "'"))
    return " ".join(re.findall(r"[a-z0-9]+", name))


def _pattern(names: Iterable[str]) -> re.Pattern[str]:
    """Any of the names as whole words, in normalised text."""
    alternatives = {re.escape(normalise(n)) for n in names if normalise(n)}
    ordered = sorted(alternatives, key=len, reverse=True)
    return re.compile(rf"(?<![a-z0-9])({'|'.join(ordered)})(?![a-z0-9])")


def names_of(focus: str, rows: list[Row]) -> list[str]:
    """The focus, its last part when it is a path ("Parasites - Lice - Head Lice" -> "Head
    Lice"), and the synonyms MedQuAD gives it (those of at least MIN_SYNONYM chars)."""
    names = {focus, focus.split(" - ")[-1]}
    names |= {s for r in rows for s in r.synonyms if len(s.strip()) >= MIN_SYNONYM}
    return [focus, *sorted(names - {focus})]


def documents_about(names: list[str], documents: dict[str, Any]) -> list[str]:
    """Documents whose title or focus names one of `names` (whole words, normalised)."""
    pattern = _pattern(names)
    return [
        doc_id
        for doc_id, d in documents.items()
        if pattern.search(normalise(d.title or ""))
        or pattern.search(normalise(d.extra.get("focus", "")))
    ]


@dataclass
class OffCorpusPlan:
    """The foci removed, the documents that go with them, and the questions to ask."""

    foci: list[str]
    removed: list[str]
    off_corpus: list[Row]
    in_corpus: list[Row]


def plan_off_corpus(rows: list[Row], documents: dict[str, Any], n: int, seed: int) -> OffCorpusPlan:
    """Pick `n` foci (fixed seed), the documents about them, one question each, and `n`
    in-corpus questions whose gold page survives the removal."""
    rng = random.Random(seed)
    by_focus: dict[str, list[Row]] = {}
    for row in rows:
        if row.focus and row.gold in documents:
            by_focus.setdefault(row.focus.lower(), []).append(row)
    keys = rng.sample(sorted(by_focus), min(n, len(by_focus)))
    removed: set[str] = set()
    off = []
    for key in keys:
        group = by_focus[key]
        removed.update(documents_about(names_of(group[0].focus, group), documents))
        off.append(rng.choice(group))
    picked = set(keys)
    eligible = [
        r
        for r in rows
        if r.gold in documents and r.gold not in removed and r.focus.lower() not in picked
    ]
    inside = rng.sample(eligible, min(len(off), len(eligible)))
    return OffCorpusPlan([by_focus[k][0].focus for k in keys], sorted(removed), off, inside)


def reduced_copy(source: Path, target: Path, remove: list[str]) -> int:
    """Copy a data dir, remove documents from the copy and bring its lexical index up to date.

    The store is copied consistently while others read it (`Store.copy_to`); the index folders
    are copied as files. Returns how many documents were removed.
    """
    if not stored(source):
        raise BenchmarkError(f"{source} holds no Osler store")
    target.mkdir(parents=True, exist_ok=True)
    store = open_store(source)
    try:
        for item in source.iterdir():
            if item.is_dir():
                shutil.copytree(item, target / item.name)
        store.copy_to(store_url(target))
    finally:
        store.close()
    copy = open_store(target)
    try:
        removed = copy.remove(ids=remove) if remove else []
        LexicalIndex.at(target).sync(copy)
    finally:
        copy.close()
    return len(removed)


def _off_record(row: Row, answer: Answer) -> dict[str, Any]:
    pattern = _pattern([row.focus])
    return {
        "question": row.question,
        "focus": row.focus,
        "bottom_line": answer.bottom_line.text,
        "cited": [f"{r.title} ({r.document_id})" for r in answer.references[:3]],
        # The corpus still holds text naming the condition (an abstract, another page's body):
        # the question was answerable after all; else the answer is about something else.
        "cited_text_names_focus": any(
            pattern.search(normalise(r.quote)) for r in answer.references
        ),
    }


def run_abstention(
    data_dir: Path,
    rows: list[Row],
    documents: dict[str, Any],
    *,
    n: int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """Off-corpus questions (their foci removed from a copy of the corpus) vs in-corpus ones."""
    plan = plan_off_corpus(rows, documents, n, seed)
    with tempfile.TemporaryDirectory(prefix="osler-eval-off-corpus-") as tmp:
        copy = Path(tmp) / "data"
        removed = reduced_copy(data_dir, copy, plan.removed)
        osler = Osler.open(data_dir=copy)
        try:
            progress.start("off/in-corpus", len(plan.off_corpus) + len(plan.in_corpus))
            answered_off, abstained_in = [], []
            for row in plan.off_corpus:
                answer = osler.ask(row.question, AUDIENCE, serve_approved=False, save_draft=False)
                if not answer.abstained:
                    answered_off.append(_off_record(row, answer))
                progress.advance()
            for row in plan.in_corpus:
                answer = osler.ask(row.question, AUDIENCE, serve_approved=False, save_draft=False)
                if answer.abstained:
                    abstained_in.append(
                        {
                            "question": row.question,
                            "gold": row.gold,
                            "reason": answer.abstain_reason,
                        }
                    )
                progress.advance()
            progress.done()
        finally:
            osler.close()
    n_off, n_in = len(plan.off_corpus), len(plan.in_corpus)
    return {
        "foci": len(plan.foci),
        "documents_removed": removed,
        "off_corpus": {
            "questions": n_off,
            "abstained": n_off - len(answered_off),
            "abstention_rate": _rate(n_off - len(answered_off), n_off),
            "answered_from_text_naming_focus": sum(
                f["cited_text_names_focus"] for f in answered_off
            ),
        },
        "in_corpus": {
            "questions": n_in,
            "answered": n_in - len(abstained_in),
            "answer_rate": _rate(n_in - len(abstained_in), n_in),
        },
        "failures": {
            "off_corpus_answered": answered_off[:FAILURES_SHOWN],
            "in_corpus_abstained": abstained_in[:FAILURES_SHOWN],
        },
        "removed_foci_sample": plan.foci[:FAILURES_SHOWN],
    }


# --- figure 5: latency ------------------------------------------------------------------------


def _osler_command() -> list[str]:
    """The installed `osler` script beside this Python, else `python -m osler`."""
    script = Path(sys.executable).with_name("osler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "osler"]


def cli_cold_start(data_dir: Path, question: str, runs: int = CLI_RUNS) -> dict[str, Any]:
    """Wall-clock ms of `osler ask QUESTION --format json --data-dir D` as a new process."""
    command = [*_osler_command(), "ask", question, "--format", "json", "--data-dir", str(data_dir)]
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
        times.append((time.perf_counter() - began) * 1000)
        if done.returncode != 0:
            raise BenchmarkError(f"`osler ask` failed ({done.returncode}): {done.stderr[-500:]}")
        Answer.model_validate_json(done.stdout)
    return {
        "runs_ms": [round(t, 1) for t in times],
        "median": round(metrics.percentile(times, 50), 1),
        "question": question,
    }


# --- the whole benchmark ----------------------------------------------------------------------


def run_answers(
    data_dir: Path,
    *,
    limit: int | None = None,
    shared: Path | None = None,
    seed: int = SEED,
    cli_runs: int = CLI_RUNS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the five figures on the corpus in `data_dir` and return the report.

    `limit` caps every question set (default: 300 MedQuAD questions, 100 off-corpus foci and as
    many in-corpus questions). `data_dir` is only read: figure 4 works on a copy.
    """
    shared = shared or settings.load().shared_data
    progress = progress or Progress()
    if not stored(data_dir):
        raise BenchmarkError(f"{data_dir} holds no Osler store: run `osler ingest` first")
    rows = medquad_rows(shared)
    osler = Osler.open(data_dir=data_dir)
    try:
        if osler.empty:
            raise BenchmarkError("the corpus is empty: ingest data first")
        documents = osler.documents
        eligible = [r for r in rows if r.gold in documents]
        if not eligible:
            raise BenchmarkError("no MedQuAD question has its gold page in this corpus")
        size = SAMPLE if limit is None else limit
        sample = random.Random(seed).sample(eligible, min(size, len(eligible)))
        bench = Bench(osler)
        for row in sample[:WARMUP]:
            bench.ask(row.question)
        present, answers = run_quality(
            bench, sample, hide_gold=False, progress=progress, name="gold indexed"
        )
        hidden, _ = run_quality(
            bench, sample, hide_gold=True, progress=progress, name="gold removed"
        )
        foci = sorted({r.focus for r in rows if r.focus})
        verifier = {
            "tuned": measure(VERIFIER_SENTENCES, seed, shared),
            "held_out": measure(VERIFIER_SENTENCES, seed, shared, held_out=True),
            "answers": measure_items(statement_items(answers), foci, VERIFIER_SENTENCES, seed),
        }
        report: dict[str, Any] = {
            "quality": {
                "questions": len(sample),
                "available": len(eligible),
                "audience": AUDIENCE,
                "gold_indexed": summarise_quality(present),
                "gold_removed": summarise_quality(hidden),
            },
            "faithfulness": summarise_faithfulness(present + hidden),
            "verifier": verifier,
        }
        n_off = OFF_CORPUS if limit is None else min(OFF_CORPUS, limit)
        report["abstention"] = run_abstention(
            data_dir, rows, documents, n=n_off, seed=seed, progress=progress
        )
        report["latency_ms"] = {
            "ask_warm": metrics.latency_summary([r["ms"] for r in present]),
            "cli_cold": None,
        }
        report["corpus"] = corpus_info(osler)
        dense = osler.dense
    finally:
        osler.close()
    if cli_runs:
        progress.start("cold CLI", cli_runs)
        report["latency_ms"]["cli_cold"] = cli_cold_start(data_dir, sample[0].question, cli_runs)
        progress.advance(cli_runs)
        progress.done()
    report["settings"] = {
        "seed": seed,
        "limit": limit,
        "audience": AUDIENCE,
        "composer": "extractive",
        "dense": dense,
        "verifier_sentences": VERIFIER_SENTENCES,
        "min_synonym_chars": MIN_SYNONYM,
    }
    report["figures"] = figures(report)
    report["targets"] = [f for f in report["figures"] if f["target"]]
    return report


# --- figures, targets, table ------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure as a row: figure, measure, value, target (or None) and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(
        figure: str, measure: str, value: str, target: str | None = None, met: Any = None
    ) -> None:
        out.append(
            {"figure": figure, "measure": measure, "value": value, "target": target, "met": met}
        )

    q = report["quality"]
    for key, label in (
        ("gold_indexed", "gold page indexed"),
        ("gold_removed", "gold page removed"),
    ):
        m = q[key]
        figure = f"1. quality, {label} ({q['questions']} q)"
        add(figure, "ROUGE-L F1 (abstentions score 0)", f"{m['rouge_l_f1']:.3f}")
        add(figure, "ROUGE-L F1 of the answers given", f"{m['rouge_l_f1_answered']:.3f}")
        add(figure, "answers citing the gold page", _pct(m["gold_cited"]))
        if key == "gold_removed":
            add(figure, "answers citing another page on the focus", _pct(m["same_focus_cited"]))
        add(figure, "abstained", _pct(m["abstention_rate"]))
    f = report["faithfulness"]
    add(
        "2. citation faithfulness",
        f"statements verbatim in every quote they cite ({f['faithful']:,} of {f['statements']:,})",
        _pct(f["share"]),
        "100%",
        f["share"] == 1.0,
    )
    labels = {
        "tuned": "MedQuAD + PubMedQA (tuning set)",
        "held_out": "MedicationQA (held out)",
        "answers": "answer statements (figure 1)",
    }
    for key, label in labels.items():
        v = report["verifier"][key]
        n_bad = sum(c["n"] for k, c in v["corrupted"].items() if k in CORRUPTIONS)
        n_good = sum(c["n"] for c in v["supported"].values())
        figure = f"3. verifier, {label}"
        add(
            figure,
            f"recall on corrupted ({n_bad:,})",
            f"{v['recall']:.3f}",
            ">= 0.95",
            v["recall"] >= 0.95,
        )
        add(
            figure,
            f"false alarms on supported ({n_good:,})",
            _pct(v["false_alarm_rate"]),
            "<= 5%",
            v["false_alarm_rate"] <= 0.05,
        )
    a = report["abstention"]
    off, inside = a["off_corpus"], a["in_corpus"]
    figure = f"4. abstention ({a['foci']} foci, {a['documents_removed']:,} documents removed)"
    add(
        figure,
        f"off-corpus questions abstained ({off['questions']})",
        _pct(off["abstention_rate"]),
        ">= 90%",
        off["abstention_rate"] >= 0.90,
    )
    named = off["answered_from_text_naming_focus"]
    add(
        figure,
        "off-corpus answered from passages still naming the condition",
        f"{named} of {off['questions'] - off['abstained']}",
    )
    add(
        figure,
        f"in-corpus questions answered ({inside['questions']})",
        _pct(inside["answer_rate"]),
        ">= 95%",
        inside["answer_rate"] >= 0.95,
    )
    warm = report["latency_ms"]["ask_warm"]
    add(
        "5. latency",
        f"ask, warm, p50 ({warm['n']} q)",
        f"{warm['p50']:.1f} ms",
        "<= 150 ms",
        warm["p50"] <= 150,
    )
    add("5. latency", "ask, warm, p95", f"{warm['p95']:.1f} ms")
    cold = report["latency_ms"]["cli_cold"]
    if cold:
        add(
            "5. latency",
            f"cold `osler ask` process, median of {len(cold['runs_ms'])}",
            f"{cold['median']:.0f} ms",
        )
    return out


def figures_table(title: str, figures: list[dict[str, Any]]) -> Table:
    """Benchmark figures as a rich table: each figure against its target, met in colour."""
    table = Table(title=title, title_justify="left")
    for column in ("figure", "measure", "value", "target", "met"):
        table.add_column(column, justify="right" if column == "value" else "left")
    previous = None
    for f in figures:
        if previous and f["figure"] != previous:
            table.add_section()
        met = "" if f["met"] is None else "[green]yes[/]" if f["met"] else "[red]no[/]"
        table.add_row(
            f["figure"] if f["figure"] != previous else "",
            f["measure"],
            f["value"],
            f["target"] or "",
            met,
        )
        previous = f["figure"]
    return table


def tables(report: dict[str, Any]) -> list[Table]:
    """The report as a rich table: each figure against its target."""
    return [figures_table("Answer benchmark", report["figures"])]
