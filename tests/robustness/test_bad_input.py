"""Bad corpus files and bad questions: a clear message naming the problem, the rest still works."""

from __future__ import annotations

import codecs
import os

import pytest
from click.testing import CliRunner

from conftest import CORPUS
from qa import pipeline
from qa.answer import QuestionError, check_question
from qa.cli import main
from qa.config import Settings
from qa.corpus import load_corpus
from qa.index import chunk_article, make_splitter

GOOD = (CORPUS / "001_71ba61cba844b233.txt").read_text(encoding="utf-8")


@pytest.fixture
def bad_folder(tmp_path):
    folder = tmp_path / "incoming"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "good copy.txt").write_text(GOOD, encoding="utf-8")  # the same article under another name
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (folder / "latin1.txt").write_bytes("Café owners in Zürich said prices rose.\nThe café de la Paix reopened.".encode("latin-1"))
    (folder / "utf16.txt").write_bytes(codecs.BOM_UTF16_LE + "Der Bürgermeister sprach am Montag.".encode("utf-16-le"))
    (folder / "page.html").write_text("<html><head><title>Port news</title><style>p{color:red}</style>"
                                      "<script>alert('x')</script></head><body><p>The ferry resumed service on Monday."
                                      "</p></body></html>", encoding="utf-8")
    (folder / "broken.jsonl").write_text('{"doc_id": "j1", "title": "Tides", "body": "High tide at noon."}\n'
                                         '{"doc_id": "j2", "body": \n'
                                         'not json at all\n'
                                         '{"doc_id": "j3", "title": "No body"}\n', encoding="utf-8")
    with (folder / "huge.txt").open("wb") as handle:  # 50 MB, sparse: never read
        handle.truncate(50_000_000)
    os.symlink(folder, folder / "sub" / "loop")
    return folder


def test_a_folder_of_bad_files_ingests_what_it_can_and_names_the_rest(bad_folder, tmp_path):
    index = tmp_path / "index"
    result = CliRunner().invoke(main, ["ingest", str(bad_folder), "--index", str(index)])
    assert result.exit_code == 0, result.output
    text = result.output
    for name, reason in [("empty.txt", "empty"), ("image.txt", "binary"), ("huge.txt", "limit"),
                         ("broken.jsonl", "not valid JSON"), ("broken.jsonl", "no 'body'")]:
        assert any(name in line and reason in line for line in text.splitlines()), (name, reason, text)
    assert "Traceback" not in text
    ids = {a["doc_id"] for a in pipeline.articles(Settings(index_dir=index))}
    assert {"good.txt", "good copy.txt", "latin1.txt", "utf16.txt", "page.html", "j1"} <= ids
    assert not ids & {"empty.txt", "image.txt", "huge.txt", "j2", "j3"}

    settings = Settings(index_dir=index)
    latin = pipeline.search(settings, "café prices Zürich", top_k=1)[0]
    assert latin.doc_id == "latin1.txt" and "Café" in latin.text
    top = pipeline.search(settings, "Blinken trip China", top_k=3)
    assert top[0].doc_id in {"good.txt", "good copy.txt"} and set(top[0].also_in) & {"good.txt", "good copy.txt"}
    html = pipeline.search(settings, "ferry service", top_k=1)[0]
    assert "alert" not in html.text and "color" not in html.text


def test_a_megabyte_on_one_line_chunks_with_exact_offsets(embedder, tmp_path):
    line = " ".join(f"word{i % 977}" for i in range(150_000))[:1_000_000]
    (tmp_path / "line.txt").write_text(line, encoding="utf-8")
    [article] = load_corpus([tmp_path / "line.txt"]).articles
    chunks = chunk_article(article, make_splitter(Settings(), embedder))
    assert len(chunks) > 100
    assert all(article.text[c.start:c.end] == c.text for c in chunks)


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("?!… ...", "no words"), ("x" * 100_000, "limit"),
])
def test_unusable_questions_are_one_clear_error(question, message):
    with pytest.raises(QuestionError, match=message):
        check_question(question, Settings())


def test_control_characters_are_dropped_from_questions():
    assert check_question("Why was\x00 the trip\u200b cancelled?\x1b", Settings()) == "Why was the trip cancelled?"


@pytest.mark.parametrize("question", ["", "?!", "x" * 100_000])
def test_cli_reports_bad_questions_in_one_line(question, default_index):
    result = CliRunner().invoke(main, ["ask", "--index", str(default_index.index_dir), question])
    assert result.exit_code == 1 and result.output.startswith("error:") and "Traceback" not in result.output
