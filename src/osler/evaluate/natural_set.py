"""The natural-question set of `osler eval natural`: loading, gold resolution and validation.

Two files under tests/data (see docs/answers.md, "Natural questions"):

* ``natural_questions.jsonl``: questions written the way clinicians, students and patients type
  them, each with the documents that answer it (``gold``), its type, audience, topic and split;
* ``off_corpus_questions.jsonl``: questions about fabricated conditions and drugs, and
  non-medical questions, which Osler should decline.

Gold ids are checked against the shared data itself (not an ingested corpus): a MedQuAD page is
``medquad:{source}:{doc_id}``, a cancer.gov page ``nci:{url path}``, a MedicationQA answer row
``medicationqa:{row}``. A gold page must hold a section of the question's type (a MedQuAD row of
that question type, a MedicationQA row of that kind, a cancer.gov heading naming it).

The split of a question is fixed by a hash of its id (`osler.evaluate.retrieval.split_of`) and
written in the file; it never changes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from osler.evaluate.retrieval import SPLITS, BenchmarkError, split_of
from osler.retrieve.analyse import QUESTION_TYPES

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
NATURAL_FILE = DATA / "natural_questions.jsonl"
OFF_CORPUS_FILE = DATA / "off_corpus_questions.jsonl"

_ORDER = (
    "definition",
    "symptoms",
    "causes",
    "treatment",
    "diagnosis",
    "prognosis",
    "prevention",
    "risk",
    "genetics",
    "frequency",
    "side_effects",
    "dosage",
    "interactions",
    "research",
    "complications",
)
#: The question types: Osler's own (retrieve.analyse), complications, and "definition"; in the
#: order reports list them (a type Osler adds later comes last).
TYPES: tuple[str, ...] = tuple(
    sorted(
        dict.fromkeys([*(name for name, _ in QUESTION_TYPES), "complications", "definition"]),
        key=lambda t: _ORDER.index(t) if t in _ORDER else len(_ORDER),
    )
)
AUDIENCES = ("patient", "clinician", "student")
MIN_QUESTIONS = 300
MIN_PER_TYPE = 15
MIN_TOPICS = 150
MIN_NCI = 10
MIN_OFF_CORPUS = 100
#: A MedQuAD wording used this often is a template no natural question may use.
TEMPLATE_MIN = 4
FOCUS = "\0"
OFF_CORPUS_KINDS = ("condition", "drug", "non_medical")
FIELDS = ("id", "question", "type", "audience", "gold", "topic", "split")
OFF_FIELDS = ("id", "question", "kind", "name", "audience", "split")

#: MedQuAD question types that answer each natural type.
MEDQUAD_TYPES: dict[str, frozenset[str]] = {
    "definition": frozenset({"information"}),
    "symptoms": frozenset({"symptoms"}),
    "causes": frozenset({"causes"}),
    "treatment": frozenset({"treatment"}),
    "diagnosis": frozenset({"exams and tests"}),
    "prognosis": frozenset({"outlook"}),
    "prevention": frozenset({"prevention"}),
    "risk": frozenset({"susceptibility"}),
    "genetics": frozenset({"inheritance", "genetic changes"}),
    "frequency": frozenset({"frequency"}),
    "research": frozenset({"research"}),
    "complications": frozenset({"complications"}),
}
#: MedicationQA question types that answer each natural type.
MEDICATIONQA_TYPES: dict[str, frozenset[str]] = {
    "side_effects": frozenset(
        {"Side effects", "Stopping/side effects", "Side effects/time", "Time/side effects"}
    ),
    "dosage": frozenset({"Dose", "Dose/time", "Dose/Potency", "Overdose"}),
    "interactions": frozenset({"Interaction", "Combination"}),
    "definition": frozenset({"Information", "Action"}),
    "treatment": frozenset({"Indication"}),
}
#: cancer.gov headings that show a page holds a section of each type.
NCI_HEADINGS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.I)
    for name, pattern in {
        "definition": r".",
        "symptoms": r"symptom|\bsigns?\b|clinical (features|presentation)",
        "causes": r"caus|risk factors?|etiolog",
        "treatment": r"treatment|therapy|surgery|chemotherapy|radiation",
        "diagnosis": r"diagnos|\btests?\b|screening|detect|biops|staging|stage information",
        "prognosis": r"prognos|outlook|survival|chance of recovery",
        "prevention": r"prevent|reduc\w* (the )?risk",
        "risk": r"risk",
        "genetics": r"genetic|inherit|heredit|\bgenes?\b|syndrome",
        "frequency": r"incidence|how common|prevalence|epidemiology",
        "research": r"clinical trials?|research|new types of treatment",
        "side_effects": r"side effects?|adverse|toxicit|late effects",
        "dosage": r"\bdos(e|es|ing|age)\b",
        "interactions": r"interact",
        "complications": r"complication|late effects|side effects",
    }.items()
}


# --- the shared data, as the set is checked against it --------------------------------------


@dataclass
class MedquadPage:
    """One MedQuAD page: its focus, source, URL and the question types it answers."""

    id: str
    focus: str
    source: str
    url: str
    synonyms: set[str] = field(default_factory=set)
    answers: dict[str, str] = field(default_factory=dict)  # question type -> answer text


@dataclass
class NciPage:
    """One cancer.gov page: its title, URL and headings."""

    id: str
    title: str
    url: str
    headings: list[str]


@dataclass
class MedicationRow:
    row: str
    drug: str
    kind: str
    question: str
    answer: str = ""


@dataclass
class SharedIndex:
    """What the set's gold ids are checked against: the pages of the shared data."""

    medquad: dict[str, MedquadPage]
    nci: dict[str, NciPage]
    medicationqa: dict[str, MedicationRow]
    #: Every MedQuAD question, normalised.
    medquad_questions: set[str]
    #: MedQuAD's question wordings, the focus replaced by FOCUS, with how often each is used.
    templates: Counter[str] = field(default_factory=Counter)

    def exists(self, doc_id: str) -> bool:
        return doc_id in self.medquad or doc_id in self.nci or doc_id in self.medicationqa

    def types_of(self, doc_id: str) -> set[str]:
        """The natural question types a page has a section of."""
        if doc_id in self.medquad:
            have = set(self.medquad[doc_id].answers)
            return {t for t, names in MEDQUAD_TYPES.items() if have & names}
        if doc_id in self.medicationqa:
            kind = self.medicationqa[doc_id].kind
            return {t for t, names in MEDICATIONQA_TYPES.items() if kind in names}
        if doc_id in self.nci:
            headings = self.nci[doc_id].headings
            return {t for t, p in NCI_HEADINGS.items() if any(p.search(h) for h in headings)}
        return set()

    def nci_twin(self, doc_id: str) -> str | None:
        """The cancer.gov page at the same URL as a MedQuAD CancerGov page, if there is one."""
        page = self.medquad.get(doc_id)
        if page is None or page.source != "CancerGov":
            return None
        twin = nci_id(page.url)
        return twin if twin in self.nci else None

    def pages_about(self, focus: str) -> list[str]:
        """MedQuAD pages whose focus is `focus` (case and spacing ignored)."""
        key = _key(focus)
        return [d for d, p in self.medquad.items() if _key(p.focus) == key]


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def nci_id(url: str) -> str:
    """`nci:` + the URL path without its leading slash ("nci:types/gallbladder/hp/...")."""
    return "nci:" + urlparse(url.strip()).path.strip("/")


