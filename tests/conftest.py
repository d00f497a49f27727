"""Shared fixtures: the real embedding model (loaded once) and indexes in temp folders."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import qa  # noqa: F401  (offline environment before anything loads)
from qa.config import Settings
from qa.embed import Embedder, get_embedder

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
# CI clones the project with shared/ beside it; QA_SHARED_DIR points elsewhere.
SHARED = Path(os.environ.get("QA_SHARED_DIR") or ROOT.parent / "shared")
MULTIHOP = SHARED / "datasets" / "multihop_rag"


# In CI nothing a test needs may be missing, so a skip (no chromium, no dataset, no server) fails there.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, and CI=true allows no skips: {reason}"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder()


@pytest.fixture(scope="session")
def ask_once():
    """`pipeline.ask`, memoised for the run: tests that check one answer from different sides share it
    (a local-model answer costs 10-20 s on 2 cores)."""
    from qa import pipeline

    answers = {}

    def ask(settings: Settings, question: str, **kwargs):
        key = (settings, question, repr(sorted(kwargs.items())))
        if key not in answers:
            answers[key] = pipeline.ask(settings, question, **kwargs)
        return answers[key]

    return ask


def article_texts(*folders: Path) -> dict[str, str]:
    """doc_id → the article text that offsets refer to, loaded from the files as ingest loads them."""
    from qa.corpus import load_corpus

    return {article.doc_id: article.text for article in load_corpus(list(folders)).articles}


def assert_quotes_are_article_text(citations, texts: dict[str, str]) -> None:
    """Each citation's quote is the article's own text at the quote's offsets (not just a piece of
    the passage it was cut from, which holds by construction)."""
    assert citations
    for citation in citations:
        c = citation if isinstance(citation, dict) else dataclasses.asdict(citation)
        article = texts[c["doc_id"]]
        assert c["quote"].strip(), c
        assert article[c["quote_start"]:c["quote_end"]] == c["quote"], (c["doc_id"], c["quote_start"], c["quote"])
        assert c["start"] <= c["quote_start"] < c["quote_end"] <= c["end"], c


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's QA_* variables or qa.toml."""
    for name in list(os.environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("QA_CONFIG", str(tmp_path / "no-such-qa.toml"))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def default_index(tmp_path_factory, embedder) -> Settings:
    """The five default articles, ingested once for read-only tests."""
    from qa import pipeline

    settings = Settings(index_dir=tmp_path_factory.mktemp("default") / "index")
    pipeline.ingest(settings, [CORPUS])
    return settings


# The gold set's questions are about the default corpus and a few dated articles (eval/articles/).
GOLD_CORPORA = [CORPUS, ROOT / "eval" / "articles"]


@pytest.fixture(scope="session")
def gold_index(tmp_path_factory, embedder) -> Settings:
    """The articles eval/gold.jsonl asks about, ingested once."""
    from qa import pipeline

    settings = Settings(index_dir=tmp_path_factory.mktemp("gold") / "index")
    pipeline.ingest(settings, GOLD_CORPORA)
    return settings


@pytest.fixture(scope="session")
def multihop_index(tmp_path_factory, embedder):
    """MultiHop-RAG's 609 articles, ingested once per run (7 to 22 minutes on 2 cores): (settings, IngestResult)."""
    from qa import pipeline

    if not (MULTIHOP / "corpus.jsonl").exists():
        pytest.skip("shared MultiHop-RAG data not present")
    settings = Settings(index_dir=tmp_path_factory.mktemp("multihop") / "index")
    started = time.perf_counter()
    result = pipeline.ingest(settings, [MULTIHOP / "corpus.jsonl"])
    print(f"\nMultiHop-RAG ingest: {time.perf_counter() - started:.0f}s, {result.report.total_chunks} chunks")
    return settings, result


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


# Tags in a text file are stripped when it is cleaned, but entities are decoded after that, so
# these payloads reach the index (and the UI) as live-looking markup: what an article quoting HTML holds.
HOSTILE_ARTICLE = """&lt;img src=x onerror="alert('title')"&gt; Harbour Lights festival returns to Port Elsworth
The Harbour Lights festival in Port Elsworth drew 12,400 visitors on its opening night, organisers said on Saturday.
&lt;script&gt;alert('xss')&lt;/script&gt; The festival's fireworks display was moved to the north pier because strong winds made the old harbour wall unsafe, the organisers said.
Local traders reported their busiest weekend since 2019. &lt;a href="javascript:alert('link')"&gt;Tickets&lt;/a&gt; ![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgnZGF0YScpPC9zY3JpcHQ+)
"""


APP_PIDS: dict[str, int] = {}  # app_url → the app's process id (for memory checks)
APP_CORPORA: dict[str, Path] = {}  # app_url → the folder its index was built from


@contextlib.contextmanager
def serving(command: list[str], ready_url: str, log_path: Path, *, env: dict | None = None, timeout: float = 180):
    """Run a server process until the block ends; waits until `ready_url` answers. Yields the process."""
    import subprocess
    import time
    import urllib.request

    with log_path.open("a") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2):
                    break
            except OSError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, f"not up in {timeout:g} s:\n" + log_path.read_text()
                time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def app_server(env: dict[str, str], folder: Path):
    """app.py on a free port with QA_*/OPENAI_* variables from `env` only; yields its URL."""
    import sys

    port = free_port()
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("QA_", "OPENAI_"))}
    clean.update(QA_CONFIG=str(folder / "no-qa.toml"), QA_UPLOAD_DIR=str(folder / "uploads"), **env)
    url = f"http://127.0.0.1:{port}/"
    with serving([sys.executable, "app.py", "--port", str(port)], url, folder / "app.log", env=clean) as process:
        APP_PIDS[url] = process.pid
        yield url


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, embedder):
    """app.py serving the default corpus plus an article full of HTML payloads (real local model)."""
    from qa import pipeline

    folder = tmp_path_factory.mktemp("app")
    corpus = folder / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "zz_hostile.txt").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    settings = Settings(index_dir=folder / "index")
    pipeline.ingest(settings, [corpus])
    with app_server({"QA_INDEX_DIR": str(settings.index_dir)}, folder) as url:
        APP_CORPORA[url] = corpus
        yield url


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def chroma_server(path: Path, port: int):
    """A real Chroma server (`chroma run` from the installed chromadb) on 127.0.0.1:port; yields its URL."""
    import sys

    path.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
               "--port", str(port)]
    with serving(command, f"{url}/api/v2/heartbeat", path.parent / f"chroma-{port}.log", timeout=60):
        yield url


