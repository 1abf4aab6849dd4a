"""Ingest formats by name, and detection of a file's format from its name and first bytes."""

from __future__ import annotations

import gzip
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

from osler.ingest.base import Parser


@dataclass(frozen=True)
class Format:
    """One ingestible format: its name, parser location and a description for --help."""

    name: str
    module: str
    description: str
    #: The parser takes `progress=`: a callback that hears the share of the file done, for
    #: files that are one long record (a 940-page PDF) and so advance no bar record by record.
    progress: bool = False

    def parser(self) -> Parser:
        return importlib.import_module(self.module).parse


FORMATS: dict[str, Format] = {
    f.name: f
    for f in [
        Format("medquad", "osler.ingest.medquad", "MedQuAD JSONL (one QA pair a line)"),
        Format("medquad-xml", "osler.ingest.medquad", "MedQuAD original XML (<Document><QAPairs>)"),
        Format(
            "pubmed", "osler.ingest.pubmed", "PubMed efetch / MEDLINE baseline XML (.xml, .xml.gz)"
        ),
        Format("jats", "osler.ingest.jats", "PMC JATS full-text XML (.nxml, .xml)"),
        Format("medline", "osler.ingest.medline", "MEDLINE text format (PMID- tagged records)"),
        Format("bioasq", "osler.ingest.bioasq", "BioASQ Task B gold JSON (snippets by PMID)"),
        Format("pubmedqa", "osler.ingest.pubmedqa", "PubMedQA JSON (contexts by PMID)"),
        Format("medicationqa", "osler.ingest.medicationqa", "MedicationQA JSONL"),
        Format(
            "cancer-gov",
            "osler.ingest.pdq",
            "cancer.gov pages as Markdown with YAML header (PDQ summaries, health-professional "
            "and patient versions)",
        ),
        Format("ngc", "osler.ingest.ngc", "National Guideline Clearinghouse summary XML"),
        Format(
            "cochrane",
            "osler.ingest.cochrane",
            "Cochrane review results + plain-language summary JSONL",
        ),
        Format(
            "pdf",
            "osler.ingest.pdf",
            "PDF (guidelines, drug labels); optional NAME.pdf.yaml sidecar",
            progress=True,
        ),
        Format("markdown", "osler.ingest.local", "Markdown with optional YAML front matter"),
        Format("html", "osler.ingest.local", "HTML page"),
        Format("text", "osler.ingest.local", "Plain text with optional YAML front matter"),
    ]
}

#: Metadata sidecars: NAME.pdf.yaml belongs to NAME.pdf (see osler.ingest.pdf).
SIDECAR = re.compile(r"^(.+\.pdf)\.ya?ml$", re.I)


def sidecar_of(path: Path) -> Path | None:
    """The PDF a metadata sidecar belongs to (which may not exist), or None if not a sidecar."""
    match = SIDECAR.match(path.name)
    return path.with_name(match.group(1)) if match else None


#: File names that document a dataset folder rather than hold sources (skipped in folder walks).
DOC_FILE = re.compile(
    r"^(readme|source|license|licence|changelog|copying|notice)(\.[a-z]+)?$", re.I
)


TEXT_SUFFIXES = (
    ".jsonl",
    ".json",
    ".xml",
    ".nxml",
    ".md",
    ".markdown",
    ".html",
    ".htm",
    ".txt",
    ".text",
    ".medline",
    ".nbib",
    ".pdf",
)


#: The YAML header of a cancer.gov page (front matter url on www.cancer.gov).
_CANCER_GOV = re.compile(r"^url:\s*['\"]?https?://www\.cancer\.gov/", re.M)


class UnknownFormat(ValueError):
    """The file's format could not be recognised; the message says why."""


def _head(path: Path, size: int = 8192) -> bytes:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        return fh.read(size)


def detect(path: Path) -> str:
    """The format name of a file, from its extension and first bytes; UnknownFormat if none fits."""
    name = path.name.lower()
    try:
        head = _head(path)
    except (OSError, EOFError) as exc:
        raise UnknownFormat(f"cannot read file: {exc}") from exc
    if not head.strip():
        raise UnknownFormat("empty file")
    stem = name.removesuffix(".gz")
    if not stem.endswith(TEXT_SUFFIXES):
        raise UnknownFormat(f"unsupported file type {path.suffix or '(no extension)'!r}")
    if stem.endswith(".pdf"):
        if not head.lstrip().startswith(b"%PDF-"):
            raise UnknownFormat("not a PDF (no %PDF- header)")
        return "pdf"
    if b"\x00" in head:
        raise UnknownFormat("binary data (NUL bytes), not a text format")
    text = head.decode("utf-8", errors="replace")
    if stem.endswith(".jsonl"):
        if '"question_type"' in text and '"answer"' in text:
            return "medquad"
        if '"Question"' in text and '"Answer"' in text:
            return "medicationqa"
        if '"plain_language_summary"' in text and '"doi"' in text:
            return "cochrane"
        raise UnknownFormat("JSONL file whose records are not MedQuAD, MedicationQA or Cochrane")
    if stem.endswith(".json"):
        if '"questions"' in text and ('"snippets"' in text or '"body"' in text):
            return "bioasq"
        if '"QUESTION"' in text and '"CONTEXTS"' in text:
            return "pubmedqa"
        raise UnknownFormat("JSON file that is not BioASQ or PubMedQA (benchmark or label file?)")
    if stem.endswith((".xml", ".nxml")):
        if "<PubmedArticleSet" in text or "<PubmedArticle>" in text or "<PubmedBookArticle" in text:
            return "pubmed"
        if re.search(r"<(pmc-articleset|article)[\s>]", text) or "JATS" in text:
            return "jats"
        if "<QAPairs" in text or ("<Document" in text and "<Focus" in text):
            return "medquad-xml"
        if "<Section " in text and "<Field " in text and "<FieldValue" in text:
            return "ngc"
        raise UnknownFormat("XML that is not PubMed, PMC JATS, MedQuAD or an NGC guideline")
    if stem.endswith((".md", ".markdown")):
        if _CANCER_GOV.search(text.split("\n---", 1)[0] if text.startswith("---") else ""):
            return "cancer-gov"
        return "markdown"
    if stem.endswith((".html", ".htm")):
        return "html"
    if stem.endswith((".txt", ".text", ".medline", ".nbib")):
        if re.match(r"\s*PMID-", text):
            return "medline"
        return "text"
    raise UnknownFormat(f"unsupported file type {path.suffix or '(no extension)'!r}")
