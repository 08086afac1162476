"""The emulator's configuration and its fault switches (BRAIN_API.md §13).

``EmulatorConfig`` is immutable; the faults switched on at start are ``config.faults``, at run time they are
switched with ``EmulatorHandle.set_faults`` or ``PUT /_emulator/faults``. ``FAULTS`` (name -> description) is
the one place every fault is documented; ``alpha brain-emulator --help`` prints it.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# name -> what it does. "API requests" = every path but /authentication* and /_emulator/*. "Bursts" repeat:
# ``burst_*`` faulty answers in a row, then ``fault_gap`` normal ones, starting with the first request after the
# fault is switched on. One-shot faults switch themselves off once they fired.
FAULTS: dict[str, str] = {
    "persona": "one-shot: the next login answers 401 + WWW-Authenticate: persona + Location of a challenge; "
               "POSTing the challenge URL answers 201 (logged in) on the `persona_polls`-th try",
    "bad_login": "every login answers 401 INVALID_CREDENTIALS, even with the right password",
    "expired": "one-shot: the session expires after `expire_after` more authenticated API requests: that "
               "request answers 401 and GET /authentication answers 204",
    "stale_html": "one-shot: the next authenticated API request answers 200 with an HTML page and ends the session",
    "burst_429": "API requests answer 429 (rate limit) in bursts of `burst_429`",
    "no_retry_after": "the 429s of burst_429 carry no Retry-After header",
    "burst_5xx": "API requests answer 500/502/503/504 (in turn) in bursts of `burst_5xx`",
    "drop": "API requests have their connection dropped mid-response in bursts of `burst_drop`",
    "slow": "every API response is delayed by `slow_seconds` (set it past the client's read timeout)",
    "stuck": "the next simulation posted never finishes (its polls answer running) until the fault is switched off",
    "error": "single simulations posted end in ERROR (message + location) in bursts of 1 (one in every "
             "fault_gap + 1)",
    "multi_bad": "multi-simulations get child `bad_child` ending in ERROR (parent ERROR, siblings CANCELLED), "
                 "in bursts of 1 (one in every fault_gap + 1)",
    "quota": "the daily quota runs out: from the moment it is switched on only `quota_left` more simulations "
             "are accepted (then 429 DAILY_SIMULATION_LIMIT_EXCEEDED, X-Ratelimit-Remaining 0)",
}

DEFAULT_PERMISSIONS = ("CONSULTANT", "MULTI_SIMULATION", "VISUALIZATION")


class EmulatorConfig(BaseModel):
    """The emulated account and server behaviour. Times in seconds. Raises ``pydantic.ValidationError`` for a bad
    value (e.g. an unknown fault name, listed with the known ones)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str
    password: SecretStr
    session_token: SecretStr | None = None     # a pre-issued cookie ``t`` accepted as a session (BRAIN_SESSION_TOKEN)
    faults: frozenset[str] = frozenset()
    slots: int = Field(3, ge=1, le=100)         # concurrent simulations (a multi-simulation parent takes 1)
    daily_quota: int = Field(5000, ge=0)       # simulations per day (every multi child counts)
    quota_reset_seconds: int = Field(36000, ge=0)   # the X-Ratelimit-Reset value sent
    sim_seconds: float = Field(0.05, ge=0)     # a simulation stays running at least this long after its POST
    polls_to_finish: int = Field(2, ge=1)      # polls a job needs (simulation, check, submit, correlations)
    retry_after: float = Field(0.01, ge=0)     # the Retry-After value sent
    token_lifetime: float = Field(14400.0, gt=0)
    permissions: tuple[str, ...] = DEFAULT_PERMISSIONS
    user_id: str = "EM12345"
    seed: int = 0                               # ids come from a generator seeded with it
    submissions_per_day: int = Field(4, ge=0)   # the REGULAR_SUBMISSION check's limit
    submit_location_quirk: bool = True          # submit Location ``http://<host>:443/alphas/{id}/submit`` (§9)
    operators_envelope: bool = True             # /operators as ``{"operators": [...], "count"}``, else a bare list
    rate_per_second: int = Field(1000, ge=1)    # API requests allowed per second / minute (x-ratelimit-* headers,
    rate_per_minute: int = Field(60000, ge=1)   # then 429 "API rate limit exceeded")
    # fault knobs
    burst_429: int = Field(3, ge=1)
    burst_5xx: int = Field(2, ge=1)
    burst_drop: int = Field(1, ge=1)
    fault_gap: int = Field(4, ge=0)
    slow_seconds: float = Field(0.2, ge=0)
    persona_polls: int = Field(2, ge=1)
    expire_after: int = Field(0, ge=0)
    quota_left: int = Field(2, ge=0)
    bad_child: int = Field(0, ge=0, le=9)

    @field_validator("faults", mode="before")
    @classmethod
    def _known_faults(cls, value):
        return fault_names(value)


def fault_names(value) -> frozenset[str]:
    """Fault names from ``"a,b"`` or an iterable of names; raises ``ValueError`` listing unknown and known ones."""
    names = frozenset(s.strip() for s in value.split(",") if s.strip()) if isinstance(value, str) \
        else frozenset(value)
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return names


def faults_help() -> str:
    """``FAULTS`` as indented help text, one fault per line, after how bursts and one-shot faults work."""
    head = ("  API requests = all but /authentication* and /_emulator/*. A burst fault answers `burst_*` faulty\n"
            "  replies in a row, then `fault_gap` normal ones, repeating; one-shot faults switch themselves off.\n"
            "  The knobs (`burst_429`, `fault_gap`, ...) are EmulatorConfig fields; their defaults here.\n")
    return head + "\n".join(f"  {name}: {text}" for name, text in FAULTS.items())
