"""Turning a model draft into a cited answer: markers, attribution, refusals (real embedder, no LLM)."""

from __future__ import annotations

import pytest

from qa.answer import (REFUSAL, QuestionError, build_messages, check_question, cited_numbers, finish,
                       is_refusal, split_sentences)
from qa.config import Settings
from qa.types import Passage

ARTICLE = ("Blinken postponed his trip to Beijing after a Chinese spy balloon crossed the United States. "
           "The balloon was shot down off South Carolina. "
           "Talks in Vienna between Jake Sullivan and Wang Yi lasted eight hours over two days.")


def _passages() -> list[Passage]:
    first = ARTICLE.index("Talks")
    return [
        Passage("c1", "a.txt", "Trip postponed", ARTICLE[:first].strip(), 0, first - 1, source="Wire"),
        Passage("c2", "a.txt", "Trip postponed", ARTICLE[first:], first, len(ARTICLE)),
    ]


def test_markers_are_parsed_and_out_of_range_ones_dropped(embedder):
    answer = finish("q", "The trip was postponed because of a balloon [1][7]. The talks took place in Vienna [2, 0].",
                    _passages(), embedder)
    assert not answer.refused
    assert [c.n for c in answer.citations] == [1, 2]
    assert "[7]" not in answer.text and "[0]" not in answer.text
    c1 = answer.citations[0]
    assert ARTICLE[c1.start:c1.end] == c1.text
    assert ARTICLE[c1.quote_start:c1.quote_end] == c1.quote and "balloon" in c1.quote


def test_uncited_sentences_get_attributed_or_flagged(embedder):
    answer = finish("q", "The Vienna talks between Sullivan and Wang Yi lasted eight hours. "
                         "The president enjoys playing golf on weekends.", _passages(), embedder)
    assert "[2]" in answer.text
    assert [c.n for c in answer.citations] == [2]
    assert answer.unsupported == ["The president enjoys playing golf on weekends."]


def test_short_bare_answers_are_attributed_by_their_words(embedder):
    answer = finish("q", "South Carolina", _passages(), embedder)
    assert [c.n for c in answer.citations] == [1]


@pytest.mark.parametrize("draft", ["NOT IN ARTICLES", "  not in articles.", "Insufficient information.",
                                   "The passages do not contain this information.", ""])
def test_refusals_are_one_fixed_sentence_without_citations(embedder, draft):
    assert is_refusal(draft)
    answer = finish("q", draft, _passages(), embedder)
    assert answer.refused and answer.text == REFUSAL and answer.citations == []


def test_an_answer_that_mentions_missing_detail_is_not_a_refusal():
    assert not is_refusal("The talks lasted eight hours [2]; the articles do not say who proposed them.")


def test_sentence_splitting_keeps_markers_and_abbreviations():
    assert split_sentences("The U.S. shot it down. [1] It was in Feb. 2023 [2]. Qin Gang") == [
        "The U.S. shot it down. [1]", "It was in Feb. 2023 [2].", "Qin Gang"]
    assert cited_numbers("a [1, 2] b [2] c [3;4]", 3) == [1, 2, 3]


def test_questions_are_checked():
    settings = Settings()
    assert check_question("  why \n now? ", settings) == "why now?"
    with pytest.raises(QuestionError, match="empty"):
        check_question(" \t\n", settings)
    with pytest.raises(QuestionError, match="2,000"):
        check_question("x" * 2001, settings)


def test_prompt_comes_from_files_and_numbers_passages():
    messages = build_messages("Why?", _passages())
    assert messages[0]["role"] == "system" and "NOT IN ARTICLES" in messages[0]["content"]
    user = messages[1]["content"]
    assert "[1] (Trip postponed — Wire)" in user and "[2] (Trip postponed)" in user
    assert user.rstrip().endswith("Question: Why?")
