"""The typed values that flow through the pipeline: corpus → index → retrieve → answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One cleaned news article. ``text`` is what chunk offsets refer to."""

    doc_id: str
    title: str
    text: str
    source: str = ""
    published_at: str = ""
    url: str = ""
    author: str = ""

    @property
    def content_hash(self) -> str:
        # The author joins the payload only when known, so articles without one keep the hash they
        # had before authors were read (an existing index is not re-embedded for nothing).
        fields = [self.title, self.source, self.published_at, self.url, self.text] + ([self.author] if self.author else [])
        payload = "\x1f".join(fields)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Chunk:
    """A span of an article, ``article.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int


@dataclass
class Passage:
    """A retrieved chunk with its article's metadata.

    ``score`` is the fused rank score (it orders the list); ``similarity`` is the cosine
    similarity between the question and the passage's closest sentence (comparable across questions).
    ``also_in`` lists doc_ids of near-duplicate passages folded into this one.
    """

    chunk_id: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    source: str = ""
    published_at: str = ""
    url: str = ""
    score: float = 0.0
    similarity: float = 0.0
    also_in: list[str] = field(default_factory=list)


def byline(item: Article | Passage, separator: str = " · ") -> str:
    """"Outlet · 2023-11-06" of anything with `source` and `published_at` (either may be missing)."""
    return separator.join(part for part in (item.source, item.published_at[:10]) if part)
