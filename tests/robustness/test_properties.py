"""Property-based tests (hypothesis): cleaning, chunking and citation parsing on arbitrary text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from qa.answer import cited_numbers, finish
from qa.evidence import whole_passages
from qa.config import Settings
from qa.corpus import clean_text, decode, read_html
from qa.index import chunk_article, make_splitter
from qa.types import Article, Passage

TEXT = st.text(st.characters(codec="utf-8"), max_size=3000)
NEWSY = st.lists(st.sampled_from(["The", "mayor", "said", "on", "Monday", ".", "\n", "\n\n", "U.S.", "3.5%", "[1]",
                                  "<b>", "&amp;", "—", "“quoted”", "\t", "Zürich", "北京", "🙂", "  "]),
                 max_size=400).map(" ".join)
QUICK = hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@QUICK
@given(TEXT)
def test_clean_text_never_raises_and_leaves_no_carriage_returns(text):
    cleaned = clean_text(text)
    assert isinstance(cleaned, str) and "\r" not in cleaned and cleaned == cleaned.strip()


@QUICK
@given(st.binary(max_size=2000))
def test_any_bytes_decode(data):
    text, note = decode(data)
    assert isinstance(text, str)


@QUICK
@given(TEXT)
def test_read_html_never_raises(markup):
    page = read_html(markup)
    assert all(isinstance(value, str) for value in vars(page).values())


@QUICK
@given(st.one_of(TEXT, NEWSY))
def test_chunks_slice_back_and_cover_the_whole_article(embedder, text):
    article = Article(doc_id="a", title="t", text=clean_text(text))
    covered = [False] * len(article.text)
    for chunk in chunk_article(article, make_splitter(Settings(chunk_size=64, chunk_overlap=8), embedder)):
        assert article.text[chunk.start:chunk.end] == chunk.text
        covered[chunk.start:chunk.end] = [True] * (chunk.end - chunk.start)
    # A chunk that could not be located would leave a hole; only whitespace may fall between chunks.
    assert all(covered[i] or article.text[i].isspace() for i in range(len(article.text)))


@QUICK
@given(TEXT, st.integers(min_value=0, max_value=12))
def test_parsed_citations_point_at_existing_passages(sentence, n_passages):
    assert all(1 <= n <= n_passages for n in cited_numbers(sentence, n_passages))


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(TEXT, NEWSY), st.integers(min_value=1, max_value=4))
def test_answers_only_cite_passages_that_exist(embedder, draft, n_passages):
    # Each passage sits inside its article after a first sentence, so the quote's offsets are checked
    # against the article, not against the passage it was cut from.
    articles = {f"d{i}": f"An earlier line about the harbour. The mayor said on Monday {i}. Later text."
                for i in range(n_passages)}
    passages = []
    for i in range(n_passages):
        text = f"The mayor said on Monday {i}. Later text."
        start = articles[f"d{i}"].index(text)
        passages.append(Passage(chunk_id=f"c{i}", doc_id=f"d{i}", title="t", text=text, start=start,
                                end=start + len(text)))
    answer = finish("q?", draft, whole_passages(passages), embedder, settings=Settings())
    assert all(1 <= c.n <= n_passages for c in answer.citations)
    for c in answer.citations:
        assert articles[c.doc_id][c.quote_start:c.quote_end] == c.quote and c.quote.strip()
    assert not (answer.refused and answer.citations)
