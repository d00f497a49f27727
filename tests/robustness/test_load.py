"""Load through gradio_client against one app process: 8 clients searching, and 8 clients asking
(with a scripted model server, so the test measures the app's queue, not the model)."""

from __future__ import annotations

import hashlib
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import APP_PIDS, app_server
from fake_openai import FakeOpenAI

pytestmark = [pytest.mark.server, pytest.mark.full]

QUESTIONS = ["Why was Blinken's trip to China cancelled?", "Who is Daniel Kritenbrink?",
             "What did John Kirby say about future visits?", "How many visitors did the Harbour Lights festival draw?",
             "Why were the festival fireworks moved to the north pier?", "What did Jake Sullivan discuss with Wang Yi?",
             "When was the Chinese balloon shot down?", "What do the two countries want to stabilise?"]
CLIENTS, ROUNDS = 8, 5
RSS_GROWTH_LIMIT_MB = 150


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


@pytest.mark.model
def test_eight_clients_get_their_own_results_and_memory_stays_flat(app_url):
    from gradio_client import Client

    def search(client: Client, question: str) -> list[dict]:
        return client.predict(query=question, top_k=3, api_name="/search")

    solo = {q: [p["chunk_id"] for p in search(Client(app_url, verbose=False), q)] for q in QUESTIONS}
    pid = APP_PIDS[app_url]
    before = _rss_mb(pid)

    def client_session(number: int) -> list[tuple[str, list[str], float]]:
        client = Client(app_url, verbose=False)
        results = []
        for round_number in range(ROUNDS):
            question = QUESTIONS[(number + round_number) % len(QUESTIONS)]
            started = time.perf_counter()
            passages = search(client, question)
            results.append((question, [p["chunk_id"] for p in passages], time.perf_counter() - started))
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        sessions = list(pool.map(client_session, range(CLIENTS)))
    wall = time.perf_counter() - started
    answers = [item for session in sessions for item in session]
    assert len(answers) == CLIENTS * ROUNDS
    for question, chunk_ids, _ in answers:
        assert chunk_ids == solo[question], question  # each client got the results of its own question
    latencies = sorted(seconds for _, _, seconds in answers)
    growth = _rss_mb(pid) - before
    print(f"\n{len(answers)} searches by {CLIENTS} clients in {wall:.1f}s ({len(answers) / wall:.1f}/s); "
          f"p50 {latencies[len(latencies) // 2]:.2f}s p95 {latencies[int(len(latencies) * 0.95)]:.2f}s; "
          f"RSS {before:.0f} MB → {before + growth:.0f} MB")
    assert growth < RSS_GROWTH_LIMIT_MB


# Questions the similarity gate lets through to the model ("Who is Sarah Beran?" scores 0.14 and is
# refused before the model, so it would not load the model server at all).
ASKED = ["Why was Blinken's trip to China cancelled?", "Who arranged Blinken's previously planned trip to China?",
         "What did John Kirby say about future visits?", "What did Jake Sullivan discuss with Wang Yi?",
         "When was the Chinese balloon shot down?", "What did Kurt Campbell say about exchanges with Beijing?",
         "Which officials went to Beijing with Daniel Kritenbrink?",
         "What did Vedant Patel say about rescheduling the visit?"]


def _tag(question: str) -> str:
    return hashlib.sha1(question.encode()).hexdigest()[:10]


def _scripted_reply(messages: list[dict]) -> str:
    """An answer that names the question it was given (its hash), so a mixed-up reply is detectable."""
    question = re.search(r"Question: (.*)", messages[-1]["content"]).group(1).strip()
    return f"Reply {_tag(question)} says a balloon was shot down and the trip was cancelled [1]."


def test_eight_clients_asking_each_get_their_own_answers_and_none_starves(default_index, tmp_path):
    from gradio_client import Client

    with FakeOpenAI() as fake:
        fake.reply, fake.word_delay = _scripted_reply, 0.02
        env = {"QA_INDEX_DIR": str(default_index.index_dir), "QA_LLM": "openai", "OPENAI_BASE_URL": fake.url,
               "OPENAI_API_KEY": "sk-fake-load"}
        with app_server(env, tmp_path) as url:
            def client_session(number: int) -> tuple[int, list[tuple[str, dict]], float]:
                client = Client(url, verbose=False)
                started = time.perf_counter()
                results = [(question, client.predict(question=question, api_name="/ask"))
                           for question in (ASKED[(number + i) % len(ASKED)] for i in range(3))]
                return number, results, time.perf_counter() - started

            with ThreadPoolExecutor(8) as pool:
                sessions = list(pool.map(client_session, range(8)))

    for _, results, _ in sessions:
        for question, answer in results:
            assert answer["question"] == question and _tag(question) in answer["answer"], (question, answer["answer"])
    waits = sorted(seconds for _, _, seconds in sessions)
    print("\nper-client time for 3 questions (s): " + ", ".join(f"{n}: {s:.1f}" for n, _, s in sessions))
    # One queue serves everyone in turn: no client waits much longer than the typical one.
    assert waits[-1] <= 2 * statistics.median(waits) + 2, waits
    assert len(fake.requests) == 24
