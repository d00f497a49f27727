"""Sentences of a chunk: the unit dense retrieval searches and the evidence stage chooses from.

The index embeds each whole sentence of each chunk at ingest (MiniLM reads a sentence whole; a
512-word-piece chunk it would cut at 256), and the evidence stage finds the same sentences again
by the same rule, so a sentence's vector is looked up by (chunk, offset) instead of recomputed.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?]+[”\"’)]*(?=\s)|\n+")
# A full stop after these is not a sentence end ("U.S.", "Mr.", "Jan.").
_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Lt|Col|No|vs|etc|Inc|Corp|Co|Ltd|"
                           r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))\.$")
_WORD = re.compile(r"\w+")
_MIN_WORDS = 4
_ENDS_SENTENCE = re.compile(r"[.!?][”\"’)]*$")


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


def whole_sentences(chunk_text: str, *, mid_article: bool, title: str) -> list[tuple[int, int]]:
    """The sentences of a chunk worth reading: not a fragment of a sentence the chunk boundary cut
    (the neighbouring chunk holds it whole), not too short to say anything ("Months."), not the
    article's title repeated in its text. `mid_article`: the chunk does not start the article."""
    spans = sentence_spans(chunk_text)
    kept = []
    for i, (a, b) in enumerate(spans):
        text = chunk_text[a:b]
        fragment = ((i == 0 and mid_article and not text[:1].isupper() and text[:1] not in "“\"‘'")
                    or (i == len(spans) - 1 and not _ENDS_SENTENCE.search(text) and len(spans) > 1))
        trivial = len(_WORD.findall(text)) < _MIN_WORDS or text.strip().rstrip(".") == title.strip()
        if not (fragment or trivial):
            kept.append((a, b))
    return kept