def _nci_header(text: str) -> tuple[str, str]:
    title = re.search(r"^title:\s*(.+)$", text, re.M)
    url = re.search(r"^url:\s*(\S+)", text, re.M)
    return (
        (title.group(1).strip().strip("'\"") if title else ""),
        (url.group(1).strip() if url else ""),
    )


def nci_pages(folder: Path) -> dict[str, NciPage]:
    """Every cancer.gov Markdown page under `folder`, by `nci:` id."""
    out: dict[str, NciPage] = {}
    for path in sorted(folder.rglob("*.md")):
        if path.name == "SOURCE.md":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        title, url = _nci_header(text[:4000])
        if not url:
            continue
        headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
        page_id = nci_id(url)
        out.setdefault(page_id, NciPage(page_id, title, url, headings))
    return out


def load_index(shared: Path) -> SharedIndex:
    """MedQuAD pages, cancer.gov pages and MedicationQA rows of the shared data."""
    path = shared / "medquad" / "medquad.jsonl"
    if not path.exists():
        raise BenchmarkError(f"the medquad data is missing: no {path}")
    medquad: dict[str, MedquadPage] = {}
    questions: set[str] = set()
    templates: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            doc_id = f"medquad:{r['source']}:{r['doc_id']}"
            page = medquad.setdefault(
                doc_id,
                MedquadPage(
                    doc_id, str(r.get("focus") or ""), r["source"], str(r.get("url") or "")
                ),
            )
            page.synonyms.update(str(s) for s in r.get("focus_synonyms") or [])
            qtype = str(r.get("question_type") or "")
            page.answers[qtype] = (page.answers.get(qtype, "") + " " + str(r["answer"])).strip()
            question = normalise_question(str(r.get("question") or ""))
            questions.add(question)
            focus = normalise_question(page.focus)
            if focus and focus in question:
                templates[question.replace(focus, FOCUS)] += 1
    medication: dict[str, MedicationRow] = {}
    mqa = shared / "medicationqa" / "medicationqa.jsonl"
    if mqa.exists():
        with mqa.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    row = str(r["row"])
                    medication[f"medicationqa:{row}"] = MedicationRow(
                        row,
                        str(r.get("Focus (Drug)") or "").strip(),
                        str(r.get("Question Type") or "").strip(),
                        str(r.get("Question") or ""),
                        str(r.get("Answer") or ""),
                    )
    nci = nci_pages(shared / "nci_pdq") if (shared / "nci_pdq").is_dir() else {}
    return SharedIndex(medquad, nci, medication, questions, templates)


