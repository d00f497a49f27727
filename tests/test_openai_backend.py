"""The OpenAI-compatible backend against a fake server on 127.0.0.1: streaming, and the error shapes the real
server of tests/test_openai_server.py (llama.cpp's) is not made to produce: 401, 429, 500, an echoed key,
malformed events, retries."""

from __future__ import annotations

import dataclasses

import pytest

from fake_openai import FakeOpenAI, citing
from qa import pipeline
from qa.config import Settings
from qa.llm import LLMError, OpenAILLM

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def server(monkeypatch):
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        yield fake


def _llm(**overrides) -> OpenAILLM:
    return OpenAILLM(Settings(**{"llm": "openai", "llm_timeout": 2.0, "llm_retries": 1, **overrides}))


def test_streams_deltas_and_sends_the_model_and_key(server):
    server.reply = "The balloon was shot down."
    deltas = list(_llm(openai_model="my-model").stream(MESSAGES, max_tokens=20, temperature=0.0))
    assert len(deltas) == 5 and "".join(deltas) == "The balloon was shot down."
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "my-model" and request["body"]["stream"] is True
    assert request["auth"] == "Bearer sk-test"


@pytest.mark.parametrize("mode,message,attempts", [
    ("401", "rejected the API key (401)", 1),
    ("429", "rate-limiting us (429)", 2),
    ("500", "failed (500)", 2),
    ("slow", "did not answer within 2s", 2),
    ("malformed", "bad response", 1),
])
def test_failures_are_one_clear_line_after_bounded_retries(server, mode, message, attempts):
    server.mode = mode
    with pytest.raises(LLMError) as caught:
        list(_llm().stream(MESSAGES, max_tokens=20, temperature=0.0))
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert server.url in str(caught.value)
    assert len(server.requests) == attempts  # one try plus llm_retries=1 for 429/5xx/timeouts


def test_dropped_stream_is_an_error_not_a_truncated_answer(server):
    # The fake closes a stream that has no length cleanly: only the missing finish_reason tells.
    server.mode = "drop"
    server.reply = "one two three four five six"
    with pytest.raises(LLMError, match="stopped before finishing the answer \\(no finish_reason"):
        list(_llm().stream(MESSAGES, max_tokens=20, temperature=0.0))


def test_unreachable_server(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(LLMError, match="cannot reach"):
        list(_llm(llm_retries=0).stream(MESSAGES, max_tokens=5, temperature=0.0))


def test_needs_a_key_or_a_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        _llm()


def test_full_answer_through_the_openai_backend(server, default_index):
    """The whole pipeline with QA_LLM=openai: passages go to the server, citations come back parsed."""
    server.reply = citing("shot down", "It was cancelled after a Chinese balloon was shot down [{n}]. Also see [99].")
    settings = dataclasses.replace(default_index, llm="openai", openai_model="fake", llm_retries=0)
    response = pipeline.stream_answer(settings, "Why was Blinken's trip to China cancelled?")
    events = list(response)
    answer = response.answer
    assert "".join(e for e in events if isinstance(e, str)).startswith("It was cancelled")
    assert not answer.refused and answer.model == "fake"
    n = answer.citations[0].n
    assert [c.n for c in answer.citations] == [n] and f"shot down [{n}]" in answer.text  # [99]: no such evidence, dropped
    assert answer.citations[0].text == answer.evidence[n - 1].passage.text
    prompt = server.requests[0]["body"]["messages"][1]["content"]
    assert f"[{n}] {' '.join(answer.evidence[n - 1].text.split())}" in prompt


def test_a_new_server_address_gets_a_new_client(monkeypatch):
    from qa.llm import generate, get_llm

    settings = Settings(llm="openai")
    for reply in ("From the first server.", "From the second server."):
        with FakeOpenAI() as fake:
            fake.reply = reply
            monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
            assert generate(get_llm(settings), MESSAGES, max_tokens=20, temperature=0) == reply
