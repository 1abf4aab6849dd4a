"""Osler's settings: one typed tree, read once at start.

Values come from (highest first) the arguments given in code, environment variables, an
optional TOML file (`osler.toml` in the working directory, or the file `$OSLER_CONFIG` names),
then the defaults below. Every variable is listed in docs/configuration.md (`ENVIRONMENT` is
the table that page is checked against).

Environment variables are `OSLER_<FIELD>` for a top-level field (`OSLER_DATA_DIR`) and
`OSLER_<SECTION>_<FIELD>` inside a section (`OSLER_LLM_MODEL`, `OSLER_RANKING_COVERAGE`); a few
settings keep the shorter names they have always had instead (`ALIASES`: `OSLER_STORE`,
`OSLER_DENSE`, `OSLER_REQUIRED_APPROVALS` ...). An empty variable counts as unset.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PREFIX = "OSLER_"
CONFIG_ENV = "OSLER_CONFIG"
CONFIG_FILE = "osler.toml"
SQLITE_FILENAME = "osler.sqlite3"
DEFAULT_POLICY = Path(__file__).parent / "review" / "policy.md"


def default_data_dir() -> Path:
    """The per-user data directory (`~/.local/share/osler` on Linux)."""
    return Path(platformdirs.user_data_dir("osler"))


def default_shared_data() -> Path:
    """The shared sample data beside the checkout (../shared/data)."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"


class RankingWeights(BaseModel):
    """Every weight of evidence-aware ranking, in one place (each factor lies in [0, 1])."""

    model_config = ConfigDict(extra="forbid")

    relevance: float = Field(1.0, description="Fused lexical/dense relevance, normalised to [0, 1]")
    evidence: float = Field(0.12, description="Evidence level (guideline highest)")
    recency: float = Field(0.04, description="Publication year, newer higher")
    authority: float = Field(0.05, description="Source authority (see rank.AUTHORITY)")
    audience: float = Field(
        0.30,
        description="Document audience matches the reader (0.30 chosen on half of the BioASQ "
        "questions; see docs/evaluation.md)",
    )
    section: float = Field(0.15, description="Passage section matches the question type")
    focus: float = Field(
        0.15, description="Share of the question's focus words in the title or passage"
    )
    coverage: float = Field(
        0.7,
        description="Share of the question's distinct words in the title or passage, each "
        "weighted by its rarity among the candidates (coordination-level matching; 0.7 chosen "
        "on half of the BioASQ questions)",
    )
    coverage_specificity: float = Field(
        2.0,
        description="Power of each question word's corpus-wide inverse document frequency in "
        "the coverage word weights (0 = rarity among the candidates only)",
    )
    per_document: int = Field(2, description="At most this many passages per document in the top k")
    duplicate_jaccard: float = Field(
        0.8, description="Word-shingle overlap above which passages collapse"
    )
    candidates: int = Field(200, description="Candidates taken from each index before re-ranking")
    fusion: Literal["zscore", "rrf"] = Field(
        "zscore",
        description="How lexical and dense relevance combine: 'zscore' (BM25 and the dense cosine "
        "of every candidate, each standardised over the candidates, mixed by dense_share) or "
        "'rrf' (reciprocal rank fusion of the two top lists)",
    )
    dense_share: float = Field(
        0.6, description="Share of the dense cosine in 'zscore' fusion (the rest is BM25)"
    )
    rrf_k: int = Field(60, description="Reciprocal rank fusion constant ('rrf' fusion)")


