"""The openai backend against a real OpenAI-compatible server: llama.cpp's own (`python -m llama_cpp.server`,
the `server` extra) serving the bundled 0.5B on 127.0.0.1, through QA_LLM=openai and the whole pipeline.

Cited answers, streaming and refusals; a reader who stops; and the failures a real server produces:
killed mid-answer (in process, through the CLI and through the UI's API), slower than QA_LLM_TIMEOUT,
interrupted by another request, a prompt longer than its context window. The shapes this server is not
made to produce (401, 429, 500, malformed events) stay with the fake one (tests/test_openai_backend.py)."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (CORPUS, LLAMA_SERVER_ALIAS, ROOT, LlamaServer, app_server, article_texts,
                      assert_quotes_are_article_text, llama_server)
from qa import pipeline
from qa.answer import READING, Stage
from qa.config import Settings, env_name, load_settings
from qa.llm import LLMError, OpenAILLM

pytestmark = [pytest.mark.server, pytest.mark.full, pytest.mark.model]

# The 0.5B answers this one on this path; it refuses "Why was Blinken's trip to China cancelled?", which
# the local backend's logit rules make it answer (see docs/openai-servers.md).
POSTPONED = "Why did Blinken postpone his trip to China?"
# A long answer (the 0.5B writes to any max_tokens; asked to count, it writes a short script), and a short one.
STORY = [{"role": "user", "content": "Write a 600-word story about a lighthouse keeper."}]
SHORT = [{"role": "user", "content": "Say yes."}]


def _settings_env(server_url: str, index: Settings, **settings: str) -> dict[str, str]:
    """The environment that points newsqa at the server: QA_LLM=openai and its companions."""
    values = {"llm": "openai", "openai_model": LLAMA_SERVER_ALIAS, "index_dir": str(index.index_dir),
              "history": "false", "llm_retries": "0", **settings}
    return {**{env_name(name): value for name, value in values.items()}, "OPENAI_BASE_URL": server_url}


@pytest.fixture
def use_server(monkeypatch, default_index):
    """Point this process at a server (QA_* and OPENAI_BASE_URL); returns the settings that loads."""
    def use(server_url: str, **settings: str) -> Settings:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        for name, value in _settings_env(server_url, default_index, **settings).items():
            monkeypatch.setenv(name, value)
        return load_settings()
    return use


@pytest.fixture(scope="module")
def streamed(openai_server: LlamaServer, default_index):
    """One answer streamed from the server: (the text deltas with when each came, when the stream ended,
    the final answer)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _settings_env(openai_server.url, default_index).items():
            patch.setenv(name, value)
        response = pipeline.stream_answer(load_settings(), POSTPONED)
        deltas = [(time.perf_counter(), item) for item in response if isinstance(item, str)]
        return deltas, time.perf_counter(), response.answer


def test_cited_answer_from_the_server(streamed):
    _, _, answer = streamed
    assert not answer.refused and answer.model == LLAMA_SERVER_ALIAS and "first_token_s" in answer.timings
    assert "balloon" in answer.text.lower()  # the reason the articles give
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)} == {c.n for c in answer.citations}
    assert_quotes_are_article_text(answer.citations, article_texts(CORPUS))


def test_the_answer_streams_delta_by_delta(streamed):
    deltas, ended, answer = streamed
    assert len(deltas) > 1
    (first, _), (last, _) = deltas[0], deltas[-1]
    # Shown as the server writes it: a buffered stream would hand over every delta at once, at the end.
    assert last - first > 0.1 and ended - first > 0.1


def test_an_off_topic_question_is_refused_before_the_model(openai_server, use_server):
    answer = pipeline.ask(use_server(openai_server.url), "Who won the 2024 US presidential election?")
    assert answer.refused and answer.citations == []
    assert "model_wait_s" not in answer.timings  # the similarity gate refused it: no request to the server


