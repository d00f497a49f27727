"""The UI with a failing model server: one clear error, then the next question works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT, free_port
from fake_openai import FakeOpenAI


@pytest.fixture
def app_on_fake_server(default_index, tmp_path):
    with FakeOpenAI() as fake:
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith(("QA_", "OPENAI_"))}
        env.update(QA_INDEX_DIR=str(default_index.index_dir), QA_LLM="openai", QA_LLM_RETRIES="1",
                   QA_LLM_TIMEOUT="2", OPENAI_BASE_URL=fake.url, OPENAI_API_KEY="sk-fake-ui-0123456789",
                   QA_CONFIG=str(tmp_path / "none.toml"))
        with (tmp_path / "app.log").open("w") as log:
            process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "app.log").read_text()
                    time.sleep(0.5)
            yield url, fake
        finally:
            process.terminate()
            process.wait(timeout=30)
        assert "sk-fake-ui-0123456789" not in (tmp_path / "app.log").read_text()


@pytest.mark.parametrize("mode, message", [("500", "failed (500)"), ("429", "rate-limiting"),
                                           ("slow", "did not answer"), ("malformed", "bad response"),
                                           ("drop", "stopped before finishing")])
def test_backend_failure_is_one_error_and_the_next_question_works(app_on_fake_server, mode, message):
    from gradio_client import Client

    url, fake = app_on_fake_server
    client = Client(url, verbose=False)
    fake.mode = mode
    fake.reply = "The trip was cancelled after a balloon was shot down [1]."
    with pytest.raises(Exception, match=re.escape(message)):
        client.predict(question="Why was Blinken's trip to China cancelled?", api_name="/ask")
    fake.mode = "ok"
    result = client.predict(question="Why was Blinken's trip to China cancelled?", api_name="/ask")
    assert not result["refused"] and result["citations"]
