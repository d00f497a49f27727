"""The quality gates: the gold set (default corpus plus the dated articles in eval/articles/) and the
natural-question set (MultiHop-RAG's articles), answered by the real local model, must stay above the
minimums below; `make test-all` runs them.

The minimums sit one to two questions below what was measured, so noise does not fail CI but a
broken retriever (evidence ranking), evidence stage or weaker answerer does. Measured with
`qa eval` (qwen2.5-coder-1.5b-instruct, 512-word-piece chunks, sentence search, evidence from 20
passages at rank weight 0.5, 2026-12-02; docs/evaluation.md). Gold, 71 questions:
answer_accuracy 0.592, refusal_accuracy 0.775, citation_precision 0.788, citation_support 0.780,
hit@10 1.000, evidence_mrr@10 0.840, evidence_recall@10 0.933, context_evidence_recall 0.813; by
type single_fact 0.833, paraphrase 0.750, yes_no 0.500. Natural, 64 questions: answer_accuracy
0.594, refusal_accuracy 0.844, citation_precision 0.919, hit@10 1.000, evidence_mrr@10 0.847,
evidence_recall@10 1.000, context_evidence_recall 0.812; by type why_how 0.60, either_or 0.83.

Yes/no questions are at chance on the gold set: 0.50 (as always "Yes") before the evidence budget
rose to 500 word pieces, 0.75 after, 0.50 again with the sentence index, where two verdicts turned
on Yes−No logit margins of 0.14 and 0.38 (on MultiHop-RAG dev the best bias stays 0: "Multi-hop
questions"); the five time questions swing between 0 and 2 right. The gate records yes/no so later
work can only raise it. What they test deterministically is gated elsewhere: the verdict on the
default corpus in tests/test_answer_local.py, date order in tests/test_dated.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import GOLD_CORPORA, ROOT
from qa.cli import main

pytestmark = [pytest.mark.model, pytest.mark.full]

MINIMUMS = {
    "answer_accuracy": 0.56,
    "refusal_accuracy": 0.74,
    "citation_precision": 0.74,
    "citation_support": 0.72,
    "hit@10": 0.95,
    "evidence_mrr@10": 0.78,
    "evidence_recall@10": 0.90,
    "context_evidence_recall": 0.78,
}
# Answer accuracy by question type (12, 8 and 8 questions).
TYPE_MINIMUMS = {"single_fact": 0.75, "paraphrase": 0.62, "yes_no": 0.45}
NATURAL_MINIMUMS = {
    "answer_accuracy": 0.56,
    "refusal_accuracy": 0.80,
    "citation_precision": 0.88,
    "hit@10": 0.95,
    "evidence_mrr@10": 0.78,
    "evidence_recall@10": 0.95,
    "context_evidence_recall": 0.78,
}
# Natural answer accuracy by type (10 and 6 questions): the budget and the either/or choice.
NATURAL_TYPE_MINIMUMS = {"why_how": 0.5, "either_or": 0.66}


def _gated_eval(gold: str, index: Path, report: Path, minimums: dict[str, float], corpora=()) -> dict:
    args = ["eval", "--gold", str(ROOT / "eval" / gold), "--index", str(index), "--json", str(report)]
    for corpus in corpora:
        args += ["--corpus", str(corpus)]
    for metric, minimum in minimums.items():
        args += ["--min", f"{metric}={minimum}"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    data = json.loads(report.read_text())
    print(json.dumps(data["summary"], indent=1))
    assert result.exit_code == 0, result.stderr
    assert data["summary"]["errors"] == 0
    return data


def test_gold_set_passes_the_gate(tmp_path):
    data = _gated_eval("gold.jsonl", tmp_path / "index", tmp_path / "gold.json", MINIMUMS, GOLD_CORPORA)
    by_type = {name: data["by_type"][name]["answer_accuracy"] for name in TYPE_MINIMUMS}
    assert all(by_type[name] >= minimum for name, minimum in TYPE_MINIMUMS.items()), by_type


@pytest.mark.dataset
def test_natural_questions_pass_the_gate(multihop_index, tmp_path):
    settings, _ = multihop_index
    data = _gated_eval("natural.jsonl", settings.index_dir, tmp_path / "natural.json", NATURAL_MINIMUMS)
    by_type = {name: data["by_type"][name]["answer_accuracy"] for name in NATURAL_TYPE_MINIMUMS}
    assert all(by_type[name] >= minimum for name, minimum in NATURAL_TYPE_MINIMUMS.items()), by_type