# --- resolving gold ids while writing ---------------------------------------------------------


def resolve_gold(
    index: SharedIndex,
    qtype: str,
    *,
    foci: Iterable[str] = (),
    drugs: Iterable[str] = (),
    extra: Iterable[str] = (),
) -> list[str]:
    """The gold ids of a question: the MedQuAD pages on each focus with a section of the type
    (with their cancer.gov twins), the MedicationQA rows on each drug of a fitting kind, and the
    `extra` ids as given."""
    out: list[str] = []
    for focus in foci:
        for doc_id in index.pages_about(focus):
            if qtype in index.types_of(doc_id):
                out.append(doc_id)
                twin = index.nci_twin(doc_id)
                if twin:
                    out.append(twin)
    wanted = {_key(d) for d in drugs}
    for doc_id, row in index.medicationqa.items():
        if _key(row.drug) in wanted and qtype in index.types_of(doc_id):
            out.append(doc_id)
    out.extend(extra)
    return list(dict.fromkeys(out))


# --- reading and checking the files -----------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise BenchmarkError(f"the question set is missing: no {path}")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


def normalise_question(text: str) -> str:
    """A question as compared for duplicates: lower case, words only."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def template_patterns(
    templates: Counter[str], min_count: int = TEMPLATE_MIN
) -> dict[str, re.Pattern[str]]:
    """MedQuAD's question wordings used at least `min_count` times ("what are the treatments
    for X"), each with its pattern on normalised questions."""
    out = {}
    for template, n in templates.most_common():
        if n >= min_count:
            parts = [re.escape(p.strip()) for p in template.split(FOCUS)]
            out[template.replace(FOCUS, "X")] = re.compile("^" + r"\s*(.+?)\s*".join(parts) + "$")
    return out


def template_of(question: str, patterns: dict[str, re.Pattern[str]]) -> str | None:
    """The MedQuAD wording a question is in ("what causes X"), or None."""
    text = normalise_question(question)
    return next((t for t, pattern in patterns.items() if pattern.match(text)), None)


