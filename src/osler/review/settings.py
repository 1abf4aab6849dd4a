"""Editorial settings from the environment (defaults suit a single-site deployment)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_POLICY = Path(__file__).with_name("policy.md")


@dataclass(frozen=True)
class EditorialSettings:
    #: Distinct reviewers that must approve a version before it is served as approved.
    required_approvals: int = 1
    #: Similarity (0-1, content words) above which an approved article answers a new question.
    match_threshold: float = 0.8
    #: Save each newly generated answer as a draft article for the board.
    save_drafts: bool = True
    #: Markdown file rendered as the editorial policy page.
    policy_path: Path = DEFAULT_POLICY
    #: Web readers must sign in (default: reading is public).
    require_login: bool = False

    @classmethod
    def from_env(cls) -> EditorialSettings:
        env = os.environ
        try:
            approvals = int(env.get("OSLER_REQUIRED_APPROVALS", "1"))
            threshold = float(env.get("OSLER_ARTICLE_MATCH", "0.8"))
        except ValueError as exc:
            raise ValueError(f"bad editorial setting: {exc}") from exc
        if approvals < 1 or not 0 < threshold <= 1:
            raise ValueError("OSLER_REQUIRED_APPROVALS must be >= 1, OSLER_ARTICLE_MATCH in (0, 1]")
        return cls(
            required_approvals=approvals,
            match_threshold=threshold,
            save_drafts=env.get("OSLER_SAVE_DRAFTS", "1") not in {"0", "false", "no"},
            policy_path=Path(env.get("OSLER_EDITORIAL_POLICY", str(DEFAULT_POLICY))),
            require_login=env.get("OSLER_REQUIRE_LOGIN", "0") in {"1", "true", "yes"},
        )
