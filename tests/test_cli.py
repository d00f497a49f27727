"""The `qa` command line: flags, messages and exit codes (in-process, real model and index)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone

import click
import pytest
from click.testing import CliRunner

from conftest import CORPUS, ROOT
from qa.cli import main
from qa.config import Settings


@pytest.fixture
def run(tmp_path):
    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    return invoke


def test_ingest_then_search_json(run, tmp_path):
    index = str(tmp_path / "idx")
    result = run("ingest", str(CORPUS), "--index", index)
    assert result.exit_code == 0, result.output
    assert "5 added" in result.stderr and "5 articles" in result.stderr

    again = run("ingest", str(CORPUS), "--index", index)
    assert "0 added" in again.stderr and "5 unchanged" in again.stderr and "0 chunks, 0 sentences written" in again.stderr

    found = run("search", "Why was Blinken's trip to China cancelled?", "--index", index, "-k", "3", "--json")
    assert found.exit_code == 0
    passages = json.loads(found.stdout)
    assert len(passages) == 3
    assert {"doc_id", "title", "text", "start", "end", "score"} <= set(passages[0])


def test_if_missing_keeps_a_fitting_index_and_rebuilds_one_of_other_settings(run, tmp_path, monkeypatch):
    """`make demo` runs `qa ingest --if-missing corpus`: an index from an older release (other
    chunking) is rebuilt rather than left for the UI to refuse."""
    index = str(tmp_path / "idx")
    monkeypatch.setenv("QA_CHUNK_SIZE", "128")
    assert run("ingest", str(CORPUS), "--index", index).exit_code == 0
    monkeypatch.delenv("QA_CHUNK_SIZE")
    rebuilt = run("ingest", "--if-missing", str(CORPUS), "--index", index)
    assert rebuilt.exit_code == 0 and "does not fit the current settings" in rebuilt.stderr
    assert "5 added" in rebuilt.stderr
    kept = run("ingest", "--if-missing", str(CORPUS), "--index", index)
    assert kept.exit_code == 0 and "exists; nothing to do" in kept.stderr


def test_partial_bad_input_still_ingests_and_names_the_files(run, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("The balloon crossed the continental United States in February.")
    (folder / "empty.txt").write_text("")
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    (folder / "broken.jsonl").write_text('{"doc_id": "ok", "body": "A fine article."}\n{oops\n')
    result = run("ingest", str(folder), str(tmp_path / "nope"), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 0
    err = result.stderr
    for expected in ("empty.txt: empty file", "photo.txt: binary file", "broken.jsonl:2: not valid JSON",
                     "nope: no such file or folder", "2 added"):
        assert expected in err, err


@pytest.mark.parametrize("make_input", ["missing", "empty_dir", "only_bad"])
def test_nothing_ingestible_exits_non_zero(run, tmp_path, make_input):
    target = tmp_path / "input"
    if make_input == "empty_dir":
        target.mkdir()
    elif make_input == "only_bad":
        target.mkdir()
        (target / "empty.md").write_text("  \n")
    result = run("ingest", str(target), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 1
    assert "nothing could be ingested" in result.stderr
    assert "Traceback" not in result.output


def test_search_without_index_says_how_to_build_one(run, tmp_path):
    result = run("search", "anything", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "qa ingest" in result.stderr and "Traceback" not in result.stderr


def test_empty_query_is_refused(run, tmp_path):
    result = run("search", "  ", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1 and "empty" in result.stderr


def test_status_and_config(run, tmp_path, default_index):
    status = run("status", "--json")
    assert status.exit_code == 0
    config = run("config")
    assert "QA_INDEX_DIR" in config.stdout and "QA_TOP_K" in config.stdout


def test_console_script_help_runs_offline():
    done = subprocess.run([sys.executable, "-m", "qa", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0
    for command in ("ingest", "search", "status", "config"):
        assert command in done.stdout


def test_ask_json_has_the_documented_shape(run, default_index, monkeypatch):
    from fake_openai import FakeOpenAI, citing

    with FakeOpenAI() as server:
        server.reply = citing("shot down", "A Chinese balloon was shot down over the United States [{n}].")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("QA_LLM", "openai")
        monkeypatch.setenv("QA_OPENAI_MODEL", "fake-model")
        result = run("ask", "Why was Blinken's trip to China cancelled?", "--json",
                     "--index", str(default_index.index_dir))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"question", "answer", "refused", "citations", "passages", "timings", "model"} <= set(data)
    assert data["model"] == "fake-model" and data["refused"] is False
    citation = data["citations"][0]
    assert {"n", "doc_id", "title", "text", "start", "end"} <= set(citation) and f"[{citation['n']}]" in data["answer"]
    assert {"retrieve_s", "first_token_s", "total_s"} <= set(data["timings"])
    # What the model read is a field: quotes numbered as cited, offsets into the article's text.
    assert [e["n"] for e in data["evidence"]] == list(range(1, len(data["evidence"]) + 1))
    assert citation["n"] <= len(data["evidence"])
    stored = {p["doc_id"]: p for p in data["passages"]}
    for e in data["evidence"]:
        passage = stored[e["doc_id"]] if e["doc_id"] in stored else None
        assert e["text"].strip() and e["end"] - e["start"] == len(e["text"])
        if passage and passage["start"] <= e["start"] and e["end"] <= passage["end"]:
            assert passage["text"][e["start"] - passage["start"]:e["end"] - passage["start"]] == e["text"]


def test_ask_on_a_terminal_shows_the_evidence_before_the_answer(default_index, monkeypatch):
    """On a terminal the sentences the model reads are printed first, numbered, with outlet and date."""
    import io

    from rich.console import Console

    import qa.cli
    from fake_openai import FakeOpenAI, citing

    screen = io.StringIO()
    monkeypatch.setattr(qa.cli, "out", Console(file=screen, force_terminal=True, width=300, color_system=None))
    with FakeOpenAI() as server:
        server.reply = citing("shot down", "A Chinese balloon was shot down [{n}].")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("QA_LLM", "openai")
        result = CliRunner().invoke(main, ["ask", "Why was Blinken's trip to China cancelled?", "--index",
                                           str(default_index.index_dir)], catch_exceptions=False)
    assert result.exit_code == 0
    shown = screen.getvalue()
    evidence = shown.index("Evidence")
    assert evidence < shown.index("A Chinese balloon")
    block = shown[evidence:shown.index("A Chinese balloon")]
    assert re.search(r"^\[1\] “[^”]+”", block, re.MULTILINE), block
    assert re.search(r"^\[\d+\] “[^”]+” — Reuters", block, re.MULTILINE), block  # a quote, then its outlet
    assert "shot down" in block  # the sentence the answer cites is among them


def test_ask_prints_answer_then_sources(run, default_index, monkeypatch):
    from fake_openai import FakeOpenAI, citing

    with FakeOpenAI() as server:
        server.reply = citing("shot down", "A Chinese balloon was shot down [{n}].")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("QA_LLM", "openai")
        result = run("ask", "Why was Blinken's trip to China cancelled?", "--index", str(default_index.index_dir))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    n = re.fullmatch(r"A Chinese balloon was shot down \[(\d+)\]\.", lines[0]).group(1)
    assert lines[2] == "Sources" and lines[3].startswith(f"[{n}] ")


@pytest.mark.parametrize("question,env,message", [
    ("   ", {}, "the question is empty"),
    ("why " * 600, {}, "limit is 2,000"),
    ("Why was the trip cancelled?", {"QA_LOCAL_MODEL": "no-such-model"}, "unknown bundled model"),
    ("Why was the trip cancelled?", {"QA_LLM_MODEL_PATH": "/nonexistent/model.gguf"}, "not a file"),
    ("Why was the trip cancelled?", {"QA_LLM": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                                     "QA_LLM_RETRIES": "0"}, "cannot reach the model server"),
    ("Why was the trip cancelled?", {"QA_LLM": "gpt"}, "llm must be one of 'local', 'openai', got 'gpt' (QA_LLM)"),
])
def test_ask_failures_are_one_line(run, default_index, monkeypatch, question, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run("ask", question, "--index", str(default_index.index_dir))
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ask_without_index(run, tmp_path):
    result = run("ask", "Why was the trip cancelled?", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1 and "qa ingest" in result.stderr


GOLD = ROOT / "eval" / "gold.jsonl"


def test_eval_retrieval_only_writes_reports_and_compares(run, gold_index, tmp_path):
    first = tmp_path / "first.json"
    args = ["eval", "--gold", str(GOLD), "--index", str(gold_index.index_dir), "--retrieval-only"]
    result = run(*args, "--json", str(first), "--md", str(tmp_path / "r.md"))
    assert result.exit_code == 0, result.stderr
    data = json.loads(first.read_text())
    assert data["summary"]["n"] == sum(1 for line in GOLD.open() if line.strip())
    # Measured 0.761 (retrieval only, 71 questions); ranking the fused candidates at random scored 0.118.
    assert data["summary"]["evidence_mrr@10"] >= 0.65 and data["summary"]["hit@10"] >= 0.95
    assert {"gold", "index", "model", "prompts", "settings"} <= set(data["config"])
    assert "| hit@10 |" in (tmp_path / "r.md").read_text()

    again = run(*args, "--compare", str(first), "--min", "hit@10=0.5")
    assert again.exit_code == 0 and "compared with the previous run" in again.stdout

    gated = run(*args, "--min", "hit@10=1.01")
    assert gated.exit_code == 1 and "gate failed: hit@10" in gated.stderr


def test_eval_rejects_bad_gold_and_bad_minimums(run, tmp_path, default_index):
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"id": "x", "question": "q"}\n')
    result = run("eval", "--gold", str(bad), "--index", str(default_index.index_dir), "--retrieval-only")
    assert result.exit_code == 1 and f"{bad}:1: missing field 'answer'" in result.stderr
    result = run("eval", "--gold", str(GOLD), "--min", "accuracy=0.5")
    assert result.exit_code == 1 and "expected METRIC=VALUE" in result.stderr


# --- an 80-column terminal -----------------------------------------------------------------

def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's words, the groups' own included: (), ("ask",), ("log",), ("log", "show"), …"""
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        paths += _command_paths(command, prefix + (name,)) if isinstance(command, click.Group) else [prefix + (name,)]
    return paths


