"""The local model serves one question at a time, in order, and a stopped question frees it at once.

Real llama.cpp with the bundled 0.5B: the turns, the cancel flag and the abort of a prompt being read
are about what the real model loop does, so no fake stands in for it.
"""

from __future__ import annotations

import threading
import time

import pytest

from qa.config import Settings
from qa.llm import LocalLLM, Stopped, get_llm

pytestmark = pytest.mark.model

COUNT = [{"role": "user", "content": "Count from 1 to 200, separated by commas."}]
# Deadlines only catch a hang (the old lock left a third thread blocked for good); speed is in the bench.
HANG = 120


@pytest.fixture(scope="module")
def model() -> LocalLLM:
    # A long idle timeout: only an explicit end may free the model here.
    model = get_llm(Settings(fast=True, model_idle_timeout=600))
    assert isinstance(model, LocalLLM)
    return model


def in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def wait_until(condition, timeout: float = HANG) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_stream_closed_by_another_thread_frees_the_model(model, capfd):
    """The issue's three-thread case: A takes a stream and reads three tokens, B closes it, C asks."""
    streams, seen = [], []

    def take_three():
        stream = model.stream(COUNT, max_tokens=400, temperature=0.0)
        seen.extend(delta for delta, _ in zip(stream, range(3)))
        streams.append(stream)

    in_thread(take_three).join(HANG)
    assert len(seen) == 3
    in_thread(lambda: streams[0].close()).join(HANG)

    answers = []
    asking = in_thread(lambda: answers.append("".join(model.stream(COUNT, max_tokens=8, temperature=0.0))))
    asking.join(HANG)
    assert not asking.is_alive(), "the third thread is still waiting for the model"
    assert answers and answers[0].startswith("1")
    # Nothing went wrong on the way: no traceback, no "cannot release un-acquired lock".
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.full
def test_a_turn_ended_mid_prompt_stops_reading_it(model):
    """Ending a turn while the model reads a long prompt aborts the read part-way (llama.cpp's abort
    callback), instead of finishing the whole prompt first."""
    long_prompt = [{"role": "user", "content": "Repeat after me. " + "The harbour wall was unsafe. " * 250}]
    turn = model.turn()
    failures = []

    def read():
        try:
            turn.first_word_logits(long_prompt, ["The"])
        except Stopped as error:
            failures.append(error)

    reading = in_thread(read)
    wait_until(turn.served.is_set)
    time.sleep(0.3)
    turn.end()
    reading.join(HANG)
    assert failures, "the call finished instead of stopping"
    prompt_length = len(model._prompt_tokens(long_prompt))
    assert model._llama.n_tokens < prompt_length, "the whole prompt was read before the turn could end"
    # The model is usable at once, and reads the prompt right after an abort.
    logits = model.first_word_logits(long_prompt, ["The", "Repeat"])
    assert len(logits) == 2 and all(value == value for value in logits)


def test_waiting_turns_see_their_place_and_skip_an_abandoned_one(model):
    first, second, third = model.turn(), model.turn(), model.turn()
    try:
        wait_until(first.served.is_set)
        assert (second.ahead(), third.ahead()) == (1, 2)
        assert next(third.waiting()) == 2
        second.end()  # abandoned while waiting: nobody waits behind it
        assert third.ahead() == 1
        first.end()
        wait_until(third.served.is_set)
        assert third.ahead() == 0 and not second.served.is_set()
        assert list(third.waiting()) == []
    finally:
        for turn in (first, second, third):
            turn.end()


@pytest.mark.full
def test_a_served_turn_that_goes_quiet_is_ended():
    """A reader that vanishes without closing anything loses its turn after the idle timeout."""
    model = get_llm(Settings(fast=True, model_idle_timeout=1.0))
    quiet, next_one = model.turn(), model.turn()
    try:
        wait_until(quiet.served.is_set)
        wait_until(next_one.served.is_set, timeout=model.idle_timeout + HANG)
        assert quiet.ended.is_set()
        with pytest.raises(Stopped):
            quiet.first_word_logits(COUNT, ["1"])
    finally:
        quiet.end()
        next_one.end()


def test_calls_on_an_ended_turn_fail_at_once_and_never_run(model):
    turn = model.turn()
    turn.end()
    with pytest.raises(Stopped):
        list(turn.stream(COUNT, max_tokens=4, temperature=0.0))


@pytest.mark.full
def test_an_answer_stopped_from_another_thread_frees_the_model_and_logs_nothing(default_index):
    """`Response.stop()` from a thread that is not iterating it (the UI's stop button, a closed page)."""
    from dataclasses import replace

    from qa import pipeline
    from qa.answer import READING, WRITING, Stage
    from qa.history import entries

    settings = replace(default_index, fast=True, history=True)
    logged_before = len(entries(settings))
    response = pipeline.stream_answer(settings, "Why was Blinken's trip to China cancelled?")
    stages, failures = [], []

    def read():
        try:
            for item in response:
                if isinstance(item, Stage):
                    stages.append(item.name)
        except Exception as error:  # noqa: BLE001 (the test reports it)
            failures.append(error)

    reader = in_thread(read)
    wait_until(lambda: READING in stages)
    in_thread(response.stop).join(HANG)
    reader.join(HANG)
    assert not reader.is_alive()
    assert response.answer is None and WRITING not in stages
    assert all("stopped" in str(error) for error in failures), failures
    # The next question is answered, and only it reaches the history log.
    answer = pipeline.ask(settings, "What did the balloon do over the United States?")
    assert answer.text
    assert len(entries(settings)) == logged_before + 1
