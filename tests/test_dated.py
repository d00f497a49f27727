"""Questions about time over dated articles (eval/articles/): the model reads the passages in the order
they were published, told so, whatever order retrieval found them in. A scripted model server stands
in for the LLM, so the prompt itself is what is checked."""

from __future__ import annotations

import dataclasses
import re

import pytest

from fake_openai import FakeOpenAI
from qa import pipeline


@pytest.fixture(scope="module")
def scripted_model():
    # One server for the module: the process keeps one client per model settings (qa.llm.get_llm).
    with FakeOpenAI() as fake, pytest.MonkeyPatch.context() as patch:
        fake.reply = "Ohtani's contract grew [1]."
        patch.setenv("OPENAI_BASE_URL", fake.url)
        yield fake


def _prompt_dates(fake: FakeOpenAI) -> list[str]:
    prompt = fake.requests[-1]["body"]["messages"][-1]["content"]
    return re.findall(r"^\[\d+\] \(.*, (\d{4}-\d{2}-\d{2})\)$", prompt, re.MULTILINE)


def test_a_question_about_change_reads_the_reports_in_date_order(gold_index, scripted_model):
    settings = dataclasses.replace(gold_index, llm="openai")
    question = "How did the expected size of Ohtani's contract change since the Essentially Sports article?"
    answer = pipeline.ask(settings, question)
    dates = [p.published_at[:10] for p in answer.passages]
    assert len(set(dates)) >= 3 and dates == sorted(dates)
    assert _prompt_dates(scripted_model) == dates  # each passage's heading carries its date, in that order
    assert "order they were published" in scripted_model.requests[-1]["body"]["messages"][-1]["content"]
    ranked = [p.published_at[:10] for p in pipeline.search(settings, question)]
    assert ranked != sorted(ranked)  # retrieval's own order was not already the date order


def test_a_question_not_about_time_keeps_the_retrieval_order(gold_index, scripted_model):
    settings = dataclasses.replace(gold_index, llm="openai")
    question = "Which teams were in the running to sign Shohei Ohtani?"
    answer = pipeline.ask(settings, question)
    assert [p.chunk_id for p in answer.passages] == [p.chunk_id for p in pipeline.search(settings, question)]
    assert "order they were published" not in scripted_model.requests[-1]["body"]["messages"][-1]["content"]
