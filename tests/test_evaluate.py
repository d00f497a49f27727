"""Metrics on hand-made cases with known values, and gold-file validation."""

from __future__ import annotations

import json

import pytest

from qa.answer import Answer, Citation
from qa.evidence import whole_passages
from qa.config import Settings
from qa.evaluate import (GoldError, GoldItem, answer_correct, compare, evaluate, evidence_scores, gate, keyword_groups_found,
                         ItemResult, load_gold, report, retrieval_scores, stratified_sample, summarize, token_f1)
from qa.types import Passage


def _passage(doc_id: str, text: str, also_in=()) -> Passage:
    return Passage(chunk_id=doc_id + text[:5], doc_id=doc_id, title="t", text=text, start=0, end=len(text),
                   also_in=list(also_in))


@pytest.mark.parametrize("text,keywords,expected", [
    ("It lasted eight hours.", ["eight|8"], True),
    ("It lasted 8 hours.", ["eight|8"], True),
    ("It lasted 18 hours.", ["eight|8"], False),
    ("They did not meet.", ["no"], False),
    ("In November they met.", ["no"], False),
    ("No, they did not.", ["no"], True),
    ("A Chinese  spy\nballoon", ["spy balloon", "Chinese"], True),
    ("A balloon", ["balloon", "Vienna"], False),
])
def test_keywords_match_whole_words_and_alternatives(text, keywords, expected):
    assert keyword_groups_found(text, keywords) is expected


@pytest.mark.parametrize("gold,text,refused,expected", [
    ("Yes", "Yes, both report it [1].", False, True),
    ("no", "No. The Verge says otherwise [2].", False, True),
    ("no", "Yes, but not in November [1].", False, False),  # a "no" later in the text does not count
    ("Yes", "The articles do not say.", True, False),
    ("Sam Bankman-Fried", "It is Sam Bankman-Fried [1].", False, True),
    ("Sam Bankman-Fried", "It is Bankman [1].", False, False),
    ("Insufficient information.", "The articles do not say.", True, True),
    ("Insufficient information.", "Yes [1].", False, False),
])
def test_answer_accuracy_is_strict(gold, text, refused, expected):
    answerable = gold != "Insufficient information."
    item = GoldItem("q", "?", gold, [], [gold] if answerable else [], answerable)
    assert answer_correct(item, text, refused) is expected


def test_token_f1_is_squad_normalised():
    assert token_f1("The balloon!", "balloon") == 1.0
    assert token_f1("a spy balloon", "the weather balloon") == pytest.approx(0.5, abs=1e-4)
    assert token_f1("nothing alike", "balloon") == 0.0


def test_retrieval_scores_for_known_rankings():
    item = GoldItem("q", "?", "a", sources=["d1", "d2"], keywords=[], answerable=True,
                    evidence=["the balloon was shot down", "talks lasted eight hours"])
    passages = [_passage("x", "unrelated"), _passage("y", "more unrelated", also_in=["d2"]),
                _passage("d1", "Officials said the balloon was\nshot down on Saturday."),
                _passage("d3", "nothing"), _passage("d2", "The talks lasted eight hours in Vienna.")]
    scores = retrieval_scores(item, passages)
    assert scores["hit@4"] == 1.0 and scores["hit@10"] == 1.0
    assert scores["recall@10"] == 1.0
    assert scores["mrr@10"] == pytest.approx(1 / 2, abs=1e-4)  # rank 2 carries d2 as a folded copy
    assert scores["evidence_hit@4"] == 1.0
    assert scores["evidence_mrr@10"] == pytest.approx(1 / 3, abs=1e-4)
    assert scores["evidence_recall@10"] == 1.0
    assert scores["evidence_map@10"] == pytest.approx((1 / 3 + 1 / 5) / 2, abs=1e-4)  # MultiHop-RAG's MAP@10


def test_evidence_found_only_partly():
    scores = evidence_scores(["first fact here", "second fact here"], ["x"] * 4 + ["The first fact here."])
    assert scores["evidence_hit@4"] == 0.0 and scores["evidence_hit@10"] == 1.0
    assert scores["evidence_recall@10"] == 0.5


def _answer(text: str, citations: list[int], passages: list[Passage], refused: bool = False) -> Answer:
    cites = [Citation(n, passages[n - 1].doc_id, "t", passages[n - 1].text, 0, 1) for n in citations]
    return Answer("q", text, refused, cites, passages, evidence=whole_passages(passages), timings={"total_s": 1.0})


