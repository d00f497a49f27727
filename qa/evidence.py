"""The evidence stage: from the retrieved passages, the sentences that answer, within a token budget.

Retrieval hands over chunks of ~200 word pieces; a small model reading six of them (~1,200 tokens)
is slow and loses the answer in them. Here every sentence of the candidate passages is scored
against the question (MiniLM cosine: a sentence fits its 256 word pieces, a chunk does not; BM25
over the sentences; the passage's retrieval rank), the best are chosen within `context_tokens`,
with the best sentence of each article that competes and of each outlet the question names (a
comparison needs both sides), and a sentence that leans on the one before it ("He said…") brings
that one along. The prompt then shows them grouped by article, each numbered for citation.

Offsets stay exact: an `Evidence` is a span of its passage, and the passage a span of its article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from qa.config import Settings
from qa.embed import Embedder
from qa.question import parts
from qa.types import Passage

_SENTENCE_END = re.compile(r"[.!?]+[”\"’)]*(?=\s)|\n+")
# A full stop after these is not a sentence end ("U.S.", "Mr.", "Jan.").
_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Lt|Col|No|vs|etc|Inc|Corp|Co|Ltd|"
                           r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))\.$")
_WORD = re.compile(r"\w+")
_MIN_WORDS = 4
_ENDS_SENTENCE = re.compile(r"[.!?][”\"’)]*$")
# A sentence opening with one of these needs the sentence before it to be understood.
_LEANS_BACK = re.compile(r"^[“\"‘']?(he|she|it|they|his|her|its|their|this|that|these|those|but|however|also|"
                         r"meanwhile|instead|still|yet|the (company|group|firm|move|deal|report|official|team))\b",
                         re.IGNORECASE)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence in `text`, whitespace trimmed."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.group().strip() and _ABBREVIATION.search(text[max(start, match.start() - 4):match.start() + 1]):
            continue
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            trimmed.append((a, b))
    return trimmed


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
    previous: int | None    # index of the sentence before it in the same passage
    tokens: int = 0
    score: float = 0.0


def whole_passages(passages: list[Passage]) -> list[Evidence]:
    """Each passage as one piece of evidence (the evidence stage switched off)."""
    return [Evidence(p, 0, len(p.text), score=p.score) for p in passages]


def select(question: str, passages: list[Passage], embedder: Embedder, settings: Settings, *,
           outlets: list[str] = ()) -> list[Evidence]:
    """The best sentences of `passages` for `question`, within `settings.context_tokens` word pieces,
    in the order the prompt shows them (articles by their best sentence, sentences by position)."""
    sentences = _sentences(passages, embedder)
    if not sentences:
        return []
    closest_to_parts = _score(question, sentences, embedder, settings)
    chosen = _choose(sentences, settings.context_tokens, outlets, closest_to_parts, settings.evidence_article_margin)
    return _in_prompt_order([sentences[i] for i in chosen], sentences)


def _sentences(passages: list[Passage], embedder: Embedder) -> list[_Sentence]:
    """Every whole sentence of the passages once (overlapping chunks share sentences; a chunk cut
    mid-sentence at either end leaves a fragment, which the neighbouring chunk holds whole)."""
    found: list[_Sentence] = []
    seen: set[tuple[str, int]] = set()
    for rank, passage in enumerate(passages):
        spans = sentence_spans(passage.text)
        previous = None
        for i, (a, b) in enumerate(spans):
            text = passage.text[a:b]
            fragment = ((i == 0 and passage.start > 0 and not text[:1].isupper() and text[:1] not in "“\"‘'")
                        or (i == len(spans) - 1 and not _ENDS_SENTENCE.search(text) and len(spans) > 1))
            key = (passage.doc_id, passage.start + a)
            # Too short to say anything ("Months."), or the article's title repeated in its text.
            trivial = len(_WORD.findall(text)) < _MIN_WORDS or text.strip().rstrip(".") == passage.title.strip()
            if fragment or trivial or key in seen:
                previous = None
                continue
            seen.add(key)
            found.append(_Sentence(passage, a, b, rank, previous, tokens=len(embedder.tokenize(text)) + 2))
            previous = len(found) - 1
    return found


def _score(question: str, sentences: list[_Sentence], embedder: Embedder, settings: Settings) -> list[int]:
    """Score each sentence: cosine to the question or to the best-matching of its parts + weighted
    BM25 (scaled to the best) + weighted retrieval-rank prior. Returns the sentence closest to each part."""
    texts = [s.passage.text[s.start:s.end] for s in sentences]
    queries = [question] + (parts(question) if settings.evidence_parts else [])
    vectors = embedder.embed(queries + texts)
    by_query = vectors[len(queries):] @ vectors[:len(queries)].T
    lexical = _bm25(question, texts)
    for s, c, b in zip(sentences, by_query.max(axis=1), lexical):
        s.score = float(c) + settings.evidence_bm25_weight * float(b) + settings.evidence_rank_weight / (s.rank + 1)
    return [int(i) for i in by_query[:, 1:].argmax(axis=0)] if len(queries) > 1 else []


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
