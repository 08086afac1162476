"""The litellm client against the loopback chat-completions server: retries, no retry, budget, records, no key."""
import logging

import pytest

from alpha_core.config import load_settings
from alpha_core.gen.llm.client import LLMClient, LLMConfig, LLMError
from tests.core.llm.conftest import KEY

MESSAGES = [{"role": "user", "content": "propose an alpha"}]


def _client(llm, **kw):
    waits = []
    settings = load_settings()
    config = LLMConfig(model="openai/fake-model", base_url=llm.url, timeout=kw.pop("timeout", 5.0), retries=2,
                       backoff=0.01, max_tokens=500, day_tokens=kw.pop("day_tokens", 100_000))
    return LLMClient(config, settings.llm_api_key, kw.pop("tokens_before", 0), sleep=waits.append), waits


def test_429_then_500_then_success_is_retried_with_backoff_and_every_attempt_recorded(llm, caplog):
    caplog.set_level(logging.DEBUG)
    client, waits = _client(llm)
    llm.script((429, "rate limit reached"), (500, "upstream error"), ("answer", "{}"))
    reply = client.complete(MESSAGES)
    assert reply.text == "{}" and len(llm.requests) == 3
    assert [r.status for r in reply.records] == ["rate_limited", "server_error", "ok"]
    assert [r.attempt for r in reply.records] == [1, 2, 3]
    assert waits == [0.01, 0.02]          # Retry-After 0.01 s of the 429 wins, then backoff 0.01 * 2
    ok = reply.records[-1]
    assert ok.prompt_tokens > 0 and ok.completion_tokens > 0 and ok.total_tokens == client.tokens_used
    assert llm.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"   # the key is really sent...
    assert KEY not in caplog.text and all(KEY not in (r.error or "") for r in client.records)   # ...never logged


def test_a_timeout_is_retried(llm):
    client, _ = _client(llm, timeout=0.2)
    llm.script(("slow", 1.0, "late"), ("answer", "on time"))
    reply = client.complete(MESSAGES)
    assert reply.text == "on time" and [r.status for r in reply.records] == ["timeout", "ok"]


def test_401_is_not_retried_and_the_error_holds_no_key(llm):
    llm.api_key = "sk-another-key"      # the server expects another key: 401 for ours
    try:
        client, waits = _client(llm)
        with pytest.raises(LLMError) as err:
            client.complete(MESSAGES)
    finally:
        llm.api_key = KEY
    assert err.value.code == "auth" and "Incorrect API key" in str(err.value) and KEY not in str(err.value)
    assert len(llm.requests) == 1 and waits == [] and [r.status for r in client.records] == ["auth"]


def test_5xx_until_the_retries_are_used_is_unavailable(llm):
    client, waits = _client(llm)
    llm.script((503, "down"), (500, "down"), (502, "down"))
    with pytest.raises(LLMError) as err:
        client.complete(MESSAGES)
    assert err.value.code == "unavailable" and "after 3 attempts" in str(err.value) and len(waits) == 2


def test_a_spent_day_budget_stops_before_any_request(llm):
    client, _ = _client(llm, day_tokens=1000, tokens_before=1000)
    with pytest.raises(LLMError) as err:
        client.complete(MESSAGES)
    assert err.value.code == "budget" and "ALPHA_LLM_DAY_TOKENS=1,000" in str(err.value)
    assert llm.requests == [] and client.records == []


def test_no_model_configured_is_a_config_error(llm, monkeypatch):
    monkeypatch.delenv("ALPHA_LLM_MODEL")
    with pytest.raises(LLMError) as err:
        LLMClient.from_settings(load_settings())
    assert err.value.code == "config" and "ALPHA_LLM_MODEL" in str(err.value)
    assert LLMClient.from_settings(load_settings(), "ollama/qwen2.5-coder").config.model == "ollama/qwen2.5-coder"
