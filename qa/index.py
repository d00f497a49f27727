"""The index: articles → sentence-aware chunks → embeddings in Chroma, plus a BM25 index.

Layout of an index folder:
  chroma/          Chroma PersistentClient: collection `articles` (chunk text, metadata, a vector of
                   each chunk's first 256 word pieces) and `articles-sentences` (a vector of each
                   whole sentence of each chunk: what dense retrieval searches)
  bm25/            bm25s index over the same chunks, stamped with the chunk set it was built from
  manifest.json    embedding model, chunking settings, and one entry per article (content hash, chunks)
With `chroma_url` set, chroma/ is replaced by a collection on that Chroma server.

Crash safety: an article enters the manifest only after its chunks are in Chroma, and
chunk ids derive from content, so re-running an interrupted ingest redoes exactly the
articles it had not finished and never duplicates a chunk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import numpy as np

from qa.config import Settings
from qa.embed import MODEL_NAME, Embedder
from qa.sentences import whole_sentences
from qa.timeframe import day_number
from qa.types import Article, Chunk, Passage

MANIFEST_VERSION = 1
SPLITTER = "llama_index SentenceSplitter"
# Part of the chunking stamp: an index without sentence vectors (or with other ones) is rebuilt.
SENTENCE_VECTORS = "whole sentences of each chunk, v2 (with the publication day)"
# Chunks whose sentence vectors `Index.sentence_vectors` keeps in memory (~20 sentences × 1.5 KB each).
_VECTOR_CACHE_CHUNKS = 2000


class IndexProblem(RuntimeError):
    """The index is missing, or was built with settings this process cannot use."""


# --- chunking ---------------------------------------------------------------

def make_splitter(settings: Settings, embedder: Embedder):
    from llama_index.core.node_parser import SentenceSplitter

    # Sizes are counted in the embedding model's word pieces, so "fits the model" is exact.
    return SentenceSplitter(
        chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap,
        tokenizer=embedder.tokenize, include_prev_next_rel=False,
    )


def chunk_article(article: Article, splitter) -> list[Chunk]:
    """Chunks whose [start, end) offsets slice back to their text in `article.text`."""
    chunks = []
    cursor = 0
    for piece in splitter.split_text(article.text):
        start, end = _locate(article.text, piece, cursor)
        if start < 0:
            continue
        text = article.text[start:end]
        digest = hashlib.sha256(f"{article.doc_id}\x1f{start}\x1f{text}".encode()).hexdigest()[:20]
        chunks.append(Chunk(chunk_id=digest, doc_id=article.doc_id, text=text, start=start, end=end))
        cursor = start + 1
    return chunks


def _locate(text: str, piece: str, cursor: int) -> tuple[int, int]:
    """Where `piece` sits in `text` at or after `cursor`; whitespace may differ (the splitter re-joins)."""
    start = text.find(piece, cursor)
    if start >= 0:
        return start, start + len(piece)
    pattern = r"\s+".join(re.escape(word) for word in piece.split())
    match = re.compile(pattern).search(text, cursor) or re.compile(pattern).search(text)
    return (match.start(), match.end()) if match else (-1, -1)


def embedding_header(article: Article) -> str:
    """Title and outlet, embedded with each chunk so a passage knows what story it belongs to."""
    return " — ".join(part for part in (article.title, article.source) if part)


def embedding_text(article: Article, chunk: Chunk, embedder: Embedder, settings: Settings) -> str:
    header = embedder.truncate(embedding_header(article), settings.header_tokens)
    return f"{header}\n{chunk.text}" if header else chunk.text


# --- manifest ---------------------------------------------------------------

# The manifest as this process last read or wrote it, by path: anything else on disk was written by
# another process (an ingest beside a running UI), and the in-process Chroma state is then stale.
_last_seen: dict[Path, str] = {}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def manifest_digest(path: Path) -> str | None:
    """A hash of the manifest file as it is on disk now (None: no index); under 1 ms at 609 articles."""
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return None


def _changed_elsewhere(path: Path) -> bool:
    digest = manifest_digest(path)
    if digest is None:
        return False
    previous, _last_seen[path] = _last_seen.get(path), digest
    return previous is not None and previous != digest


@dataclass
class Manifest:
    embedding: dict[str, Any]
    chunking: dict[str, Any]
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    @classmethod
    def expected(cls, settings: Settings, embedder: Embedder) -> "Manifest":
        return cls(
            embedding={"model": MODEL_NAME, "dimension": embedder.dimension, "max_tokens": embedder.max_tokens},
            chunking={"splitter": SPLITTER, "chunk_size": settings.chunk_size,
                      "chunk_overlap": settings.chunk_overlap, "header_tokens": settings.header_tokens,
                      "sentences": SENTENCE_VECTORS},
        )

    @classmethod
    def read(cls, path: Path) -> "Manifest | None":
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (json.JSONDecodeError, TypeError) as error:
            raise IndexProblem(f"{path} is damaged ({error}); run `qa ingest --rebuild`") from None

    def write(self, path: Path) -> None:
        # Write-then-rename: a crash leaves the old manifest or the new one, never half of one.
        data = json.dumps(asdict(self), indent=1, ensure_ascii=False).encode("utf-8")
        tmp = path.with_suffix(f".tmp{os.getpid()}")  # per process: a UI and `qa ingest` may both write
        tmp.write_bytes(data)
        os.replace(tmp, path)
        _last_seen[path] = _digest(data)

    def mismatch(self, other: "Manifest") -> str | None:
        """Why an index built as `self` cannot be used with settings `other`, or None."""
        if self.version != other.version:
            return f"index format {self.version}, this version of newsqa writes {other.version}"
        if self.embedding != other.embedding:
            return f"built with embedding {self.embedding}, settings say {other.embedding}"
        if self.chunking != other.chunking:
            return f"built with chunking {self.chunking}, settings say {other.chunking}"
        return None

    @property
    def chunk_stamp(self) -> str:
        """Identifies the set of chunks (what the BM25 index must match)."""
        state = sorted((doc_id, entry["hash"]) for doc_id, entry in self.articles.items())
        return hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16]


# --- the store --------------------------------------------------------------

@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    chunks_written: int = 0
    sentences_written: int = 0
    sentences_truncated: int = 0
    total_articles: int = 0
    total_chunks: int = 0


ProgressFn = Callable[[int], None]


class Index:
    """One index folder: Chroma collection + BM25 + manifest."""

    def __init__(self, settings: Settings, embedder: Embedder, *, create: bool = False) -> None:
        self.settings = settings
        self.embedder = embedder
        self.dir = settings.index_dir
        if _changed_elsewhere(settings.manifest_path):
            _forget_local_store(settings)
        expected = Manifest.expected(settings, embedder)
        manifest = Manifest.read(settings.manifest_path)
        if manifest is None:
            if not create:
                raise IndexProblem(f"no index at {self.dir}; build one with `qa ingest PATH` (e.g. `qa ingest corpus`)")
            self.dir.mkdir(parents=True, exist_ok=True)
            manifest = expected
            manifest.write(settings.manifest_path)
        reason = manifest.mismatch(expected)
        if reason:
            raise IndexProblem(f"index at {self.dir} does not fit the current settings: {reason}. "
                               "Run `qa ingest --rebuild PATH` to rebuild it.")
        self.manifest = manifest
        self.collection = _open_collection(settings, settings.collection)
        self.sentences = _open_collection(settings, sentence_collection(settings))
        self._vectors_by_chunk: dict[str, dict[int, np.ndarray]] = {}

    @staticmethod
    def wipe(settings: Settings) -> None:
        """Empty an index folder (for --rebuild); refuses folders that do not look like an index."""
        folder = settings.index_dir
        if not folder.exists() and not settings.chroma_url:
            return
        if folder.exists() and not settings.manifest_path.exists() and any(folder.iterdir()):
            raise IndexProblem(f"{folder} is not empty and has no manifest.json; not deleting it")
        # Drop the collection through Chroma rather than deleting its files: Chroma keeps one
        # client per path alive in the process, and it must not be left pointing at removed files.
        client = _client(settings)
        present = [c.name for c in client.list_collections()]
        for name in (settings.collection, sentence_collection(settings)):
            if name in present:
                client.delete_collection(name)
        shutil.rmtree(folder / "bm25", ignore_errors=True)
        settings.manifest_path.unlink(missing_ok=True)

    # -- writing --

    def ingest(self, articles: list[Article], *, prune: bool = False,
               on_progress: ProgressFn | None = None, batch_articles: int = 16) -> IngestReport:
        """Add new and changed articles, skip unchanged ones, optionally drop absent ones."""
        report = IngestReport()
        pending = []
        for article in articles:
            entry = self.manifest.articles.get(article.doc_id)
            if entry and entry["hash"] == article.content_hash:
                report.unchanged.append(article.doc_id)
            else:
                (report.updated if entry else report.added).append(article.doc_id)
                pending.append(article)

        if on_progress:
            on_progress(len(report.unchanged))
        splitter = make_splitter(self.settings, self.embedder) if pending else None
        for batch in _batches(pending, batch_articles):
            chunks, sentences, truncated = self._write(batch, splitter)
            report.chunks_written += chunks
            report.sentences_written += sentences
            report.sentences_truncated += truncated
            if on_progress:
                on_progress(len(batch))

        if prune:
            present = {article.doc_id for article in articles}
            report.pruned = sorted(set(self.manifest.articles) - present)
            self.remove(report.pruned)

        self.refresh_bm25()
        report.total_articles = len(self.manifest.articles)
        report.total_chunks = self.collection.count()
        return report

    def _write(self, articles: list[Article], splitter) -> tuple[int, int, int]:
        """Chunks and their sentences of `articles`, embedded and stored; (chunks, sentences, sentences
        longer than the embedding model reads)."""
        chunked = [(article, chunk_article(article, splitter)) for article in articles]
        rows = [(article, chunk) for article, chunks in chunked for chunk in chunks]
        vectors = self.embedder.embed([embedding_text(a, c, self.embedder, self.settings) for a, c in rows]) if rows else []
        sentences = [(chunk, a, b) for article, chunk in rows
                     for a, b in whole_sentences(chunk.text, mid_article=chunk.start > 0, title=article.title)]
        # Overlapping chunks share sentences: each distinct sentence of an article is embedded once.
        distinct = {(chunk.doc_id, chunk.start + a, chunk.start + b): chunk.text[a:b] for chunk, a, b in sentences}
        limit = self.embedder.max_tokens - 2  # [CLS] and [SEP]
        truncated = sum(len(self.embedder.tokenize(text)) > limit for text in distinct.values())
        by_place = dict(zip(distinct, self.embedder.embed(list(distinct.values())))) if distinct else {}

        days = {article.doc_id: day_number(article.published_at) for article in articles}
        # Replace, don't merge: old chunks of a changed article must go.
        changed = {"doc_id": {"$in": [article.doc_id for article in articles]}}
        self.collection.delete(where=changed)
        self.sentences.delete(where=changed)
        if rows:
            self.collection.upsert(
                ids=[chunk.chunk_id for _, chunk in rows],
                embeddings=vectors,
                documents=[chunk.text for _, chunk in rows],
                metadatas=[_chunk_metadata(article, chunk) for article, chunk in rows],
            )
        for batch in _batches(sentences, 5000):  # Chroma caps the rows of one call
            self.sentences.upsert(
                ids=[sentence_id(chunk.chunk_id, a) for chunk, a, _ in batch],
                embeddings=[by_place[(chunk.doc_id, chunk.start + a, chunk.start + b)] for chunk, a, b in batch],
                metadatas=[{"doc_id": chunk.doc_id, "chunk_id": chunk.chunk_id, "day": days[chunk.doc_id]}
                           for chunk, _, _ in batch],
            )
        for article, chunks in chunked:
            self.manifest.articles[article.doc_id] = {
                "hash": article.content_hash, "title": article.title, "source": article.source,
                "published_at": article.published_at, "url": article.url, "author": article.author,
                "chunks": len(chunks), "chars": len(article.text),
            }
        self.manifest.write(self.settings.manifest_path)
        return len(rows), len(sentences), truncated

    def remove(self, doc_ids: Iterable[str]) -> None:
        doc_ids = list(doc_ids)
        if not doc_ids:
            return
        self.collection.delete(where={"doc_id": {"$in": doc_ids}})
        self.sentences.delete(where={"doc_id": {"$in": doc_ids}})
        for doc_id in doc_ids:
            self.manifest.articles.pop(doc_id, None)
        self.manifest.write(self.settings.manifest_path)

    # -- sentences --

    def sentence_vectors(self, passages: list[Passage]) -> dict[tuple[str, int], np.ndarray]:
        """The stored vector of each whole sentence of `passages`, by (chunk_id, offset in the chunk).

        Retrieval (for similarity) and the evidence stage ask for the same passages of one question;
        a chunk id is derived from its content, so what was read once stays right and is kept."""
        if len(self._vectors_by_chunk) > _VECTOR_CACHE_CHUNKS:
            self._vectors_by_chunk.clear()
        missing = list({p.chunk_id: p for p in passages if p.chunk_id not in self._vectors_by_chunk}.values())
        wanted = {sentence_id(p.chunk_id, a): (p.chunk_id, a) for p in missing
                  for a, _ in whole_sentences(p.text, mid_article=p.start > 0, title=p.title)}
        for p in missing:
            self._vectors_by_chunk[p.chunk_id] = {}
        if wanted:
            got = self.sentences.get(ids=list(wanted), include=["embeddings"])
            for i, vector in zip(got["ids"], got["embeddings"]):
                chunk_id, offset = wanted[i]
                self._vectors_by_chunk[chunk_id][offset] = np.asarray(vector, dtype=np.float32)
        return {(p.chunk_id, offset): vector for p in passages
                for offset, vector in self._vectors_by_chunk.get(p.chunk_id, {}).items()}

    # -- BM25 --

    @property
    def bm25_dir(self) -> Path:
        return self.dir / "bm25"

    def refresh_bm25(self) -> None:
        """Rebuild the BM25 index if it does not match the current chunk set."""
        from qa.lexical import FORMAT, build_bm25

        stamp = f"v{FORMAT}-{self.manifest.chunk_stamp}"
        if _read_stamp(self.bm25_dir) == stamp:
            return
        chunk_ids, doc_ids, texts = self.all_chunks_for_bm25()
        build_bm25(self.bm25_dir, chunk_ids, doc_ids, texts, stamp=stamp)

    def all_chunks_for_bm25(self) -> tuple[list[str], list[str], list[str]]:
        """(chunk ids, doc ids, title + outlet + text) of every chunk, read back from Chroma in pages."""
        ids: list[str] = []
        docs: list[str] = []
        texts: list[str] = []
        page = 5000
        for offset in range(0, self.collection.count(), page):
            got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                ids.append(chunk_id)
                docs.append(meta["doc_id"])
                texts.append(f"{meta.get('title', '')} {meta.get('source', '')}\n{text}")
        return ids, docs, texts


def _chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    return {"doc_id": article.doc_id, "title": article.title, "source": article.source,
            "published_at": article.published_at, "url": article.url, "author": article.author,
            "start": chunk.start, "end": chunk.end, "article_hash": article.content_hash,
            "day": day_number(article.published_at)}  # YYYYMMDD (0: undated), for `Period.where`


def _client(settings: Settings):
    """The embedded store in index_dir/chroma, or the Chroma server at `chroma_url`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    options = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=str(settings.index_dir / "chroma"), settings=options)
    url = urlsplit(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise IndexProblem(f"chroma_url must look like http://host:port, got {settings.chroma_url!r}")
    try:
        client = chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                     ssl=url.scheme == "https", settings=options)
        client.heartbeat()
    except Exception as error:  # chromadb raises several types (ValueError, httpx errors) for "unreachable"
        raise IndexProblem(f"cannot reach the Chroma server at {settings.chroma_url} ({_reason(error)}); "
                           "is `chroma run` up?") from None
    return client


