"""Load: 8 clients asking 5 questions each through gradio_client against one app process."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import APP_PIDS

QUESTIONS = ["Why was Blinken's trip to China cancelled?", "Who is Daniel Kritenbrink?",
             "What did John Kirby say about future visits?", "How many visitors did the Harbour Lights festival draw?",
             "Why were the festival fireworks moved to the north pier?", "What did Jake Sullivan discuss with Wang Yi?",
             "When was the Chinese balloon shot down?", "What do the two countries want to stabilise?"]
CLIENTS, ROUNDS = 8, 5
RSS_GROWTH_LIMIT_MB = 150


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


@pytest.mark.slow
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
