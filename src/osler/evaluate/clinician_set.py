"""The clinician question set of `osler eval clinician`: gold resolution and validation.

One file, tests/data/clinician_questions.jsonl (see docs/answers.md, "Clinician questions"):
questions written the way clinicians type them ("first-line tx for metastatic pancreatic
adenocarcinoma", "boxed warning warfarin") from the PDQ health-professional summaries, the NGC
guideline summaries, the NICE, FDA and WHO PDFs, the PMC trials and the Cochrane reviews of the
shared data. Each line:

``{"id", "question", "type", "gold", "source_kind", "split", "answer"}``

* ``gold``: the documents that answer it, as Osler ids (``nci:types/.../hp/...``,
  ``ngc:10397``, ``pmc:PMC59610``, ``cochrane:CD000370``) or, for a PDF, as its file under the
  shared data (``guideline_pdfs/nice/nice_lisinopril_guideline_hypertension_2019.pdf``), which
  the benchmark resolves to the ingested document by its file name (`pdf_documents`);
* ``answer``: short phrases of the answer as the gold states it ("2550 mg"), each of which must
  occur in the text of a gold document: the check greps them, so a gold is known to hold the
  answer, not only to be about the topic;
* ``split``: fixed by a hash of the id (`osler.evaluate.retrieval.split_of`), written once.

Everything is checked against the shared data itself (the files), not an ingested corpus.
"""

from __future__ import annotations

import csv
import html
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osler.evaluate import natural_set as ns
from osler.evaluate.natural_set import Check, read_jsonl, write_jsonl
from osler.evaluate.retrieval import SPLITS, BenchmarkError, split_of

CLINICIAN_FILE = ns.DATA / "clinician_questions.jsonl"

#: Question types, in the order reports list them.
TYPES = ("treatment", "diagnosis", "dosing", "prognosis", "screening", "adverse_effects")
#: Where a question was written from.
SOURCE_KINDS = ("pdq", "ngc", "pdf", "trial", "cochrane")
FIELDS = ("id", "question", "type", "gold", "source_kind", "split", "answer")
MIN_QUESTIONS = 120
MIN_PER_TYPE = 15
#: A phrase of the answer is at least this many characters (a bare "5" proves nothing).
MIN_ANSWER_CHARS = 3
PDF_FOLDER = "guideline_pdfs"


# --- gold ids -----------------------------------------------------------------------------------


def gold_kind(gold: str) -> str | None:
    """The source kind a gold id or PDF path names ("pdq", "ngc", "pdf", "trial", "cochrane")."""
    if gold.lower().endswith(".pdf"):
        return "pdf"
    prefix = gold.split(":", 1)[0]
    return {"nci": "pdq", "ngc": "ngc", "pmc": "trial", "cochrane": "cochrane"}.get(prefix)


def is_hp_summary(doc_id: str) -> bool:
    """A cancer.gov health-professional page: `/hp/` or `-hp-` in its path."""
    path = doc_id.removeprefix("nci:")
    return doc_id.startswith("nci:") and ("/hp/" in f"/{path}/" or "-hp-" in path)


def pdf_slug(name: str) -> str:
    """The slug of a PDF's file name that begins its Osler id (`pdf:<slug>-<hash>`)."""
    stem = re.sub(r"\.pdf(\.gz)?$", "", Path(name).name, flags=re.I)
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "document"


def pdf_documents(documents: Mapping[str, Any]) -> dict[str, str]:
    """The ingested PDFs by file name: {"fda_warfarin_label_2025.pdf": "pdf:fda-warfarin-...",
    ...}, from each document's `extra["file"]` (else its id, `pdf:<slug>-<hash>`)."""
    out: dict[str, str] = {}
    slugs: dict[str, str] = {}
    for doc_id, doc in documents.items():
        if not doc_id.startswith("pdf:"):
            continue
        extra = getattr(doc, "extra", None) or {}
        if extra.get("file"):
            out.setdefault(Path(extra["file"]).name.lower(), doc_id)
        slugs[doc_id.removeprefix("pdf:").rsplit("-", 1)[0]] = doc_id
    return out | {"\0" + slug: doc_id for slug, doc_id in slugs.items()}