def _forget_local_store(settings: Settings) -> None:
    """Make the next client read the embedded store from disk again.

    Chroma keeps one store per path per process with its state in memory; once another process has
    written to the index that state is stale (lookups fail with "Error finding id"). A Chroma server
    (`chroma_url`) holds the state itself, so there is nothing to forget.
    """
    if settings.chroma_url:
        return
    from chromadb.api.shared_system_client import SharedSystemClient

    path = str(settings.index_dir / "chroma")
    SharedSystemClient._identifier_to_refcount.pop(path, None)
    system = SharedSystemClient._identifier_to_system.pop(path, None)
    if system is not None:
        system.stop()


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def sentence_collection(settings: Settings) -> str:
    return f"{settings.collection}-sentences"


def sentence_id(chunk_id: str, offset: int) -> str:
    return f"{chunk_id}:{offset}"


def chunk_of(sentence: str) -> str:
    """The chunk id of a sentence id (`sentence_id`)."""
    return sentence.rpartition(":")[0]


def _open_collection(settings: Settings, name: str):
    # embedding_function=None: we always pass vectors; Chroma's default function would download a model.
    return _client(settings).get_or_create_collection(
        name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
    )


def _read_stamp(folder: Path) -> str | None:
    try:
        return (folder / "stamp").read_text().strip()
    except OSError:
        return None


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