def test_an_on_topic_question_the_articles_do_not_answer_is_refused_by_the_model(openai_server, use_server):
    # Similar enough to the balloon passages to pass the similarity gate: the refusal comes from the model.
    answer = pipeline.ask(use_server(openai_server.url), "How many people were on board the Chinese balloon?")
    assert answer.refused and "first_token_s" in answer.timings  # the server wrote a reply, a refusal
    assert len(answer.citations) <= 1  # at most the closest sentence, quoted from its article
    if answer.citations:
        assert_quotes_are_article_text(answer.citations, article_texts(CORPUS))


def test_a_timeout_shorter_than_prompt_reading_is_honoured(openai_server, use_server):
    # 0.2 s is far less than the server takes to read a prompt of some 750 tokens on a CPU; with the
    # default 60 s the answer would come.
    settings = use_server(openai_server.url, llm_timeout="0.2")
    response = pipeline.stream_answer(settings, "Where was the Chinese spy balloon shot down?")
    asked = None
    with pytest.raises(LLMError) as caught:
        for item in response:
            if isinstance(item, Stage) and item.name == READING:
                asked = time.perf_counter()  # the request goes out next
    waited = time.perf_counter() - asked
    assert str(caught.value) == f"the model server at {openai_server.url} did not answer within 0.2s"
    assert 0.2 <= waited < 5, waited


def _llm(server: LlamaServer, monkeypatch) -> OpenAILLM:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    return OpenAILLM(Settings(llm="openai", openai_model=LLAMA_SERVER_ALIAS, llm_retries=0))


def test_a_reader_who_stops_frees_the_server_for_the_next_question(openai_server, monkeypatch):
    # The session's server lets a new request wait for the running one; a reply nobody reads any more
    # would hold the model until its last token, unless its connection is closed.
    llm = _llm(openai_server, monkeypatch)
    started = time.perf_counter()
    assert list(llm.stream(SHORT, max_tokens=2, temperature=0.0))
    alone = time.perf_counter() - started
    # The openai client's stream is in a reference cycle: left to itself it is closed whenever the
    # garbage collector next runs, which may be long after (here: never, until the check is done).
    gc.disable()
    try:
        unread = llm.stream(STORY, max_tokens=600, temperature=0.0)
        next(unread)
        unread.close()  # what a stopped question does to its model stream
        started = time.perf_counter()
        assert list(llm.stream(SHORT, max_tokens=2, temperature=0.0))
        waited = time.perf_counter() - started
    finally:
        gc.enable()
    assert waited < alone + 3  # not the rest of a 600-token story


def test_a_stream_another_request_interrupts_is_an_error_not_a_short_answer(tmp_path, monkeypatch):
    # llama.cpp's server, as it starts by default, ends a stream with [DONE] and no finish_reason when
    # another request arrives.
    with llama_server(tmp_path) as server:
        llm = _llm(server, monkeypatch)
        other = None
        with ThreadPoolExecutor(1) as pool, pytest.raises(LLMError) as caught:
            for _ in llm.stream(STORY, max_tokens=600, temperature=0.0):
                if other is None:  # after the first delta
                    other = pool.submit(lambda: list(llm.stream(SHORT, max_tokens=2, temperature=0.0)))
        assert other.result()  # the request that interrupted it was answered
    assert str(caught.value) == (f"the model server at {server.url} stopped before finishing the answer "
                                 "(no finish_reason: cut off, or interrupted by another request)")


def test_a_prompt_longer_than_the_context_window_is_a_clear_error(openai_server, monkeypatch):
    llm = _llm(openai_server, monkeypatch)
    too_long = [{"role": "user", "content": "word " * 6000}]  # n_ctx is 4096
    with pytest.raises(LLMError, match="sent an empty reply; its log says why") as caught:
        list(llm.stream(too_long, max_tokens=8, temperature=0.0))
    assert "\n" not in str(caught.value)


