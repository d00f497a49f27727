"""The quality gates: the gold set (default corpus plus the dated articles in eval/articles/) and the
natural-question set (MultiHop-RAG's articles), answered by the real local model, must stay above the
minimums below; `make test-all` runs them.

Each gate answers a fixed stratified sample (`qa eval --sample`: the first questions of each type, in
file order, the same every run): gold 29 of 71 questions, natural 32 of 64. Whole, the two sets took
68 of the full suite's 93 minutes on 2026-12-07 (the natural set's 609-article ingest alone 22, the
model reading prompts at 35–45 tokens/s on that day's 2 cores), which does not fit CI's 90 minutes;
the samples take about 9 and 15. `make eval` answers both sets whole (docs/evaluation.md has those
figures). The answers are deterministic: both whole sets scored on 2026-12-07 exactly as on 2026-12-02.

The minimums sit two questions below what the samples scored (by type: one, none where the sample
has 3), measured from that run of both whole sets (qwen2.5-coder-1.5b-instruct, 512-word-piece
chunks, sentence search, evidence from 20 passages at rank weight 0.5, 500 word pieces).
Gold sample (29; 24 answerable): answer_accuracy 0.655 (19), refusal_accuracy 0.828, citation
precision 0.692 (18 of 26), citation support 0.667 (10 of 15), hit@10 1.000, evidence_mrr@10 0.767,
evidence_recall@10 0.891, context_evidence_recall 0.749; by type single_fact 5 of 5, paraphrase 3 of
3, yes_no 1 of 3. Natural sample (32; 27 answerable): answer_accuracy 0.563 (18), refusal_accuracy
0.844, citation precision 0.974 (38 of 39), hit@10 1.000, evidence_mrr@10 0.864, evidence_recall@10
1.000, context_evidence_recall 0.840; by type why_how 3 of 5, either_or 2 of 3.

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

GOLD_SAMPLE = 28  # `qa eval --sample`: 29 questions
MINIMUMS = {
    "answer_accuracy": 0.58,
    "refusal_accuracy": 0.75,
    "citation_precision": 0.6,
    "citation_support": 0.53,
    "hit@10": 0.95,
    "evidence_mrr@10": 0.72,
    "evidence_recall@10": 0.85,
    "context_evidence_recall": 0.70,
}
# Answer accuracy by question type in the sample (5, 3 and 3 questions).
TYPE_MINIMUMS = {"single_fact": 0.75, "paraphrase": 0.62, "yes_no": 0.3}
NATURAL_SAMPLE = 32
NATURAL_MINIMUMS = {
    "answer_accuracy": 0.5,
    "refusal_accuracy": 0.78,
    "citation_precision": 0.9,
    "hit@10": 0.95,
    "evidence_mrr@10": 0.8,
    "evidence_recall@10": 0.95,
    "context_evidence_recall": 0.78,
}
# Natural answer accuracy by type in the sample (5 and 3 questions): the budget and the either/or choice.
NATURAL_TYPE_MINIMUMS = {"why_how": 0.4, "either_or": 0.66}


def _gated_eval(gold: str, sample: int, index: Path, report: Path, minimums: dict[str, float], corpora=()) -> dict:
    args = ["eval", "--gold", str(ROOT / "eval" / gold), "--sample", str(sample), "--index", str(index),
            "--json", str(report)]
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
    data = _gated_eval("gold.jsonl", GOLD_SAMPLE, tmp_path / "index", tmp_path / "gold.json", MINIMUMS, GOLD_CORPORA)
    by_type = {name: data["by_type"][name]["answer_accuracy"] for name in TYPE_MINIMUMS}
    assert all(by_type[name] >= minimum for name, minimum in TYPE_MINIMUMS.items()), by_type


@pytest.mark.dataset
def test_natural_questions_pass_the_gate(multihop_index, tmp_path):
    settings, _ = multihop_index
    data = _gated_eval("natural.jsonl", NATURAL_SAMPLE, settings.index_dir, tmp_path / "natural.json", NATURAL_MINIMUMS)
    by_type = {name: data["by_type"][name]["answer_accuracy"] for name in NATURAL_TYPE_MINIMUMS}
    assert all(by_type[name] >= minimum for name, minimum in NATURAL_TYPE_MINIMUMS.items()), by_type
