"""Turning a model draft into a cited answer: markers, attribution, refusals (real embedder, no LLM)."""

from __future__ import annotations

import pytest

from qa.answer import (REFUSAL, REFUSAL_LEAD, QuestionError, answer_or_refuse, build_messages, check_question,
                       choose_option, cited_numbers, finish, grounded, is_refusal, split_sentences, verdict_only,
                       yes_or_no)
from qa.config import Settings
from qa.evidence import Evidence, in_date_order, whole_passages
from qa.types import Passage

ARTICLE = ("Blinken postponed his trip to Beijing after a Chinese spy balloon crossed the United States. "
           "The balloon was shot down off South Carolina. "
           "Talks in Vienna between Jake Sullivan and Wang Yi lasted eight hours over two days.")
DEFAULTS = Settings()


def _passages() -> list[Evidence]:
    """Two passages of one article, each read whole (as with the evidence stage off)."""
    first = ARTICLE.index("Talks")
    return whole_passages([
        Passage("c1", "a.txt", "Trip postponed", ARTICLE[:first].strip(), 0, first - 1, source="Wire"),
        Passage("c2", "b.txt", "Talks held", ARTICLE[first:], first, len(ARTICLE)),
    ])


def test_markers_are_parsed_and_out_of_range_ones_dropped(embedder):
    answer = finish("q", "The trip was postponed because of a balloon [1][7]. The talks took place in Vienna [2, 0].",
                    _passages(), embedder, settings=DEFAULTS)
    assert not answer.refused
    assert [c.n for c in answer.citations] == [1, 2]
    assert "[7]" not in answer.text and "[0]" not in answer.text
    c1 = answer.citations[0]
    assert ARTICLE[c1.start:c1.end] == c1.text
    assert ARTICLE[c1.quote_start:c1.quote_end] == c1.quote and "balloon" in c1.quote


def test_uncited_sentences_get_attributed_or_flagged(embedder):
    answer = finish("q", "The Vienna talks between Sullivan and Wang Yi lasted eight hours. "
                         "The president enjoys playing golf on weekends.", _passages(), embedder, settings=DEFAULTS)
    assert "[2]" in answer.text
    assert [c.n for c in answer.citations] == [2]
    assert answer.unsupported == ["The president enjoys playing golf on weekends."]


def test_citations_that_do_not_support_their_sentence_are_dropped(embedder):
    answer = finish("q", "The Vienna talks between Sullivan and Wang Yi lasted eight hours [1][2]. "
                         "The president enjoys playing golf on weekends [1]. Yes [2].", _passages(), embedder,
                    settings=DEFAULTS)
    assert "talks between Sullivan and Wang Yi lasted eight hours [2]." in answer.text  # [1] is about the balloon
    assert answer.unsupported == ["The president enjoys playing golf on weekends."]
    assert "golf on weekends." in answer.text and "weekends [1]" not in answer.text
    assert (answer.citations_checked, answer.citations_supported) == (3, 1)  # "Yes [2]." is too short to check
    assert [c.n for c in answer.citations] == [2]


def test_a_claim_cited_to_the_wrong_number_is_cited_to_the_evidence_that_supports_it(embedder):
    answer = finish("q", "The Vienna talks between Jake Sullivan and Wang Yi lasted eight hours over two days [1].",
                    _passages(), embedder, settings=DEFAULTS)
    assert answer.text.endswith("over two days [2].") and [c.n for c in answer.citations] == [2]
    assert (answer.citations_checked, answer.citations_supported) == (1, 0)  # the model's own number failed
    assert answer.unsupported == []


@pytest.mark.parametrize("draft", ["Yes [1].", "No.", "42 [2]", "South Carolina"])
def test_short_answers_with_a_word_are_not_refusals(draft):
    assert not is_refusal(draft)


def test_short_bare_answers_are_attributed_by_their_words(embedder):
    answer = finish("q", "South Carolina", _passages(), embedder, settings=DEFAULTS)
    assert [c.n for c in answer.citations] == [1]


def test_support_thresholds_come_from_the_settings(embedder):
    draft = "The Vienna talks lasted eight long hours. The president enjoys playing golf on weekends [1]."
    default = finish("q", draft, _passages(), embedder, settings=DEFAULTS)
    assert default.text.startswith("The Vienna talks lasted eight long hours [2].")
    assert default.unsupported == ["The president enjoys playing golf on weekends."]
    # Attribution demanding a perfect match, and every citation the model wrote kept.
    flipped = Settings(attribution_min_similarity=1, attribution_min_word_share=1, verify_min_similarity=0,
                       verify_min_word_share=0)
    answer = finish("q", draft, _passages(), embedder, settings=flipped)
    assert answer.unsupported == ["The Vienna talks lasted eight long hours."]
    assert answer.text.endswith("golf on weekends [1].")


