"""Ingest into a real Chroma index with the real embedding model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import CORPUS
from qa import pipeline
from qa.corpus import load_corpus
from qa.index import Index, IndexProblem, Manifest, chunk_article, make_splitter
from qa.sentences import whole_sentences


def _chunks_by_doc(settings, embedder):
    got = Index(settings, embedder).collection.get(include=["metadatas", "documents"])
    by_doc: dict[str, list] = {}
    for chunk_id, meta, text in zip(got["ids"], got["metadatas"], got["documents"]):
        by_doc.setdefault(meta["doc_id"], []).append((chunk_id, meta, text))
    return by_doc


def test_five_articles_ingest_with_metadata_and_exact_offsets(default_index, embedder):
    articles = {a.doc_id: a for a in load_corpus([CORPUS]).articles}
    by_doc = _chunks_by_doc(default_index, embedder)
    assert set(by_doc) == set(articles)
    for doc_id, chunks in by_doc.items():
        article = articles[doc_id]
        for _, meta, text in chunks:
            assert {"doc_id", "title", "source", "published_at", "start", "end"} <= set(meta)
            assert meta["title"] == article.title
            assert article.text[meta["start"]:meta["end"]] == text
        # Together the chunks cover every word of the article: any gap is whitespace.
        covered = sorted((m["start"], m["end"]) for _, m, _ in chunks)
        assert covered[0][0] == 0 and covered[-1][1] == len(article.text)
        assert all(not article.text[a[1]:b[0]].strip() for a, b in zip(covered, covered[1:]))


def test_reingest_adds_nothing(default_index):
    before = pipeline.index_status(default_index)
    result = pipeline.ingest(default_index, [CORPUS])
    assert result.report.added == [] and result.report.updated == []
    assert result.report.chunks_written == 0
    assert pipeline.index_status(default_index)["chunks"] == before["chunks"]


def test_embedded_sentences_fit_the_model(default_index, embedder, settings):
    report = pipeline.ingest(settings, [CORPUS]).report
    assert report.chunks_written > 0 and report.sentences_written > report.chunks_written
    assert report.sentences_truncated == 0


def _sentence_rows(settings, embedder) -> dict[str, set[str]]:
    got = Index(settings, embedder).sentences.get(include=["metadatas"])
    by_doc: dict[str, set[str]] = {}
    for sentence_id, meta in zip(got["ids"], got["metadatas"]):
        by_doc.setdefault(meta["doc_id"], set()).add(sentence_id)
    return by_doc


def test_each_whole_sentence_of_a_chunk_has_its_own_stored_vector(default_index, embedder):
    """The vectors dense search and the evidence stage read are MiniLM's vectors of the sentences
    `whole_sentences` finds in each chunk: looked up, they equal the sentence embedded now."""
    index = Index(default_index, embedder)
    passages = pipeline.search(default_index, "Why was the trip to China called off?", top_k=3)
    stored = index.sentence_vectors(passages)
    for p in passages:
        spans = whole_sentences(p.text, mid_article=p.start > 0, title=p.title)
        assert spans and all((p.chunk_id, a) in stored for a, _ in spans)
        fresh = embedder.embed([p.text[a:b] for a, b in spans])
        assert np.allclose(np.stack([stored[(p.chunk_id, a)] for a, _ in spans]), fresh, atol=1e-4)
    assert sum(map(len, _sentence_rows(default_index, embedder).values())) == index.sentences.count()


def test_changed_article_replaces_its_chunks_and_prune_drops_missing(settings, embedder, corpus_copy):
    pipeline.ingest(settings, [corpus_copy])
    target = corpus_copy / "004_1890e989d0248038.txt"
    old_ids = {c[0] for c in _chunks_by_doc(settings, embedder)["004_1890e989d0248038.txt"]}
    target.write_text(target.read_text() + "\nA new closing paragraph about the zeppelin.\n")

    report = pipeline.ingest(settings, [corpus_copy]).report
    assert report.updated == ["004_1890e989d0248038.txt"] and len(report.unchanged) == 4
    chunks = _chunks_by_doc(settings, embedder)["004_1890e989d0248038.txt"]
    assert any("zeppelin" in text for _, _, text in chunks)
    assert not any("zeppelin" in text for chunk_id, _, text in chunks if chunk_id in old_ids)
    assert sum(e["chunks"] for e in Index(settings, embedder).manifest.articles.values()) == \
        Index(settings, embedder).collection.count()  # no orphans
    sentences = _sentence_rows(settings, embedder)["004_1890e989d0248038.txt"]
    assert all(s.split(":")[0] in {c[0] for c in chunks} for s in sentences)  # only the new chunks' sentences

    (corpus_copy / "002_96816e06d1c519d8.txt").unlink()
    report = pipeline.ingest(settings, [corpus_copy], prune=True).report
    assert report.pruned == ["002_96816e06d1c519d8.txt"]
    assert "002_96816e06d1c519d8.txt" not in _chunks_by_doc(settings, embedder)
    assert "002_96816e06d1c519d8.txt" not in _sentence_rows(settings, embedder)


def test_interrupted_ingest_is_completed_by_a_rerun_without_duplicates(settings, embedder, monkeypatch, tmp_path):
    clean = dataclasses.replace(settings, index_dir=tmp_path / "clean")
    expected = pipeline.ingest(clean, [CORPUS]).report.total_chunks

    calls = {"n": 0}
    real_write = Manifest.write

    def crash_on_second_batch(self, path):
        calls["n"] += 1
        if calls["n"] == 3:  # 1: new manifest, 2: first batch, 3: second batch (chunks already in Chroma)
            raise KeyboardInterrupt("simulated kill")
        real_write(self, path)

    monkeypatch.setattr(Manifest, "write", crash_on_second_batch)
    monkeypatch.setattr(Index, "ingest", _small_batches(Index.ingest))
    with pytest.raises(KeyboardInterrupt):
        pipeline.ingest(settings, [CORPUS])
    monkeypatch.setattr(Manifest, "write", real_write)

    report = pipeline.ingest(settings, [CORPUS]).report
    assert report.total_articles == 5
    assert report.total_chunks == expected
    assert len(report.unchanged) == 2  # the first batch had landed


def _small_batches(ingest):
    def wrapper(self, articles, **kwargs):
        return ingest(self, articles, **{**kwargs, "batch_articles": 2})
    return wrapper


def test_index_built_with_other_chunking_is_refused_until_rebuild(default_index, embedder, tmp_path):
    settings = dataclasses.replace(default_index, index_dir=tmp_path / "idx")
    pipeline.ingest(settings, [CORPUS])
    other = dataclasses.replace(settings, chunk_size=128)
    with pytest.raises(IndexProblem, match="rebuild"):
        Index(other, embedder)
    result = pipeline.ingest(other, [CORPUS], rebuild=True)
    assert result.report.total_articles == 5
    assert Index(other, embedder).manifest.chunking["chunk_size"] == 128


def test_missing_index_says_how_to_build_one(settings, embedder):
    with pytest.raises(IndexProblem, match="qa ingest"):
        Index(settings, embedder)


def test_rebuild_refuses_a_folder_that_is_not_an_index(tmp_path, settings):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "thesis.txt").write_text("do not delete")
    with pytest.raises(IndexProblem, match="not deleting"):
        Index.wipe(dataclasses.replace(settings, index_dir=folder))
    assert (folder / "thesis.txt").exists()


def test_chunks_respect_size_in_word_pieces(settings, embedder):
    splitter = make_splitter(settings, embedder)
    for article in load_corpus([CORPUS]).articles:
        for chunk in chunk_article(article, splitter):
            assert len(embedder.tokenize(chunk.text)) <= settings.chunk_size


def test_the_embedder_gives_each_thread_its_own_vectors(embedder):
    """The UI embeds from several sessions at once; the fast tokenizer's padding and truncation
    settings are shared state that each call resets."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Question {n}: why was the trip to China {'cancelled ' * (n % 9)}in February?" for n in range(60)]
    batches = [texts[start:start + 6] for start in range(0, len(texts), 6)]
    alone = {text: embedder.embed([text])[0] for text in texts}
    lengths = {text: len(embedder.tokenize(text)) for text in texts}

    def work(batch: list[str]) -> tuple[list[str], np.ndarray, list[int]]:
        # Counting (no padding) and embedding (padding) interleave as they do in the UI.
        return batch, embedder.embed(batch), embedder.token_counts(batch)

    with ThreadPoolExecutor(8) as pool:
        for batch, vectors, counts in pool.map(work, batches * 30):
            for text, vector, count in zip(batch, vectors, counts):
                assert np.allclose(vector, alone[text], atol=1e-4) and count == lengths[text], text
