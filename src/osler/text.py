"""Text as Osler reads what people type: one normalisation used by every entry point.

NFKC (full-width letters, ligatures, non-breaking spaces), no invisible characters (zero-width
spaces, joiners, bidi controls, soft hyphens: Unicode format characters; control characters;
lone surrogates), straight quotes and ASCII hyphens, single spaces.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    }
)  # fmt: skip
_SPACES = re.compile(r"\s+")


def _visible(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category in ("Cf", "Cs", "Co", "Cn"):
        return False
    return category != "Cc" or ch in "\n\t"


def normalise(text: str) -> str:
    """The text as one line: NFKC, invisible characters dropped, quotes and dashes plain."""
    text = "".join(ch for ch in text if _visible(ch))
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _SPACES.sub(" ", text).strip()


#: Words too general to show that a sentence or source is about a question's topic.
GENERIC = frozenset(
    "disease diseases syndrome syndromes disorder disorders condition conditions problem problems "
    "infection infections type types adult adults child children childhood chronic acute severe "
    "mild cancer cancers tumor tumors symptoms treatment patients health medical drug drugs "
    "medicine medicines done related associated".split()
)

_POSSESSIVE = re.compile(r"['\u2019]s\b|['\u2019]", re.I)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens as answers compare them: possessives dropped, hyphenated and
    dotted names split ("Crohn's" -> crohn; "iron-deficiency" -> iron, deficiency)."""
    return re.findall(r"[^\W_]+", _POSSESSIVE.sub("", text.lower()))


#: Letters two forms of a word may differ by at the end ("metastases", "metastatic").
SAME_WORD_ENDING = 3


def same_word(key: str, token: str) -> bool:
    """Whether a text token is the key word, give or take an ending ("dystrophy" and
    "dystrophies", "syndrome" and "syndromes"; not "hydroxylase" and "hydroxysteroid")."""
    if key == token:
        return True
    if len(key) <= 3 or any(c.isdigit() for c in key):
        return False  # codes and numbers match exactly
    short, long_ = sorted((key, token), key=len)
    if long_ in (short + "s", short + "es") or (short.endswith("y") and long_ == short[:-1] + "ies"):
        return True  # a plural ("stone", "stones"; "artery", "arteries")
    shared = next((i for i, (a, b) in enumerate(zip(key, token, strict=False)) if a != b), None)
    shared = min(len(key), len(token)) if shared is None else shared
    return shared >= max(6, min(len(key), len(token)) - SAME_WORD_ENDING)


def stems(text: str) -> frozenset[str]:
    """Crude stems (first 6 characters) of the tokens, single letters included ("protein C")."""
    return frozenset(w[:6] for w in tokens(text))
