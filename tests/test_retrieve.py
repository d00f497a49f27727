"""Hybrid retrieval over the real default index."""

from __future__ import annotations

import dataclasses

from qa import pipeline
from qa.retrieve import _shingles, fold_near_duplicates
from qa.types import Passage

BALLOON_QUESTION = "Why was Blinken's trip to China cancelled?"


def test_balloon_question_finds_balloon_passages_in_top_3(default_index):
    passages = pipeline.search(default_index, BALLOON_QUESTION, top_k=3)
    assert len(passages) == 3
    assert any("balloon" in p.text.lower() for p in passages)
    assert all(p.title and p.doc_id and p.end > p.start for p in passages)


def test_vector_only_also_finds_it(default_index):
    passages = pipeline.search(default_index, BALLOON_QUESTION, top_k=3, hybrid=False)
    assert any("balloon" in p.text.lower() for p in passages)


def test_passages_are_ranked_and_carry_similarity(default_index):
    passages = pipeline.search(default_index, "Jake Sullivan Wang Yi Vienna talks", top_k=5)
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= p.similarity <= 1.0 for p in passages)
    assert "Vienna" in passages[0].text


def test_wire_copies_do_not_fill_the_top_k(default_index):
    """000 and 001 are two versions of one wire story: only one copy of a passage is returned."""
    passages = pipeline.search(default_index, BALLOON_QUESTION, top_k=6)
    for i, a in enumerate(passages):
        for b in passages[i + 1:]:
            if a.doc_id != b.doc_id:
                ga, gb = _shingles(a.text), _shingles(b.text)
                assert len(ga & gb) < 0.5 * min(len(ga), len(gb)), (a.doc_id, b.doc_id)
    folded = [p for p in passages if p.also_in]
    assert folded, "the wire copy should be folded into one passage"
    assert {folded[0].doc_id, *folded[0].also_in} >= {"000_454377fad9a44f98.txt", "001_71ba61cba844b233.txt"}


def test_doc_filter_restricts_results(default_index):
    only = ["003_ec531d573e193ee8.txt"]
    passages = pipeline.search(default_index, BALLOON_QUESTION, top_k=4, doc_ids=only)
    assert passages and {p.doc_id for p in passages} == set(only)
    assert pipeline.search(default_index, BALLOON_QUESTION, doc_ids=[]) == []


def test_blank_query_returns_nothing(default_index):
    assert pipeline.search(default_index, "   ") == []


def test_lexical_only_matches_are_found(default_index):
    """A rare exact name that BM25 catches (outlet footer name in 003)."""
    passages = pipeline.search(default_index, "Susan Heavy", top_k=3)
    assert any("Susan Heavy" in p.text for p in passages[:1])


def test_fold_near_duplicates_keeps_the_best_and_records_the_copy():
    text = "The balloon was shot down off the coast of South Carolina on Saturday afternoon by fighter jets."
    a = Passage("a", "doc-a", "A", text, 0, len(text), score=0.5)
    b = Passage("b", "doc-b", "B", text.replace("Saturday", "Sat."), 0, len(text), score=0.4)
    c = Passage("c", "doc-c", "C", "Completely different text about trade talks in Vienna.", 0, 10, score=0.3)
    kept = fold_near_duplicates([a, dataclasses.replace(b), c], threshold=0.5)
    assert [p.chunk_id for p in kept] == ["a", "c"]
    assert kept[0].also_in == ["doc-b"]
