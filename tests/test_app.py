"""The chat UI's server, through gradio_client: cited answers, refusals, parallel clients (real local model)."""

from __future__ import annotations

import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import APP_CORPORA, article_texts, assert_quotes_are_article_text

pytestmark = [pytest.mark.server, pytest.mark.model]

BALLOON = "Why was Blinken's trip to China cancelled?"
FESTIVAL = "Why was the Harbour Lights festival's fireworks display moved?"


def _ask(url: str, question: str) -> dict:
    from gradio_client import Client

    return Client(url, verbose=False).predict(question=question, api_name="/ask")


def test_page_is_served_on_loopback(app_url):
    assert app_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(app_url) as response:
        assert "newsqa" in response.read().decode()


def test_answer_cites_passages_it_quotes(app_url):
    result = _ask(app_url, BALLOON)
    assert not result["refused"] and "balloon" in result["answer"].lower()
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", result["answer"])}
    assert numbers == {c["n"] for c in result["citations"]}
    assert_quotes_are_article_text(result["citations"], article_texts(APP_CORPORA[app_url]))


def test_refusal_has_no_citations(app_url):
    result = _ask(app_url, "Who won the 2024 US presidential election?")
    assert result["refused"] and result["citations"] == []


@pytest.mark.full
def test_parallel_clients_get_their_own_answers(app_url):
    with ThreadPoolExecutor(2) as pool:
        balloon, festival = pool.map(lambda q: _ask(app_url, q), [BALLOON, FESTIVAL])
    assert balloon["question"] == BALLOON and festival["question"] == FESTIVAL
    assert balloon["citations"] and festival["citations"]
    assert {c["doc_id"] for c in festival["citations"]} == {"zz_hostile.txt"}
    assert "zz_hostile.txt" not in {c["doc_id"] for c in balloon["citations"]}
