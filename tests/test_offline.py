"""No code path reaches the network: ingest and search run with every outside connection refused."""

from __future__ import annotations

import os
import socket

import pytest

import qa
from conftest import CORPUS
from qa import pipeline


@pytest.fixture
def no_network(monkeypatch):
    attempts: list = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost")) or self.family == socket.AF_UNIX:
            return real_connect(self, address)
        attempts.append(address)
        raise OSError(f"network disabled in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: guarded(socket.socket(), address))
    return attempts


def test_offline_environment_is_set_on_import():
    assert qa.__version__
    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                        "ANONYMIZED_TELEMETRY": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
        assert os.environ[name] == value
    assert os.path.isdir(os.environ["TIKTOKEN_CACHE_DIR"])


def test_ingest_and_search_never_connect_out(no_network, settings):
    pipeline.ingest(settings, [CORPUS])
    assert pipeline.search(settings, "balloon", top_k=2)
    assert no_network == []