class DenseSettings(BaseModel):
    """Dense retrieval (the `dense` extra: MiniLM + faiss)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(
        None,
        description="true: build and use a dense index; false: never; unset: use one when it "
        "is already built (and keep it in step)",
    )
    dtype: Literal["fp32", "bf16"] | None = Field(
        None, description="Embedding precision; unset: bf16 where the CPU has it natively"
    )


class LLMSettings(BaseModel):
    """Where the OpenAI-compatible chat endpoint is and how to call it."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field("", description="e.g. http://127.0.0.1:8080/v1; empty: no LLM")
    model: str = Field("local", description="Model name the server expects")
    api_key: str = Field("not-needed", description="API key sent to the endpoint")
    timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for one answer")
    max_tokens: int = Field(1024, gt=0, description="Most tokens the model may write")
    temperature: float = Field(0.0, ge=0, description="Sampling temperature")
    max_passages: int = Field(8, gt=0, description="Passages shown to the model")
    response_format: Literal["auto", "json_schema", "json_object", "none"] = Field(
        "auto",
        description="How the answer's JSON schema is sent: 'json_schema' (OpenAI, vLLM, "
        "llama-server, Ollama), 'json_object' with a schema (llama-cpp-python's server), "
        "'none' (asked for in the prompt only), 'auto' (try them in that order)",
    )
    min_similarity: float = Field(
        0.85,
        ge=0,
        le=1,
        description="Least embedding cosine of a statement and its quote (chosen on the tuning "
        "half of `osler eval verifier`)",
    )
    judge: bool = Field(
        False, description="Ask a second model call about each statement that passed (it can "
        "only reject)"
    )
    judge_base_url: str = Field("", description="The judge's endpoint; empty: the answering one")
    judge_model: str = Field("", description="The judge's model; empty: the answering one")

    @property
    def configured(self) -> bool:
        return bool(self.base_url.strip())


class EditorialSettings(BaseModel):
    """The editorial workflow (defaults suit a single-site deployment)."""

    model_config = ConfigDict(extra="forbid")

    required_approvals: int = Field(
        1, ge=1, description="Distinct reviewers that must approve a version before it is served"
    )
    match_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Similarity (content words) above which an approved article answers a new "
        "question",
    )
    save_drafts: bool = Field(
        True, description="Save each newly generated answer as a draft article for the board"
    )
    policy_path: Path = Field(
        DEFAULT_POLICY, description="Markdown file rendered as the editorial policy page"
    )
    require_login: bool = Field(False, description="Web readers must sign in to read answers")
    login_free_per_account: int = Field(
        5, ge=1, description="Failed sign-ins allowed per account before backoff starts"
    )
    login_free_per_address: int = Field(
        20, ge=1, description="Failed sign-ins allowed per client address before backoff starts"
    )
    login_base_backoff: float = Field(
        1.0, gt=0, description="Seconds of backoff after the last free failed sign-in (doubling)"
    )
    login_max_backoff: float = Field(900.0, gt=0, description="Longest backoff, in seconds")

    @model_validator(mode="after")
    def _backoff_order(self) -> EditorialSettings:
        if self.login_base_backoff > self.login_max_backoff:
            raise ValueError("login_base_backoff must not exceed login_max_backoff")
        return self


class WebSettings(BaseModel):
    """The web app and REST API."""

    model_config = ConfigDict(extra="forbid")

    rate_per_minute: int = Field(120, ge=0, description="Requests per minute per client (0: none)")
    trusted_proxies: str = Field(
        "",
        description="Addresses or networks (comma-separated) whose X-Forwarded-For is believed; "
        "empty: nobody's",
    )


