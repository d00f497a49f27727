"""The minimal chat UI: serves a page on 127.0.0.1 and streams cited answers (real local model)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(default_index, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("app")
    port = _free_port()
    env = {**os.environ, "QA_INDEX_DIR": str(default_index.index_dir)}
    log = (tmp_path / "app.log").open("w")
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, (tmp_path / "app.log").read_text()
            assert time.monotonic() < deadline, "app did not start in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_app_serves_and_answers_with_citations(app_url):
    from gradio_client import Client

    with urllib.request.urlopen(app_url) as response:
        assert "newsqa" in response.read().decode()
    client = Client(app_url, verbose=False)
    reply = client.predict("Why was Blinken's trip to China cancelled?", api_name="/chat")
    assert "balloon" in reply.lower()
    assert re.search(r"\[\d+\]", reply) and "**Sources**" in reply


def test_app_refuses_out_of_corpus_questions(app_url):
    from gradio_client import Client

    reply = Client(app_url, verbose=False).predict("Who won the 2024 US presidential election?", api_name="/chat")
    assert "do not say" in reply and "Sources" not in reply