@dataclass
class Check:
    """What checking a set found: errors (the set is invalid) and its counts."""

    errors: list[str]
    counts: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_natural(rows: list[dict[str, Any]], index: SharedIndex) -> Check:
    """Validate the natural-question set against the shared data.

    Every line has the fields, a unique id, a known type and audience, the split its id hashes
    to, and gold ids that exist in the shared data and hold a section of the question's type;
    no question repeats another or is worded as MedQuAD's templates (or is a MedQuAD or
    MedicationQA question);
    at least MIN_QUESTIONS questions, MIN_PER_TYPE of each type, MIN_TOPICS topics and MIN_NCI
    with a cancer.gov gold page.
    """
    errors: list[str] = []
    patterns = template_patterns(index.templates)
    medication_questions = {normalise_question(r.question) for r in index.medicationqa.values()}
    seen_ids: set[str] = set()
    seen_questions: dict[str, str] = {}
    for n, r in enumerate(rows, 1):
        where = f"line {n} ({r.get('id', '?')})"
        missing = [f for f in FIELDS if f not in r]
        if missing:
            errors.append(f"{where}: missing {', '.join(missing)}")
            continue
        if r["id"] in seen_ids:
            errors.append(f"{where}: duplicate id")
        seen_ids.add(r["id"])
        question = str(r["question"])
        if not question.strip():
            errors.append(f"{where}: empty question")
        key = normalise_question(question)
        if key in seen_questions:
            errors.append(f"{where}: same question as {seen_questions[key]}")
        seen_questions.setdefault(key, r["id"])
        template = template_of(question, patterns)
        if template:
            errors.append(f"{where}: worded as MedQuAD's template {template!r}")
        if key in index.medquad_questions:
            errors.append(f"{where}: a MedQuAD question")
        if key in medication_questions:
            errors.append(f"{where}: a MedicationQA question (that part asks those)")
        if r["type"] not in TYPES:
            errors.append(f"{where}: unknown type {r['type']!r}")
        if r["audience"] not in AUDIENCES:
            errors.append(f"{where}: unknown audience {r['audience']!r}")
        if r["split"] != split_of(r["id"]):
            errors.append(
                f"{where}: split {r['split']!r}, but its id hashes to {split_of(r['id'])!r}"
            )
        if not str(r["topic"]).strip():
            errors.append(f"{where}: no topic")
        gold = r["gold"]
        if not isinstance(gold, list) or not gold:
            errors.append(f"{where}: no gold ids")
            continue
        # The cancer.gov twin of a MedQuAD CancerGov page is gold with it, as the newer copy of
        # the same page, even where it has dropped the section (its type is not checked).
        twins = {index.nci_twin(d) for d in gold} - {None}
        for doc_id in gold:
            if not index.exists(doc_id):
                errors.append(f"{where}: gold {doc_id} is not in the shared data")
            elif r["type"] not in index.types_of(doc_id) and doc_id not in twins:
                errors.append(f"{where}: gold {doc_id} has no {r['type']} section")
        for doc_id in gold:
            twin = index.nci_twin(doc_id)
            if twin and twin not in gold:
                errors.append(f"{where}: gold {doc_id} has a cancer.gov twin {twin} not listed")
    counts = natural_counts(rows)
    for t in TYPES:
        if counts["types"].get(t, 0) < MIN_PER_TYPE:
            errors.append(
                f"type {t}: {counts['types'].get(t, 0)} questions, fewer than {MIN_PER_TYPE}"
            )
    if counts["questions"] < MIN_QUESTIONS:
        errors.append(f"{counts['questions']} questions, fewer than {MIN_QUESTIONS}")
    if counts["topics"] < MIN_TOPICS:
        errors.append(f"{counts['topics']} topics, fewer than {MIN_TOPICS}")
    if counts["nci_gold"] < MIN_NCI:
        errors.append(
            f"{counts['nci_gold']} questions with a cancer.gov gold page, fewer than {MIN_NCI}"
        )
    return Check(errors, counts)


def natural_counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "questions": len(rows),
        "types": dict(Counter(r.get("type") for r in rows).most_common()),
        "audiences": dict(Counter(r.get("audience") for r in rows).most_common()),
        "splits": {s: sum(r.get("split") == s for r in rows) for s in SPLITS},
        "topics": len({_key(str(r.get("topic", ""))) for r in rows}),
        "nci_gold": sum(any(str(g).startswith("nci:") for g in r.get("gold", [])) for r in rows),
        "medicationqa_gold": sum(
            any(str(g).startswith("medicationqa:") for g in r.get("gold", [])) for r in rows
        ),
    }


# --- the off-corpus set -----------------------------------------------------------------------

#: Words of a fabricated name that say what kind of thing it is, not which: they occur in real
#: titles and are not checked.
GENERIC_NAME_WORDS = frozenset(
    """syndrome disease disorder deficiency fever virus infection palsy dystrophy anemia
    anaemia encephalopathy neuropathy myopathy dysplasia tablets tablet cream injection capsules
    drops spray gel patch oral extended release type of the and with in plus hydrochloride
    sodium""".split()
)


def name_words(name: str) -> list[str]:
    """The distinctive words of a fabricated name (lower case, generic words dropped)."""
    return [
        w
        for w in re.findall(r"[a-z0-9]+", name.lower())
        if w not in GENERIC_NAME_WORDS and len(w) > 2
    ]


def shared_titles(shared: Path) -> Iterator[str]:
    """Every title and name the shared data gives its documents: MedQuAD foci and synonyms,
    MedicationQA drugs and section titles, cancer.gov titles, Cochrane review and PMC and PubMed
    article titles, guideline titles, guideline PDF names."""
    path = shared / "medquad" / "medquad.jsonl"
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                yield str(r.get("focus") or "")
                yield from (str(s) for s in r.get("focus_synonyms") or [])
    mqa = shared / "medicationqa" / "medicationqa.jsonl"
    if mqa.exists():
        for r in read_jsonl(mqa):
            yield str(r.get("Focus (Drug)") or "")
            yield str(r.get("Section Title") or "")
    for path in sorted((shared / "nci_pdq").rglob("*.md")):
        yield _nci_header(path.read_text(encoding="utf-8", errors="replace")[:4000])[0]
    cochrane = shared / "cochrane" / "cochrane_pls.jsonl"
    if cochrane.exists():
        for r in read_jsonl(cochrane):
            yield str(r.get("title") or "")
    title_tag = re.compile(r"<(?:article-title|ArticleTitle)[^>]*>(.*?)</", re.S)
    for folder in ("pmc_rct", "pubmed_xml_samples"):
        for path in sorted((shared / folder).rglob("*")):
            if path.suffix in (".xml", ".nxml"):
                yield from title_tag.findall(path.read_text(encoding="utf-8", errors="replace"))
    ngc_title = re.compile(r'Name="Guideline Title"[^>]*>\s*<FieldValue Value="([^"]*)"')
    for path in sorted((shared / "guidelines_ngc").glob("*.xml")):
        with path.open(encoding="utf-8", errors="replace") as fh:
            yield from ngc_title.findall(fh.read(20000))
    for path in sorted((shared / "guideline_pdfs").rglob("*.pdf")):
        yield path.stem.replace("_", " ")


