"""Follow-up questions made standalone, conversation round trips and Markdown export."""

from __future__ import annotations

import pytest

from qa.answer import Answer, Citation
from qa.conversation import Turn, needs_context, standalone_question, to_markdown


class ScriptedLLM:
    """Replies with a fixed text and records the prompts it saw."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[list[dict]] = []

    def stream(self, messages, *, max_tokens, temperature, prefix=""):
        self.prompts.append(messages)
        yield self.reply

    def first_word_logits(self, messages, words):
        return None


def _turn(question="Why was Blinken's trip to China cancelled?") -> Turn:
    text = "It was cancelled after a balloon was shot down [1]."
    passage = "Blinken cancelled the trip after the US shot down a Chinese balloon. Other text."
    citation = Citation(n=1, doc_id="a.txt", title="Blinken trip", text=passage, start=100, end=100 + len(passage),
                        source="Reuters", published_at="2023-06-01T00:00:00", quote=passage.split(". ")[0] + ".",
                        quote_start=100, quote_end=100 + len(passage.split(". ")[0]) + 1, similarity=0.71)
    return Turn(question, question, Answer(question, text, refused=False, citations=[citation]))


@pytest.mark.parametrize("question, expected", [
    ("When is he expected to reschedule it?", True),
    ("And what did China say?", True),
    ("What did they agree on?", True),
    ("Why was Blinken's trip to China cancelled?", False),
    ("Who is Daniel Kritenbrink?", False),
])
def test_needs_context(question, expected):
    assert needs_context(question) is expected


def test_follow_up_is_rewritten_from_history():
    llm = ScriptedLLM("Standalone question: When is Blinken expected to reschedule his China trip?\nextra")
    rewritten = standalone_question("When is he expected to reschedule it?", [_turn()], llm)
    assert rewritten == "When is Blinken expected to reschedule his China trip?"
    prompt = llm.prompts[0][1]["content"]
    assert "Why was Blinken's trip to China cancelled?" in prompt and "[1]" not in prompt


def test_standalone_questions_and_empty_history_skip_the_model():
    llm = ScriptedLLM("should not be used")
    assert standalone_question("When is he expected to reschedule it?", [], llm) == "When is he expected to reschedule it?"
    assert standalone_question("Who is Daniel Kritenbrink?", [_turn()], llm) == "Who is Daniel Kritenbrink?"
    assert llm.prompts == []


def test_an_empty_rewrite_keeps_the_question():
    assert standalone_question("What did they say?", [_turn()], ScriptedLLM("  \n")) == "What did they say?"


def test_turn_survives_a_json_round_trip():
    import json

    turn = _turn()
    again = Turn.from_dict(json.loads(json.dumps(turn.to_dict())))
    assert again.answer.text == turn.answer.text and again.answer.citations == turn.answer.citations


def test_markdown_export_resolves_every_citation():
    turn = _turn()
    markdown = to_markdown([turn, Turn("Who won?", "Who won?", Answer("Who won?", "The articles do not say.", True))])
    citation = turn.answer.citations[0]
    assert f"## 1. {turn.question}" in markdown and "## 2. Who won?" in markdown
    assert f"[1] **{citation.title}** (Reuters, 2023-06-01)" in markdown
    assert f"> {citation.quote}" in markdown and citation.doc_id in markdown


@pytest.mark.model
def test_local_model_resolves_a_pronoun(default_index, ask_once):
    from qa import pipeline

    first = ask_once(default_index, "Why was Blinken's trip to China cancelled?")
    rewritten = pipeline.standalone_question(default_index, "When is he expected to reschedule it?",
                                             [Turn(first.question, first.question, first)])
    assert "Blinken" in rewritten and "reschedul" in rewritten.lower()