@pytest.mark.parametrize("draft", ["NOT IN ARTICLES", "  not in articles.", "Insufficient information.",
                                   "The passages do not contain this information.", "", " [1]", "and [2][3]."])
def test_unrelated_refusals_are_one_fixed_sentence_without_citations(embedder, draft):
    assert is_refusal(draft)
    answer = finish("Who won the election?", draft, _passages(), embedder, settings=DEFAULTS)
    assert answer.refused and answer.text == REFUSAL and answer.citations == []


def test_a_refusal_quotes_what_the_articles_say_closest_to_a_false_premise(embedder):
    question = "Why did Jake Sullivan meet Xi Jinping in Vienna?"
    answer = finish(question, "NOT IN ARTICLES", _passages(), embedder, settings=DEFAULTS)
    assert answer.refused and answer.text.startswith(REFUSAL_LEAD)
    [citation] = answer.citations
    assert citation.n == 2 and "Sullivan and Wang Yi" in citation.quote
    assert ARTICLE[citation.quote_start:citation.quote_end] == citation.quote
    assert f"“{citation.quote}” [2]" in answer.text
    # Off, or with a bar no sentence reaches: the plain refusal.
    for settings in (Settings(refusal_shows_closest=False), Settings(closest_min_similarity=0.99)):
        plain = finish(question, "NOT IN ARTICLES", _passages(), embedder, settings=settings)
        assert plain.text == REFUSAL and plain.citations == []


def test_a_refusal_never_quotes_a_question_from_the_passage(embedder):
    passage = Passage("c1", "b.txt", "Coach", "Can Smith turn the Michigan State program around?", 0, 50)
    answer = finish("What salary will Smith be paid at Michigan State?", "NOT IN ARTICLES", whole_passages([passage]), embedder,
                    settings=Settings(closest_min_similarity=-1))
    assert answer.text == REFUSAL and answer.citations == []


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


def test_prompt_comes_from_files_and_numbers_evidence_under_one_heading_per_article():
    messages = build_messages("Why?", _passages())
    assert messages[0]["role"] == "system" and "NOT IN ARTICLES" in messages[0]["content"]
    user = messages[1]["content"]
    assert "Article: Trip postponed · Wire\n[1] Blinken postponed" in user and "Article: Talks held\n[2] Talks in Vienna" in user
    assert user.rstrip().endswith("Question: Why?")
    # Two sentences of one article share its heading, numbered in turn.
    passage = _passages()[0].passage
    split = passage.text.index("The balloon")
    user = build_messages("Why?", [Evidence(passage, 0, split - 1), Evidence(passage, split, len(passage.text))])
    assert user[1]["content"].count("Trip postponed") == 1 and "\n[2] The balloon was shot down" in user[1]["content"]


def test_time_questions_order_passages_by_date_and_the_prompt_starts_the_same():
    first, second = _passages()
    second.passage.published_at, first.passage.published_at = "2023-02-01", "2023-02-05"
    assert [e.passage.chunk_id for e in in_date_order([first, second])] == ["c2", "c1"]
    timed = build_messages("Did the talks happen before the balloon was shot down?", [second, first],
                           in_time_order=True, yes_no=True)
    plain = build_messages("Why?", [first])
    # The system prompt is the same bytes for every question: a local model reads it once; the
    # question comes after the evidence, the guide lines after it.
    assert timed[0] == plain[0]
    user = timed[1]["content"]
    assert user.index("Question: Did the talks") < user.index("earliest first") < user.index('"Yes" or "No"')
    assert plain[1]["content"].endswith("Question: Why?") and "Yes" not in plain[1]["content"]
    assert timed[1]["content"].index("2023-02-01") < timed[1]["content"].index("2023-02-05")


class _ScoringLLM:
    """Stands in for a backend that can score the first word of its reply."""

    name = "scoring"

    def __init__(self, logits, other=None):
        self.logits, self.other = logits, other

    def first_word_logits(self, messages, words):
        assert words in (["Yes", "No", "NOT"], ["NOT"])
        return self.logits if words[0] == "Yes" or self.logits is None else self.logits[-1:]

    def best_other_start(self, messages, words):
        assert words == ["NOT"]
        return self.other


@pytest.mark.parametrize("logits,bias,refusal,expected", [
    ([5.0, 3.0, 0.0], 0.0, 0.0, "Yes"),
    ([5.0, 3.0, 0.0], 2.5, 0.0, "No"),   # the bias calibrates a model that leans to yes
    ([1.0, 2.0, 4.0], 0.0, 0.0, ""),     # the model's first choice is the refusal mark
    ([1.0, 2.0, 4.0], 0.0, 3.0, "No"),   # ... but not by enough to refuse
])
def test_yes_or_no_reads_the_first_word_logits(logits, bias, refusal, expected):
    settings = Settings(yes_no_bias=bias, yes_no_refusal_margin=refusal)
    verdict, margins = yes_or_no([], _ScoringLLM(logits), settings)
    assert verdict == expected
    assert margins == {"yes_no": logits[0] - logits[1], "refusal": logits[2] - max(logits[:2])}