def resolve(gold: str, documents: Mapping[str, Any], pdfs: dict[str, str]) -> str | None:
    """The ingested document a gold names: the id itself, or the PDF of that file name (by its
    `extra["file"]`, else by the slug of its id); None when it is not in the corpus."""
    if gold_kind(gold) == "pdf":
        name = Path(gold).name.lower()
        return pdfs.get(name) or pdfs.get("\0" + pdf_slug(name))
    return gold if gold in documents else None


# --- the text of the shared data, as the answers are grepped in it ------------------------------

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_QUOTES = {ord("\u2018"): "'", ord("\u2019"): "'", ord("\u201c"): '"', ord("\u201d"): '"'}
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_CITATION = re.compile(r"\[\[[^\]]*\]\(#cit[^)]*\)(,?\s*\[[^\]]*\]\([^)]*\))*\]")
_TAG = re.compile(r"<[^>]+>")


def normalise(text: str) -> str:
    """Text as answers are looked for in it: NFKC, lower case, one kind of dash and quote, no
    soft hyphens, Markdown emphasis and table bars, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_QUOTES)
    text = text.replace("\u00ad", "").replace("\u00a0", " ")
    text = re.sub(r"[*_|`]+", " ", text)
    return " ".join(text.lower().split())


def markdown_text(text: str) -> str:
    """A cancer.gov page without its link markup ("[text](url)" -> "text")."""
    text = _MD_CITATION.sub(" ", text)
    for _ in range(2):
        text = _MD_LINK.sub(r"\1", text)
    return text


def markup_text(text: str) -> str:
    """XML or (escaped) HTML as text: tags out, entities decoded (twice: NGC values are escaped
    HTML inside XML)."""
    for _ in range(2):
        text = _TAG.sub(" ", html.unescape(text))
    return text


def pdf_text(path: Path) -> str:
    """The text of a PDF, page by page (PDFium)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(pages)
    finally:
        pdf.close()


@dataclass
class SharedGold:
    """The documents of the shared data that gold ids can name, and their text (read lazily)."""

    shared: Path
    nci: dict[str, Path]
    cochrane: dict[str, dict[str, str]]
    _texts: dict[str, str] = field(default_factory=dict)

    def path(self, gold: str) -> Path | None:
        """The file of a gold id (None for an unknown id)."""
        kind = gold_kind(gold)
        if kind == "pdf":
            path = self.shared / gold
            return path if gold.startswith(PDF_FOLDER + "/") and path.is_file() else None
        if kind == "pdq":
            return self.nci.get(gold)
        if kind == "ngc":
            m = re.fullmatch(r"ngc:(\d+)", gold)
            path = self.shared / "guidelines_ngc" / f"ngc-{m.group(1)}.xml" if m else None
            return path if path and path.is_file() else None
        if kind == "trial":
            m = re.fullmatch(r"pmc:(PMC\d+)", gold)
            path = self.shared / "pmc_rct" / "xml" / f"{m.group(1)}.nxml" if m else None
            return path if path and path.is_file() else None
        if kind == "cochrane":
            review = gold.split(":")[1] if gold.count(":") in (1, 2) else ""
            if review in self.cochrane and gold in (f"cochrane:{review}", f"cochrane:{review}:pls"):
                return self.shared / "cochrane" / "cochrane_pls.jsonl"
        return None

    def exists(self, gold: str) -> bool:
        return self.path(gold) is not None

    def text(self, gold: str) -> str:
        """The normalised text of a gold document ("" for an unknown id)."""
        if gold in self._texts:
            return self._texts[gold]
        path = self.path(gold)
        kind = gold_kind(gold)
        raw = ""
        if path is None:
            raw = ""
        elif kind == "pdf":
            raw = pdf_text(path)
        elif kind == "pdq":
            raw = markdown_text(path.read_text(encoding="utf-8", errors="replace"))
        elif kind in ("ngc", "trial"):
            raw = markup_text(path.read_text(encoding="utf-8", errors="replace"))
        elif kind == "cochrane":
            rec = self.cochrane[gold.split(":")[1]]
            raw = rec["plain_language_summary" if gold.endswith(":pls") else "abstract_results"]
        self._texts[gold] = normalise(raw)
        return self._texts[gold]

    def holds(self, gold: str, phrase: str) -> bool:
        """Whether a gold document's text holds a phrase (both normalised; for a PDF, a phrase
        broken by a line-end hyphen is found too)."""
        text, want = self.text(gold), normalise(phrase)
        return want in text or (gold_kind(gold) == "pdf" and want in text.replace("- ", ""))


