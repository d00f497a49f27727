"""Reading the committed relevance data (`relevance_data.py` writes it) for training and measuring."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Candidate:
    id: str
    text: str
    doc_id: str
    start: int
    rank: int
    score: float     # the current chooser's: cosine + 0.6 × bm25 + 0.5 / (rank + 1) by default
    cosine: float
    bm25: float
    tokens: int      # word pieces, with the 2 the evidence budget adds per sentence
    previous: str | None
    label: int


@dataclass
class Item:
    id: str
    question: str
    type: str
    answerable: bool
    fold: int
    facts: list[str]
    positives: list[str]          # sentence texts holding gold facts (found by retrieval or not)
    candidates: list[Candidate]   # best first by the chooser's score
    previous_text: dict[str, str]  # text of each candidate's previous sentence, by id


def load(folder: Path = DATA) -> list[Item]:
    sentences = {}
    with gzip.open(folder / "sentences.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            sentences[record["id"]] = record
    items = []
    with gzip.open(folder / "relevance.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            c = r["candidates"]
            candidates = [Candidate(key, sentences[key]["text"], sentences[key]["doc_id"], sentences[key]["start"],
                                    rank, score, cosine, bm25, tokens, previous, label)
                          for key, rank, score, cosine, bm25, tokens, previous, label in
                          zip(c["id"], c["rank"], c["score"], c["cosine"], c["bm25"], c["tokens"], c["previous"],
                              c["label"])]
            previous_text = {p: sentences[p]["text"] for p in c["previous"] if p}
            items.append(Item(r["id"], r["question"], r["type"], r["answerable"], r["fold"],
                              [f["text"] for f in r["facts"]], [sentences[p]["text"] for p in r["positives"]],
                              candidates, previous_text))
    return items


def training_pairs(items: list[Item], *, hard: int, easy: int, seed: int) -> list[tuple[str, str, float]]:
    """(question, sentence, label): every gold sentence, the chooser's `hard` best non-gold candidates
    and `easy` others drawn at random from the rest (fixed seed), shuffled."""
    rng = random.Random(seed)
    pairs: list[tuple[str, str, float]] = []
    for item in items:
        gold = set(item.positives) | {c.text for c in item.candidates if c.label}
        pairs += [(item.question, text, 1.0) for text in sorted(gold)]
        negatives = [c.text for c in item.candidates if not c.label and c.text not in gold]
        rest = negatives[hard:]
        pairs += [(item.question, text, 0.0) for text in negatives[:hard] + rng.sample(rest, min(easy, len(rest)))]
    rng.shuffle(pairs)
    return pairs


def training_groups(items: list[Item], *, negatives: int, hard_pool: int, seed: int) -> list[tuple[str, list[str]]]:
    """(question, [gold sentence, its `negatives` negatives]) for every gold sentence, shuffled: the
    negatives mostly hard (drawn from the chooser's best `hard_pool` non-gold candidates), a quarter
    drawn from the rest, so the judge learns the near misses without forgetting the easy ones."""
    rng = random.Random(seed)
    groups: list[tuple[str, list[str]]] = []
    for item in items:
        gold = set(item.positives) | {c.text for c in item.candidates if c.label}
        others = list(dict.fromkeys(c.text for c in item.candidates if not c.label and c.text not in gold))
        hard, rest = others[:hard_pool], others[hard_pool:]
        if not hard:
            continue
        easy_count = min(len(rest), negatives // 4)
        for positive in sorted(gold):
            chosen = rng.sample(hard, min(len(hard), negatives - easy_count)) + rng.sample(rest, easy_count)
            groups.append((item.question, [positive] + chosen))
    rng.shuffle(groups)
    return groups


def synthetic_triplets(path: Path, seed: int) -> list[tuple[str, str, str]]:
    """(question, the sentence it was written from, one of its article's closest other sentences) for
    every kept synthetic question (`synthetic_questions.py`)."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(r["question"], r["sentence"], rng.choice(r["negatives"])) for r in rows if r["kept"] and r["negatives"]]
