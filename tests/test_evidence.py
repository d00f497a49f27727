"""The evidence stage: sentences chosen from passages, within a budget, offsets exact (real MiniLM, no LLM)."""

from __future__ import annotations

from dataclasses import replace

from qa.config import Settings
from qa.evidence import in_date_order, select, whole_passages
from qa.sentences import sentence_spans
from qa.types import Passage

ARTICLE = ("Ferry services resumed on Monday. The harbour had been closed for three days by a storm. "
           "He said the ferries would run every hour. The mayor thanked the crews. "
           "Tourism numbers fell sharply during the closure. Local shops reported their worst week of the year. "
           "The council will review its storm plans in May.")
OTHER = ("The Daily Tide reported that the storm cost the harbour town two million euros. "
         "Insurers expect claims to rise. The weather office issued its first red warning in a decade.")
DEFAULTS = Settings()


def _passage(doc_id: str, article: str, start: int, end: int, **meta) -> Passage:
    return Passage(f"{doc_id}:{start}", doc_id, meta.pop("title", doc_id), article[start:end], start, end, **meta)


def _chunks() -> list[Passage]:
    """Two overlapping chunks of ARTICLE, both cut mid-sentence, and one chunk of OTHER."""
    cut = ARTICLE.index("Tourism numbers") + 8
    return [_passage("ferry", ARTICLE, 0, cut, source="Harbour News"),
            _passage("ferry", ARTICLE, ARTICLE.index("ferries would") - 20, len(ARTICLE), source="Harbour News"),
            _passage("tide", OTHER, 0, len(OTHER), source="The Daily Tide")]


def test_each_piece_of_evidence_is_its_articles_own_text(embedder):
    evidence = select("How long was the harbour closed?", _chunks(), embedder, DEFAULTS)
    articles = {"ferry": ARTICLE, "tide": OTHER}
    assert evidence
    for e in evidence:
        assert articles[e.passage.doc_id][e.article_start:e.article_end] == e.text
        assert e.text == e.text.strip() and e.text[0].isupper()  # no fragment of a cut sentence
    assert "closed for three days" in " ".join(e.text for e in evidence)


def test_overlapping_chunks_give_each_sentence_once(embedder):
    evidence = select("When did ferry services resume?", _chunks(), embedder, replace(DEFAULTS, context_tokens=2000))
    texts = [s for e in evidence for s in (e.text[a:b] for a, b in sentence_spans(e.text))]
    assert len(texts) == len(set(texts))
    assert not any(t.startswith(("numbers", "ries would")) for t in texts)


def test_the_budget_is_kept(embedder):
    for budget in (20, 40, 80):
        evidence = select("What happened to the harbour?", _chunks(), embedder, replace(DEFAULTS, context_tokens=budget))
        assert sum(len(embedder.tokenize(e.text)) + 2 for e in evidence) <= budget
        assert evidence  # the best sentence always fits into a budget of 20


def test_a_sentence_that_leans_on_the_one_before_brings_it(embedder):
    evidence = select("How often would the ferries run?", _chunks(), embedder, replace(DEFAULTS, context_tokens=60))
    joined = " ".join(e.text for e in evidence)
    assert "He said the ferries would run every hour." in joined
    assert joined.index("The harbour had been closed") < joined.index("He said")


def test_sentences_that_do_not_lean_back_come_alone(embedder):
    # "Heavy", "Italy", "Thesis" begin with a pronoun's letters, but are no pronoun.
    text = "The opening line of this short weather report is here. Heavy rain fell on Italy for a week. Thesis defences were moved online."
    passage = _passage("rain", text, 0, len(text))
    for question, wanted in [("Where did heavy rain fall?", "Heavy rain fell on Italy for a week."),
                             ("Where were thesis defences held?", "Thesis defences were moved online.")]:
        budget = max(16, len(embedder.tokenize(wanted)) + 2)  # room for that sentence alone
        evidence = select(question, [passage], embedder, replace(DEFAULTS, context_tokens=budget))
        assert [e.text for e in evidence] == [wanted]