def test_a_backend_that_cannot_score_words_decides_itself():
    assert yes_or_no([], _ScoringLLM(None), Settings()) == ("", {})


@pytest.mark.parametrize("refusal_logit,margin_setting,start", [
    (5.0, 1.0, "Vienna"),  # refusal wins by 0.5: answered after all, opening with the best other token
    (7.0, 1.0, ""),        # refusal wins by 2.5: the model refuses
    (3.0, 1.0, ""),        # the model would answer anyway: nothing forced
    (5.0, 0.0, ""),        # 0 turns it off
])
def test_a_refusal_the_model_is_not_sure_of_is_answered_after_all(refusal_logit, margin_setting, start):
    llm = _ScoringLLM([refusal_logit], other=("Vienna", 4.5))
    opening, margins = answer_or_refuse([], llm, Settings(refusal_margin=margin_setting))
    assert opening == start
    assert margins == ({"refusal": refusal_logit - 4.5} if margin_setting else {})


def test_a_backend_that_cannot_score_words_refuses_as_it_likes():
    assert answer_or_refuse([], _ScoringLLM(None), Settings()) == ("", {})


@pytest.mark.parametrize("question,text,is_grounded", [
    ("In which city did Sullivan hold talks with Wang Yi?", "Vienna [2].", True),
    ("How long did the Vienna talks last?", "They lasted eight hours over two days [2].", True),
    ("Which missile brought the balloon down?", "An AIM-9X Sidewinder missile [1].", False),   # invented
    ("Where was the balloon shot down?", "The balloon was shot down [1].", False),  # adds nothing
])
def test_an_answer_is_grounded_when_what_it_adds_is_in_the_evidence(question, text, is_grounded):
    assert grounded(question, text, _passages(), DEFAULTS) is is_grounded


def test_a_verdict_with_nothing_after_it_rests_on_the_closest_sentence(embedder):
    answer = verdict_only("Did Sullivan and Wang Yi hold talks in Vienna?", "Yes", _passages(), embedder,
                          settings=DEFAULTS)
    assert not answer.refused and answer.text.startswith("Yes: “Talks in Vienna") and answer.text.endswith("[2]")
    [citation] = answer.citations
    assert ARTICLE[citation.quote_start:citation.quote_end] == citation.quote
    bare = verdict_only("Did Sullivan and Wang Yi hold talks in Vienna?", "Yes", _passages(), embedder,
                        settings=Settings(refusal_shows_closest=False))
    assert bare.text == "Yes." and bare.citations == []


class _OptionLLM:
    """Stands in for a backend that scores how likely its reply opens with a text."""

    name = "options"

    def __init__(self, logprobs):
        self.logprobs, self.asked = logprobs, []

    def reply_logprob(self, messages, text):
        self.asked.append(text)
        return self.logprobs.get(text) if self.logprobs is not None else None


def test_an_either_or_question_is_answered_with_the_likelier_option_the_evidence_holds():
    llm = _OptionLLM({"Vienna": -1.0, "Geneva": -0.5})
    # Geneva is likelier to the model, but the evidence never names it: only Vienna competes.
    assert choose_option([], llm, ["Vienna", "Geneva"], _passages()) == ("Vienna", {"option": 0.0})
    assert llm.asked == ["Vienna"]
    both = _OptionLLM({"Eight hours": -2.0, "Two days": -0.5})
    assert choose_option([], both, ["eight hours", "two days"], _passages()) == ("Two days", {"option": 1.5})


@pytest.mark.parametrize("options,logprobs", [
    (["Geneva", "Paris"], {"Geneva": -1.0, "Paris": -2.0}),   # neither option is in the evidence
    (["Vienna", "Sullivan"], None),                           # a backend that cannot score text
])
def test_no_option_is_forced_without_evidence_or_scores(options, logprobs):
    assert choose_option([], _OptionLLM(logprobs), options, _passages()) == ("", {})


def test_an_option_with_nothing_after_it_rests_on_a_sentence_that_holds_it(embedder):
    answer = verdict_only("Did the talks last eight hours or ten hours?", "Eight hours", _passages(), embedder,
                          settings=DEFAULTS, holding="eight hours")
    assert answer.text.startswith("Eight hours: “Talks in Vienna") and answer.text.endswith("[2]")
    nothing = verdict_only("Did the talks last eight hours or ten hours?", "Ten hours", _passages(), embedder,
                           settings=DEFAULTS, holding="ten hours")
    assert nothing.text == "Ten hours." and nothing.citations == []
