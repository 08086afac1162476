"""Fixtures of the LLM research tests: the loopback chat-completions server and settings pointing at it."""
import pytest

from tests.core.llm.fake_llm import FakeLLM, serve

KEY = "sk-loopback-SECRET-7f3a9c1e5b"


@pytest.fixture(scope="session")
def llm_server():
    """One loopback OpenAI-compatible server for the session (``fake_llm.FakeLLM``)."""
    with serve(FakeLLM(KEY)) as fake:
        yield fake


@pytest.fixture
def llm(llm_server, monkeypatch, tmp_path):
    """The server with an empty script and no recorded requests, and ALPHA_LLM_* / ALPHA_DUCKDB set for it
    (tiny backoff so retries cost milliseconds)."""
    llm_server.steps.clear()
    llm_server.requests.clear()
    llm_server.default = ("answer", llm_server.default_answer)
    for name, value in {"ALPHA_LLM_MODEL": "openai/fake-model", "ALPHA_LLM_BASE_URL": llm_server.url,
                        "ALPHA_LLM_API_KEY": KEY, "ALPHA_LLM_BACKOFF": "0.01", "ALPHA_LLM_TIMEOUT": "5",
                        "ALPHA_LLM_RETRIES": "2", "ALPHA_DUCKDB": str(tmp_path / "alpha.duckdb")}.items():
        monkeypatch.setenv(name, value)
    return llm_server
