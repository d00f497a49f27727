"""Failing parts: killed ingests, a Chroma server that goes away and comes back, model servers that
fail, and API keys that must never show."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import CORPUS, ROOT, chroma_server, free_port
from fake_openai import FakeOpenAI
from qa import pipeline
from qa.cli import main
from qa.config import Settings
from qa.index import Index, IndexProblem

FAKE_KEY = "sk-fake-Zq8vN3SECRETkey0042"


def _chunk_ids(settings: Settings, embedder) -> list[str]:
    return sorted(Index(settings, embedder).collection.get(include=[])["ids"])


# Runs `qa ingest` in batches of 2 articles and SIGKILLs it at a fixed point: after the second batch's
# chunks are in Chroma, before the manifest that records them is written.
KILLED_INGEST = """
import os, signal, sys
import qa.index
from qa.cli import run

qa.index.Index.ingest.__kwdefaults__["batch_articles"] = 2
real_write = qa.index.Manifest.write

def write(manifest, path):
    if len(manifest.articles) > 2:
        os.kill(os.getpid(), signal.SIGKILL)
    real_write(manifest, path)

qa.index.Manifest.write = write
sys.argv = ["qa", "ingest", sys.argv[1]]
run()
"""


@pytest.mark.full
def test_ingest_killed_between_chroma_and_manifest_is_completed_by_a_rerun(tmp_path, embedder):
    clean = Settings(index_dir=tmp_path / "clean")
    pipeline.ingest(clean, [CORPUS])
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "killed")}
    killed = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(CORPUS)], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # Partial: the manifest records the first batch only, Chroma also holds the second batch's chunks.
    settings = Settings(index_dir=tmp_path / "killed")
    recorded = {a["doc_id"] for a in pipeline.articles(settings)}
    metadatas = Index(settings, embedder).collection.get(include=["metadatas"])["metadatas"]
    stored = {m["doc_id"] for m in metadatas}
    assert len(recorded) == 2 and len(stored) == 4 and recorded < stored

    rerun = subprocess.run([sys.executable, "-m", "qa.cli", "ingest", str(CORPUS)], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "2 unchanged" in rerun.stderr and "3 added" in rerun.stderr
    assert _chunk_ids(settings, embedder) == _chunk_ids(clean, embedder)
    assert pipeline.articles(settings) == pipeline.articles(clean)
    assert pipeline.search(settings, "balloon", top_k=3) == pipeline.search(clean, "balloon", top_k=3)


@pytest.mark.server
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
