"""The one door of the core: every front end (CLI, UI, eval, bench) imports from here, and from
`qa.config` for the settings, never from the modules behind it; `__all__` is the list
(tests/test_imports.py holds every front end to it). Models and indexes load once per process.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from qa import conversation, history
from qa.answer import (READING, SEARCHING, WAITING, WRITING, Answer, QuestionError, Response, Stage, check_question,
                       cited_numbers, evidence_for, split_sentences, stream_answer as _stream)
from qa.config import Settings
from qa.conversation import Turn, to_markdown
from qa.corpus import LoadedCorpus, load_corpus, store_upload
from qa.embed import Embedder, get_embedder
from qa.evidence import Evidence
from qa.fingerprint import run_fingerprint
from qa.index import (Index, IndexProblem, IngestReport, Manifest, chunk_article, embedding_text, make_splitter,
                      manifest_digest)
from qa.judges import JudgeUnavailable, answerability_judge, relevance_judge
from qa.llm import LLMError, get_llm
from qa.retrieve import Retriever
from qa.timeframe import Period, PeriodError, period_between
from qa.timeline import with_days
from qa.types import Article, Passage, byline
from qa.web import articles_from_urls, is_url, read_url_list


__all__ = [
    # What the pipeline does.
    "ingest", "IngestResult", "search", "stream_answer", "ask", "context", "standalone_question", "retriever", "llm",
    "embedder", "load_judges", "index_status", "index_mismatch", "articles", "scope_doc_ids", "remove", "history",
    "run_fingerprint",
    # What it gives back, and how it fails.
    "Answer", "Response", "Stage", "SEARCHING", "WAITING", "READING", "WRITING", "Evidence", "Passage", "Article",
    "Turn", "IndexProblem", "QuestionError", "LLMError", "PeriodError", "JudgeUnavailable",
    # Reading its input and showing its output.
    "Period", "period_between", "is_url", "store_upload", "byline", "with_days", "to_markdown",
    "split_sentences", "cited_numbers",
    # The stages one by one, which `qa bench` times against a stock llama-index pipeline.
    "load_corpus", "Index", "make_splitter", "chunk_article", "embedding_text",
]


@dataclass
class IngestResult:
    corpus: LoadedCorpus
    report: IngestReport


def ingest(settings: Settings, paths: list[Path | str], *, feeds_file: Path | None = None, prune: bool = False,
           rebuild: bool = False, on_start: Callable[[int], None] | None = None,
           on_progress: Callable[[int], None] | None = None, allow_local_urls: bool = True) -> IngestResult:
    """Load, clean, chunk, embed and store; `on_start(n_articles)`, then `on_progress(n)` as n more are done.

    `paths` are files and folders, and URLs (any "scheme://…" string) of article pages and feeds;
    `feeds_file` lists more URLs, one a line. `allow_local_urls`: whether URLs whose host has a
    loopback, private or other local address are fetched (off, each is a Problem).
    """
    urls = [path for path in paths if isinstance(path, str) and is_url(path)]
    files = [Path(path) for path in paths if path not in urls]
    urls += read_url_list(feeds_file) if feeds_file else []
    corpus = load_corpus(files, max_chars=settings.max_article_chars)
    corpus.add(*articles_from_urls(urls, settings, allow_local=allow_local_urls))
    if rebuild:
        Index.wipe(settings)
    index = Index(settings, embedder(settings), create=True)
    if on_start:
        on_start(len(corpus.articles))
    report = index.ingest(corpus.articles, prune=prune and bool(corpus.articles), on_progress=on_progress)
    return IngestResult(corpus, report)


def index_mismatch(settings: Settings) -> str | None:
    """Why the index on disk cannot be used with `settings` (built with other chunking, say), or None."""
    manifest = Manifest.read(settings.manifest_path)
    return manifest.mismatch(Manifest.expected(settings, embedder(settings))) if manifest else None


def embedder(settings: Settings) -> Embedder:
    return get_embedder(settings.embed_batch_size)


def load_judges(settings: Settings) -> None:
    """Load the judges these settings use now rather than at the first question (a served app's first
    reader should not wait for them). Raises JudgeUnavailable when their weights are not installed."""
    if settings.evidence and settings.evidence_judge:
        relevance_judge()
    if settings.answerability_judge:
        answerability_judge()


_retrievers: dict[Settings, tuple[Retriever, str | None]] = {}
_lock = threading.Lock()


def retriever(settings: Settings) -> Retriever:
    """The process-wide retriever for these settings, rebuilt when the index changed on disk.

    Another process (`qa ingest`, `qa ingest --prune`) may change the index under a running UI; the
    manifest is rewritten on every change, so a hash of it per question tells.
    """
    stamp = manifest_digest(settings.manifest_path)
    with _lock:
        cached = _retrievers.get(settings)
        if cached is None or cached[1] != stamp:
            _retrievers[settings] = (Retriever(settings, embedder(settings)), stamp)
        return _retrievers[settings][0]


def search(settings: Settings, query: str, *, top_k: int | None = None, hybrid: bool | None = None,
           doc_ids: list[str] | None = None, period: Period | None = None) -> list[Passage]:
    return retriever(settings).search(query, top_k=top_k, hybrid=hybrid, doc_ids=doc_ids, period=period)


def context(settings: Settings, question: str, passages: list[Passage]):
    """What the model reads of `passages` for `question` (the evidence stage), and its length in word pieces."""
    found = retriever(settings)
    evidence = evidence_for(question, found.analyse(question), passages, settings=settings, retriever=found)
    return evidence, sum(len(found.embedder.tokenize(e.text)) for e in evidence)


def index_status(settings: Settings) -> dict:
    """What is in the index, without loading the embedding model."""
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
    return get_llm(settings)


def stream_answer(settings: Settings, question: str, *, doc_ids: list[str] | None = None,
                  period: Period | None = None, typed: str | None = None, conversation_id: str | None = None,
                  front_end: str = "cli", **overrides):
    """The answer as a `qa.answer.Response` (stages, text deltas, then `.answer`); the model and
    index load once per process. `period`: only articles published in it (`qa.timeframe`). The
    final answer goes to the history log (when the `history` setting is on) as it arrives, with
    `typed` (the question as typed, when `question` is its standalone rewrite), `conversation_id`
    and `front_end` (cli, ui, api).

    `overrides` change answer-time settings for this question only (top_k, hybrid, temperature, fast,
    history).
    """
    check_question(question, settings)  # fail fast, before loading anything
    given = {name: value for name, value in overrides.items() if value is not None}
    # The model loads while the index opens and the evidence is chosen: on a cold start the
    # evidence is out before the model is ready, and neither waits for the other.
    asked = replace(settings, **given)
    model = _loader.submit(llm, asked)
    found = retriever(settings)
    response = _stream(question, settings=asked, retriever=found, llm=model, doc_ids=doc_ids, period=period)
    if asked.history:
        def log(answer):
            fingerprint = run_fingerprint(asked, found.index.manifest, answer.model)
            history.log_answer(asked, answer, fingerprint, question=typed, conversation_id=conversation_id,
                               front_end=front_end)

        response.when_answered(log)
    return response


_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-model")


def ask(settings: Settings, question: str, **kwargs):
    return stream_answer(settings, question, **kwargs).final()


def standalone_question(settings: Settings, question: str, history: list) -> str:
    """A follow-up question rewritten to stand alone (unchanged when it already does)."""
    return conversation.standalone_question(question, history, llm(settings))


def articles(settings: Settings) -> list[dict]:
    """The indexed articles (doc_id, title, source, published_at, chunks), in doc_id order."""
    manifest = Manifest.read(settings.manifest_path)
    entries = manifest.articles if manifest else {}
    return [{"doc_id": doc_id, **{key: entry.get(key, "") for key in ("title", "source", "published_at", "chunks")}}
            for doc_id, entry in sorted(entries.items())]


def scope_doc_ids(settings: Settings, outlets: list[str], doc_ids: list[str]) -> list[str] | None:
    """doc_ids of the chosen articles plus every article of the chosen outlets; None = no restriction."""
    if not outlets and not doc_ids:
        return None
    chosen = set(doc_ids) | {a["doc_id"] for a in articles(settings) if a["source"] in set(outlets)}
    return sorted(chosen)


def remove(settings: Settings, doc_ids: list[str]) -> None:
    """Take articles out of the index (chunks, manifest entries, BM25)."""
    index = Index(settings, embedder(settings))
    index.remove(doc_ids)
    index.refresh_bm25()
