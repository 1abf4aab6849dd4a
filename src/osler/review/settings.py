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
    #: Failed sign-ins allowed per account, and per client address, before backoff starts.
    login_free_per_account: int = 5
    login_free_per_address: int = 20
    #: Backoff (seconds) after the last free failed sign-in, doubling with each failure after it
    #: up to the longest.
    login_base_backoff: float = 1.0
    login_max_backoff: float = 900.0

    @classmethod
    def from_env(cls) -> EditorialSettings:
        env = os.environ
        try:
            approvals = int(env.get("OSLER_REQUIRED_APPROVALS", "1"))
            threshold = float(env.get("OSLER_ARTICLE_MATCH", "0.8"))
            per_account = int(env.get("OSLER_LOGIN_ATTEMPTS_PER_ACCOUNT", "5"))
            per_address = int(env.get("OSLER_LOGIN_ATTEMPTS_PER_ADDRESS", "20"))
            base = float(env.get("OSLER_LOGIN_BASE_BACKOFF", "1"))
            backoff = float(env.get("OSLER_LOGIN_MAX_BACKOFF", "900"))
        except ValueError as exc:
            raise ValueError(f"bad editorial setting: {exc}") from exc
        if approvals < 1 or not 0 < threshold <= 1:
            raise ValueError("OSLER_REQUIRED_APPROVALS must be >= 1, OSLER_ARTICLE_MATCH in (0, 1]")
        if per_account < 1 or per_address < 1 or not 0 < base <= backoff:
            raise ValueError(
                "OSLER_LOGIN_ATTEMPTS_* must be >= 1, 0 < OSLER_LOGIN_BASE_BACKOFF <= "
                "OSLER_LOGIN_MAX_BACKOFF"
            )
        return cls(
            required_approvals=approvals,
            match_threshold=threshold,
            save_drafts=env.get("OSLER_SAVE_DRAFTS", "1") not in {"0", "false", "no"},
            policy_path=Path(env.get("OSLER_EDITORIAL_POLICY", str(DEFAULT_POLICY))),
            require_login=env.get("OSLER_REQUIRE_LOGIN", "0") in {"1", "true", "yes"},
            login_free_per_account=per_account,
            login_free_per_address=per_address,
            login_base_backoff=base,
            login_max_backoff=backoff,
        )
