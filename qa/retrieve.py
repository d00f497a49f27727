"""Hybrid retrieval: Chroma vector search over sentences + BM25 over chunks, fused by reciprocal rank,
near-duplicates folded.

Dense search runs over the sentence vectors (a chunk ranks by its best sentence): MiniLM reads 256
word pieces, so a vector of a whole 512-word-piece chunk sees only its first half.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embed import Embedder
from qa.index import Index, IndexProblem, chunk_of
from qa.lexical import BM25Index, tokenize
from qa.question import OUTLET_ALIASES, Question, analyse, dates, named_outlets
from qa.timeframe import Period, published_day
from qa.types import Passage

RRF_K = 60  # the constant from Cormack et al. (2009); rank 1 scores 1/61
# Fused candidates loaded and checked for near-duplicates: WINDOW per passage returned, at least
# MIN_WINDOW (so wire copies a few ranks down are still found and credited in `also_in`). Folding is
# quadratic and loading text costs a Chroma round trip; candidates further down never reach the answer.
WINDOW = 2
MIN_WINDOW = 24
# Sentences fetched per chunk candidate in dense search (a chunk holds ~20; its best few decide).
SENTENCES_PER_CANDIDATE = 4
# Sentences fetched once when the question names outlets or days: each named set's dense list is
# this list's members from that set. A Chroma query filtered by article costs ~30 ms over 60k
# sentences (it scans metadata), an unfiltered one of 2,000 ids ~9 ms.
WIDE_SENTENCES = 2000


@dataclass
class _Candidate:
    chunk_id: str
    score: float = 0.0


class Retriever:
    """Loads the index once; `search` is cheap and safe to call from many threads."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = Index(settings, embedder)
        self.index.refresh_bm25()
        self.bm25 = BM25Index(self.index.bm25_dir)

    def search(self, query: str, *, top_k: int | None = None, hybrid: bool | None = None,
               doc_ids: list[str] | None = None, period: Period | None = None, recent: bool = False) -> list[Passage]:
        """Best passages for `query`, optionally only from `doc_ids` and from articles published in
        `period`; `recent` prefers newer articles among close candidates.

        When the question names outlets of the corpus ("as reported by The Verge and TechCrunch"),
        each named outlet's articles are searched on their own and the lists interleaved with the
        unrestricted one, so every outlet the question depends on is represented; likewise each
        publication date it names ("published on November 6, 2023"), among the named outlets' articles
        of that day when it names outlets.
        """
        top_k = self.settings.top_k if top_k is None else top_k
        hybrid = self.settings.hybrid if hybrid is None else hybrid
        if not self.settings.chroma_url:
            return self._search(query, top_k, hybrid, doc_ids, period, recent)
        try:
            return self._search(query, top_k, hybrid, doc_ids, period, recent)
        except Exception as error:  # the HTTP client raises many types; each means "no answer from the server"
            raise IndexProblem(f"the Chroma server at {self.settings.chroma_url} did not answer "
                               f"({str(error).splitlines()[0][:200] if str(error) else type(error).__name__}); "
                               "ask again once it is back") from None

    def _search(self, query: str, top_k: int, hybrid: bool, doc_ids: list[str] | None, period: Period | None,
                recent: bool) -> list[Passage]:
        query = query.strip()
        size = self.index.collection.count()
        allowed = self.within_period(doc_ids, period)
        if not query or top_k <= 0 or size == 0 or allowed == []:
            return []
        query_vector = self.embedder.embed_queries([query])[0]
        window = max(WINDOW * top_k, MIN_WINDOW)
        focus = self._focus(query, doc_ids, allowed)
        dense = self._vector_search(query_vector, doc_ids, period, wide=bool(focus))
        lists = [self._rank(query, self._within(dense, set(ids)), ids, hybrid, window, recent) for ids in focus]
        lists.append(self._rank(query, dense[:self.settings.candidates], allowed, hybrid, window, recent))
        passages = fold_near_duplicates(_interleave(lists)[:window], self.settings.near_duplicate)[:top_k]
        self._set_similarity(passages, query_vector)
        return passages

    def within_period(self, doc_ids: list[str] | None, period: Period | None) -> list[str] | None:
        """`doc_ids` (None: every article) less the articles not published in `period`."""
        if period is None:
            return doc_ids
        chosen = None if doc_ids is None else set(doc_ids)
        return [doc_id for doc_id, entry in self.index.manifest.articles.items()
                if (chosen is None or doc_id in chosen) and period.contains(published_day(entry.get("published_at", "")))]

    @functools.cached_property
    def newest(self) -> date | None:
        """The newest article's publication day: the corpus's "now" for "last week" and the like."""
        days = [day for day in map(published_day, self.published) if day]
        return max(days, default=None)

    def _set_similarity(self, passages: list[Passage], query_vector: np.ndarray) -> None:
        """Each passage's similarity to the query: the cosine of its closest sentence (a chunk's own
        vector reads only its first 256 word pieces)."""
        best: dict[str, float] = {}
        for (chunk_id, _), vector in self.index.sentence_vectors(passages).items():
            best[chunk_id] = max(best.get(chunk_id, -1.0), float(np.dot(vector, query_vector)))
        for passage in passages:
            passage.similarity = round(best.get(passage.chunk_id, 0.0), 4)

    def _focus(self, query: str, doc_ids: list[str] | None, allowed: list[str] | None) -> list[list[str]]:
        """The article sets searched on their own: each outlet and each publication date the question
        names (of the `allowed` articles, when a period restricts them)."""
        if doc_ids is not None:
            return []
        named = self.named_outlets(query) if self.settings.outlet_search else []
        focus = [self.outlets[name] for name in named]
        if self.settings.date_search:
            of_named = {doc_id for name in named for doc_id in self.outlets[name]}
            for day in dict.fromkeys(dates(query)):
                that_day = self.published.get(day.isoformat(), [])
                focus.append([d for d in that_day if d in of_named] or that_day)
        if allowed is not None:
            allowed_set = set(allowed)
            focus = [[d for d in ids if d in allowed_set] for ids in focus]
        return [ids for ids in focus if ids]

    @functools.cached_property
    def published(self) -> dict[str, list[str]]:
        """Publication day (ISO) → doc_ids, from the index manifest."""
        by_day: dict[str, list[str]] = {}
        for doc_id, entry in self.index.manifest.articles.items():
            if entry.get("published_at"):
                by_day.setdefault(entry["published_at"][:10], []).append(doc_id)
        return by_day

    @functools.cached_property
    def outlets(self) -> dict[str, list[str]]:
        """Outlet name → doc_ids, from the index manifest."""
        by_outlet: dict[str, list[str]] = {}
        for doc_id, entry in self.index.manifest.articles.items():
            if entry.get("source"):
                by_outlet.setdefault(entry["source"], []).append(doc_id)
        return by_outlet

    def analyse(self, question: str) -> Question:
        """The question read with this index's outlets, aliases and dates (`qa.question.analyse`)."""
        newest = self.newest if self.settings.time_phrases else None
        return analyse(question, list(self.outlets), self.may_have_published, self.aliases, newest=newest,
                       narrows=lambda period: 0 < len(self.within_period(None, period)) < len(self.index.manifest.articles))

    def named_outlets(self, question: str) -> list[str]:
        return named_outlets(question, list(self.outlets), self.aliases)

    @functools.cached_property
    def aliases(self) -> dict[str, str]:
        """The built-in outlet alias table plus the `outlet_aliases` file's entries."""
        if not self.settings.outlet_aliases:
            return OUTLET_ALIASES
        path = Path(self.settings.outlet_aliases)
        try:
            extra = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise IndexProblem(f"outlet_aliases: cannot read {path} ({error})") from None
        return {**OUTLET_ALIASES, **{str(alias): str(outlet) for alias, outlet in extra.items()}}

    def may_have_published(self, name: str) -> bool:
        """Whether `name` could be the outlet of indexed articles that record none: some have no
        outlet, and every word of the name occurs in the articles' text (BM25's vocabulary)."""
        if all(entry.get("source") for entry in self.index.manifest.articles.values()):
            return False
        words = tokenize([name])[0]
        return bool(words) and self.bm25.model is not None and all(w in self.bm25.model.vocab_dict for w in words)

    def _rank(self, query: str, dense: list[str], doc_ids: list[str] | None, hybrid: bool,
              window: int, recent: bool = False) -> list[Passage]:
        """Dense (`dense`, best first) and BM25 candidates fused by reciprocal rank (with `recent`, a
        third ranking, newest article first, weighted `recency_weight`); the best `window` of them, loaded."""
        candidates: dict[str, _Candidate] = {}
        for rank, chunk_id in enumerate(dense):
            candidates[chunk_id] = _Candidate(chunk_id, self.settings.vector_weight / (RRF_K + rank + 1))
        if hybrid:
            lexical = [chunk_id for chunk_id, _ in self.bm25.search(query, self.settings.candidates, doc_ids)]
            for rank, chunk_id in enumerate(lexical):
                candidate = candidates.setdefault(chunk_id, _Candidate(chunk_id))
                candidate.score += 1 / (RRF_K + rank + 1)
        if recent:
            day_of = self._day_of_chunk
            newest_first = sorted(candidates, key=lambda chunk_id: day_of(chunk_id), reverse=True)
            for rank, chunk_id in enumerate(newest_first):
                candidates[chunk_id].score += self.settings.recency_weight / (RRF_K + rank + 1)
        ranked = sorted(candidates.values(), key=lambda c: c.score, reverse=True)
        return self._load(ranked[:window])

    def _day_of_chunk(self, chunk_id: str) -> str:
        entry = self.index.manifest.articles.get(self.bm25.doc_of.get(chunk_id, ""), {})
        return entry.get("published_at", "")[:10]

    def _vector_search(self, query_vector: np.ndarray, doc_ids: list[str] | None, period: Period | None,
                       wide: bool) -> list[str]:
        """Chunks whose best sentence is closest to the query, best first (`wide`: from the
        WIDE_SENTENCES closest sentences, for the named outlets' and days' lists to draw on)."""
        if doc_ids is not None and not doc_ids:
            return []
        clauses = ([{"doc_id": {"$in": list(doc_ids)}}] if doc_ids else []) + ([period.where()] if period else [])
        where = {"$and": clauses} if len(clauses) > 1 else (clauses[0] if clauses else None)
        n = WIDE_SENTENCES if wide else SENTENCES_PER_CANDIDATE * self.settings.candidates
        found = self.index.sentences.query(  # n_results may exceed the rows: Chroma returns what it has
            query_embeddings=[query_vector.tolist()], include=[], where=where, n_results=n)
        return list(dict.fromkeys(chunk_of(sentence) for sentence in found["ids"][0]))  # best sentence first

    def _within(self, dense: list[str], doc_ids: set[str]) -> list[str]:
        """The chunks of `dense` from `doc_ids`, in order, at most `candidates`."""
        doc_of = self.bm25.doc_of
        return [chunk_id for chunk_id in dense if doc_of.get(chunk_id) in doc_ids][:self.settings.candidates]

    def _load(self, ranked: list[_Candidate]) -> list[Passage]:
        """Text and metadata for the candidates."""
        if not ranked:
            return []
        got = self.index.collection.get(ids=[c.chunk_id for c in ranked], include=["documents", "metadatas"])
        rows = {chunk_id: i for i, chunk_id in enumerate(got["ids"])}
        passages = []
        for candidate in ranked:
            if candidate.chunk_id not in rows:
                continue  # BM25 index briefly behind Chroma (an ingest in another process)
            i = rows[candidate.chunk_id]
            meta = got["metadatas"][i]
            passages.append(Passage(
                chunk_id=candidate.chunk_id, doc_id=meta["doc_id"], title=meta.get("title", ""),
                text=got["documents"][i], start=int(meta["start"]), end=int(meta["end"]),
                source=meta.get("source", ""), published_at=meta.get("published_at", ""),
                url=meta.get("url", ""), score=candidate.score,
            ))
        return passages


