"""The quality gate: the gold set (default corpus plus the dated articles in eval/articles/), answered
by the real local model, must stay above the minimums below; `make test-all` runs it.

The minimums sit about one question below what was measured, so noise does not fail CI but a
broken retriever (evidence ranking) or a weaker answerer does. Measured with `make eval`
(qwen2.5-coder-1.5b-instruct, 71 questions, 2026-11-29, eval/reports/gold.md): answer_accuracy
0.507, refusal_accuracy 0.747, citation_precision 0.842, citation_support 0.905, hit@10 1.000,
evidence_mrr@10 0.761, evidence_recall@10 0.959; by type single_fact 0.833, paraphrase 0.625,
yes_no 0.500, temporal 0.200, date_number 0.200.

Yes/no and time questions are at chance today (always "Yes" also scores 0.50 on yes_no): the gate
records them so the natural-questions work can only raise them. What they test deterministically is
gated elsewhere: the verdict on the default corpus in tests/test_answer_local.py, date order in
tests/test_dated.py.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import GOLD_CORPORA, ROOT
from qa.cli import main

pytestmark = [pytest.mark.model, pytest.mark.full]

MINIMUMS = {
    "answer_accuracy": 0.45,
    "refusal_accuracy": 0.65,
    "citation_precision": 0.75,
    "citation_support": 0.85,
    "hit@10": 0.95,
    "evidence_mrr@10": 0.68,
    "evidence_recall@10": 0.90,
}
# Answer accuracy by question type (12, 8, 8 and 5 questions).
TYPE_MINIMUMS = {"single_fact": 0.75, "paraphrase": 0.50, "yes_no": 0.375, "temporal": 0.20}


def test_gold_set_passes_the_gate(tmp_path):
    report = tmp_path / "gold.json"
    args = ["eval", "--gold", str(ROOT / "eval" / "gold.jsonl"), "--index", str(tmp_path / "index"),
            "--json", str(report)]
    for corpus in GOLD_CORPORA:
        args += ["--corpus", str(corpus)]
    for metric, minimum in MINIMUMS.items():
        args += ["--min", f"{metric}={minimum}"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    data = json.loads(report.read_text())
    print(json.dumps(data["summary"], indent=1))
    assert result.exit_code == 0, result.stderr
    assert data["summary"]["errors"] == 0
    by_type = {name: data["by_type"][name]["answer_accuracy"] for name in TYPE_MINIMUMS}
    assert all(by_type[name] >= minimum for name, minimum in TYPE_MINIMUMS.items()), by_type
