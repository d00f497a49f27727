"""Questions about time over dated articles (eval/articles/): the model reads the articles in the order
they were published, told so, whatever order retrieval and the evidence stage found them in. A scripted model server stands
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


def _prompt(fake: FakeOpenAI) -> str:
    return fake.requests[-1]["body"]["messages"][-1]["content"]


def _heading_dates(prompt: str) -> list[str]:
    return re.findall(r"^Article: .* · (\d{4}-\d{2}-\d{2})$", prompt, re.MULTILINE)


def _articles_in_order(answer) -> list[str]:
    return list(dict.fromkeys(e.passage.doc_id for e in answer.evidence))


def test_a_question_about_change_reads_the_reports_in_date_order(gold_index, scripted_model):
    settings = dataclasses.replace(gold_index, llm="openai")
    question = "How did the expected size of Ohtani's contract change since the Essentially Sports article?"
    answer = pipeline.ask(settings, question)
    dates = [next(e.passage.published_at[:10] for e in answer.evidence if e.passage.doc_id == doc)
             for doc in _articles_in_order(answer)]
    assert len(set(dates)) >= 3 and dates == sorted(dates)
    assert _heading_dates(_prompt(scripted_model)) == dates  # one heading per article, with its date, in that order
    assert "order they were published" in _prompt(scripted_model)
    unordered = dataclasses.replace(settings, date_order=False)
    answer = pipeline.ask(unordered, question)
    undated = [next(e.passage.published_at[:10] for e in answer.evidence if e.passage.doc_id == doc)
               for doc in _articles_in_order(answer)]
    assert undated != sorted(undated)  # without the rule the articles were not already in date order


def test_a_question_not_about_time_keeps_the_evidence_order(gold_index, scripted_model):
    settings = dataclasses.replace(gold_index, llm="openai")
    question = "Which teams were in the running to sign Shohei Ohtani?"
    answer = pipeline.ask(settings, question)
    best = {}
    for e in answer.evidence:
        best[e.passage.doc_id] = max(best.get(e.passage.doc_id, -1.0), e.score)
    assert list(best.values()) == sorted(best.values(), reverse=True)  # articles by their best sentence
    assert "order they were published" not in _prompt(scripted_model)