def title_vocabulary(shared: Path) -> set[str]:
    """The lower-cased words of every title in the shared data."""
    words: set[str] = set()
    for title in shared_titles(shared):
        words.update(re.findall(r"[a-z0-9]+", title.lower()))
    return words


def text_words(shared: Path) -> set[str]:
    """The lower-cased words of the text the corpus is built from: MedQuAD and MedicationQA
    records, cancer.gov pages, BioASQ questions and snippets, PubMedQA abstracts, Cochrane
    summaries (a few seconds)."""
    words: set[str] = set()
    token = re.compile(r"[a-z0-9]+")
    files = [
        shared / "medquad" / "medquad.jsonl",
        shared / "medicationqa" / "medicationqa.jsonl",
        shared / "pubmedqa" / "ori_pqal.json",
        shared / "cochrane" / "cochrane_pls.jsonl",
        *sorted((shared / "nci_pdq").rglob("*.md")),
        *sorted((shared / "bioasq").rglob("*.json")),
    ]
    for path in files:
        if path.exists():
            words.update(token.findall(path.read_text(encoding="utf-8", errors="replace").lower()))
    return words


def name_vocabulary(shared: Path) -> set[str]:
    """Every word a fabricated name must avoid: those of the shared data's titles and text."""
    return title_vocabulary(shared) | text_words(shared)


def check_off_corpus(rows: list[dict[str, Any]], vocabulary: set[str]) -> Check:
    """Validate the off-corpus set: fields, unique ids and questions, the hashed split, a kind, a
    name for each fabricated condition or drug, no distinctive word of which is in `vocabulary`
    (e.g. the words of the shared data's titles, `title_vocabulary`, or of its titles and text,
    `name_vocabulary`); at least MIN_OFF_CORPUS questions."""
    errors: list[str] = []
    seen_ids: set[str] = set()
    seen_questions: set[str] = set()
    for n, r in enumerate(rows, 1):
        where = f"line {n} ({r.get('id', '?')})"
        missing = [f for f in OFF_FIELDS if f not in r]
        if missing:
            errors.append(f"{where}: missing {', '.join(missing)}")
            continue
        if r["id"] in seen_ids:
            errors.append(f"{where}: duplicate id")
        seen_ids.add(r["id"])
        key = normalise_question(str(r["question"]))
        if key in seen_questions:
            errors.append(f"{where}: duplicate question")
        seen_questions.add(key)
        if r["split"] != split_of(r["id"]):
            errors.append(
                f"{where}: split {r['split']!r}, but its id hashes to {split_of(r['id'])!r}"
            )
        if r["kind"] not in OFF_CORPUS_KINDS:
            errors.append(f"{where}: unknown kind {r['kind']!r}")
        if r["audience"] not in AUDIENCES:
            errors.append(f"{where}: unknown audience {r['audience']!r}")
        if r["kind"] == "non_medical":
            continue
        words = name_words(str(r["name"]))
        if not words:
            errors.append(f"{where}: no distinctive word in the name {r['name']!r}")
        for w in words:
            if w in vocabulary:
                errors.append(f"{where}: {w!r} of {r['name']!r} occurs in the shared data")
        if not all(w in key for w in words):
            errors.append(f"{where}: the question does not name {r['name']!r}")
    counts = {
        "questions": len(rows),
        "kinds": dict(Counter(r.get("kind") for r in rows).most_common()),
        "audiences": dict(Counter(r.get("audience") for r in rows).most_common()),
        "splits": {s: sum(r.get("split") == s for r in rows) for s in SPLITS},
    }
    if len(rows) < MIN_OFF_CORPUS:
        errors.append(f"{len(rows)} questions, fewer than {MIN_OFF_CORPUS}")
    return Check(errors, counts)