_WORD = re.compile(r"\w+")


def _interleave(lists: list[list[Passage]]) -> list[Passage]:
    """Round-robin merge without repeats: the best of each list first."""
    merged: list[Passage] = []
    seen: set[str] = set()
    for rank in range(max(map(len, lists), default=0)):
        for ranked in lists:
            if rank < len(ranked) and ranked[rank].chunk_id not in seen:
                seen.add(ranked[rank].chunk_id)
                merged.append(ranked[rank])
    return merged


def _shingles(text: str, size: int = 3) -> set[int]:
    # Hashes, not tuples: Python caches no tuple's hash, and folding intersects these sets many times.
    words = _WORD.findall(text.lower())
    return {hash(tuple(words[i:i + size])) for i in range(max(1, len(words) - size + 1))}


def fold_near_duplicates(passages: list[Passage], threshold: float) -> list[Passage]:
    """Keep the best of passages that share most word 3-grams (copies of one wire story);
    the folded ones' doc_ids are kept in `also_in` so the answer can say who else reported it."""
    kept: list[tuple[Passage, set]] = []
    for passage in passages:
        grams = _shingles(passage.text)
        twin = next((k for k, k_grams in kept
                     if len(grams & k_grams) >= threshold * min(len(grams), len(k_grams))), None)
        if twin is None:
            kept.append((passage, grams))
        elif passage.doc_id != twin.doc_id and passage.doc_id not in twin.also_in:
            twin.also_in.append(passage.doc_id)
    return [passage for passage, _ in kept]
