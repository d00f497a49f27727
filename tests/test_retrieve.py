"""Hybrid retrieval over the real default index."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import CORPUS
from qa import pipeline, retrieve
from qa.index import IndexProblem
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


@pytest.fixture(scope="module")
def small_chunk_index(tmp_path_factory, embedder):
    """The default corpus in 64-word-piece chunks: many more chunks than the candidate window."""
    from qa.config import Settings

    settings = Settings(index_dir=tmp_path_factory.mktemp("small") / "index", chunk_size=64, chunk_overlap=8)
    pipeline.ingest(settings, [CORPUS])
    return settings


def test_candidate_window_returns_what_the_full_list_returns(small_chunk_index, monkeypatch):
    """Only the best max(WINDOW x top_k, MIN_WINDOW) fused candidates are loaded and folded: the passages
    and their order match folding every candidate. Copies credited in `also_in` are those within the
    window (a wire copy ranked below it is not credited: measured on these small chunks)."""
    settings = small_chunk_index
    assert pipeline.index_status(settings)["chunks"] > 2 * retrieve.MIN_WINDOW  # fused lists outgrow the window
    questions = [BALLOON_QUESTION, "Jake Sullivan Wang Yi Vienna talks", "Who is Susan Heavy?",
                 "What did the Pentagon say about the balloon's path?", "Where did the talks take place?"]
    loaded = []
    real_load = retrieve.Retriever._load
    monkeypatch.setattr(retrieve.Retriever, "_load",
                        lambda self, ranked: loaded.append(len(ranked)) or real_load(self, ranked))

    def results() -> list[list[tuple[str, list[str]]]]:
        return [[(p.chunk_id, p.also_in) for p in pipeline.search(settings, q, top_k=k)]
                for q in questions for k in (1, 3, 6)]

    windowed = results()
    assert max(loaded) == retrieve.MIN_WINDOW
    loaded.clear()
    monkeypatch.setattr(retrieve, "MIN_WINDOW", 10_000)
    full = results()
    assert min(loaded) > 24  # the unwindowed run really folded longer lists
    assert [[chunk for chunk, _ in r] for r in windowed] == [[chunk for chunk, _ in r] for r in full]
    for window_result, full_result in zip(windowed, full):
        for (_, copies), (_, all_copies) in zip(window_result, full_result):
            assert set(copies) <= set(all_copies)


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


@pytest.fixture(scope="module")
def outlet_index(tmp_path_factory, embedder):
    import json

    from qa.config import Settings

    folder = tmp_path_factory.mktemp("outlets")
    articles = [
        ("age-1", "The Age", "Melbourne trams will run all night on weekends from March, the state government said."),
        ("ind-1", "The Independent - Sports", "The striker signed a four-year contract with the club on Friday."),
        ("ind-2", "The Independent - Travel", "Budget airlines added winter routes to the Canary Islands."),
        ("tc-1", "TechCrunch", "The startup raised $40 million to build trams that drive themselves."),
        ("tc-2", "TechCrunch", "Night-time tram services are a test bed for autonomous driving software."),
    ]
    path = folder / "c.jsonl"
    path.write_text("\n".join(json.dumps({"doc_id": d, "source": s, "title": t[:30], "body": t}) for d, s, t in articles))
    settings = Settings(index_dir=folder / "index")
    pipeline.ingest(settings, [path])
    return settings


def test_named_outlets_match_names_not_common_words(outlet_index):
    retriever = pipeline.retriever(outlet_index)
    assert retriever.named_outlets("Did The Age and TechCrunch both report on trams?") == ["The Age", "TechCrunch"]
    assert retriever.named_outlets("In the age of AI, do trams drive themselves?") == []
    assert retriever.named_outlets("What did The Independent - Sports say?") == ["The Independent - Sports"]


def test_each_named_outlet_is_represented(outlet_index):
    question = "Do The Age and The Independent - Travel both report on night trams?"
    passages = pipeline.search(outlet_index, question, top_k=2)
    assert [p.doc_id for p in passages] == ["age-1", "ind-2"]  # the best of each named outlet first


def test_outlet_aliases_from_a_file_and_the_built_in_table(outlet_index, tmp_path):
    aliases = tmp_path / "aliases.toml"
    aliases.write_text('"TC" = "TechCrunch"\n')
    retriever = pipeline.retriever(dataclasses.replace(outlet_index, outlet_aliases=str(aliases)))
    assert retriever.named_outlets("What did TC say about trams?") == ["TechCrunch"]
    assert retriever.named_outlets("What did the Independent say about flights?") == [
        "The Independent - Sports", "The Independent - Travel"]
    assert pipeline.retriever(outlet_index).named_outlets("What did TC say about trams?") == []
    broken = tmp_path / "broken.toml"
    broken.write_text('"TC" = TechCrunch\n')  # not TOML: the value is unquoted
    with pytest.raises(IndexProblem, match="outlet_aliases: cannot read"):
        _ = pipeline.retriever(dataclasses.replace(outlet_index, outlet_aliases=str(broken))).aliases


def test_only_an_index_with_unlabelled_articles_lets_a_name_in_the_text_pass_for_their_outlet(outlet_index,
                                                                                            default_index):
    assert not pipeline.retriever(outlet_index).may_have_published("TechCrunch")  # every article has its outlet
    # Most of the default articles record no outlet, and 002 quotes Bloomberg: it may be one of them.
    assert pipeline.retriever(default_index).may_have_published("Bloomberg")
    assert not pipeline.retriever(default_index).may_have_published("Wall Street Journal")  # not in the text


def test_a_folder_of_bbc_pages_answers_to_the_bbc_and_not_to_other_outlets(tmp_path, embedder):
    """Outlets come from the pages' <meta> tags; a question naming the BBC is searched there, one
    naming an outlet the folder lacks is refused by name (the natural-questions issue's example)."""
    from qa.config import Settings
    from qa.question import analyse

    folder = tmp_path / "pages"
    folder.mkdir()
    for n, text in enumerate(["Storm Ciaran brought record tides to the Channel coast.",
                              "Ferries between Dover and Calais were cancelled as the storm hit."]):
        (folder / f"bbc-{n}.html").write_text(
            f'<html><head><title>Storm {n}</title><meta property="og:site_name" content="BBC News"></head>'
            f"<body><p>{text}</p></body></html>")
    settings = Settings(index_dir=tmp_path / "index")
    pipeline.ingest(settings, [folder])
    retriever = pipeline.retriever(settings)
    assert list(retriever.outlets) == ["BBC News"]

    def unknown(question: str) -> list[str]:
        return analyse(question, list(retriever.outlets), retriever.may_have_published, retriever.aliases).unknown_outlets

    assert unknown("What did a BBC report say about the tides?") == []
    assert retriever.named_outlets("What did the BBC say about the ferries?") == ["BBC News"]
    assert unknown("What did an NYT article say about the tides?") == ["NYT"]
    assert unknown("What did Met Office officials report about the storm?") == []


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory):
    import json

    from qa.config import Settings

    folder = tmp_path_factory.mktemp("dated")
    articles = [
        ("tram-nov", "2023-11-06T09:00:00Z", "City News", "The council approved a budget for road repairs and parks."),
        ("tram-oct", "2023-10-02T09:00:00Z", "City News", "Night trams will run on weekends, the council said about trams."),
        ("tram-sep", "2023-09-01T09:00:00Z", "City News", "New trams were ordered, the council said about trams."),
        ("tram-dec", "2023-12-15T09:00:00Z", "Metro Daily", "Tram drivers went on strike over pay; trams stopped."),
    ]
    path = folder / "c.jsonl"
    path.write_text("\n".join(json.dumps({"doc_id": d, "published_at": p, "source": s, "title": d, "body": t})
                              for d, p, s, t in articles))
    settings = Settings(index_dir=folder / "index")
    pipeline.ingest(settings, [path])
    return settings


@pytest.mark.parametrize("question", [
    "What did City News report about trams on November 6, 2023?",
    "What did the article published on 2023-11-06 say about trams?",
])
def test_a_named_publication_date_is_searched_on_its_own(dated_index, question):
    assert "tram-nov" in [p.doc_id for p in pipeline.search(dated_index, question, top_k=2)]
    off = dataclasses.replace(dated_index, date_search=False)
    assert "tram-nov" not in [p.doc_id for p in pipeline.search(off, question, top_k=2)]  # its words match least


@pytest.mark.parametrize("question", [
    "What did City News report about trams in November 2023?",  # a month, not a day
    "What did City News report about trams on November 7, 2023?",  # a day without articles
    "Did the 2023-24 season change what City News said about trams?",
])
def test_a_question_naming_no_publication_day_is_searched_as_before(dated_index, question):
    on = [p.chunk_id for p in pipeline.search(dated_index, question, top_k=3)]
    assert on == [p.chunk_id for p in pipeline.search(dataclasses.replace(dated_index, date_search=False),
                                                     question, top_k=3)]
