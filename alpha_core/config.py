"""Configuration: one pydantic-settings model (ARCHITECTURE.md "Commands a user runs").

``AlphaSettings`` reads ``ALPHA_*`` environment variables (and ``.env`` in the working directory):

| variable | meaning | default |
|---|---|---|
| ``ALPHA_DATA_DIR`` | market data folder | ``../shared/data/sp500`` beside the project when it exists |
| ``ALPHA_DUCKDB`` | the DuckDB file every stage writes | ``$DAGSTER_HOME/alpha.duckdb`` |
| ``ALPHA_SUBMIT_LIVE`` | submit to BRAIN for real | ``false`` (dry-run records only) |
| ``BRAIN_EMAIL`` / ``BRAIN_PASSWORD`` / ``BRAIN_SESSION_TOKEN`` | BRAIN credentials (SecretStr) | unset |
| ``ALPHA_BRAIN_URL`` | BRAIN API base URL (https; plain http only on loopback, e.g. the emulator) | BRAIN's API |
| ``ALPHA_BRAIN_ENABLED`` | send passing candidates to BRAIN | ``false`` |
| ``ALPHA_BRAIN_MAX_CONCURRENCY`` | most simulation slots the adaptive limit may grow to (1..10) | ``3`` |
| ``ALPHA_BRAIN_QUOTA_RESERVE`` | fraction of the daily simulation quota never spent | ``0.1`` |
| ``ALPHA_BRAIN_DAY_LIMIT`` | most of a day's winners sent to BRAIN (best local IS fitness first) | ``20`` |
| ``ALPHA_BRAIN_CLIENT_OPTIONS`` | JSON object of BRAIN client knobs (``brain.client.ClientOptions``, seconds), e.g. ``{"sim_timeout": 900}`` | ``{}`` |
| ``ALPHA_SUBMIT_DAILY_CAP`` | most live submissions attempted per UTC day (BRAIN allows 4) | ``4`` |
| ``ALPHA_LLM_API_KEY`` / ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` | LLM keys (SecretStr) | unset |
| ``ALPHA_LLM_MODEL`` | litellm model string of ``alpha research`` (e.g. ``openai/gpt-4o-mini``, ``ollama/qwen2.5-coder``) | unset (no LLM) |
| ``ALPHA_LLM_BASE_URL`` | OpenAI-compatible or Ollama base URL (e.g. ``http://localhost:11434``) | the provider's |
| ``ALPHA_LLM_DAY_TOKENS`` | LLM tokens (prompt + answer) spent per UTC day, every request together | ``200000`` |
| ``ALPHA_LLM_MAX_TOKENS`` | most tokens of one answer | ``2000`` |
| ``ALPHA_LLM_TIMEOUT`` | seconds one LLM call may take | ``120`` |
| ``ALPHA_LLM_RETRIES`` / ``ALPHA_LLM_BACKOFF`` | retries of a 429 / 5xx / timeout, first wait in seconds (doubling) | ``4`` / ``2.0`` |

Secrets are ``SecretStr`` wherever they are held (here and in ``BrainCredentials``): their ``repr``/``str``
print ``**********``; ``public_dict()`` is the only view meant for logs or metadata and it leaves them out
entirely. The Dagster resources hold no secret (``alpha_assets.resources``).
"""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FIELDS = ("brain_email", "brain_password", "brain_session_token", "llm_api_key", "openai_api_key",
                 "anthropic_api_key")


def project_root() -> Path:
    """The repository root (the folder holding ``alpha_core``)."""
    return Path(__file__).resolve().parent.parent


