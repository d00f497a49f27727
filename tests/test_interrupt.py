"""Ctrl-C during `qa ask` on a terminal: a clean exit, nothing half-written in the history log, and
the next question answered as usual (real CLI process on a pseudo-terminal, real local model)."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS

pytestmark = [pytest.mark.model, pytest.mark.full]

QUESTION = "Why was Blinken's trip to China cancelled?"


def qa_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "qa"), *args]


def read_until(fd: int, marker: bytes, timeout: float = 300) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the process closed the terminal
                break
    return seen


def test_ctrl_c_mid_answer_exits_cleanly_and_logs_nothing(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    env.update(QA_INDEX_DIR=str(tmp_path / "index"), QA_FAST="true", QA_CONFIG=str(tmp_path / "none.toml"),
               COLUMNS="100")
    subprocess.run(qa_command("ingest", str(CORPUS)), env=env, check=True, capture_output=True)
    history = tmp_path / "index" / "history.sqlite3"

    leader, follower = pty.openpty()
    process = subprocess.Popen(qa_command("ask", QUESTION), env=env, stdin=follower, stdout=follower,
                               stderr=follower, close_fds=True)
    os.close(follower)
    try:
        shown = read_until(leader, b"Evidence")  # the evidence is out: the model is reading or writing
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
        shown += read_until(leader, b"interrupted", timeout=10)
    finally:
        process.kill()
        os.close(leader)
    assert b"Traceback" not in shown, shown.decode(errors="replace")

    # Nothing half-written: the log is sound and holds no entry for the interrupted question.
    if history.exists():
        with sqlite3.connect(history) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == 0
    answered = subprocess.run(qa_command("ask", QUESTION, "--json"), env=env, capture_output=True, text=True,
                              timeout=600)
    assert answered.returncode == 0, answered.stderr
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == 1