def test_a_server_killed_mid_answer_is_one_clear_error(tmp_path, use_server):
    with llama_server(tmp_path) as server:
        response = pipeline.stream_answer(use_server(server.url), POSTPONED)
        deltas = []
        with pytest.raises(LLMError) as caught:
            for item in response:
                if isinstance(item, str):
                    if not deltas:
                        server.process.kill()
                        server.process.wait()
                    deltas.append(item)
    assert deltas
    assert str(caught.value) == f"the model server at {server.url} stopped before finishing the answer (connection lost)"


class Tap:
    """A TCP relay on 127.0.0.1 in front of a model server that tells when the first text delta of a
    reply has passed: what a test in another process (the CLI, the app) waits for before it kills the
    server mid-answer. When the server's side closes or breaks, so does the client's; `upstream` (a
    port) may change between requests, to a server started anew."""

    _DELTA = re.compile(rb'"content": ?"[^"]')

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.delta_passed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:  # nothing listening: the client sees its connection closed unanswered
            client.close()
            return
        threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
        self._pump(server, client, watch=True)

    def _pump(self, source: socket.socket, sink: socket.socket, watch: bool = False) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if watch and self._DELTA.search(data):
                    self.delta_passed.set()
        except OSError:
            pass
        finally:
            for end in (source, sink):  # shutdown, not just close: it wakes the other pump's recv at once
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


def _kill_after_first_delta(tap: Tap, server: LlamaServer, asking) -> None:
    """Wait for the first delta to pass `tap` (while `asking`, a Future, is still running), then SIGKILL the server."""
    while not tap.delta_passed.wait(0.5):
        assert not asking.done(), asking.result()
    server.process.kill()
    server.process.wait()


def test_the_cli_says_one_line_when_the_server_is_killed_mid_answer(tmp_path, default_index):
    with llama_server(tmp_path) as server:
        tap = Tap(server.port)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("QA_", "OPENAI_"))}
        env.update(_settings_env(tap.url, default_index), QA_CONFIG=str(tmp_path / "no-qa.toml"))
        with ThreadPoolExecutor(1) as pool:
            asking = pool.submit(subprocess.run, [sys.executable, "-m", "qa", "ask", POSTPONED], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=600)
            _kill_after_first_delta(tap, server, asking)
            done = asking.result()
        tap.close()
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [f"error: the model server at {tap.url} stopped before finishing the answer "
                                        "(connection lost)"]


def test_the_ui_stays_up_when_the_server_is_killed_mid_answer(tmp_path, default_index):
    from gradio_client import Client

    with llama_server(tmp_path) as server:
        tap = Tap(server.port)
        with app_server(_settings_env(tap.url, default_index), tmp_path) as url:
            client = Client(url, verbose=False)

            def ask() -> dict:
                return client.predict(question=POSTPONED, api_name="/ask")

            with ThreadPoolExecutor(1) as pool:
                asking = pool.submit(ask)
                _kill_after_first_delta(tap, server, asking)
                with pytest.raises(Exception, match=re.escape("stopped before finishing the answer (connection lost)")):
                    asking.result()
            with urllib.request.urlopen(url) as page:
                assert "newsqa" in page.read().decode()
            with pytest.raises(Exception, match=re.escape(f"cannot reach the model server at {tap.url}")):
                ask()
            # A server back at the address it used: the next question is answered.
            with llama_server(tmp_path) as again:
                tap.upstream = again.port
                answer = ask()
            assert answer["answer"] and answer["model"] == LLAMA_SERVER_ALIAS
        tap.close()
    # gradio prints the traceback of each gr.Error the app raises for an expected failure; any other
    # exception would be a crash.
    log = (tmp_path / "app.log").read_text()
    raised = re.findall(r"^Traceback \(most recent call last\):\n(?:\s.*\n)*(.*)", log, re.MULTILINE)
    assert all(line.startswith("gradio.exceptions.Error: ") for line in raised), log
