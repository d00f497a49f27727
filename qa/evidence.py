"""The evidence stage: from the retrieved passages, the sentences that answer, within a token budget.

Retrieval hands over chunks of ~500 word pieces; a small model reading several of them is slow and
loses the answer in them. Here every whole sentence of the candidate passages is scored against the
question (MiniLM cosine, from the sentence vectors the index stored at ingest; BM25 over the
sentences; the passage's retrieval rank), the best are chosen within `context_tokens`,
with the best sentence of each article that competes and of each outlet the question names (a
comparison needs both sides), and a sentence that leans on the one before it ("He said…") brings
that one along. The prompt then shows them grouped by article, each numbered for citation.

With `evidence_judge` on, the cheap score's best sentences are scored again by the relevance judge
trained here (`qa.judges`: MiniLM fine-tuned on MultiHop-RAG questions and their gold sentences),
whose cosine replaces MiniLM's; BM25 and the retrieval rank still count, with the judge's weights.

Offsets stay exact: an `Evidence` is a span of its passage, and the passage a span of its article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from qa.config import Settings
from qa.embed import Embedder
from qa.question import parts
from qa.sentences import whole_sentences
from qa.types import Passage

# A sentence opening with one of these needs the sentence before it to be understood.
_LEANS_BACK = re.compile(r"^[“\"‘']?(he|she|it|they|his|her|its|their|this|that|these|those|but|however|also|"
                         r"meanwhile|instead|still|yet|the (company|group|firm|move|deal|report|official|team))\b",
                         re.IGNORECASE)

# Sentence vectors stored at ingest, by (chunk_id, the sentence's offset in the chunk's text).
SentenceVectors = Mapping[tuple[str, int], np.ndarray]


@dataclass
class Evidence:
    """A span of a passage (one sentence, or a sentence with the one before it) chosen for the prompt."""

    passage: Passage
    start: int  # offsets in passage.text
    end: int
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]

    @property
    def article_start(self) -> int:
        return self.passage.start + self.start

    @property
    def article_end(self) -> int:
        return self.passage.start + self.end


@dataclass
class _Sentence:
    passage: Passage
    start: int
    end: int
    rank: int               # the passage's rank in retrieval
    previous: int | None    # index of the sentence just before it in the same passage
    tokens: int = 0
    score: float = 0.0
    vector: np.ndarray | None = None


def whole_passages(passages: list[Passage]) -> list[Evidence]:
    """Each passage as one piece of evidence (the evidence stage switched off)."""
    return [Evidence(p, 0, len(p.text), score=p.score) for p in passages]


def select(question: str, passages: list[Passage], embedder: Embedder, settings: Settings, *,
           outlets: list[str] = (), stored: SentenceVectors | None = None) -> list[Evidence]:
    """The best sentences of `passages` for `question`, within `settings.context_tokens` word pieces,
    in the order the prompt shows them (articles by their best sentence, sentences by position).
    `stored`: sentence vectors computed at ingest; a sentence without one is embedded now."""
    sentences = _sentences(passages, embedder, stored or {})
    if not sentences:
        return []
    closest_to_parts = _score(question, sentences, embedder, settings)
    chosen = _choose(sentences, settings.context_tokens, outlets, closest_to_parts, settings.evidence_article_margin)
    return _in_prompt_order([sentences[i] for i in chosen], sentences)


def _sentences(passages: list[Passage], embedder: Embedder, stored: SentenceVectors) -> list[_Sentence]:
    """Every whole sentence of the passages once (overlapping chunks share sentences), with its vector."""
    found: list[_Sentence] = []
    seen: set[tuple[str, int]] = set()
    for rank, passage in enumerate(passages):
        last_end = None
        for a, b in whole_sentences(passage.text, mid_article=passage.start > 0, title=passage.title):
            key = (passage.doc_id, passage.start + a)
            if key in seen:
                last_end = None
                continue
            seen.add(key)
            adjacent = last_end is not None and not passage.text[last_end:a].strip()
            found.append(_Sentence(passage, a, b, rank, len(found) - 1 if adjacent else None,
                                   vector=stored.get((passage.chunk_id, a))))
            last_end = b
    counts = embedder.token_counts([s.passage.text[s.start:s.end] for s in found])
    for s, count in zip(found, counts):
        s.tokens = count + 2
    missing = [s for s in found if s.vector is None]
    if missing:
        for s, vector in zip(missing, embedder.embed([s.passage.text[s.start:s.end] for s in missing])):
            s.vector = vector
    return found


def _score(question: str, sentences: list[_Sentence], embedder: Embedder, settings: Settings) -> list[int]:
    """Score each sentence: cosine to the question or to the best-matching of its parts + weighted
    BM25 (scaled to the best) + weighted retrieval-rank prior; with the judge, its cosine for the best
    `judge.candidates`. Returns the sentence closest to each part."""
    texts = [s.passage.text[s.start:s.end] for s in sentences]
    queries = [question] + (parts(question) if settings.evidence_parts else [])
    by_query = np.stack([s.vector for s in sentences]) @ embedder.embed_queries(queries).T
    lexical = _bm25(question, texts)
    _combine(sentences, range(len(sentences)), by_query, lexical, settings.evidence_bm25_weight,
             settings.evidence_rank_weight)
    if settings.evidence_judge:
        return _judge(sentences, texts, queries, lexical)
    return [int(i) for i in by_query[:, 1:].argmax(axis=0)] if len(queries) > 1 else []


def _combine(sentences: list[_Sentence], which, by_query: np.ndarray, lexical: np.ndarray, bm25_weight: float,
             rank_weight: float) -> None:
    for i, cosine in zip(which, by_query.max(axis=1)):
        s = sentences[i]
        s.score = float(cosine) + bm25_weight * float(lexical[i]) + rank_weight / (s.rank + 1)


def _judge(sentences: list[_Sentence], texts: list[str], queries: list[str], lexical: np.ndarray) -> list[int]:
    """The relevance judge re-scores the best `judge.candidates` sentences (its cosine in place of
    MiniLM's); the rest score below them (still there to be brought along by a
    sentence that leans on them)."""
    from qa.judges import relevance_judge

    judge = relevance_judge()
    judged = sorted(range(len(sentences)), key=lambda i: -sentences[i].score)[:judge.candidates]
    by_query = judge.vectors([texts[i] for i in judged]) @ judge.vectors(queries).T
    for i in set(range(len(sentences))) - set(judged):
        sentences[i].score -= 10.0  # every score lies within [-1, 3]: these go below the judged ones
    _combine(sentences, judged, by_query, lexical, judge.bm25_weight, judge.rank_weight)
    return [judged[int(i)] for i in by_query[:, 1:].argmax(axis=0)] if len(queries) > 1 else []


def _bm25(question: str, texts: list[str]) -> np.ndarray:
    """BM25 of each text for the question, divided by the best (0 when no word matches)."""
    import bm25s

    from qa.lexical import tokenize

    tokens = tokenize(texts)
    query = set(tokenize([question])[0])
    if not query or not any(tokens):
        return np.zeros(len(texts))
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    matched = [t for t in query if t in model.vocab_dict]
    if not matched:
        return np.zeros(len(texts))
    scores = np.asarray(model.get_scores(matched), dtype=float)
    best = scores.max() if len(scores) else 0.0
    return scores / best if best > 0 else np.zeros(len(texts))


def _choose(sentences: list[_Sentence], budget: int, outlets: list[str], closest_to_parts: list[int],
            margin: float) -> list[int]:
    """Indices chosen: first the best sentence of each named outlet, the closest to each part of the
    question, and the best of each article whose best sentence is within `margin` of the overall
    best; then the rest by score, while the budget lasts;
    a sentence that leans on its predecessor brings it along (or is skipped when both do not fit)."""
    order = sorted(range(len(sentences)), key=lambda i: -sentences[i].score)
    best_of_article: dict[str, int] = {}
    for i in order:
        best_of_article.setdefault(sentences[i].passage.doc_id, i)
    top = sentences[order[0]].score
    first = [next(i for i in order if sentences[i].passage.source == name) for name in outlets
             if any(s.passage.source == name for s in sentences)]
    first += closest_to_parts
    first += [i for i in best_of_article.values() if sentences[i].score >= top - margin]
    chosen: list[int] = []
    used = 0
    for i in dict.fromkeys(first + order):
        need = [i] if i not in chosen else []
        s = sentences[i]
        if need and s.previous is not None and s.previous not in chosen and \
                _LEANS_BACK.match(s.passage.text[s.start:s.end]):
            need.insert(0, s.previous)
        cost = sum(sentences[j].tokens for j in need)
        if need and used + cost <= budget:
            chosen += need
            used += cost
        elif not chosen and need:  # the budget is smaller than the best sentence: still give it
            chosen, used = [i], sentences[i].tokens
    return chosen


def _in_prompt_order(chosen: list[_Sentence], sentences: list[_Sentence]) -> list[Evidence]:
    """Articles by their best chosen sentence; within one, sentences in reading order, adjacent ones
    of the same passage joined into one span."""
    by_article: dict[str, list[_Sentence]] = {}
    for s in sorted(chosen, key=lambda s: -s.score):
        by_article.setdefault(s.passage.doc_id, []).append(s)
    evidence: list[Evidence] = []
    for group in by_article.values():
        group.sort(key=lambda s: s.passage.start + s.start)
        for s in group:
            last = evidence[-1] if evidence else None
            if (last is not None and last.passage is s.passage and
                    not s.passage.text[last.end:s.start].strip()):
                last.end, last.score = s.end, max(last.score, s.score)
            else:
                evidence.append(Evidence(s.passage, s.start, s.end, score=s.score))
    return evidence


def in_date_order(evidence: list[Evidence]) -> list[Evidence]:
    """Articles earliest published first (undated last), keeping each article's sentences together."""
    first_seen = {}
    for i, e in enumerate(evidence):
        first_seen.setdefault(e.passage.doc_id, i)
    return sorted(evidence, key=lambda e: (not e.passage.published_at, e.passage.published_at,
                                           first_seen[e.passage.doc_id]))
