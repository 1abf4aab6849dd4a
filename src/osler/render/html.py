"""An HTML fragment of an answer (Jinja2, autoescaped); the web app embeds the same fragment."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape

from osler.audience import QUESTIONS_HEADING, QUESTIONS_NOTE
from osler.lists import split_items
from osler.models import Answer, Statement
from osler.render.markdown import (
    GLANCE_HEADING,
    REJECTED_HEADING,
    bottom_line_label,
    bottom_line_text,
    glance_columns,
    reference_notes,
    reference_section,
    review_lines,
)


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("osler.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def to_html(
    answer: Answer, passage_base: str | None = None, *, show_rejected: bool = False
) -> str:
    """The fragment; `passage_base` (e.g. "/passages/") adds "view in document" links;
    `show_rejected` (editors) lists the model statements that failed a check."""
    return (
        environment()
        .get_template("answer.html")
        .render(
            answer=answer,
            passage_base=passage_base,
            show_rejected=show_rejected,
            **answer_globals(),
        )
    )


def answer_globals() -> dict[str, object]:
    """What the answer fragment needs besides the answer (care-team wording, review lines)."""
    return {
        "questions_heading": QUESTIONS_HEADING,
        "questions_note": QUESTIONS_NOTE,
        "review_lines": review_lines,
        "bottom_line_label": bottom_line_label,
        "bottom_line_text": bottom_line_text,
        "reference_section": reference_section,
        "reference_notes": reference_notes,
        "glance_columns": glance_columns,
        "glance_heading": GLANCE_HEADING,
        "split_items": split_items,
        "rejected_heading": REJECTED_HEADING,
        "reworded": reworded,
    }


def reworded(statement: Statement) -> list[str]:
    """The quotes a statement rewords (its original wording; [] when it copies them)."""
    def plain(text: str) -> str:
        return " ".join(text.lower().split()).rstrip(".")

    return [q for q in statement.quotes if plain(q) != plain(statement.text)]
