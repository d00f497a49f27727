"""Loading and cleaning: general noise rules, metadata, and every kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import CORPUS
from qa.corpus import clean_text, guess_source, guess_title, load_corpus, read_html


def test_default_corpus_loads_with_file_names_as_ids():
    corpus = load_corpus([CORPUS])
    assert sorted(a.doc_id for a in corpus.articles) == sorted(p.name for p in CORPUS.glob("*.txt"))
    assert corpus.problems == []
    for article in corpus.articles:
        assert article.title and article.text


def test_default_corpus_noise_is_gone():
    text = "\n".join(a.text for a in load_corpus([CORPUS]).articles)
    for noise in ("See also", "Related Articles", "Back to top", "Leave a Reply",
                  "Your email address will not be published", "\n\n\n"):
        assert noise not in text


def test_noise_rules_are_general_and_keep_real_sentences():
    raw = ("Nav\n\nHeadline of the story here\n\nThe minister said he would see also the budget.\n"
           "See also: Ten things you missed\nRELATED ARTICLES\n<b>Bold</b> claim &amp; more.\n\n\n\n"
           "Share this article\nLeave a comment\nRequired fields are marked *\nBack to top button\n")
    cleaned = clean_text(raw)
    assert cleaned.splitlines() == [
        "Headline of the story here", "", "The minister said he would see also the budget.",
        "Bold claim & more.",
    ]


def test_html_scripts_and_styles_never_reach_the_text():
    markup = ("<html><head><title>Page title</title><style>p{color:red}</style></head><body>"
              "<nav>Home | World</nav><script>alert('x')</script><p>First paragraph.</p>"
              "<p>Second &amp; last.</p></body></html>")
    page = read_html(markup)
    cleaned = clean_text(page.text)
    assert page.title == "Page title"
    assert "First paragraph.\nSecond & last." in cleaned
    assert "alert" not in cleaned and "color" not in cleaned


def test_title_and_outlet_guesses():
    assert guess_title("# A heading\n\nBody.", "x") == "A heading"
    assert guess_title("Short title line\nBody text follows.", "x") == "Short title line"
    assert guess_title("A full sentence opens the story. Then another.", "x") == "A full sentence opens the story."
    assert guess_source("WASHINGTON (Reuters) – President said") == "Reuters"
    assert guess_source("No dateline here (really) – none") == ""


def test_front_matter_sets_metadata(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: Given title\nsource: The Age\npublished_at: 2023-06-01\n---\n"
                                   "Body of the article is here.\n")
    [article] = load_corpus([tmp_path]).articles
    assert (article.title, article.source, article.published_at) == ("Given title", "The Age", "2023-06-01")
    assert article.text == "Body of the article is here."


def test_jsonl_fields_and_bad_lines_are_reported_by_line(tmp_path):
    path = tmp_path / "c.jsonl"
    lines = [
        json.dumps({"doc_id": "d1", "title": "T1", "body": "Body one.", "source": "Wire", "published_at": "2023-01-01"}),
        "{not json",
        json.dumps({"id": "d2", "title": "T2", "text": "Body two."}),
        json.dumps({"doc_id": "d3", "title": "No body"}),
        json.dumps(["a", "list"]),
        "",
    ]
    path.write_text("\n".join(lines))
    corpus = load_corpus([path])
    assert [(a.doc_id, a.title, a.source) for a in corpus.articles] == [("d1", "T1", "Wire"), ("d2", "T2", "")]
    assert sorted((p.line, p.reason) for p in corpus.problems) == [
        (2, "not valid JSON (JSONDecodeError)"), (4, "no 'body' or 'text'"), (5, "line is not a JSON object")]
    assert all(str(path) in str(p) for p in corpus.problems)


def test_bad_files_are_skipped_with_a_reason_and_the_rest_loads(tmp_path):
    (tmp_path / "good.txt").write_text("A good article about a balloon.\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "latin1.txt").write_bytes("Café au lait in Zürich costs 5 €.".encode("cp1252"))
    (tmp_path / "utf16.txt").write_bytes("UTF-16 text with a BOM.".encode("utf-16"))
    (tmp_path / "tags-only.html").write_text("<html><script>x()</script></html>")
    corpus = load_corpus([tmp_path, tmp_path / "missing.txt"])
    by_id = {a.doc_id: a for a in corpus.articles}
    assert set(by_id) == {"good.txt", "latin1.txt", "utf16.txt"}
    assert by_id["latin1.txt"].text == "Café au lait in Zürich costs 5 €."
    assert by_id["utf16.txt"].text == "UTF-16 text with a BOM."
    reasons = {Path(p.path).name: p.reason for p in corpus.problems}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["image.txt"] == "binary file, not text"
    assert reasons["tags-only.html"] == "no text left after cleaning"
    assert reasons["missing.txt"] == "no such file or folder"
    assert "Windows-1252" in reasons["latin1.txt"]
    assert not next(p for p in corpus.problems if p.path.endswith("latin1.txt")).skipped


def test_empty_folder_and_symlink_loop(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "folder has no" in load_corpus([empty]).problems[0].reason

    looped = tmp_path / "looped"
    (looped / "sub").mkdir(parents=True)
    (looped / "sub" / "a.txt").write_text("An article.")
    os.symlink(looped, looped / "sub" / "loop")
    corpus = load_corpus([looped])
    assert [a.doc_id for a in corpus.articles] == ["sub/a.txt"]


def test_duplicate_doc_ids_keep_the_first(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps({"doc_id": "d", "body": body}) for body in ("first", "second")))
    corpus = load_corpus([path])
    assert [a.text for a in corpus.articles] == ["first"]
    assert "duplicate doc_id 'd'" in corpus.problems[0].reason


def test_outlet_and_date_come_from_html_metadata_and_front_matter(tmp_path):
    (tmp_path / "page.html").write_text(
        '<html><head><title>Tide report</title><meta property="og:site_name" content="BBC News">'
        '<meta property="article:published_time" content="2023-11-02T08:00:00Z"></head>'
        "<body><p>The spring tide reached 6.1 metres on Sunday, the harbour master said.</p></body></html>")
    (tmp_path / "note.md").write_text("---\nsource: The Guardian\npublished_at: 2023-11-03\n---\n"
                                      "The quay reopened on Monday after the flood, the council said.\n")
    articles = {a.doc_id: a for a in load_corpus([tmp_path]).articles}
    page, note = articles["page.html"], articles["note.md"]
    assert (page.title, page.source, page.published_at) == ("Tide report", "BBC News", "2023-11-02")
    assert (note.source, note.published_at) == ("The Guardian", "2023-11-03")
