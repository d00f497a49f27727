"""Shared fixtures: the real embedding model (loaded once) and indexes in temp folders."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder()


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


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder
