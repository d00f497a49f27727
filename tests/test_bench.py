"""`qa bench` end to end on the default corpus (small: the real run is `make bench`)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import CORPUS, ROOT
from qa.bench import fit_growth, ratios
from qa.cli import main


def test_growth_exponent():
    assert fit_growth([1, 4, 16], [2, 8, 32]) == pytest.approx(1.0)
    assert fit_growth([1, 4, 16], [5, 10, 20]) == pytest.approx(0.5)
    assert fit_growth([1], [1]) is None


def test_ratios_are_ours_over_stock():
    got = ratios({"ingest": {"ours": {"seconds": 10.0}, "stock": {"seconds": 20.0}}})
    assert got["ingest.seconds"] == 0.5 and got["retrieval.p50_ms"] is None


@pytest.mark.full
def test_bench_runs_both_pipelines_and_scaling(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["bench", "--corpus", str(CORPUS), "--gold", str(ROOT / "eval" / "gold.jsonl"),
                                       "--work", str(tmp_path / "work"), "--out", str(out), "--questions", "5",
                                       "--answers", "0", "--scales", "1,2"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    for name in ("ours", "stock"):
        assert data["ingest"][name]["articles"] == 5 and data["ingest"][name]["chunks"] > 0
        assert data["retrieval"][name]["queries"] == 5 and data["retrieval"][name]["p50_ms"] > 0
    assert 0 < data["ingest"]["ours"]["share_of_raw_throughput"]
    assert [row["articles"] for row in data["scaling"]["rows"]] == [5, 10]
    assert (out / "scaling.png").stat().st_size > 1000
    assert "| ingest wall time (s) (lower is better) |" in result.stdout


@pytest.mark.full
def test_child_peak_memory_is_its_own(tmp_path):
    """A child forked while this process holds 1.5 GB reports its own peak, not ours (ru_maxrss
    survives exec, so a child started beside the loaded LLM used to report the LLM's memory)."""
    from qa.bench import run_ingest_child

    ballast = bytearray(1536 * 2**20)  # touched: resident, like a loaded model
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    row = run_ingest_child("ours", [CORPUS], tmp_path / "index", limit=1)
    assert row["articles"] == 1
    assert 0 < row["peak_rss_mb"] < 1536, row


@pytest.mark.model
def test_answer_and_cold_start_timings(default_index):
    """The answer figures `qa bench` reports, on the real model: what it read and when it first wrote."""
    from qa.bench import answer_once, cold_ask

    question = "What did the State Department say Blinken would discuss in Beijing?"
    run = answer_once("ours", default_index.index_dir, question)
    assert run["prompt_tokens"] > 0 and 0 < run["first_token_s"] <= run["total_s"]
    cold = cold_ask(default_index.index_dir, question)
    assert 0 < cold["first_token_s"] < cold["total_s"]


@pytest.mark.full
@pytest.mark.model
@pytest.mark.server
def test_bench_measures_the_queue_and_a_stop(tmp_path):
    """The serving figures of `make bench`: clients at once through app.py, and a stopped answer."""
    from qa import pipeline
    from qa.bench import serving_load, stop_to_next
    from qa.config import Settings

    folder = tmp_path / "index"
    pipeline.ingest(Settings(index_dir=folder), [CORPUS])
    questions = ["Why was Blinken's trip to China cancelled?", "What did the balloon do over the United States?"]
    stop = stop_to_next(folder, *questions, when="reading")
    assert stop["model_wait_s"] >= 0 and stop["first_token_after_stop_s"] > 0
    serving = serving_load(folder, questions, clients=3)
    assert serving["own_answers"] == 3
    assert 0 <= serving["wait_p50_s"] <= serving["wait_p95_s"] <= serving["wait_max_s"]
