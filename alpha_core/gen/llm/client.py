"""One LLM client through litellm (issue 15 item 1).

``LLMClient.complete(messages)`` sends one chat completion to ``ALPHA_LLM_MODEL`` (any litellm provider:
``openai/...`` against ``ALPHA_LLM_BASE_URL`` for an OpenAI-compatible server, ``ollama/...``, ``anthropic/...``,
hosted OpenAI...). It retries a 429, a 5xx, a timeout or a broken connection with exponential backoff
(``ALPHA_LLM_BACKOFF`` doubling, a ``Retry-After`` header wins, at most ``ALPHA_LLM_RETRIES`` retries) and never
retries a 400/401/403/404 (the same request would fail again). Before every attempt it checks the day's token
budget (``ALPHA_LLM_DAY_TOKENS``, every request of the UTC day together). Every HTTP attempt becomes a
``CallRecord`` (status, tokens, cost in USD when litellm knows the model's price, latency) that the caller
stores in ``llm_calls``.

The key (``ALPHA_LLM_API_KEY``, a ``SecretStr``) is unwrapped only in the ``litellm.completion`` call; error
messages are scrubbed of it before they are kept, and no record, log line or exception carries it.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel, Field, SecretStr

MAX_ERROR_CHARS = 300
MAX_RETRY_AFTER = 60.0   # seconds: a longer Retry-After is capped (a research run should not sleep for hours)


class LLMError(RuntimeError):
    """An LLM call that cannot succeed. ``code``: ``config`` (no model), ``budget`` (the day's tokens are spent),
    ``auth`` (401/403), ``bad_request`` (400/404/422), ``unavailable`` (429/5xx/timeouts after every retry).
    The message never holds the key."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class LLMConfig(BaseModel):
    """The non-secret knobs of the client (``ALPHA_LLM_*`` settings)."""

    model: str = Field(min_length=1, description="litellm model string, e.g. openai/gpt-4o-mini")
    base_url: str | None = None
    timeout: float = Field(120.0, gt=0, description="seconds per attempt")
    retries: int = Field(4, ge=0)
    backoff: float = Field(2.0, ge=0, description="first wait in seconds, doubled per retry")
    max_tokens: int = Field(2000, ge=1, description="most tokens of one answer")
    day_tokens: int = Field(200_000, ge=1, description="tokens per UTC day, every request together")


@dataclass
class CallRecord:
    """One HTTP attempt: ``status`` ok / rate_limited / server_error / timeout / connection / auth / bad_request;
    tokens as the provider reported them (0 when it did not answer), ``cost_usd`` None when unknown."""

    attempt: int
    model: str
    called_at: dt.datetime
    status: str
    error: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Reply:
    """The answer text of a successful call and the records of its attempts (the last one ``ok``)."""

    text: str
    records: list[CallRecord] = field(default_factory=list)


_RETRYABLE = ("rate_limited", "server_error", "timeout", "connection")


def _status_of(exc: BaseException) -> str:
    """The ``CallRecord.status`` of a litellm exception."""
    import litellm

    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
        return "auth"
    if isinstance(exc, litellm.RateLimitError):
        return "rate_limited"
    if isinstance(exc, litellm.Timeout):
        return "timeout"
    if isinstance(exc, (litellm.InternalServerError, litellm.ServiceUnavailableError)):
        return "server_error"
    if isinstance(exc, (litellm.BadRequestError, litellm.NotFoundError, litellm.UnprocessableEntityError)):
        return "bad_request"
    if isinstance(exc, litellm.APIConnectionError):
        return "connection"
    code = getattr(exc, "status_code", None)
    if isinstance(code, int) and code >= 500:
        return "server_error"
    return "bad_request"


def _retry_after(exc: BaseException) -> float | None:
    """Seconds of the ``Retry-After`` header of a failed attempt (capped), None when absent or not a number."""
    headers = getattr(exc, "litellm_response_headers", None) or {}
    try:
        value = headers.get("retry-after")
        return None if value is None else min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except (TypeError, ValueError, AttributeError):
        return None


class LLMClient:
    """Chat completions through litellm with retries, a day token budget and per-attempt records.

    ``tokens_before``: tokens already spent today by other requests (read from ``llm_calls``); ``sleep``: the
    wait between retries (tests pass a recorder). ``records`` holds every attempt of this client, in order.
    """

    def __init__(self, config: LLMConfig, api_key: SecretStr | None = None, tokens_before: int = 0,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self._key = api_key
        self.tokens_before = int(tokens_before)
        self.sleep = sleep
        self.records: list[CallRecord] = []

    @classmethod
    def from_settings(cls, settings, model: str | None = None, tokens_before: int = 0) -> "LLMClient":
        """A client from ``AlphaSettings`` (``model`` overrides ``ALPHA_LLM_MODEL``). Raises ``LLMError``
        (code ``config``) when no model is configured."""
        name = (model or settings.llm_model or "").strip()
        if not name:
            raise LLMError("config", "no LLM model configured: set ALPHA_LLM_MODEL (e.g. openai/gpt-4o-mini or "
                                     "ollama/qwen2.5-coder) or pass --model")
        config = LLMConfig(model=name, base_url=settings.llm_base_url or None, timeout=settings.llm_timeout,
                           retries=settings.llm_retries, backoff=settings.llm_backoff,
                           max_tokens=settings.llm_max_tokens, day_tokens=settings.llm_day_tokens)
        return cls(config, settings.llm_api_key, tokens_before)

    @property
    def tokens_used(self) -> int:
        """Tokens of the UTC day: the other requests' plus this client's attempts."""
        return self.tokens_before + sum(r.total_tokens for r in self.records)

    def scrub(self, text: str) -> str:
        """``text`` with the key replaced by ``***`` and cut to ``MAX_ERROR_CHARS`` (for errors that are kept)."""
        secret = self._key.get_secret_value() if self._key is not None else ""
        if secret:
            text = text.replace(secret, "***")
        text = " ".join(text.split())
        return text[:MAX_ERROR_CHARS]

    def _check_budget(self) -> None:
        used, budget = self.tokens_used, self.config.day_tokens
        if used >= budget:
            raise LLMError("budget", f"the day's LLM token budget is spent: {used:,} of ALPHA_LLM_DAY_TOKENS="
                                     f"{budget:,} tokens used on {dt.datetime.now(dt.timezone.utc).date()} (UTC); "
                                     "raise ALPHA_LLM_DAY_TOKENS or wait for the next UTC day")

    def _kwargs(self, messages: list[dict]) -> dict:
        kw = {"model": self.config.model, "messages": messages, "timeout": self.config.timeout,
              "max_tokens": self.config.max_tokens, "num_retries": 0, "max_retries": 0, "drop_params": True}
        if self.config.base_url:
            kw["api_base"] = self.config.base_url
        if self._key is not None and self._key.get_secret_value():
            kw["api_key"] = self._key.get_secret_value()
        return kw

    def complete(self, messages: list[dict]) -> Reply:
        """One chat completion of ``messages`` (``[{"role", "content"}]``); returns the answer text (``""`` when
        the provider sent no content) and the attempts' records. Raises ``LLMError``: ``budget`` before an
        attempt when the day's tokens are spent, ``auth`` / ``bad_request`` at once, ``unavailable`` when every
        retry failed."""
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")   # the packaged price list, no download
        import litellm

        litellm.suppress_debug_info = True
        start, attempt = len(self.records), 0
        while True:
            attempt += 1
            self._check_budget()
            t0, at = time.monotonic(), dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            try:
                resp = litellm.completion(**self._kwargs(messages))
            except Exception as exc:  # noqa: BLE001 - every provider error is classified, scrubbed and recorded
                status = _status_of(exc)
                message = self.scrub(f"{type(exc).__name__}: {exc}")
                self.records.append(CallRecord(attempt, self.config.model, at, status, message,
                                               latency_s=time.monotonic() - t0))
                if status not in _RETRYABLE:
                    raise LLMError(status, f"the LLM call was refused ({message})") from None
                if attempt > self.config.retries:
                    raise LLMError("unavailable", f"the LLM is unavailable after {attempt} attempts "
                                                  f"(last: {message})") from None
                wait = _retry_after(exc)
                self.sleep(self.config.backoff * 2 ** (attempt - 1) if wait is None else wait)
                continue
            usage = getattr(resp, "usage", None)
            record = CallRecord(attempt, self.config.model, at, "ok", None,
                                int(getattr(usage, "prompt_tokens", 0) or 0),
                                int(getattr(usage, "completion_tokens", 0) or 0),
                                _cost(resp), time.monotonic() - t0)
            self.records.append(record)
            text = (resp.choices[0].message.content or "") if resp.choices else ""
            return Reply(text, self.records[start:])


def _cost(resp) -> float | None:
    """USD cost of a response from litellm's price list; None for a model it does not price."""
    import litellm

    try:
        return float(litellm.completion_cost(completion_response=resp))
    except Exception:  # noqa: BLE001 - an unpriced model (a local server) has no known cost
        return None
