"""Terminal rendering with rich: headings, bullets, [n] citations, the reference list."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

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
    rejected_lines,
    review_lines,
)


def _cites(statement: Statement) -> str:
    flag = "" if statement.supported else " [red](unsupported)[/]"
    return "".join(f"[cyan]\\[{n}][/]" for n in statement.citations) + flag


def renderable(answer: Answer, *, show_rejected: bool = False) -> Group:
    """The answer as rich renderables; `show_rejected` adds the model statements that failed
    a check."""
    parts: list[object] = [Text(answer.title, style="bold underline")]
    if answer.notice:
        parts.append(Panel(escape(answer.notice), style="bold red"))
    for line in review_lines(answer):
        parts.append(Text(line, style="yellow" if answer.status != "approved" else "green"))
    head, items = split_items(bottom_line_text(answer))
    parts.append(
        f"[bold]{bottom_line_label(answer)}:[/] {escape(head)} {_cites(answer.bottom_line)}"
    )
    parts += [f"    - {escape(item)}" for item in items]
    for section in answer.sections:
        parts.append(Text("\n" + section.heading, style="bold"))
        for s in section.items:
            head, items = split_items(s.text)
            parts.append(f"  • {escape(head)} {_cites(s)}")
            parts += [f"      - {escape(item)}" for item in items]
    if answer.evidence_table:
        columns = glance_columns(answer)
        table = Table(title=GLANCE_HEADING, title_justify="left", show_lines=False)
        for heading in ["Study", "Design", *(h for _, h in columns)]:
            table.add_column(heading, overflow="fold")
        for row in answer.evidence_table:
            table.add_row(
                f"{escape(row.study)} [cyan]\\[{row.citation}][/]",
                escape(row.design),
                *(escape(row.figures.get(kind, "")) for kind, _ in columns),
            )
        parts.append(table)
    if answer.glossary:
        parts.append(Text("\nTerms used", style="bold"))
        for g in answer.glossary:
            parts.append(
                f"  • [bold]{escape(g.term)}[/]: {escape(g.definition)} [cyan]\\[{g.citation}][/]"
            )
    if answer.questions_to_ask:
        parts.append(Text("\n" + QUESTIONS_HEADING, style="bold"))
        parts.append(Text("  " + QUESTIONS_NOTE, style="dim"))
        parts.extend(f"  • {escape(q)}" for q in answer.questions_to_ask)
    if answer.references:
        parts.append(Text("\nReferences", style="bold"))
        for r in answer.references:
            year = f", {r.year}" if r.year else ""
            section = reference_section(r)
            where = f" › {escape(section)}" if section else ""
            parts.append(
                f"  [cyan]\\[{r.n}][/] {escape(r.title)}{where} [dim]({escape(r.source)}{year}; "
                f"{escape(r.evidence_level.label)})[/]"
                + "".join(f" [dim]{escape(note)}.[/]" for note in reference_notes(r))
                + (f" [link={r.url}]{escape(r.url)}[/link]" if r.url else "")
            )
    if show_rejected and answer.rejected:
        parts.append(Text("\n" + REJECTED_HEADING, style="bold red"))
        for text, why, quotes in rejected_lines(answer):
            parts.append(f"  ✗ {escape(text)} [red]({escape(why)})[/]")
            parts += [f"      [dim]quote: {escape(q)}[/]" for q in quotes]
    if answer.composer_note:
        parts.append(Text(f"\nComposer: {answer.composer} ({answer.composer_note})", style="dim"))
    parts.append(Text("\n" + answer.disclaimer, style="dim italic"))
    return Group(*parts)


def to_text(answer: Answer, width: int = 100, *, show_rejected: bool = False) -> str:
    """Plain text (no colour codes) of the rich rendering."""
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)  # noqa: SIM115
    console.print(renderable(answer, show_rejected=show_rejected))
    return console.export_text()
