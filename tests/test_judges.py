"""The relevance judge shipped in qa/judges (trained in training/, issue 26): it loads from the package,
orders known pairs it never saw (another corpus), and the evidence stage uses it only when
`evidence_judge` is on (real weights, real embedder)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from qa.config import Settings
from qa.evidence import select
from qa.judges import RELEVANCE, JudgeUnavailable, load_relevance_judge, relevance_judge
from qa.types import Passage

CLOSED = "The harbour had been closed for three days by a storm that flooded the quay and the ferry terminal."
REVIEW = "The council will review its storm plans at a public meeting in May, the mayor said."
ARTICLE = (f"Ferry services resumed on Monday. {CLOSED} The mayor thanked the crews. Tourism numbers fell sharply "
           f"during the closure. Local shops reported their worst week of the year. {REVIEW}")

# (question, a sentence that answers it, a sentence on the same subject that does not)
PAIRS = [
    ("How long was the harbour closed?", CLOSED, "The mayor thanked the crews."),
    ("When will the council review its storm plans?", REVIEW, "Ferry services resumed on Monday."),
    ("What price did the company pay for the startup?",
     "The company agreed to buy the startup for $1.2 billion in cash.",
     "The startup was founded in 2015 by two former engineers."),
    ("Who was named the new chief executive?", "The board named Maria Lopez as its new chief executive on Tuesday.",
     "The company's shares rose 3% in early trading."),
]


def test_the_shipped_judge_prefers_the_sentence_that_answers():
    judge = relevance_judge()
    for question, answers, other in PAIRS:
        q, better, worse = judge.vectors([question, answers, other])
        assert q @ better > q @ worse, question


def test_the_shipped_judge_fits_the_size_limit_and_has_its_card():
    size = sum(p.stat().st_size for p in RELEVANCE.parent.rglob("*") if p.is_file())
    assert size <= 60e6, size  # every judge we ship, together
    card = (RELEVANCE / "README.md").read_text()
    for must in ("Apache-2.0", "ODC-BY", "seed", "Out-of-fold"):
        assert must in card, must
    meta = json.loads((RELEVANCE / "judge.json").read_text())
    assert meta["candidates"] >= 1 and meta["bm25_weight"] >= 0 and meta["rank_weight"] >= 0


def test_a_missing_judge_is_one_clear_error(tmp_path):
    with pytest.raises(JudgeUnavailable, match="evidence_judge"):
        load_relevance_judge(tmp_path)


def test_weights_that_do_not_fit_minilm_are_one_clear_error(tmp_path):
    import torch
    from safetensors.torch import save_file

    shutil.copy(RELEVANCE / "judge.json", tmp_path)
    for layers in ({"encoder.layer.0.output.dense.weight": torch.zeros(3, 3)}, {"pooler.extra": torch.zeros(2)}):
        save_file(layers, str(tmp_path / "layers.safetensors"))
        with pytest.raises(JudgeUnavailable, match="does not fit the installed all-MiniLM-L6-v2"):
            load_relevance_judge(tmp_path)


def _passage() -> Passage:
    return Passage("ferry:0", "ferry", "Harbour reopens", ARTICLE, 0, len(ARTICLE), source="Harbour News")


def test_the_judge_is_not_loaded_when_off(embedder):
    relevance_judge.cache_clear()
    select("How long was the harbour closed?", [_passage()], embedder, replace(Settings(), evidence_judge=False))
    assert relevance_judge.cache_info().currsize == 0


def test_with_the_judge_the_answering_sentence_is_read_first_within_the_budget(embedder):
    settings = replace(Settings(), evidence_judge=True)
    for question, answers in [(PAIRS[0][0], PAIRS[0][1]), (PAIRS[1][0], PAIRS[1][1])]:
        room_for_one = len(embedder.tokenize(answers)) + 2  # the budget counts 2 per sentence
        evidence = select(question, [_passage()], embedder, replace(settings, context_tokens=room_for_one))
        assert [e.text for e in evidence] == [answers], question
    evidence = select(PAIRS[0][0], [_passage()], embedder, replace(settings, context_tokens=2000))
    assert sorted(e.start for e in evidence) == [e.start for e in evidence]  # reading order within an article
    assert len(" ".join(e.text for e in evidence)) >= len(ARTICLE) - 10  # a large budget still reads it all


def test_the_judge_gives_each_thread_its_own_vectors():
    from concurrent.futures import ThreadPoolExecutor

    judge = relevance_judge()
    texts = [t for pair in PAIRS for t in pair] * 4
    alone = {t: judge.vectors([t])[0] for t in texts}
    with ThreadPoolExecutor(6) as pool:
        for text, vector in zip(texts, pool.map(lambda t: judge.vectors([t, "padding " * 9])[0], texts)):
            assert np.allclose(vector, alone[text], atol=1e-4), text


def test_a_served_app_loads_the_judge_before_the_first_question_only_when_it_is_on():
    from qa import pipeline

    relevance_judge.cache_clear()
    pipeline.load_judges(replace(Settings(), evidence_judge=False))
    assert relevance_judge.cache_info().currsize == 0
    pipeline.load_judges(replace(Settings(), evidence_judge=True))
    assert relevance_judge.cache_info().currsize == 1


def test_a_run_fingerprint_names_the_judge_it_used():
    from qa.fingerprint import run_fingerprint
    from qa.index import Manifest

    manifest = Manifest(embedding={}, chunking={})
    on = run_fingerprint(replace(Settings(), evidence_judge=True), manifest, "m")["judges"]
    assert len(on["relevance"]) == 16
    assert run_fingerprint(replace(Settings(), evidence_judge=False), manifest, "m")["judges"] == {}
