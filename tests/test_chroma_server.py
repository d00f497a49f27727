"""Server mode: `chroma_url` puts chunks and vectors on a real Chroma server (`chroma run`)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import CORPUS, chroma_server, free_port
from qa import pipeline
from qa.cli import main
from qa.config import Settings

pytestmark = pytest.mark.server


@pytest.fixture
def chroma_url(tmp_path):
    with chroma_server(tmp_path / "server", free_port()) as url:
        yield url


def test_server_index_retrieves_like_the_embedded_one(chroma_url, tmp_path, default_index):
    result = CliRunner().invoke(main, ["--chroma-url", chroma_url, "ingest", str(CORPUS),
                                       "--index", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "index" / "chroma").exists() and any((tmp_path / "server").iterdir())

    served = Settings(index_dir=tmp_path / "index", chroma_url=chroma_url)
    for query in ["Why was Blinken's trip to China cancelled?", "Kritenbrink", "spy balloon over the US"]:
        for hybrid in (True, False):
            remote = pipeline.search(served, query, hybrid=hybrid)
            local = pipeline.search(default_index, query, hybrid=hybrid)
            assert [p.chunk_id for p in remote] == [p.chunk_id for p in local]


@pytest.mark.model
def test_ask_through_a_chroma_server(chroma_url, tmp_path):
    index = str(tmp_path / "index")
    assert CliRunner().invoke(main, ["--chroma-url", chroma_url, "ingest", str(CORPUS), "--index", index]).exit_code == 0
    result = CliRunner().invoke(main, ["--chroma-url", chroma_url, "ask", "--json", "--index", index,
                                       "Why was Blinken's trip to China cancelled?"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["refused"] and answer["citations"]


def test_unreachable_server_is_one_clear_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["--chroma-url", url, "ingest", str(CORPUS), "--index", str(tmp_path / "index")])
    assert result.exit_code == 1 and "cannot reach the Chroma server" in result.output
    assert "Traceback" not in result.output
