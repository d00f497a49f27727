"""The history log: answers logged to SQLite in the index folder, read back by `qa log` and the UI,
and a log that cannot be written never standing between a question and its answer."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sqlite3
import time

import pytest
from click.testing import CliRunner

from fake_openai import FakeOpenAI, citing
from qa import history, pipeline
from qa.answer import Answer, Citation
from qa.cli import main
from qa.config import Settings, load_settings
from qa.fingerprint import run_fingerprint
from qa.history import HistoryWarning
from qa.index import Manifest
from qa.types import Passage

BALLOON = "Why was Blinken's trip to China cancelled?"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _fingerprint(settings: Settings, model: str = "test-model") -> dict:
    return run_fingerprint(settings, Manifest.read(settings.manifest_path), model)


def _answer(i: int) -> Answer:
    """A varied answer built directly: some refused, unicode and quotes, citations and passages."""
    text = f"Answer {i}: the “balloon” — über — was shot down [1]."
    passage = Passage(chunk_id=f"c{i}", doc_id=f"{i:03}.txt", title=f"Title {i}", text=f"Passage {i}. {text}",
                      start=10 * i, end=10 * i + 40, source="Reuters", published_at="2023-02-04T10:00:00",
                      score=0.5 / (i + 1), similarity=0.3 + i / 1000, also_in=[f"{i:03}b.txt"] if i % 3 else [])
    if i % 7 == 0:
        return Answer(f"Question {i}?", "The articles do not say.", refused=True, passages=[passage],
                      timings={"retrieve_s": 0.01 * i, "total_s": 0.02 * i}, model="m")
    citation = Citation(n=1, doc_id=passage.doc_id, title=passage.title, text=passage.text, start=passage.start,
                        end=passage.end, source="Reuters", published_at="2023-02-04T10:00:00", quote=text,
                        quote_start=passage.start + 12, quote_end=passage.start + 12 + len(text), similarity=0.7)
    return Answer(f"Question {i}: why was the trip cancelled?", text, refused=False, citations=[citation],
                  passages=[passage], unsupported=["An extra claim."] if i % 5 == 0 else [], citations_checked=1,
                  citations_supported=1, margins={"refusal": -1.5 + i / 100},
                  timings={"retrieve_s": 0.04, "first_token_s": 1.0 + i / 10, "total_s": 2.0 + i / 10}, model="m")


@pytest.fixture
def logged_100(tmp_path, default_index):
    """100 answers logged to an empty index folder: (settings, answers, ids, fingerprint)."""
    settings = Settings(index_dir=tmp_path / "index")
    fingerprint = _fingerprint(default_index)
    answers = [_answer(i) for i in range(100)]
    ids = [history.log_answer(settings, answer, fingerprint, question=f"typed {i}" if i % 2 else None,
                              conversation_id=f"conversation-{i % 3}" if i % 4 else None,
                              front_end=("cli", "ui", "api")[i % 3])
           for i, answer in enumerate(answers)]
    return settings, answers, ids, fingerprint


def test_100_answers_round_trip(logged_100):
    settings, answers, ids, fingerprint = logged_100
    assert ids == sorted(ids) and len(set(ids)) == 100
    read = history.entries(settings)
    assert [e.id for e in read] == ids[::-1]  # newest first
    for i, (answer, entry) in enumerate(zip(answers, read[::-1])):
        assert entry.answer == answer.to_dict()
        assert entry.question == (f"typed {i}" if i % 2 else answer.question) and entry.standalone == answer.question
        assert entry.refused == answer.refused and entry.model == answer.model
        assert entry.front_end == ("cli", "ui", "api")[i % 3]
        assert entry.conversation_id == (f"conversation-{i % 3}" if i % 4 else None)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry.asked_at)
    assert len({e.fingerprint_id for e in read}) == 1
    assert history.entry(settings, ids[42]).fingerprint == fingerprint
    assert [e.id for e in history.entries(settings, limit=5)] == ids[:-6:-1]


def test_100_answers_round_trip_through_qa_log_json(logged_100):
    settings, answers, ids, _ = logged_100
    result = run("log", "--json", "--limit", "0", "--index", str(settings.index_dir))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data == [dataclasses.asdict(e) for e in history.entries(settings)]
    assert [item["answer"] for item in data[::-1]] == [answer.to_dict() for answer in answers]
    newest = json.loads(run("log", "--json", "--index", str(settings.index_dir)).stdout)
    assert [item["id"] for item in newest] == ids[:-21:-1]  # 20 by default


def test_conversations_come_back_in_order(logged_100):
    settings, answers, ids, _ = logged_100
    found = {c.id: c for c in history.conversations(settings)}
    assert set(found) == {"conversation-0", "conversation-1", "conversation-2"}
    for name, conversation in found.items():
        turns = history.conversation(settings, name)
        assert conversation.turns == len(turns) and [t.id for t in turns] == sorted(t.id for t in turns)
        assert conversation.first_question == turns[0].question and conversation.started_at == turns[0].asked_at
        assert all(t.conversation_id == name for t in turns)
    assert sum(c.turns for c in found.values()) == sum(1 for i in range(100) if i % 4)


def test_qa_log_table_and_show(logged_100, default_index, monkeypatch):
    import qa.cli
    from rich.console import Console

    settings, answers, ids, _ = logged_100
    monkeypatch.setattr(qa.cli, "out", Console(width=250))  # a row per line
    table = run("log", "--limit", "7", "--index", str(settings.index_dir))
    assert table.exit_code == 0
    rows = [line for line in table.stdout.splitlines() if re.match(r"\W*\d+ ", line)]
    assert [int(re.search(r"\d+", row)[0]) for row in rows] == ids[:-8:-1]
    assert "typed 99" in rows[0] and "answered" in rows[0] and "refused" in rows[1]  # answer 98 = 7 × 14

    # One answered with other settings: `qa log show` names them.
    answer = _answer(3)
    entry_id = history.log_answer(settings, answer, _fingerprint(dataclasses.replace(default_index, top_k=3)))
    shown = run("log", "show", str(entry_id), "--index", str(settings.index_dir))
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    citation = answer.citations[0]
    for expected in (answer.question, answer.text, f"[1] {citation.doc_id} — {citation.title} (Reuters · 2023-02-04)",
                     citation.quote, f"first token {answer.timings['first_token_s']:.2f}s", "top_k = 3"):
        assert expected in text, expected
    assert re.search(rf"settings {history.entry(settings, entry_id).fingerprint_id}: not the defaults", text)
    as_json = json.loads(run("log", "show", str(entry_id), "--json", "--index", str(settings.index_dir)).stdout)
    assert as_json == dataclasses.asdict(history.entry(settings, entry_id)) and as_json["fingerprint"]["settings"]

    refusal = run("log", "show", str(ids[98]), "--index", str(settings.index_dir)).stdout
    assert "The articles do not say." in refusal and f"total {answers[98].timings['total_s']:.2f}s" in refusal

    missing = run("log", "show", "999", "--index", str(settings.index_dir))
    assert missing.exit_code == 1 and missing.stderr.strip() == (
        f"error: no logged question has id 999 in {settings.history_path}")


def test_empty_log(tmp_path):
    result = run("log", "--index", str(tmp_path / "index"))
    assert result.exit_code == 0 and "No questions logged" in result.stderr
    assert not (tmp_path / "index").exists()  # reading creates nothing


# --- through the pipeline, answers from a fake OpenAI-compatible server -----------------

@pytest.fixture
def server(monkeypatch):
    with FakeOpenAI() as fake:
        fake.reply = citing("shot down", "A Chinese balloon was shot down over the United States [{n}].")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        yield fake


@pytest.fixture
def own_index(tmp_path, default_index) -> Settings:
    """A copy of the default index, its own history log included, answering through the fake server."""
    shutil.copytree(default_index.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns("history.sqlite3*"))
    return Settings(index_dir=tmp_path / "index", llm="openai", openai_model="fake", llm_retries=0)


def test_the_pipeline_logs_each_answer_once(own_index, server):
    response = pipeline.stream_answer(own_index, "why was it cancelled, then?", typed="why?", conversation_id="c-1",
                                      front_end="ui", top_k=3)
    events = list(response)
    assert any(isinstance(item, str) for item in events)
    answer = response.answer
    [entry] = history.entries(own_index)
    assert entry.answer == answer.to_dict() and not entry.refused and answer.citations
    assert (entry.question, entry.standalone, entry.conversation_id, entry.front_end) == (
        "why?", "why was it cancelled, then?", "c-1", "ui")
    fingerprint = history.entry(own_index, entry.id).fingerprint
    assert fingerprint["model"] == "fake" and fingerprint["settings"]["top_k"] == "3"  # as answered
    assert fingerprint["index"]["articles"] == 5 and fingerprint["prompts"]


def test_history_off_logs_nothing(own_index, server, monkeypatch):
    monkeypatch.setenv("QA_HISTORY", "false")
    settings = load_settings(index_dir=own_index.index_dir, llm="openai", openai_model="fake", llm_retries=0)
    assert settings.history is False
    assert not pipeline.ask(settings, BALLOON).refused
    monkeypatch.delenv("QA_HISTORY")
    pipeline.ask(own_index, BALLOON, history=False)  # for one question (as `qa eval` does)
    assert not own_index.history_path.exists()
    listed = run("log", "--index", str(own_index.index_dir))
    assert "No questions logged" in listed.stderr


def test_a_corrupt_log_costs_a_warning_not_the_answer(own_index, server, monkeypatch):
    garbage = bytes(range(256)) * 64
    own_index.history_path.write_bytes(garbage)
    with pytest.warns(HistoryWarning, match="not a database"):
        assert not pipeline.ask(own_index, BALLOON).refused

    for name, value in (("QA_LLM", "openai"), ("QA_OPENAI_MODEL", "fake"), ("QA_LLM_RETRIES", "0")):
        monkeypatch.setenv(name, value)
    asked = run("ask", BALLOON, "--index", str(own_index.index_dir))
    assert asked.exit_code == 0 and asked.stdout.startswith("A Chinese balloon was shot down")
    assert re.search(r"^warning: the answer was not logged to .*history\.sqlite3: file is not a database$",
                     asked.stderr, re.MULTILINE), asked.stderr

    listed = run("log", "--index", str(own_index.index_dir))
    assert listed.exit_code == 1 and listed.stderr.count("\n") == 1
    assert re.fullmatch(r"error: cannot read the history log .*: file is not a database \(the file was left as it "
                        r"is\)\n", listed.stderr)
    assert own_index.history_path.read_bytes() == garbage


def test_a_locked_log_costs_a_warning_not_the_answer(own_index, server):
    pipeline.ask(own_index, BALLOON)  # the log exists, in WAL mode
    holder = sqlite3.connect(own_index.history_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.perf_counter()
        with pytest.warns(HistoryWarning, match="database is locked"):
            answer = pipeline.ask(own_index, BALLOON)
        waited = time.perf_counter() - started - answer.timings["total_s"]
        assert not answer.refused and waited < history.BUSY_TIMEOUT_S + 1.0
        # Readers never wait for a writer: the log still lists while it is held.
        listed = run("log", "--json", "--index", str(own_index.index_dir))
        assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    pipeline.ask(own_index, BALLOON)
    assert len(history.entries(own_index)) == 2


def test_eval_does_not_log(own_index, server, monkeypatch, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "g1", "question": BALLOON, "answer": "A balloon was shot down.",
                                "sources": ["003_ec531d573e193ee8.txt"], "keywords": ["balloon"],
                                "answerable": True}) + "\n")
    for name, value in (("QA_LLM", "openai"), ("QA_OPENAI_MODEL", "fake"), ("QA_LLM_RETRIES", "0")):
        monkeypatch.setenv(name, value)
    result = run("eval", "--gold", str(gold), "--index", str(own_index.index_dir), "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["n"] == 1 and server.requests
    assert not own_index.history_path.exists()


# --- the UI: answers logged per conversation, and a conversation reopened -----------------

def test_ui_logs_its_conversation_and_reopens_it(own_index, server, monkeypatch):
    import app

    monkeypatch.setattr(app, "SETTINGS", own_index)
    conversation = app.new_conversation_id()
    *_, last = app.respond(BALLOON, [], [], 6, True, 0.0, False, conversation_id=conversation)
    chat, saved, sources, _ = last
    assert app.history_choices()[0][1] == conversation and BALLOON in app.history_choices()[0][0]
    [entry] = history.conversation(own_index, conversation)
    assert entry.front_end == "ui" and entry.question == BALLOON

    # A second question of the same conversation, then another conversation.
    server.reply = "It flew over sensitive military sites."
    second = "What did the balloon fly over?"
    *_, last = app.respond(second, saved, [], 6, True, 0.0, False, conversation_id=conversation)
    chat, saved, sources, _ = last
    *_, other = app.respond("Who is Antony Blinken?", [], [], 6, True, 0.0, False, conversation_id=app.new_conversation_id())
    choices = app.history_choices()
    assert len(choices) == 2 and choices[1][1] == conversation and "(2 questions)" in choices[1][0]

    reopened_chat, reopened_saved, reopened_sources, reopened_id = app.reopen(conversation)
    assert reopened_id == conversation and reopened_chat == chat and reopened_sources == sources
    reopened, shown = app.load_turns(reopened_saved), app.load_turns(saved)
    assert [t.question for t in reopened] == [BALLOON, second]
    assert [t.answer.citations for t in reopened] == [t.answer.citations for t in shown]
    assert 'class="source-card' in reopened_sources and 'class="cite"' in reopened_chat[1]["content"]


def test_reopen_with_a_rewritten_question_and_a_corrupt_log(tmp_path, default_index, monkeypatch):
    import app

    settings = Settings(index_dir=tmp_path / "index")
    monkeypatch.setattr(app, "SETTINGS", settings)
    assert app.history_choices() == []
    answer = _answer(1)
    history.log_answer(settings, answer, _fingerprint(default_index), question="and why?", conversation_id="c",
                       front_end="ui")
    chat, saved, sources, conversation = app.reopen("c")
    assert chat[0]["content"] == "and why?" and f"Searched for: {app.literal(answer.question)}" in chat[1]["content"]
    assert app.load_turns(saved)[0].answer.citations == answer.citations and conversation == "c"

    settings.history_path.write_bytes(b"not a database" * 100)
    warned = []
    monkeypatch.setattr(app.gr, "Warning", warned.append)
    assert app.history_choices() == [] and all(part == app.gr.skip() for part in app.reopen("c"))
    assert len(warned) == 2 and "cannot read the history log" in warned[0]


# --- one real answer from the local model --------------------------------------------------

@pytest.mark.model
def test_a_real_answer_is_logged_with_citations_and_timings(default_index, ask_once):
    answer = ask_once(default_index, BALLOON)
    [entry] = [e for e in history.entries(default_index) if e.answer == answer.to_dict()]
    assert entry.answer["citations"] and entry.answer["passages"] and entry.answer["evidence"]
    assert {"retrieve_s", "first_token_s", "total_s"} <= set(entry.answer["timings"])
    fingerprint = history.entry(default_index, entry.id).fingerprint
    assert fingerprint["model"] == answer.model and fingerprint["settings"]["llm"] == "local"
