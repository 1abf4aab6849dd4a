"""Markdown rendering. Source text is escaped so that no HTML in a document survives."""

from __future__ import annotations

import html
import re

from osler.audience import QUESTIONS_HEADING, QUESTIONS_NOTE
from osler.lists import split_items
from osler.models import Answer, Reference, Statement
from osler.retrieve.rank import GENERIC_SECTIONS

_MD = re.compile(r"([\\`*_\[\]#|])")


def esc(text: str) -> str:
    """Text safe inside Markdown: HTML entities escaped, Markdown punctuation backslashed."""
    return _MD.sub(r"\\\1", html.escape(text, quote=False))


def cites(statement: Statement) -> str:
    flag = "" if statement.supported else " *(unsupported: failed the citation check)*"
    return "".join(f" [{n}]" for n in statement.citations) + flag


def _item(statement: Statement) -> list[str]:
    """A statement; a lead-in with " - " list items becomes a nested list."""
    head, items = split_items(statement.text)
    if items:
        return [f"- {esc(head)}{cites(statement)}", *[f"  - {esc(i)}" for i in items]]
    return [f"- {esc(statement.text)}{cites(statement)}"]


PENDING = "Pending human review: this answer has not yet been approved by the medical advisory board."


ABSTAINED_LABEL = "Insufficient evidence"


def bottom_line_label(answer: Answer) -> str:
    """The label before the bottom line, which for an abstention is the verdict itself."""
    return ABSTAINED_LABEL if answer.abstained else "Bottom line"


def bottom_line_text(answer: Answer) -> str:
    """The bottom line as shown after its label: an abstention's reason without the label it
    starts with (the reason is "Insufficient evidence: ..." in the API)."""
    text = answer.bottom_line.text
    prefix = ABSTAINED_LABEL + ":"
    if answer.abstained and text.startswith(prefix):
        return text[len(prefix) :].strip()
    return text


def reference_section(ref: Reference) -> str | None:
    """The section a reference's passage lies in, when it tells the reader something: not a
    generic one ("Abstract"), and not already in the title ("Metformin: HOW SUPPLIED")."""
    section = (ref.section or "").strip()
    if not section or GENERIC_SECTIONS.match(section) or section.lower() in ref.title.lower():
        return None
    return section


#: The columns of "evidence at a glance": (figure kind, heading).
FIGURE_COLUMNS = (
    ("patients", "Patients"),
    ("survival", "Survival"),
    ("effect", "Effect"),
    ("ci", "95% CI"),
    ("p", "P"),
    ("rate", "Rate"),
)
GLANCE_HEADING = "Evidence at a glance"


def glance_columns(answer: Answer) -> list[tuple[str, str]]:
    """The figure columns some row of the answer's evidence table fills."""
    return [c for c in FIGURE_COLUMNS if any(c[0] in row.figures for row in answer.evidence_table)]


def reference_notes(ref: Reference) -> list[str]:
    """What else a reader should know of a reference: its page, the source's own grade of the
    statement, what the passage rests on, and the age of a guideline (plain text)."""
    notes = []
    if ref.page:
        notes.append(f"p. {ref.page}")
    if ref.grade:
        notes.append(ref.grade)
    if ref.supported_by:
        notes.append("supported by: " + "; ".join(ref.supported_by))
    if ref.age_note:
        notes.append(ref.age_note)
    return notes


def review_lines(answer: Answer) -> list[str]:
    """The editorial status lines every renderer shows (plain text, not yet escaped)."""
    if answer.status != "approved":
        return [PENDING]
    lines = [
        "Approved by the medical advisory board"
        + (f" (reviewed by {'; '.join(answer.reviewed_by)})" if answer.reviewed_by else "")
        + (f"; last updated {answer.last_updated[:10]}" if answer.last_updated else "")
        + "."
    ]
    if answer.new_evidence:
        lines.append(f"New evidence available, awaiting re-review: {answer.new_evidence}")
    return lines


def _cell(text: str) -> str:
    """A table cell: escaped, pipes and line breaks taken out."""
    return esc(text).replace("|", "\\|").replace("\n", " ")


#: The heading of the model statements that failed a check (editors, --show-unsupported).
REJECTED_HEADING = "Model statements rejected by the checks (not part of the answer)"


def rejected_lines(answer: Answer) -> list[tuple[str, str, list[str]]]:
    """(statement, "check: reason", quotes) of each rejected model statement."""
    return [
        (r.text, f"{r.check}: {'; '.join(r.reasons) or 'failed'}", r.quotes)
        for r in answer.rejected
    ]


def to_markdown(answer: Answer, *, show_rejected: bool = False) -> str:
    lines = [f"# {esc(answer.title)}", ""]
    if answer.notice:
        lines += [f"> **{esc(answer.notice)}**", ""]
    for line in review_lines(answer):
        lines += [f"*{esc(line)}*", ""]
    label = bottom_line_label(answer)
    head, items = split_items(bottom_line_text(answer))
    lines += [f"**{label}:** {esc(head)}{cites(answer.bottom_line)}", ""]
    if items:
        lines += [*[f"- {esc(item)}" for item in items], ""]
    for section in answer.sections:
        lines += [f"## {esc(section.heading)}", ""]
        for statement in section.items:
            lines += _item(statement)
        lines.append("")
    if answer.evidence_table:
        columns = glance_columns(answer)
        lines += [f"## {GLANCE_HEADING}", ""]
        lines.append("| Study | Design | " + " | ".join(h for _, h in columns) + " |")
        lines.append("| --- | --- | " + " | ".join("---" for _ in columns) + " |")
        for row in answer.evidence_table:
            cells = [_cell(row.figures.get(kind, "")) for kind, _ in columns]
            lines.append(
                f"| {_cell(row.study)} [{row.citation}] | "
                f"{_cell('; '.join(filter(None, [row.design, row.grade])))} | "
                + " | ".join(cells)
                + " |"
            )
        lines.append("")
    if answer.glossary:
        lines += ["## Terms used", ""]
        for g in answer.glossary:
            lines.append(f"- **{esc(g.term)}**: {esc(g.definition)} [{g.citation}]")
        lines.append("")
    if answer.questions_to_ask:
        lines += [f"## {QUESTIONS_HEADING}", "", f"*{QUESTIONS_NOTE}*", ""]
        lines += [f"- {esc(q)}" for q in answer.questions_to_ask]
        lines.append("")
    if answer.references:
        lines += ["## References", ""]
        for r in answer.references:
            year = f", {r.year}" if r.year else ""
            link = f" <{r.url}>" if r.url else ""
            section = reference_section(r)
            where = f" ({esc(section)})" if section else ""
            notes = "".join(f" {esc(note)}." for note in reference_notes(r))
            lines.append(
                f"{r.n}. {esc(r.title)}{where}. {esc(r.source)}{year}. "
                f"*{r.evidence_level.label}*.{notes}{link}"
            )
            lines.append(f"   > {esc(r.quote)}")
        lines.append("")
    if show_rejected and answer.rejected:
        lines += [f"## {REJECTED_HEADING}", ""]
        for text, why, quotes in rejected_lines(answer):
            lines.append(f"- ~~{esc(text)}~~ ({esc(why)})")
            lines += [f"  > {esc(q)}" for q in quotes]
        lines.append("")
    if answer.composer_note:
        lines += [f"*Composer: {esc(answer.composer)} ({esc(answer.composer_note)})*", ""]
    lines += ["---", f"*{esc(answer.disclaimer)}*", ""]
    return "\n".join(lines)