def test_a_named_outlet_gets_its_best_sentence_even_when_it_scores_low(embedder):
    settings = replace(DEFAULTS, context_tokens=20, evidence_article_margin=0)  # room for one sentence
    question = "How long was the harbour closed by the storm, and what did The Daily Tide say?"
    plain = select(question, _chunks(), embedder, settings)
    assert {e.passage.doc_id for e in plain} == {"ferry"}
    evidence = select(question, _chunks(), embedder, settings, outlets=["The Daily Tide"])
    assert "tide" in {e.passage.doc_id for e in evidence}


def test_articles_that_compete_each_get_their_best_sentence(embedder):
    question = "What did the storm do?"
    wide = select(question, _chunks(), embedder, replace(DEFAULTS, context_tokens=45, evidence_article_margin=1))
    assert {e.passage.doc_id for e in wide} == {"ferry", "tide"}


def test_evidence_is_grouped_by_article_and_in_reading_order(embedder):
    evidence = select("What happened during and after the storm?", _chunks(), embedder,
                      replace(DEFAULTS, context_tokens=400))
    docs = [e.passage.doc_id for e in evidence]
    assert docs == sorted(docs, key=docs.index)  # each article's evidence together
    ferry = [e.article_start for e in evidence if e.passage.doc_id == "ferry"]
    assert ferry == sorted(ferry)


def test_date_order_moves_whole_articles():
    early = _passage("a", OTHER, 0, 40, published_at="2023-01-02")
    late = _passage("b", ARTICLE, 0, 40, published_at="2023-03-01")
    evidence = whole_passages([late, early, late])
    assert [e.passage.doc_id for e in in_date_order(evidence)] == ["a", "b", "b"]


def test_a_question_sharing_no_word_with_the_sentences_still_gets_evidence(embedder):
    evidence = select("¿Qué pasó?", _chunks(), embedder, DEFAULTS)  # BM25 finds nothing; cosine still ranks
    assert evidence


def test_stored_sentence_vectors_are_used_and_missing_ones_embedded(embedder, monkeypatch):
    """The index stores each sentence's vector at ingest; selection reads them instead of embedding,
    and embeds only what the store lacks: the same sentences are chosen either way."""
    from qa.sentences import whole_sentences

    passages = _chunks()
    question = "How long was the harbour closed?"
    spans = [(p, a, b) for p in passages for a, b in whole_sentences(p.text, mid_article=p.start > 0, title=p.title)]
    vectors = embedder.embed([p.text[a:b] for p, a, b in spans])
    stored = {(p.chunk_id, a): v for (p, a, _), v in zip(spans, vectors)}
    half = dict(list(stored.items())[::2])
    expected = [(e.passage.chunk_id, e.start, e.end) for e in select(question, passages, embedder, DEFAULTS)]
    for store in (stored, half):
        chosen = select(question, passages, embedder, DEFAULTS, stored=store)
        assert [(e.passage.chunk_id, e.start, e.end) for e in chosen] == expected
    calls = []
    real_embed = type(embedder).embed
    monkeypatch.setattr(type(embedder), "embed", lambda self, texts: calls.append(list(texts)) or real_embed(self, texts))
    select(question, passages, embedder, DEFAULTS, stored=stored)
    # With every vector stored, no sentence is embedded (the question was, by the first call, and is kept).
    assert not [text for texts in calls for text in texts if text != question]


def test_queries_are_embedded_once(embedder, monkeypatch):
    """Retrieval and the evidence stage embed the same question: the second asks the model for nothing."""
    import numpy as np

    queries = ["Which ferry line stopped first?", "harbour closure"]
    first = embedder.embed_queries(queries)
    calls = []
    real_embed = type(embedder).embed
    monkeypatch.setattr(type(embedder), "embed", lambda self, texts: calls.append(list(texts)) or real_embed(self, texts))
    again = embedder.embed_queries([queries[1], "A question not seen before?", queries[0]])
    assert calls == [["A question not seen before?"]]
    assert np.allclose(again[0], first[1]) and np.allclose(again[2], first[0])
    assert np.allclose(again[1], real_embed(embedder, ["A question not seen before?"])[0])
