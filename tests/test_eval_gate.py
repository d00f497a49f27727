"""The quality gate: the default-corpus gold set, answered by the real local model, must stay above
the minimums below. Slow (every question is answered); `make test` runs it.

Minimums sit below what was measured so noise does not fail CI but a real regression does.
Measured with `qa eval --gold eval/gold.jsonl --corpus corpus` (qwen2.5-coder-1.5b-instruct,
58 questions, 2026-11-23, `make eval`, eval/reports/gold.md): answer_accuracy 0.569,
keyword_accuracy 0.565, refusal_accuracy 0.793, citation_precision 0.824, citation_coverage 0.818,
citation_support 1.000, hit@10 1.000, evidence_recall@10 0.970.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import CORPUS, ROOT
from qa.cli import main

pytestmark = pytest.mark.slow

MINIMUMS = {
    "answer_accuracy": 0.45,
    "keyword_accuracy": 0.45,
    "refusal_accuracy": 0.60,
    "citation_precision": 0.70,
    "citation_coverage": 0.72,
    "citation_support": 0.85,
    "hit@10": 0.95,
    "evidence_recall@10": 0.90,
}


def test_gold_set_passes_the_gate(tmp_path):
    report = tmp_path / "gold.json"
    args = ["eval", "--gold", str(ROOT / "eval" / "gold.jsonl"), "--corpus", str(CORPUS),
            "--index", str(tmp_path / "index"), "--json", str(report)]
    for metric, minimum in MINIMUMS.items():
        args += ["--min", f"{metric}={minimum}"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    summary = json.loads(report.read_text())["summary"]
    print(json.dumps(summary, indent=1))
    assert result.exit_code == 0, result.stderr
    assert summary["errors"] == 0
