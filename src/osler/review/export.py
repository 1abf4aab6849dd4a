"""An article's version as Markdown (with its editorial header) or JSON."""

from __future__ import annotations

import json

from osler.models import Article, ArticleVersion, User
from osler.render.markdown import esc, to_markdown

FORMATS = ("markdown", "json")


def export(article: Article, version: ArticleVersion, reviewers: list[User], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            {
                "article": article.model_dump(mode="json"),
                "version": version.model_dump(mode="json", exclude={"answer"}),
                "reviewed_by": [u.signature for u in reviewers],
                "answer": version.answer.model_dump(mode="json"),
            },
            indent=2,
        )
    if fmt != "markdown":
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    status = article.status.value.replace("_", " ")
    served = version.number == article.approved_version
    header = [
        f"<!-- Osler article {article.id}, version {version.number} -->",
        f"*Status: {'approved' if served else status} · version {version.number} · "
        f"last updated {(article.approved_at if served else version.created_at) or ''}*",
    ]
    if served and reviewers:
        header.append("*Reviewed by " + "; ".join(esc(u.signature) for u in reviewers) + "*")
    if article.needs_re_review and article.re_review_reason:
        header.append(f"*New evidence available: {esc(article.re_review_reason)}*")
    return "\n".join(header) + "\n\n" + to_markdown(version.answer)