class MCPSettings(BaseModel):
    """The MCP server (`osler mcp`): its HTTP transport and what its tools may write."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(
        "127.0.0.1",
        description="Interface the HTTP transport listens on (loopback; any other needs a token)",
    )
    port: int = Field(8001, ge=1, le=65535, description="Port of the HTTP transport")
    token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token HTTP clients must send (Authorization: Bearer ...); required "
        "when the host is not a loopback address; empty: none",
    )
    save_drafts: bool = Field(
        False,
        description="File answers newly composed for MCP calls as draft articles for the board",
    )


SECTIONS: dict[str, type[BaseModel]] = {
    "ranking": RankingWeights,
    "dense": DenseSettings,
    "llm": LLMSettings,
    "editorial": EditorialSettings,
    "web": WebSettings,
    "mcp": MCPSettings,
}

#: Settings whose variable has a name of its own (instead of OSLER_<FIELD> or
#: OSLER_<SECTION>_<FIELD>): variable -> (field,) at the top level, (section, field) inside a
#: section. One variable per setting.
ALIASES: dict[str, tuple[str, ...]] = {
    "OSLER_STORE": ("store_url",),
    "OSLER_DENSE": ("dense", "enabled"),
    "OSLER_LLM_TIMEOUT": ("llm", "timeout_s"),
    "OSLER_REQUIRED_APPROVALS": ("editorial", "required_approvals"),
    "OSLER_ARTICLE_MATCH": ("editorial", "match_threshold"),
    "OSLER_SAVE_DRAFTS": ("editorial", "save_drafts"),
    "OSLER_EDITORIAL_POLICY": ("editorial", "policy_path"),
    "OSLER_REQUIRE_LOGIN": ("editorial", "require_login"),
    "OSLER_LOGIN_ATTEMPTS_PER_ACCOUNT": ("editorial", "login_free_per_account"),
    "OSLER_LOGIN_ATTEMPTS_PER_ADDRESS": ("editorial", "login_free_per_address"),
    "OSLER_LOGIN_BASE_BACKOFF": ("editorial", "login_base_backoff"),
    "OSLER_LOGIN_MAX_BACKOFF": ("editorial", "login_max_backoff"),
    "OSLER_TRUSTED_PROXIES": ("web", "trusted_proxies"),
}


class Settings(BaseSettings):
    """Everything Osler can be told, in one tree."""

    model_config = SettingsConfigDict(extra="forbid", validate_default=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the store and indexes live (default: the per-user data directory)",
    )
    store_url: str = Field(
        "",
        description="The store: sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
        "(default: sqlite in the data directory)",
    )
    shared_data: Path = Field(
        default_factory=default_shared_data,
        description="The shared sample data the benchmarks read (default: ../shared/data)",
    )
    guideline_max_age_years: int = Field(
        5, ge=1, description="A cited guideline older than this many years is flagged"
    )
    ranking: RankingWeights = Field(default_factory=RankingWeights)
    dense: DenseSettings = Field(default_factory=DenseSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    editorial: EditorialSettings = Field(default_factory=EditorialSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    mcp: MCPSettings = Field(default_factory=MCPSettings)

    @model_validator(mode="after")
    def _expand(self) -> Settings:
        self.data_dir = self.data_dir.expanduser()
        self.shared_data = self.shared_data.expanduser()
        return self

    @property
    def store(self) -> str:
        """The store URL in effect."""
        return self.store_url or f"sqlite:///{self.data_dir / SQLITE_FILENAME}"

    def with_data_dir(self, data_dir: Path | str | None) -> Settings:
        """These settings with another data directory (None: unchanged); a store URL that was
        derived from the old data directory follows it."""
        if not data_dir:
            return self
        return self.model_copy(update={"data_dir": Path(data_dir).expanduser()})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, EnvironmentSource(settings_cls), _toml_source(settings_cls))


def _toml_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource:
    path = os.environ.get(CONFIG_ENV, "").strip() or CONFIG_FILE
    return TomlConfigSettingsSource(settings_cls, toml_file=Path(path).expanduser())


def environment_names() -> dict[str, tuple[str, ...]]:
    """Every environment variable Osler reads, with the setting it sets (a path in the tree)."""
    names: dict[str, tuple[str, ...]] = {}
    named = set(ALIASES.values())
    for name in Settings.model_fields:
        if name not in SECTIONS and (name,) not in named:
            names[f"{PREFIX}{name.upper()}"] = (name,)
    for section, model in SECTIONS.items():
        for name in model.model_fields:
            if (section, name) not in named:
                names[f"{PREFIX}{section.upper()}_{name.upper()}"] = (section, name)
    names.update(ALIASES)
    return names


def field_info(path: tuple[str, ...]) -> FieldInfo:
    """The field a settings path names."""
    if len(path) == 1:
        return Settings.model_fields[path[0]]
    return SECTIONS[path[0]].model_fields[path[1]]


class EnvironmentSource(PydanticBaseSettingsSource):
    """The OSLER_* variables (see `environment_names`), nested into the tree."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for variable, path in environment_names().items():
            value = os.environ.get(variable, "").strip()
            if not value:
                continue
            if len(path) == 1:
                out[path[0]] = value
            else:
                out.setdefault(path[0], {})[path[1]] = value
        return out


def load(**overrides: Any) -> Settings:
    """The settings in effect (environment, osler.toml, defaults), with `overrides` on top;
    a clear ValueError when a value does not parse."""
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"bad Osler setting: {exc}") from exc