def default_dagster_home() -> Path:
    """``$DAGSTER_HOME`` when set, else ``<project>/.dagster_home``."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home).expanduser().resolve() if home else project_root() / ".dagster_home"


def _default_data_dir() -> Path | None:
    candidate = project_root().parent / "shared" / "data" / "sp500"
    return candidate if candidate.exists() else None


class BrainCredentials(BaseModel):
    """BRAIN credentials; each ``SecretStr`` or None when unset (``repr`` shows ``**********``)."""

    model_config = ConfigDict(frozen=True)

    email: SecretStr | None = None
    password: SecretStr | None = None
    session_token: SecretStr | None = None


class AlphaSettings(BaseSettings):
    """The project's settings. Construct with ``AlphaSettings()``; never print secrets (they are SecretStr)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    data_dir: Path | None = Field(default=None, validation_alias=AliasChoices("ALPHA_DATA_DIR", "data_dir"))
    duckdb_path: Path | None = Field(default=None, validation_alias=AliasChoices("ALPHA_DUCKDB", "duckdb_path"))
    submit_live: bool = Field(default=False, validation_alias=AliasChoices("ALPHA_SUBMIT_LIVE", "submit_live"))
    search_budget: int = Field(default=1000, ge=1, le=100_000,
                               validation_alias=AliasChoices("ALPHA_SEARCH_BUDGET", "search_budget"))
    day_budget: int = Field(default=3000, ge=1, le=1_000_000,
                            validation_alias=AliasChoices("ALPHA_DAY_BUDGET", "day_budget"))
    search_max_seconds: float = Field(default=900.0, gt=0,
                                      validation_alias=AliasChoices("ALPHA_SEARCH_MAX_SECONDS", "search_max_seconds"))
    search_max_failures: int = Field(default=60, ge=1,
                                     validation_alias=AliasChoices("ALPHA_SEARCH_MAX_FAILURES", "search_max_failures"))
    gate_dsr_min: float = Field(default=0.95, ge=0, le=1,
                                validation_alias=AliasChoices("ALPHA_GATE_DSR_MIN", "gate_dsr_min"))
    gate_stability_min: float = Field(default=0.75, ge=0, le=1,
                                      validation_alias=AliasChoices("ALPHA_GATE_STABILITY_MIN", "gate_stability_min"))
    gate_coverage_min: float = Field(default=50, ge=0,
                                     validation_alias=AliasChoices("ALPHA_GATE_COVERAGE_MIN", "gate_coverage_min"))
    gate_complexity_max: int = Field(default=30, ge=1,
                                     validation_alias=AliasChoices("ALPHA_GATE_COMPLEXITY_MAX", "gate_complexity_max"))
    gate_crowding_max: float = Field(default=0.7, gt=0, le=1,
                                     validation_alias=AliasChoices("ALPHA_GATE_CROWDING_MAX", "gate_crowding_max"))
    gate_novelty_max: float = Field(default=0.9, gt=0, le=1,
                                    validation_alias=AliasChoices("ALPHA_GATE_NOVELTY_MAX", "gate_novelty_max"))
    gate_factor_max: float = Field(default=0.7, gt=0, le=1,
                                   validation_alias=AliasChoices("ALPHA_GATE_FACTOR_MAX", "gate_factor_max"))
    brain_email: SecretStr | None = Field(default=None, validation_alias=AliasChoices("BRAIN_EMAIL", "brain_email"))
    brain_password: SecretStr | None = Field(default=None,
                                             validation_alias=AliasChoices("BRAIN_PASSWORD", "brain_password"))
    brain_session_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BRAIN_SESSION_TOKEN", "brain_session_token"))
    brain_url: str = Field(default="https://api.worldquantbrain.com",
                           validation_alias=AliasChoices("ALPHA_BRAIN_URL", "brain_url"))
    brain_enabled: bool = Field(default=False, validation_alias=AliasChoices("ALPHA_BRAIN_ENABLED", "brain_enabled"))
    brain_max_concurrency: int = Field(default=3, ge=1, le=10, validation_alias=AliasChoices(
        "ALPHA_BRAIN_MAX_CONCURRENCY", "brain_max_concurrency"))
    brain_quota_reserve: float = Field(default=0.1, ge=0, lt=1, validation_alias=AliasChoices(
        "ALPHA_BRAIN_QUOTA_RESERVE", "brain_quota_reserve"))
    brain_day_limit: int = Field(default=20, ge=0, le=1000, validation_alias=AliasChoices(
        "ALPHA_BRAIN_DAY_LIMIT", "brain_day_limit"))
    brain_client_options: dict[str, float | int] = Field(default_factory=dict, validation_alias=AliasChoices(
        "ALPHA_BRAIN_CLIENT_OPTIONS", "brain_client_options"))
    submit_daily_cap: int = Field(default=4, ge=0, le=4, validation_alias=AliasChoices(
        "ALPHA_SUBMIT_DAILY_CAP", "submit_daily_cap"))
    llm_api_key: SecretStr | None = Field(default=None,
                                          validation_alias=AliasChoices("ALPHA_LLM_API_KEY", "llm_api_key"))
    openai_api_key: SecretStr | None = Field(default=None,
                                             validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"))
    anthropic_api_key: SecretStr | None = Field(default=None,
                                                validation_alias=AliasChoices("ANTHROPIC_API_KEY",
                                                                              "anthropic_api_key"))
    llm_model: str | None = Field(default=None, validation_alias=AliasChoices("ALPHA_LLM_MODEL", "llm_model"))
    llm_base_url: str | None = Field(default=None,
                                     validation_alias=AliasChoices("ALPHA_LLM_BASE_URL", "llm_base_url"))
    llm_day_tokens: int = Field(default=200_000, ge=1,
                                validation_alias=AliasChoices("ALPHA_LLM_DAY_TOKENS", "llm_day_tokens"))
    llm_max_tokens: int = Field(default=2000, ge=64, le=100_000,
                                validation_alias=AliasChoices("ALPHA_LLM_MAX_TOKENS", "llm_max_tokens"))
    llm_timeout: float = Field(default=120.0, gt=0, validation_alias=AliasChoices("ALPHA_LLM_TIMEOUT", "llm_timeout"))
    llm_retries: int = Field(default=4, ge=0, le=20, validation_alias=AliasChoices("ALPHA_LLM_RETRIES", "llm_retries"))
    llm_backoff: float = Field(default=2.0, ge=0, le=600,
                               validation_alias=AliasChoices("ALPHA_LLM_BACKOFF", "llm_backoff"))

    def resolved_data_dir(self) -> Path | None:
        """``ALPHA_DATA_DIR`` or the shared S&P 500 folder beside the project (None when neither exists)."""
        return Path(self.data_dir).expanduser() if self.data_dir else _default_data_dir()

    def resolved_duckdb(self) -> Path:
        """``ALPHA_DUCKDB`` or ``$DAGSTER_HOME/alpha.duckdb`` (absolute)."""
        if self.duckdb_path:
            return Path(self.duckdb_path).expanduser().resolve()
        return default_dagster_home() / "alpha.duckdb"

    def search_config(self, used_today: int = 0, budget: int | None = None):
        """The ``SearchConfig`` of one (date, field) search: ``budget`` (default ``ALPHA_SEARCH_BUDGET``) local
        simulations, capped by what is left of ``ALPHA_DAY_BUDGET`` after the ``used_today`` simulations of the
        day's other fields (0 when the day's budget is spent); wall time ``ALPHA_SEARCH_MAX_SECONDS``;
        ``ALPHA_SEARCH_MAX_FAILURES`` failed simulations in a row stop it."""
        from alpha_core.gen.search import SearchConfig

        left = max(0, self.day_budget - int(used_today))
        return SearchConfig(budget=min(budget or self.search_budget, left), max_seconds=self.search_max_seconds,
                            max_consecutive_failures=self.search_max_failures)

    def gate_limits(self):
        """The limits of our own checks (``gate.checklist.GateLimits``) from the ``ALPHA_GATE_*`` settings."""
        from alpha_core.gate.checklist import GateLimits

        return GateLimits(dsr_min=self.gate_dsr_min, stability_min=self.gate_stability_min,
                          coverage_min=self.gate_coverage_min, complexity_max=self.gate_complexity_max,
                          crowding_max=self.gate_crowding_max, novelty_max=self.gate_novelty_max,
                          factor_max=self.gate_factor_max)

    def brain_credentials(self) -> BrainCredentials:
        """The BRAIN credentials (``SecretStr`` each, None when unset)."""
        return BrainCredentials(email=self.brain_email, password=self.brain_password,
                                session_token=self.brain_session_token)

    def public_dict(self) -> dict:
        """Non-secret settings, safe for logs and metadata (secrets reported only as set / not set)."""
        out = {"data_dir": str(self.resolved_data_dir()), "duckdb": str(self.resolved_duckdb()),
               "submit_live": self.submit_live, "search_budget": self.search_budget, "day_budget": self.day_budget,
               "search_max_seconds": self.search_max_seconds, "search_max_failures": self.search_max_failures,
               "brain_url": self.brain_url, "brain_enabled": self.brain_enabled,
               "brain_max_concurrency": self.brain_max_concurrency, "brain_quota_reserve": self.brain_quota_reserve,
               "llm_model": self.llm_model, "llm_base_url": self.llm_base_url, "llm_day_tokens": self.llm_day_tokens,
               "llm_max_tokens": self.llm_max_tokens, "llm_timeout": self.llm_timeout, "llm_retries": self.llm_retries,
               "llm_backoff": self.llm_backoff,
               "brain_day_limit": self.brain_day_limit, "brain_client_options": dict(self.brain_client_options), "submit_daily_cap": self.submit_daily_cap,
               **{f"gate_{k}": v for k, v in self.gate_limits().model_dump().items()}}
        out.update({f"{name}_set": getattr(self, name) is not None for name in SECRET_FIELDS})
        return out


class SettingsEnvError(ValueError):
    """An environment variable (or ``.env`` entry) of ``AlphaSettings`` has a bad value; the message names it."""


def load_settings() -> AlphaSettings:
    """``AlphaSettings()``, with a bad value reported as ``SettingsEnvError``: one line per bad variable, e.g.
    ``ALPHA_SEARCH_BUDGET: Input should be greater than or equal to 1 (got '0')``. Secret values are never
    echoed (only their variable name)."""
    from pydantic import ValidationError

    try:
        return AlphaSettings()
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err.get("loc") else "settings"
            secret = name.lower() in {n.lower() for n in SECRET_FIELDS} or "PASSWORD" in name or "KEY" in name \
                or "TOKEN" in name or "EMAIL" in name
            got = "" if secret else f" (got {err.get('input')!r})"
            parts.append(f"{name}: {err['msg']}{got}")
        raise SettingsEnvError("; ".join(parts)) from None
