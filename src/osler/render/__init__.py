"""Render an Answer as terminal text, Markdown, JSON or an HTML fragment (source text escaped)."""

from __future__ import annotations

from osler.models import Answer

FORMATS = ("text", "markdown", "json", "html")


def render(answer: Answer, fmt: str, *, show_rejected: bool = False) -> str:
    """The answer in one of FORMATS (text is plain; the CLI prints rich output itself);
    `show_rejected` adds the model statements that failed a check (JSON always has them)."""
    if fmt == "json":
        return answer.model_dump_json(indent=2)
    if fmt == "markdown":
        from osler.render.markdown import to_markdown

        return to_markdown(answer, show_rejected=show_rejected)
    if fmt == "html":
        from osler.render.html import to_html

        return to_html(answer, show_rejected=show_rejected)
    if fmt == "text":
        from osler.render.terminal import to_text

        return to_text(answer, show_rejected=show_rejected)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
