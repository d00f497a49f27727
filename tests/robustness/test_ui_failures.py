"""The UI with a failing model server: one clear error, then the next question works."""

from __future__ import annotations

import re

import pytest

from conftest import app_server
from fake_openai import FakeOpenAI

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def app_on_fake_server(default_index, tmp_path_factory):
    key = "sk-fake-ui-0123456789"
    folder = tmp_path_factory.mktemp("ui-failures")
    with FakeOpenAI() as fake:
        env = {"QA_INDEX_DIR": str(default_index.index_dir), "QA_LLM": "openai", "QA_LLM_RETRIES": "1",
               "QA_LLM_TIMEOUT": "2", "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": key}
        with app_server(env, folder) as url:
            yield url, fake
    assert key not in (folder / "app.log").read_text()


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
