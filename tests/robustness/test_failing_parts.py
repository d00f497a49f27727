"""Failing parts: killed ingests, a Chroma server that goes away and comes back, model servers that
fail, and API keys that must never show."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from conftest import CORPUS, MULTIHOP, ROOT, chroma_server, free_port
from fake_openai import FakeOpenAI
from qa import pipeline
from qa.cli import main
from qa.config import Settings
from qa.index import Index, IndexProblem

FAKE_KEY = "sk-fake-Zq8vN3SECRETkey0042"


def _corpus_for_killing(tmp_path):
    """60 MultiHop-RAG articles (about half a minute of ingest), or the default corpus without the dataset."""
    if not (MULTIHOP / "corpus.jsonl").exists():
        return CORPUS
    lines = (MULTIHOP / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:60]
    path = tmp_path / "sixty.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _chunk_ids(settings: Settings, embedder) -> list[str]:
    return sorted(Index(settings, embedder).collection.get(include=[])["ids"])


@pytest.mark.slow
def test_ingest_killed_at_a_random_point_is_completed_by_a_rerun(tmp_path, embedder):
    corpus = _corpus_for_killing(tmp_path)
    clean = Settings(index_dir=tmp_path / "clean")
    pipeline.ingest(clean, [corpus])
    seed = random.randrange(1_000_000)
    delays = random.Random(seed).sample(range(60, 200), 2)  # tenths of a second after start: loading to writing
    index = tmp_path / "killed"
    env = {**os.environ, "QA_INDEX_DIR": str(index)}
    for delay in delays:
        process = subprocess.Popen([sys.executable, "-m", "qa.cli", "ingest", str(corpus)], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay / 10)
        process.send_signal(signal.SIGKILL)
        process.wait()
    rerun = subprocess.run([sys.executable, "-m", "qa.cli", "ingest", str(corpus)], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, (seed, rerun.stderr)
    killed = Settings(index_dir=index)
    assert _chunk_ids(killed, embedder) == _chunk_ids(clean, embedder), f"seed {seed}, kills at {delays} ds"
    assert pipeline.articles(killed) == pipeline.articles(clean)


def test_chroma_server_restart_is_an_error_then_recovers(tmp_path):
    port, data = free_port(), tmp_path / "server"
    with chroma_server(data, port) as url:
        settings = Settings(index_dir=tmp_path / "index", chroma_url=url)
        pipeline.ingest(settings, [CORPUS])
        before = [p.chunk_id for p in pipeline.search(settings, "balloon", top_k=3)]
    with pytest.raises(IndexProblem, match="did not answer"):
        pipeline.search(settings, "balloon", top_k=3)
    with chroma_server(data, port):
        assert [p.chunk_id for p in pipeline.search(settings, "balloon", top_k=3)] == before


@pytest.fixture
def openai_env(monkeypatch, default_index):
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        monkeypatch.setenv("QA_LLM", "openai")
        monkeypatch.setenv("QA_LLM_RETRIES", "0")
        monkeypatch.setenv("QA_INDEX_DIR", str(default_index.index_dir))
        yield fake


def test_api_key_never_shows_in_errors(openai_env):
    openai_env.mode = "echo"  # the server's error message repeats the Authorization header
    result = CliRunner().invoke(main, ["ask", "Why was Blinken's trip to China cancelled?"])
    assert result.exit_code == 1 and "failed (500)" in result.output
    assert FAKE_KEY not in result.output and "***" in result.output
    assert openai_env.requests[-1]["auth"] == f"Bearer {FAKE_KEY}"  # it was sent, just never shown


def test_api_key_never_shows_in_reports_or_config(openai_env, tmp_path):
    openai_env.reply = "It was cancelled after a balloon was shot down [1]."
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["eval", "--gold", str(ROOT / "eval" / "gold.jsonl"), "--limit", "2",
                                       "--json", str(report), "--md", str(tmp_path / "report.md")])
    assert result.exit_code == 0, result.output
    config = CliRunner().invoke(main, ["config"])
    for text in (result.output, config.output, report.read_text(), (tmp_path / "report.md").read_text()):
        assert FAKE_KEY not in text
    assert json.loads(report.read_text())["config"]["model"] == "gpt-4o-mini"
