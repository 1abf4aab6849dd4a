"""How a lead-in and its list are written in source text, in one place for composer and renderers.

A list is a lead-in ending in ":" followed by items, each after a " - " separator on the same
line ("Treatment may include: - Surgery. - Chemotherapy.") or at the start of a line of its own
("- Surgery"). MedQuAD writes both, sometimes in one list, and an item may hold several
sentences.
"""

from __future__ import annotations

import re

#: The separator before an item: " - " within a line, or a line break and "- ".
ITEM_SEPARATOR = re.compile(r"(?: |\n)- ")


def split_items(text: str) -> tuple[str, list[str]]:
    """The lead-in and the items of a list text; (text, []) when it is not a list."""
    head, *items = ITEM_SEPARATOR.split(text)
    if not items or not head.rstrip().endswith(":"):
        return text, []
    return head, [item.strip() for item in items]


def is_list(text: str) -> bool:
    """Whether a text is a lead-in followed by list items."""
    return bool(split_items(text)[1])


def opens_list(sentence: str) -> bool:
    """Whether a sentence starts a list: it ends with ":", or its first item follows inline
    ("Treatment may include the following: - Surgery ...")."""
    return sentence.rstrip().endswith(":") or bool(re.search(r":\s+- ", sentence))
