"""The functions every front end (CLI, UI, eval) calls; models and indexes load once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from qa.config import Settings
from qa.corpus import LoadedCorpus, load_corpus
from qa.embed import Embedder, get_embedder
from qa.index import Index, IngestReport
from qa.retrieve import Retriever
from qa.types import Passage


@dataclass
class IngestResult:
    corpus: LoadedCorpus
    report: IngestReport


def ingest(settings: Settings, paths: list[Path], *, prune: bool = False, rebuild: bool = False,
           on_start: Callable[[int], None] | None = None,
           on_progress: Callable[[int], None] | None = None) -> IngestResult:
    """Load, clean, chunk, embed and store; `on_start(n_articles)` then `on_progress(done)` calls."""
    corpus = load_corpus(paths)
    if rebuild:
        Index.wipe(settings)
    index = Index(settings, embedder(settings), create=True)
    if on_start:
        on_start(len(corpus.articles))
    report = index.ingest(corpus.articles, prune=prune and bool(corpus.articles), on_progress=on_progress)
    _retrievers.pop(settings, None)  # a cached retriever would hold a stale BM25 index
    return IngestResult(corpus, report)


def embedder(settings: Settings) -> Embedder:
    return get_embedder(settings.embed_batch_size)


_retrievers: dict[Settings, Retriever] = {}
_lock = threading.Lock()


def retriever(settings: Settings) -> Retriever:
    """The process-wide retriever for these settings."""
    with _lock:
        if settings not in _retrievers:
            _retrievers[settings] = Retriever(settings, embedder(settings))
        return _retrievers[settings]


def search(settings: Settings, query: str, *, top_k: int | None = None, hybrid: bool | None = None,
           doc_ids: list[str] | None = None) -> list[Passage]:
    return retriever(settings).search(query, top_k=top_k, hybrid=hybrid, doc_ids=doc_ids)


def index_status(settings: Settings) -> dict:
    """What is in the index, without loading the embedding model."""
    from qa.index import Manifest

    manifest = Manifest.read(settings.manifest_path)
    if manifest is None:
        return {"index_dir": str(settings.index_dir), "exists": False, "articles": 0, "chunks": 0}
    return {
        "index_dir": str(settings.index_dir), "exists": True,
        "articles": len(manifest.articles),
        "chunks": sum(entry["chunks"] for entry in manifest.articles.values()),
        "embedding": manifest.embedding, "chunking": manifest.chunking,
    }


def llm(settings: Settings):
    from qa.llm import get_llm

    return get_llm(settings)


def stream_answer(settings: Settings, question: str, *, top_k: int | None = None,
                  doc_ids: list[str] | None = None):
    """Text deltas, then the final `Answer`; the model and index load once per process."""
    from qa.answer import check_question, stream_answer as _stream

    check_question(question, settings)  # fail fast, before loading anything
    return _stream(question, settings=settings, retriever=retriever(settings), llm=llm(settings),
                   top_k=top_k, doc_ids=doc_ids)


def ask(settings: Settings, question: str, **kwargs):
    *_, answer = stream_answer(settings, question, **kwargs)
    return answer
