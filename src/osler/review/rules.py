"""Who may do what to an article, and which status follows: the one place these rules live.

Every path that changes an article (CLI, API, web form) calls `check_transition` or
`check_edit` before writing, so the rules are enforced and tested once.
"""

from __future__ import annotations

from dataclasses import dataclass

from osler.models import Article, ArticleStatus, Role, User

S = ArticleStatus


class Denied(Exception):
    """The user may not do this (HTTP 403)."""


class NotAllowedNow(Exception):
    """The action does not apply to the article in its current status (HTTP 409)."""


@dataclass(frozen=True)
class Rule:
    """An action: the statuses it starts from, the status it leads to, who may take it."""

    sources: frozenset[ArticleStatus]
    target: ArticleStatus
    roles: frozenset[Role]
    label: str


RULES: dict[str, Rule] = {
    "submit": Rule(frozenset({S.DRAFT}), S.SUBMITTED, frozenset({Role.EDITOR}), "Submit for review"),
    "start": Rule(
        frozenset({S.SUBMITTED}), S.UNDER_REVIEW, frozenset({Role.REVIEWER}), "Start review"
    ),
    "approve": Rule(frozenset({S.UNDER_REVIEW}), S.APPROVED, frozenset({Role.REVIEWER}), "Approve"),
    "request_changes": Rule(
        frozenset({S.SUBMITTED, S.UNDER_REVIEW}),
        S.CHANGES_REQUESTED,
        frozenset({Role.REVIEWER}),
        "Request changes",
    ),
    "archive": Rule(
        frozenset(set(S) - {S.ARCHIVED}), S.ARCHIVED, frozenset({Role.EDITOR, Role.ADMIN}), "Archive"
    ),
}
#: Roles that may create articles and edit them (each edit is a new version).
EDIT_ROLES = frozenset({Role.EDITOR})
#: Roles that manage users and tokens.
ADMIN_ROLES = frozenset({Role.ADMIN})
#: Roles that see drafts and the review queue.
STAFF_ROLES = frozenset({Role.EDITOR, Role.REVIEWER, Role.ADMIN})


def has_role(user: User | None, roles: frozenset[Role]) -> bool:
    return user is not None and user.active and bool(roles & set(user.roles))


def check_transition(
    user: User | None,
    action: str,
    article: Article,
    *,
    editors_since_approval: set[str],
    approvals: list[int],
    required_approvals: int = 1,
) -> ArticleStatus:
    """The status `action` leads to, or raise `Denied` / `NotAllowedNow` with the reason.

    - only the roles of the rule may act (an admin approves only if also a reviewer);
    - nobody approves a version they (co-)edited since the last approval;
    - a reviewer approves a version once; the article is approved when `required_approvals`
      distinct reviewers have approved its latest version (until then it stays under review).
    """
    rule = RULES.get(action)
    if rule is None:
        raise NotAllowedNow(f"unknown action {action!r}; use one of {', '.join(RULES)}")
    if user is None:
        raise Denied("sign in first")
    if not has_role(user, rule.roles):
        roles = " or ".join(sorted(rule.roles))
        raise Denied(f"{user.name} may not {action.replace('_', ' ')}: it needs the {roles} role")
    if article.status not in rule.sources:
        raise NotAllowedNow(
            f"cannot {action.replace('_', ' ')} an article that is {article.status.value.replace('_', ' ')}"
        )
    if action == "approve":
        if user.name in editors_since_approval:
            raise Denied(f"{user.name} edited this version and cannot approve it")
        if user.id in approvals:
            raise NotAllowedNow(f"{user.name} has already approved version {article.latest_version}")
        if len(set(approvals) | {user.id}) < required_approvals:
            return S.UNDER_REVIEW
    return rule.target


def check_edit(user: User | None, article: Article) -> ArticleStatus:
    """The status after an edit: an approved article goes back to draft (the approved version
    keeps being served); changes requested goes back to submitted; others keep theirs."""
    if user is None:
        raise Denied("sign in first")
    if not has_role(user, EDIT_ROLES):
        raise Denied(f"{user.name} may not edit articles: it needs the editor role")
    if article.status is S.ARCHIVED:
        raise NotAllowedNow("cannot edit an archived article")
    return {S.APPROVED: S.DRAFT, S.CHANGES_REQUESTED: S.SUBMITTED}.get(article.status, article.status)


def check_create(user: User | None) -> None:
    if user is None:
        raise Denied("sign in first")
    if not has_role(user, EDIT_ROLES):
        raise Denied(f"{user.name} may not create articles: it needs the editor role")


def check_admin(user: User | None) -> None:
    if user is None:
        raise Denied("sign in first")
    if not has_role(user, ADMIN_ROLES):
        raise Denied(f"{user.name} may not manage users: it needs the admin role")


def allowed_actions(user: User | None, article: Article) -> list[str]:
    """Actions to offer this user on this article (the forms still re-check on submit)."""
    return [
        name
        for name, rule in RULES.items()
        if article.status in rule.sources and has_role(user, rule.roles)
    ]