# llama.cpp's own OpenAI-compatible server (the `server` extra) with the bundled 0.5B: what the openai
# backend is tested against for real (tests/test_openai_server.py).
LLAMA_SERVER_MODEL = "qwen2.5-coder-0.5b-instruct"
LLAMA_SERVER_ALIAS = "newsqa-0.5b"  # the name it answers to: QA_OPENAI_MODEL


@dataclasses.dataclass
class LlamaServer:
    url: str  # the OpenAI base URL, …/v1 (OPENAI_BASE_URL)
    port: int
    process: subprocess.Popen
    log: Path


@contextlib.contextmanager
def llama_server(folder: Path, *options: str):
    """`python -m llama_cpp.server` serving the bundled 0.5B on a free 127.0.0.1 port, with more command-line
    `options`; yields a `LlamaServer`. Without the `server` extra it skips (a failure in CI)."""
    import importlib.util
    import sys

    from qa.models import bundled_model_path

    missing = [name for name in ("sse_starlette", "starlette_context") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"llama.cpp's server needs the `server` extra (pip install -e '.[server]'): no {', '.join(missing)}")
    port = free_port()
    threads = str(os.cpu_count() or 1)  # as the local backend: prompt reading is what we wait for
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path(LLAMA_SERVER_MODEL)),
               "--model_alias", LLAMA_SERVER_ALIAS, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
               "--n_threads", threads, "--n_threads_batch", threads,
               # Its defaults keep the logits of every prompt token, which nothing here reads, and mlock the model.
               "--logits_all", "False", "--use_mlock", "False", "--verbose", "False", *options]
    url = f"http://127.0.0.1:{port}/v1"
    log = folder / f"llama-server-{port}.log"
    with serving(command, f"{url}/models", log, timeout=120) as process:
        yield LlamaServer(url, port, process, log)


@pytest.fixture(scope="session")
def openai_server(tmp_path_factory) -> LlamaServer:
    """One llama.cpp server for the session's tests that do not kill it, set up as docs/openai-servers.md
    advises for a server the UI and the CLI share: a new request waits for the one running."""
    with llama_server(tmp_path_factory.mktemp("llama-server"), "--interrupt_requests", "False") as server:
        yield server
