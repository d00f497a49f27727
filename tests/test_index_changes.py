"""A running process (the UI, say) sees the index change under it: another process's `qa ingest`
and `qa ingest --prune` show in the very next question, with no restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from conftest import CORPUS, ROOT
from qa import pipeline
from qa.config import Settings

NEW_ARTICLE = """Port Elsworth opens a floating library
A floating library opened on a converted ferry in Port Elsworth on Sunday, lending 4,000 books to
islanders, the harbour council said. The quillwort-green ferry will call at six islands each month.
"""
QUESTION = "Which ferry was turned into a floating library?"


def _ingest_elsewhere(index_dir, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "qa.cli", "ingest", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "QA_INDEX_DIR": str(index_dir)})
    assert done.returncode == 0, done.stderr


def test_another_processes_ingest_and_prune_show_in_the_next_question(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(index_dir=tmp_path / "index")
    pipeline.ingest(settings, [corpus])
    assert "library.txt" not in {p.doc_id for p in pipeline.search(settings, QUESTION, top_k=3)}
    before = pipeline.retriever(settings)

    (corpus / "library.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    _ingest_elsewhere(settings.index_dir, str(corpus))
    assert pipeline.search(settings, QUESTION, top_k=3)[0].doc_id == "library.txt"
    assert pipeline.search(settings, "quillwort", top_k=1)[0].doc_id == "library.txt"  # BM25 knows the new word
    assert pipeline.search(settings, QUESTION, top_k=1, hybrid=False)[0].doc_id == "library.txt"  # and so do vectors
    assert "library.txt" in pipeline.retriever(settings).index.manifest.articles and pipeline.retriever(settings) is not before

    (corpus / "library.txt").unlink()
    _ingest_elsewhere(settings.index_dir, "--prune", str(corpus))
    assert "library.txt" not in {p.doc_id for p in pipeline.search(settings, QUESTION, top_k=6)}
    assert [a["doc_id"] for a in pipeline.articles(settings)] == sorted(p.name for p in CORPUS.iterdir())


def test_an_unchanged_index_keeps_its_retriever(tmp_path, embedder):
    settings = Settings(index_dir=tmp_path / "index")
    pipeline.ingest(settings, [CORPUS])
    first = pipeline.retriever(settings)
    pipeline.search(settings, QUESTION)
    _ingest_elsewhere(settings.index_dir, str(CORPUS))  # nothing new: the manifest is not rewritten
    assert pipeline.retriever(settings) is first