def test_every_help_fits_80_columns_and_shows_an_example(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    paths = _command_paths(main)
    assert {("ask",), ("log", "show"), ("status",)} <= set(paths)
    for path in paths:
        shown = run(*path, "--help")
        assert shown.exit_code == 0, (path, shown.output)
        assert [line for line in shown.stdout.splitlines() if len(line) > 80] == [], path
        assert "Example:\n    qa " in shown.stdout or "Example:\n    QA_" in shown.stdout, (path, shown.stdout)


def test_status_takes_an_index_folder(run, tmp_path, default_index):
    found = run("status", "--index", str(default_index.index_dir), "--json")
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["articles"] == 5
    missing = run("status", "--index", str(tmp_path / "none"))
    assert missing.exit_code == 0 and f"No index at {tmp_path / 'none'}" in missing.stdout


def test_log_at_80_columns_shows_the_whole_question_and_a_short_time(run, tmp_path, default_index, monkeypatch):
    """A real 80-column `qa log` (its own process, COLUMNS=80) after a `qa ask` answered by a model
    with a long name: the question is whole, the time "MM-DD HH:MM"; the model gives way."""
    from fake_openai import FakeOpenAI, citing
    from qa import history

    index = tmp_path / "index"
    shutil.copytree(default_index.index_dir, index, ignore=shutil.ignore_patterns("history.sqlite3*"))
    question = "Why was Blinken's trip to China cancelled?"
    with FakeOpenAI() as server:
        server.reply = citing("shot down", "A Chinese balloon was shot down [{n}].")
        for name, value in (("OPENAI_BASE_URL", server.url), ("QA_LLM", "openai"),
                            ("QA_OPENAI_MODEL", "qwen2.5-coder-1.5b-instruct"), ("QA_LLM_RETRIES", "0")):
            monkeypatch.setenv(name, value)
        assert run("ask", question, "--index", str(index)).exit_code == 0
    [entry] = history.entries(Settings(index_dir=index))
    listed = subprocess.run([sys.executable, "-m", "qa", "log", "--index", str(index)], capture_output=True,
                            text=True, cwd=ROOT, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert listed.returncode == 0, listed.stderr
    title, *table = listed.stdout.splitlines()
    assert title == str(index / "history.sqlite3") and max(map(len, table)) <= 80, listed.stdout
    rows = [line for line in table if question in line]
    assert len(rows) == 1, listed.stdout
    row = rows[0]
    day, minute = entry.asked_at[5:10], entry.asked_at[11:16]
    assert re.match(rf"\s*{entry.id}\s+{day} {minute}\s+{re.escape(question)}\s+answered\s*$", row), row


def test_log_times_name_the_year_only_when_it_is_not_this_one():
    from qa.cli import _short_when

    now = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    assert _short_when("2026-12-06T23:10:05+00:00", now) == "12-06 23:10"
    assert _short_when("2026-01-01T00:00:00+00:00", now) == "01-01 00:00"
    assert _short_when("2025-12-31T23:59:59+00:00", now) == "2025-12-31"
