"""A served newsqa that stays up: many clients queue fairly for the one local model, one client cannot
hold more than its share, and a shared UI can be read-only (real app.py process, real local model)."""

from __future__ import annotations

import json
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import CORPUS, app_server

QUESTIONS = ["Why was Blinken's trip to China cancelled?", "What did the balloon do over the United States?",
             "Who is Daniel Kritenbrink?", "What did China say the balloon was?"]


def served(tmp_path_factory, name: str, env: dict[str, str]):
    """app.py over its own index of the default corpus, with `env` on top; yields its URL."""
    from qa import pipeline
    from qa.config import Settings

    folder = tmp_path_factory.mktemp(name)
    settings = Settings(index_dir=folder / "index")
    pipeline.ingest(settings, [CORPUS])
    with app_server({"QA_INDEX_DIR": str(settings.index_dir), **env}, folder) as url:
        yield url


@pytest.fixture(scope="module")
def fast_app(tmp_path_factory, embedder):
    """app.py with the bundled 0.5B (the queue is what is tested, not the answers' quality)."""
    yield from served(tmp_path_factory, "serving", {"QA_FAST": "true"})


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


@pytest.mark.server
@pytest.mark.model
@pytest.mark.full
def test_one_client_cannot_hold_more_than_its_share(fast_app):
    """Three questions at once from one API client (one session): two are answered, the third is
    told why not, at once."""
    one = client(fast_app)
    jobs = [one.submit(question=question, api_name="/ask") for question in QUESTIONS[:3]]
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(job.result(timeout=600))
        except Exception as error:  # noqa: BLE001 (gradio_client raises AppError with the message)
            outcomes.append(str(error))
    refusals = [o for o in outcomes if isinstance(o, str)]
    answers = [o for o in outcomes if isinstance(o, dict)]
    assert len(answers) == 2 and len(refusals) == 1, outcomes
    assert "You already have 2 questions being answered" in refusals[0]
    assert {a["question"] for a in answers} < set(QUESTIONS[:3])


@pytest.mark.server
@pytest.mark.model
@pytest.mark.full
def test_eight_clients_at_once_each_get_their_own_answer(fast_app):
    """Bounded load on loopback: 8 API clients ask at once; each gets its own question's answer and
    none starves (each waited for the model behind at most the 7 others)."""
    questions = [QUESTIONS[k % len(QUESTIONS)] for k in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda q: client(fast_app).predict(question=q, api_name="/ask"), questions))
    assert [a["question"] for a in answers] == questions
    assert all(a["answer"] for a in answers)
    waits = sorted(a["timings"].get("model_wait_s", 0.0) for a in answers)
    longest_answer = max(a["timings"]["total_s"] - a["timings"].get("model_wait_s", 0.0) for a in answers)
    # Fair: the last in line waited no longer than the others' answers took, one after another.
    assert waits[-1] <= 7 * longest_answer + 5, waits


@pytest.fixture(scope="module")
def read_only_app(tmp_path_factory, embedder):
    yield from served(tmp_path_factory, "read-only", {"QA_READ_ONLY": "true"})


def visible_elements(url: str) -> dict[str, bool]:
    """elem_id → visible, from the page's Gradio config."""
    with urllib.request.urlopen(url + "config") as response:
        config = json.load(response)
    return {c["props"]["elem_id"]: c["props"].get("visible", True) for c in config["components"]
            if c.get("props", {}).get("elem_id")}


@pytest.mark.server
@pytest.mark.model
@pytest.mark.full
def test_a_read_only_ui_hides_ingest_and_remove(read_only_app, app_url):
    shown = visible_elements(read_only_app)
    assert not any(shown[name] for name in ("uploads", "urls", "ingest", "remove")), shown
    assert shown["read-only"] and shown["question"] and shown["articles"]
    # The same page on loopback without the setting offers them.
    editable = visible_elements(app_url)
    assert all(editable[name] for name in ("uploads", "urls", "ingest", "remove")) and "read-only" not in editable


def test_the_server_refuses_ingest_and_remove_when_read_only(tmp_path, embedder, monkeypatch):
    """Called anyway (a forged request to a hidden control): refused, and the index is unchanged."""
    import app
    from qa import pipeline
    from qa.config import Settings

    settings = Settings(index_dir=tmp_path / "index", upload_dir=tmp_path / "uploads", read_only="true")
    pipeline.ingest(settings, [CORPUS])
    before = pipeline.articles(settings)
    monkeypatch.setattr(app, "SETTINGS", settings)
    upload = tmp_path / "new.txt"
    shutil.copy(next(CORPUS.iterdir()), upload)
    log = app.ingest_uploads([str(upload)], "https://news.example/feed.xml", progress=lambda *a, **k: None)[-1]
    assert log == app.READ_ONLY_REFUSAL
    log = app.remove_articles([before[0]["doc_id"]])[-1]
    assert log == app.READ_ONLY_REFUSAL
    assert pipeline.articles(settings) == before


@pytest.mark.parametrize("host, setting, expected", [
    ("127.0.0.1", "auto", False), ("localhost", "auto", False), ("::1", "auto", False), ("127.0.0.2", "auto", False),
    ("0.0.0.0", "auto", True), ("192.168.1.20", "auto", True), ("::", "auto", True),
    ("0.0.0.0", "false", False), ("127.0.0.1", "true", True),
])
def test_read_only_by_default_beyond_loopback_only(host, setting, expected):
    import app
    from qa.config import Settings

    assert app.read_only(Settings(host=host, read_only=setting)) is expected