def _nci_files(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.md")):
        if path.name == "SOURCE.md":
            continue
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4000)
        url = re.search(r"^url:\s*(\S+)", head, re.M)
        if url:
            out.setdefault(ns.nci_id(url.group(1)), path)
    return out


def _cochrane_reviews(path: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if path.exists():
        for rec in read_jsonl(path):
            m = re.search(r"(CD\d+)", str(rec.get("doi") or ""))
            if m:
                out.setdefault(m.group(1), rec)
    return out


def load_gold(shared: Path) -> SharedGold:
    """The gold-able documents of the shared data: cancer.gov pages by id, Cochrane reviews by
    number; NGC, PMC and PDF files are found by name."""
    if not shared.is_dir():
        raise BenchmarkError(f"no shared data at {shared}")
    nci = _nci_files(shared / "nci_pdq") if (shared / "nci_pdq").is_dir() else {}
    return SharedGold(shared, nci, _cochrane_reviews(shared / "cochrane" / "cochrane_pls.jsonl"))


# --- checking the set ---------------------------------------------------------------------------


def check_clinician(rows: list[dict[str, Any]], gold: SharedGold) -> Check:
    """Validate the clinician set against the shared data.

    Every line has the fields, a unique id, a known type and source kind, the split its id
    hashes to, a question no other line asks, gold that exists in the shared data (a PDQ
    question has a health-professional summary among its gold, and the source kind is that of
    a gold), and answer phrases each of which a gold document holds; at least MIN_QUESTIONS
    questions and MIN_PER_TYPE of each type.
    """
    errors: list[str] = []
    seen_ids: set[str] = set()
    seen_questions: dict[str, str] = {}
    for n, r in enumerate(rows, 1):
        where = f"line {n} ({r.get('id', '?')})"
        missing = [f for f in FIELDS if f not in r]
        if missing:
            errors.append(f"{where}: missing {', '.join(missing)}")
            continue
        extra = sorted(set(r) - set(FIELDS))
        if extra:
            errors.append(f"{where}: unknown field {', '.join(extra)}")
        if r["id"] in seen_ids:
            errors.append(f"{where}: duplicate id")
        seen_ids.add(r["id"])
        question = str(r["question"]).strip()
        if not question:
            errors.append(f"{where}: empty question")
        key = ns.normalise_question(question)
        if key in seen_questions:
            errors.append(f"{where}: same question as {seen_questions[key]}")
        seen_questions.setdefault(key, r["id"])
        if r["type"] not in TYPES:
            errors.append(f"{where}: unknown type {r['type']!r}")
        if r["source_kind"] not in SOURCE_KINDS:
            errors.append(f"{where}: unknown source kind {r['source_kind']!r}")
        if r["split"] != split_of(r["id"]):
            errors.append(
                f"{where}: split {r['split']!r}, but its id hashes to {split_of(r['id'])!r}"
            )
        golds = r["gold"]
        if not isinstance(golds, list) or not golds or not all(isinstance(g, str) for g in golds):
            errors.append(f"{where}: no gold ids")
            continue
        present = []
        for g in golds:
            if gold.exists(g):
                present.append(g)
            else:
                errors.append(f"{where}: gold {g} is not in the shared data")
        if r["source_kind"] not in {gold_kind(g) for g in golds}:
            errors.append(f"{where}: source kind {r['source_kind']} but no gold of that kind")
        if r["source_kind"] == "pdq" and not any(is_hp_summary(g) for g in golds):
            errors.append(f"{where}: a PDQ question without a health-professional summary")
        answers = r["answer"]
        if not isinstance(answers, list) or not answers:
            errors.append(f"{where}: no answer phrases")
            continue
        for phrase in answers:
            if len(str(phrase).strip()) < MIN_ANSWER_CHARS:
                errors.append(f"{where}: answer phrase {phrase!r} is too short")
            elif present and not any(gold.holds(g, str(phrase)) for g in present):
                errors.append(f"{where}: no gold holds the answer {phrase!r}")
    counts = clinician_counts(rows)
    for t in TYPES:
        if counts["types"].get(t, 0) < MIN_PER_TYPE:
            errors.append(
                f"type {t}: {counts['types'].get(t, 0)} questions, fewer than {MIN_PER_TYPE}"
            )
    if counts["questions"] < MIN_QUESTIONS:
        errors.append(f"{counts['questions']} questions, fewer than {MIN_QUESTIONS}")
    return Check(errors, counts)


def clinician_counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def by(key: str, names: tuple[str, ...]) -> dict[str, int]:
        c = Counter(r.get(key) for r in rows)
        return {name: c[name] for name in names if c[name]} | {
            str(k): v for k, v in c.items() if k not in names
        }

    return {
        "questions": len(rows),
        "types": by("type", TYPES),
        "source_kinds": by("source_kind", SOURCE_KINDS),
        "splits": {s: sum(r.get("split") == s for r in rows) for s in SPLITS},
        "type_by_split": {
            t: {s: sum(r.get("type") == t and r.get("split") == s for r in rows) for s in SPLITS}
            for t in TYPES
        },
        "source_by_split": {
            k: {
                s: sum(r.get("source_kind") == k and r.get("split") == s for r in rows)
                for s in SPLITS
            }
            for k in SOURCE_KINDS
        },
    }


def read_clinician(path: Path = CLINICIAN_FILE) -> list[dict[str, Any]]:
    return read_jsonl(path)


# --- Evidence Inference prompts -----------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """One Evidence Inference prompt: its article, the comparison, and the doctors' evidence."""

    id: str
    pmcid: str
    intervention: str
    comparator: str
    outcome: str
    #: The evidence spans of the annotations judged valid (Valid Reasoning), else of all.
    evidence: tuple[str, ...]
    labels: tuple[str, ...]

    @property
    def document_id(self) -> str:
        return f"pmc:PMC{self.pmcid}"

    @property
    def question(self) -> str:
        return (
            f"Does {self.intervention.strip()} compared with {self.comparator.strip()} change "
            f"{self.outcome.strip()}?"
        )


def evidence_prompts(shared: Path) -> list[Prompt]:
    """The development prompts of evidence_inference/, in file order, with their evidence."""
    folder = shared / "evidence_inference"
    prompts_csv, labels_csv = folder / "prompts_dev.csv", folder / "labels_dev.csv"
    if not prompts_csv.exists() or not labels_csv.exists():
        raise BenchmarkError(f"the evidence inference prompts are missing under {folder}")
    valid: dict[str, list[str]] = {}
    every: dict[str, list[str]] = {}
    labels: dict[str, list[str]] = {}
    with labels_csv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            pid = str(row.get("PromptID") or "")
            span = " ".join(str(row.get("Annotations") or "").split())
            if not pid or not span:
                continue
            every.setdefault(pid, []).append(span)
            if str(row.get("Valid Reasoning")).strip().lower() == "true":
                valid.setdefault(pid, []).append(span)
            if str(row.get("Valid Label")).strip().lower() == "true" and row.get("Label"):
                labels.setdefault(pid, []).append(str(row["Label"]))
    out = []
    with prompts_csv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            pid = str(row.get("PromptID") or "")
            if not pid or not str(row.get("PMCID") or "").strip():
                continue
            spans = valid.get(pid) or every.get(pid) or []
            out.append(
                Prompt(
                    pid,
                    str(row["PMCID"]).strip(),
                    str(row.get("Intervention") or ""),
                    str(row.get("Comparator") or ""),
                    str(row.get("Outcome") or ""),
                    tuple(dict.fromkeys(spans)),
                    tuple(dict.fromkeys(labels.get(pid, []))),
                )
            )
    return out


def dump(rows: list[dict[str, Any]], path: Path = CLINICIAN_FILE) -> None:
    """Write the set, each line's fields in FIELDS order."""
    write_jsonl(path, [{k: r[k] for k in FIELDS if k in r} for r in rows])


def as_json(check: Check) -> str:
    return json.dumps({"ok": check.ok, "errors": check.errors, "counts": check.counts}, indent=2)
