"""The real external corpus: MultiHop-RAG's 609 articles ingest, and retrieval finds gold evidence.

Slow (the full corpus is embedded: several minutes on 2 cores, once per run: the `multihop_index`
fixture in conftest.py); `make test-all` runs it.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import MULTIHOP
from qa import pipeline

pytestmark = [
    pytest.mark.dataset,
    pytest.mark.skipif(not (MULTIHOP / "corpus.jsonl").exists(), reason="shared MultiHop-RAG data not present"),
]


def test_full_corpus_ingests(multihop_index):
    settings, result = multihop_index
    assert result.corpus.problems == []
    assert result.report.total_articles == 609
    assert result.report.sentences_truncated <= result.report.sentences_written // 1000  # measured: 3 of 60,573
    status = pipeline.index_status(settings)
    assert status["chunks"] == result.report.total_chunks > 609
    sample = pipeline.search(settings, "cryptocurrency exchange founder trial", top_k=3)
    assert all(p.source and p.published_at for p in sample)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_hybrid_retrieval_finds_gold_evidence(multihop_index):
    """MultiHop-RAG's own relevance rule: a gold evidence sentence is a substring of a passage."""
    settings, _ = multihop_index
    questions = [json.loads(line) for line in (MULTIHOP / "dev.jsonl").open()]
    answerable = [q for q in questions if q["answerable"]][:100]
    hits = 0
    for question in answerable:
        passages = pipeline.search(settings, question["question"], top_k=10)
        texts = [_squash(p.text) for p in passages]
        hits += any(_squash(e) in t for e in question["evidence"] for t in texts)
    # Measured 0.85 on all 530 answerable dev questions; vector-only search gets 0.75.
    assert hits / len(answerable) >= 0.75
