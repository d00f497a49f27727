"""The answerability judge shipped in qa/judges (trained in training/, issue 27): it loads from the
package, lets through the phrasings readers use for questions the articles answer, prefers a
question's own evidence to another's, and when it stops a question the reply says what the articles
do report, before the model reads anything (real weights, real Chroma, real embedder; the default
corpus, which it never saw in training). It is off by default (the README's ablation line says why)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace

import pytest

from qa import pipeline
from qa.answer import CORRECTION_LEAD, REFUSAL, evidence_for, retrieve
from qa.judges import ANSWERABILITY, JudgeUnavailable, answerability_judge, load_answerability_judge

# Questions the default articles answer, in the phrasings readers use (issue 27's list): each fails
# if the judge would stop it at the shipped threshold.
ANSWERED = [
    "Why was Blinken's trip to China called off?",                       # a paraphrase ("cancelled")
    "What made the Secretary of State postpone his visit to Beijing?",   # another
    "Was the balloon shot down off South Carolina or off Alaska?",       # either/or
    "Can you tell me why the trip was cancelled?",                       # a polite wrapper
    "Do you know who Blinken met in Munich?",
    "Who is Daniel Kritenbrink?",                                        # a short who-is question
    "Did Blinken travel to Beijing in February?",                        # the articles say no
    "Is the balloon incident still affecting US-China relations?",
]
# Evidence on another subject: a question read against it should look less answerable.
ELSEWHERE = [(1.0, "The harbour had been closed for three days by a storm that flooded the quay."),
             (0.9, "The council will review its storm plans at a public meeting in May, the mayor said."),
             (0.8, "Ferry services resumed on Monday, and the mayor thanked the crews.")]


def own_evidence(settings, question: str) -> list[tuple[float, str]]:
    found = pipeline.retriever(settings)
    passages = retrieve(question, settings=settings, retriever=found)
    evidence = evidence_for(question, found.analyse(question), passages, settings=settings, retriever=found)
    return [(e.score, e.text) for e in evidence]


@pytest.mark.parametrize("question", ANSWERED)
def test_the_judge_lets_through_questions_the_articles_answer(default_index, question):
    assert answerability_judge().probability(question, own_evidence(default_index, question)) \
        >= default_index.answerability_threshold


def test_the_judge_prefers_a_questions_own_evidence(default_index):
    judge = answerability_judge()
    for question in ANSWERED[:4]:
        assert judge.probability(question, own_evidence(default_index, question)) > judge.probability(question, ELSEWHERE)


@pytest.mark.model
def test_a_stopped_question_is_answered_with_what_the_articles_report(default_index):
    settings = replace(default_index, history=False, answerability_judge=True, answerability_threshold=1.0)
    answer = pipeline.ask(settings, "Why did China apologise to the United States for shooting down the balloon?")
    assert answer.refused and answer.margins["supported"] < 1.0 and "judge_s" in answer.timings
    assert answer.text.startswith(CORRECTION_LEAD) and len(answer.citations) == 1
    quoted = answer.citations[0]
    assert f"“{quoted.quote}” [{quoted.n}]" in answer.text and "balloon" in quoted.quote.lower()
    assert "prompt_tokens" not in answer.timings and answer.evidence  # the model read nothing


@pytest.mark.model
def test_nothing_near_gives_the_plain_refusal(default_index):
    settings = replace(default_index, history=False, answerability_judge=True, answerability_threshold=1.0,
                       closest_min_similarity=1.0)
    answer = pipeline.ask(settings, "Why did China apologise to the United States for shooting down the balloon?")
    assert answer.refused and answer.text == REFUSAL and not answer.citations and "supported" in answer.margins


@pytest.mark.model
def test_off_the_judge_is_neither_loaded_nor_asked(default_index, monkeypatch):
    import qa.answer

    def must_not_load():
        raise AssertionError("the judge was loaded")

    monkeypatch.setattr(qa.answer, "answerability_judge", must_not_load)
    answer = pipeline.ask(replace(default_index, history=False), "Who is Daniel Kritenbrink?")
    assert "supported" not in answer.margins and "judge_s" not in answer.timings


def test_the_shipped_judge_has_its_card_and_threshold():
    card = (ANSWERABILITY / "README.md").read_text()
    for must in ("Apache-2.0", "ODC-BY", "seed", "Out-of-fold", "threshold"):
        assert must in card, must
    meta = json.loads((ANSWERABILITY / "judge.json").read_text())
    assert 0 < meta["threshold"] < 1 and meta["max_length"] <= 512


def test_a_missing_judge_is_one_clear_error(tmp_path):
    with pytest.raises(JudgeUnavailable, match="answerability_judge"):
        load_answerability_judge(tmp_path)


def test_weights_that_do_not_fit_minilm_are_one_clear_error(tmp_path):
    import torch
    from safetensors.torch import save_file

    shutil.copy(ANSWERABILITY / "judge.json", tmp_path / "judge.json")
    save_file({"bert.encoder.layer.0.attention.self.query.weight": torch.zeros(8, 8)},
              str(tmp_path / "layers.safetensors"))
    with pytest.raises(JudgeUnavailable, match="does not fit"):
        load_answerability_judge(tmp_path)


def test_a_run_fingerprint_names_the_judge_only_when_on(default_index):
    from qa.fingerprint import run_fingerprint

    manifest = pipeline.retriever(default_index).index.manifest
    on = run_fingerprint(replace(default_index, answerability_judge=True), manifest, "m")["judges"]
    off = run_fingerprint(default_index, manifest, "m")["judges"]
    assert len(on["answerability"]) == 16 and "answerability" not in off


@pytest.mark.model
def test_qa_ask_shows_a_stopped_question_like_any_cited_answer(default_index, monkeypatch):
    from click.testing import CliRunner

    from qa.cli import main

    monkeypatch.setenv("QA_ANSWERABILITY_JUDGE", "true")
    monkeypatch.setenv("QA_ANSWERABILITY_THRESHOLD", "1")
    monkeypatch.setenv("QA_HISTORY", "false")
    result = CliRunner().invoke(main, ["ask", "Why did China apologise for shooting down the balloon?", "--index",
                                       str(default_index.index_dir)], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    n = re.fullmatch(re.escape(CORRECTION_LEAD) + r" What they report nearest to it: “.+” \[(\d+)\]", lines[0]).group(1)
    assert lines[2] == "Sources" and lines[3].startswith(f"[{n}] ")
    timings = result.stdout + result.stderr
    assert "judge " in timings and "first token" not in timings
