"""`osler users|review|articles|audit ...`: the editorial workflow from the terminal.

The CLI acts for the user named with `--as` (or $OSLER_USER): whoever runs it has the data
directory in hand, so it trusts the name but still applies every role and transition rule.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from osler.models import Answer, Article, ArticleStatus, Role, User
from osler.review import articles, auth, rules, staleness
from osler.review.export import FORMATS, export
from osler.service import Osler
from osler.settings import load
from osler.store import ReviewStore, StaleRevision, Store, open_stores

console = Console()
err = Console(stderr=True)

users_app = typer.Typer(help="Editorial team: users, roles and API tokens.", no_args_is_help=True)
review_app = typer.Typer(help="Articles through review: list, show, act.", no_args_is_help=True)
articles_app = typer.Typer(help="Export articles.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory.")]
AsUser = Annotated[
    str | None, typer.Option("--as", envvar="OSLER_USER", help="Act as this user (or $OSLER_USER).")
]
Comment = Annotated[str, typer.Option("--comment", "-m", help="Comment for the audit trail.")]
Revision = Annotated[
    int | None,
    typer.Option("--revision", help="Act only if the article is still at this revision."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def _stores(data_dir: Path | None) -> Iterator[tuple[Store, ReviewStore]]:
    """The corpus store and the editorial tables beside it."""
    stores = open_stores(load().with_data_dir(data_dir))
    try:
        yield stores.corpus, stores.reviews
    finally:
        stores.close()


@contextmanager
def _reviews(data_dir: Path | None) -> Iterator[ReviewStore]:
    with _stores(data_dir) as (_, reviews):
        yield reviews


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]Error:[/] {escape(message)}")
    return typer.Exit(1)


def _article(reviews: ReviewStore, article_id: str) -> Article:
    article = reviews.article(article_id)
    if article is None:
        raise _fail(f"no article {article_id!r}")
    return article


def _acting(reviews: ReviewStore, name: str | None) -> User:
    if not name:
        raise _fail("say who acts with --as NAME (or set OSLER_USER)")
    user = reviews.user(name)
    if user is None or not user.active:
        raise _fail(f"no active user {name!r}; add one with: osler users add {name} --role editor")
    return user


# --- users --------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[list[Role], typer.Option("--role", help="reader, editor, reviewer, admin.")],
    credentials: Annotated[str, typer.Option(help="Shown on approved articles.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the web password from stdin.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Add a user (with a web password if --password-stdin)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with _reviews(data_dir) as reviews:
        try:
            name = auth.clean_name(name)
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        if reviews.user(name):
            raise _fail(f"user {name!r} exists (names compare case-insensitively)")
        try:
            hashed = auth.hash_password(password) if password is not None else None
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        user = reviews.add_user(name, list(dict.fromkeys(role)), credentials, hashed)
    console.print(f"Added {escape(user.signature)} ({', '.join(user.roles)}).")


@users_app.command("list")
def users_list(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """The editorial team."""
    with _reviews(data_dir) as reviews:
        users = reviews.users()
    if as_json:
        print(json.dumps([u.model_dump(mode="json") for u in users], indent=2))
        return
    table = Table("name", "roles", "credentials", "active")
    for u in users:
        table.add_row(escape(u.name), ", ".join(u.roles), escape(u.credentials), str(u.active))
    console.print(table)


@users_app.command("token")
def users_token(
    name: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Make an API token for a user; it is printed once (only its hash is kept)."""
    with _reviews(data_dir) as reviews:
        user = reviews.user(name)
        if user is None:
            raise _fail(f"no user {name!r}")
        print(auth.new_token(reviews, user, label))


# --- review ------------------------------------------------------------------------------