def test_answer_metrics_for_perfect_wrong_refused_and_bad_citations():
    passages = [_passage("d1", "The balloon was shot down."), _passage("d9", "Unrelated article.")]
    items = [
        GoldItem("perfect", "Why?", "A balloon was shot down.", ["d1"], ["balloon"], True),
        GoldItem("wrong", "Who?", "Kritenbrink", ["d1"], ["Kritenbrink"], True),
        GoldItem("refused-right", "Moon?", "The articles do not say.", [], [], False),
        GoldItem("refused-wrong", "When?", "In February", ["d1"], ["February"], True),
    ]
    replies = {
        "Why?": _answer("A balloon was shot down [1].", [1], passages),
        "Who?": _answer("It was Blinken [2]. He flew in.", [2], passages),
        "Moon?": _answer("The articles do not say.", [], passages, refused=True),
        "When?": _answer("The articles do not say.", [], passages, refused=True),
    }
    results = evaluate(items, Settings(), search=lambda q, top_k: passages, answer=lambda q: replies[q],
                       embed=None)
    summary = summarize(results)
    assert summary["keyword_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["answer_accuracy"] == pytest.approx(2 / 4, abs=1e-4)  # perfect + the right refusal
    assert summary["refusal_accuracy"] == pytest.approx(3 / 4, abs=1e-4)
    assert summary["citation_precision"] == pytest.approx(1 / 2, abs=1e-4)  # [1] → d1 is a source, [2] → d9 is not
    assert summary["citation_coverage"] == pytest.approx(2 / 3, abs=1e-4)  # "He flew in." carries no citation
    assert summary["token_f1"] == pytest.approx((1.0 + 0.0 + 0.0) / 3, abs=1e-4)
    assert summary["refusal_precision"] == 0.5 and summary["refusal_recall"] == 1.0
    assert summary["latency_p50_s"] == 1.0


def test_compare_lists_flipped_questions_and_gate_names_metrics():
    passages = [_passage("d1", "The balloon was shot down.")]
    item = GoldItem("q1", "Why?", "balloon", ["d1"], ["balloon"], True)
    run = lambda text: report(evaluate([item], Settings(), search=lambda q, top_k: passages,  # noqa: E731
                                       answer=lambda q: _answer(text, [1], passages), embed=None), {})
    before, after = run("Weather [1]."), run("A balloon [1].")
    deltas, flipped = compare(after, before)
    assert ("keyword_accuracy", 0.0, 1.0) in deltas
    assert [f["id"] for f in flipped] == ["q1"] and flipped[0]["now"] == "right"
    assert gate(before["summary"], {"keyword_accuracy": 0.5}) == ["keyword_accuracy = 0.000 is below the minimum 0.500"]
    assert gate(after["summary"], {"keyword_accuracy": 0.5, "refusal_accuracy": 0.9}) == []
    assert "not measured" in gate({}, {"hit@4": 0.5})[0]


GOOD = {"id": "a", "question": "Q?", "answer": "A", "sources": ["d"], "keywords": ["k"], "answerable": True}


@pytest.mark.parametrize("line,message", [
    ("{oops", "not valid JSON"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "keywords"}), "missing field 'keywords'"),
    (json.dumps({**GOOD, "answerable": "yes"}), "field 'answerable' must be bool"),
    (json.dumps({**GOOD, "sources": "d"}), "field 'sources' must be a list of strings"),
    (json.dumps({**GOOD, "evidence": [1]}), "field 'evidence' must be a list of strings"),
    (json.dumps(GOOD), "duplicate id 'a' (first on line 1)"),
    ("[1, 2]", "expected a JSON object"),
])
def test_bad_gold_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n")
    with pytest.raises(GoldError) as caught:
        load_gold(path)
    assert f"{path}:2: " in str(caught.value) and message in str(caught.value)


def test_stratified_sample_keeps_every_type_and_is_stable():
    items = [GoldItem(f"{t}{i}", "q", "a", [], [], True, type=t) for t in "abc" for i in range(10 if t == "a" else 5)]
    sample = stratified_sample(items, 8)
    assert {i.type for i in sample} == {"a", "b", "c"}
    assert sample == stratified_sample(items, 8)


def test_answer_precision_and_the_always_yes_baseline():
    def result(expected, correct, refused=False, answerable=True):
        return ItemResult(id=expected + str(correct), question="q", type="t", answerable=answerable,
                          expected=expected, got="x", refused=refused, correct=correct)

    results = [result("Yes", True), result("No", False), result("Yes.", False), result("Sam Altman", True),
               result("Sam Altman", False, refused=True), result("Insufficient information.", True, refused=True,
                                                                   answerable=False)]
    summary = summarize(results)
    assert summary["answer_accuracy"] == 0.5  # 3 of 6
    assert summary["answer_precision"] == 0.5  # 2 of the 4 answered
    assert summary["yes_no_accuracy"] == round(1 / 3, 4) and summary["yes_no_always_yes"] == round(2 / 3, 4)