@review_app.command("list")
def review_list(
    status: Annotated[
        ArticleStatus | None, typer.Option("--status", help="Only articles in this status.")
    ] = None,
    flagged: Annotated[bool, typer.Option("--flagged", help="Only those needing re-review.")] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Articles, newest change first."""
    with _reviews(data_dir) as reviews:
        found = reviews.articles(status.value if status else None, flagged=flagged)
    if as_json:
        print(json.dumps([a.model_dump(mode="json") for a in found], indent=2))
        return
    table = Table("id", "status", "audience", "version", "question", "updated")
    for a in found:
        flag = " (re-review)" if a.needs_re_review else ""
        table.add_row(
            a.id, a.status.value + flag, a.audience, str(a.latest_version), escape(a.question),
            a.updated_at,
        )
    console.print(table)


@review_app.command("show")
def review_show(
    article_id: str,
    version: Annotated[int | None, typer.Option(help="Version number (default: latest).")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """An article: status, the version's answer, and its diff to the previous version."""
    with _reviews(data_dir) as reviews:
        article = _article(reviews, article_id)
        v = reviews.version(article_id, version or article.latest_version)
        if v is None:
            raise _fail(f"article {article_id} has no version {version}")
        approvers = reviews.approvers(article_id, v.number)
    if as_json:
        print(export(article, v, approvers, "json"))
        return
    print(export(article, v, approvers, "markdown"))
    console.print(
        f"[dim]revision {article.revision}; status {article.status.value}; "
        f"version {v.number} by {escape(v.author)}[/]"
    )
    if v.diff:
        console.print("[bold]Changes from the previous version[/]")
        print(v.diff)


@review_app.command("create")
def review_create(
    question: str,
    audience: Annotated[str, typer.Option(help="clinician, student or patient.")] = "clinician",
    as_user: AsUser = None,
    data_dir: DataDir = None,
) -> None:
    """Answer a question now and save it as a draft article."""
    with Osler.open(data_dir=data_dir) as osler:
        user = _acting(osler.reviews, as_user)
        try:
            article = osler.create_article(question, audience, user)
        except rules.Denied as exc:
            raise _fail(str(exc)) from exc
    console.print(f"Created article {article.id} (draft, version 1).")


@review_app.command("edit")
def review_edit(
    article_id: str,
    file: Annotated[
        Path | None, typer.Option("--file", help="Answer JSON to save as the new version.")
    ] = None,
    regenerate: Annotated[
        bool, typer.Option("--regenerate", help="Answer the question again on today's corpus.")
    ] = False,
    comment: Comment = "",
    revision: Revision = None,
    as_user: AsUser = None,
    data_dir: DataDir = None,
) -> None:
    """Save a new version of an article (from a file, or regenerated)."""
    if bool(file) == regenerate:
        raise typer.BadParameter("give exactly one of --file or --regenerate")
    with Osler.open(data_dir=data_dir) as osler:
        reviews = osler.reviews
        user = _acting(reviews, as_user)
        article = _article(reviews, article_id)
        if file:
            try:
                answer = Answer.model_validate_json(file.read_text())
            except (OSError, ValueError) as exc:
                raise _fail(f"cannot read an answer from {file}: {exc}") from exc
        else:
            answer = osler.fresh_answer(article.question, article.audience)
        with _rule_errors():
            article = articles.edit(
                reviews, article_id, answer, user, revision or article.revision, comment,
                osler.store, composed=not file,
            )
    console.print(f"Saved version {article.latest_version}; status {article.status.value}.")


def _act(action: str, article_id: str, comment: str, revision: int | None, as_user: str | None,
         data_dir: Path | None) -> None:
    with _reviews(data_dir) as reviews:
        user = _acting(reviews, as_user)
        article = _article(reviews, article_id)
        with _rule_errors():
            after = articles.transition(
                reviews, article_id, action, user, revision or article.revision, comment,
                load().editorial,
            )
    console.print(f"{article_id}: {article.status.value} -> {after.status.value}")


@contextmanager
def _rule_errors() -> Iterator[None]:
    try:
        yield
    except (rules.Denied, rules.NotAllowedNow, StaleRevision, ValueError) as exc:
        raise _fail(str(exc)) from exc


#: The workflow actions as commands: name, help.
ACTION_COMMANDS = {
    "submit": "Submit a draft for review (editor).",
    "start": "Start reviewing a submitted article (reviewer).",
    "approve": "Approve the article's latest version (a reviewer who did not edit it).",
    "request_changes": "Send the article back to its editors (reviewer).",
    "archive": "Withdraw an article from service (editor or admin).",
}


def _action_command(action: str, help_text: str) -> Callable[..., None]:
    def command(
        article_id: str,
        comment: Comment = "",
        revision: Revision = None,
        as_user: AsUser = None,
        data_dir: DataDir = None,
    ) -> None:
        _act(action, article_id, comment, revision, as_user, data_dir)

    command.__doc__ = help_text
    return command


for _action, _help in ACTION_COMMANDS.items():
    review_app.command(_action.replace("_", "-"))(_action_command(_action, _help))


@review_app.command("check")
def review_check(data_dir: DataDir = None) -> None:
    """Re-ask every approved article's question; flag those whose evidence changed."""
    with Osler.open(data_dir=data_dir) as osler:
        flags = show_flags(osler.check_articles())
    if not flags:
        console.print("No approved article needs re-review.")


def show_flags(flags: list[staleness.Flag]) -> list[staleness.Flag]:
    """A line per article flagged by the staleness check (also used after `osler ingest`)."""
    for f in flags:
        console.print(
            f"[yellow]Needs re-review[/] {f.article.id} {escape(f.article.question)}: "
            f"{escape(f.reason)}"
        )
    return flags


# --- articles, audit ------------------------------------------------------------------------


@articles_app.command("export")
def articles_export(
    article_id: str,
    fmt: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
    version: Annotated[
        int | None, typer.Option(help="Version (default: the approved one, else the latest).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Export an article version."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with _reviews(data_dir) as reviews:
        article = _article(reviews, article_id)
        number = version or article.approved_version or article.latest_version
        v = reviews.version(article_id, number)
        if v is None:
            raise _fail(f"article {article_id} has no version {number}")
        print(export(article, v, reviews.approvers(article_id, number), fmt))


def audit(
    article: Annotated[str | None, typer.Option("--article", help="Only this article.")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """The append-only audit trail: who did what, when, from which status to which."""
    with _reviews(data_dir) as reviews:
        entries = reviews.audit(article)
    if as_json:
        print(json.dumps([e.model_dump() for e in entries], indent=2))
        return
    table = Table("#", "when", "who", "article", "action", "from -> to", "version", "comment")
    for e in entries:
        moved = f"{e.from_status or ''} -> {e.to_status}" if e.to_status else ""
        table.add_row(
            str(e.seq), e.at, escape(e.actor), e.article_id or "", e.action, moved,
            str(e.version or ""), escape(e.comment),
        )
    console.print(table)
