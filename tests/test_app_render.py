"""The UI's rendering and launch options, without a server: escaping, chips, refusals, binding."""

from __future__ import annotations

import re

import pytest

import app
from qa.answer import Answer, Citation
from qa.config import ConfigError, load_settings
from qa.conversation import Turn

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)> [evil](javascript:alert(3))"


def _answer_turn(text: str, passage: str = "A passage. The cited sentence is here. More after.") -> Turn:
    quote = "The cited sentence is here."
    offset = 50 + passage.index(quote) if quote in passage else 50
    citation = Citation(n=2, doc_id="doc<1>.txt", title=f"Title {PAYLOAD}", text=passage, start=50,
                        end=50 + len(passage), source="Outlet", published_at="2023-05-01T10:00:00", quote=quote,
                        quote_start=offset, quote_end=offset + len(quote), similarity=0.612)
    return Turn("q?", "q?", Answer("q?", text, refused=False, citations=[citation]))


def test_only_verified_citations_become_chips():
    html = app.render_answer(_answer_turn("First claim [2]. Second claim [5]."), 3)
    assert re.findall(r'class="cite" href="#src-3-(\d+)"', html) == ["2"]
    assert "[5]" not in html and "relevance 0.61" in html and 'href="#src-3-2"' in html


def test_model_and_article_text_is_never_markup():
    html = app.render_answer(_answer_turn(f"Claim {PAYLOAD} [2]."), 1)
    sources = app.render_sources([_answer_turn("x [2].", passage=f"Before {PAYLOAD}. The cited sentence is here.")])
    for rendered in (html, sources):
        assert "<script" not in rendered and "<img" not in rendered and "&lt;script&gt;" in rendered
    assert "](javascript" not in html  # the chat renders Markdown; the source panel does not


def test_source_card_highlights_the_quote():
    cards = app.render_sources([_answer_turn("x [2].")])
    assert '<mark>The cited sentence is here.</mark>' in cards
    assert 'id="src-1-2"' in cards and "source-card shown" in cards


def test_refusal_has_no_chips_and_its_own_look():
    turn = Turn("Who won?", "Who won?", Answer("Who won?", "The articles do not say. No indexed article is from X.", True))
    html = app.render_answer(turn, 1)
    assert 'class="refusal"' in html and "cite" not in html and "Corpus tab" in html


def test_refusal_quoting_the_closest_sentence_links_its_source():
    turn = _answer_turn("The articles do not say. The closest they come: “The cited sentence is here.” [2]")
    turn.answer.refused = True
    html = app.render_answer(turn, 4)
    assert 'class="refusal"' in html and 'class="answer"' not in html
    assert re.findall(r'class="cite" href="#src-4-(\d+)"', html) == ["2"] and "relevance 0.61" in html


def test_rewritten_question_is_shown():
    turn = _answer_turn("Claim [2].")
    turn.standalone = "When is Blinken expected to go?"
    assert "Searched for: When is Blinken expected to go?" in app.render_answer(turn, 1)


def test_saved_conversation_round_trips_and_tolerates_junk():
    turn = _answer_turn("Claim [2].")
    restored = app.load_turns([turn.to_dict(), {"nonsense": 1}])
    assert len(restored) == 1 and restored[0].answer.citations == turn.answer.citations


def test_binds_to_loopback_by_default_and_warns_when_exposed(capsys):
    options = app.launch_options(load_settings())
    assert options["server_name"] == "127.0.0.1" and options["share"] is False and options["auth"] is None
    assert capsys.readouterr().err == ""
    app.launch_options(load_settings(host="0.0.0.0"))
    assert "without a login" in capsys.readouterr().err
    options = app.launch_options(load_settings(host="0.0.0.0", auth="ana:s3cret"))
    assert options["auth"] == ("ana", "s3cret") and capsys.readouterr().err == ""
    with pytest.raises(ConfigError):
        app.launch_options(load_settings(auth="no-colon"))


def test_password_is_not_printed_by_qa_config():
    from qa.config import describe

    shown = dict((name, value) for name, _, value in describe(load_settings(auth="ana:s3cret")))
    assert shown["auth"] == "ana:***"


def _evidence():
    from qa.evidence import Evidence
    from qa.types import Passage

    text = f"Intro. Officials said {PAYLOAD} on Monday. The ferry stopped."
    passage = Passage(chunk_id="c1", doc_id="doc<1>.txt", title=f"T {PAYLOAD}", text=text, start=100,
                      end=100 + len(text), source="Outlet", published_at="2023-05-01T10:00:00")
    first = text.index("Officials")
    return [Evidence(passage, first, text.index(" The ferry")), Evidence(passage, text.index("The ferry"), len(text))]


def test_evidence_shows_before_the_answer_and_opens_its_cards():
    """While the model reads, the answer's place shows the stage and the evidence; each quote links to
    a card (the same ids its citations will have) that marks the quoted span; nothing is markup."""
    from qa.answer import READING, SEARCHING, WAITING, WRITING, Stage

    evidence = _evidence()
    assert "Searching" in app.render_progress(Stage(SEARCHING), "", 3)
    reading = app.render_progress(Stage(READING, evidence), "", 3)
    assert "Reading 1 article…" in reading and 'class="draft"' not in reading
    assert re.findall(r'href="#(src-3-\d+)"', reading) == ["src-3-1", "src-3-2"]
    assert app.literal(" — Outlet · 2023-05-01") in reading
    cards = app.render_evidence_cards(evidence, 3)
    assert re.findall(r'id="(src-3-\d+)"', cards) == ["src-3-1", "src-3-2"]
    assert f"<mark>{app.esc(evidence[1].text)}</mark>" in cards and "characters 100–" not in cards
    assert f"characters {evidence[0].article_start}–{evidence[0].article_end}" in cards
    waiting = app.render_progress(Stage(WAITING, evidence, ahead=2), "", 3)
    assert "Waiting: 2 questions ahead" in waiting and 'href="#src-3-1"' in waiting
    assert "Waiting: 1 question ahead" in app.render_progress(Stage(WAITING, evidence, ahead=1), "", 3)
    writing = app.render_progress(Stage(WRITING, evidence), "The ferry [2]", 3)
    assert "Writing" in writing and writing.index('class="draft"') < writing.index('class="sources evidence"')
    for rendered in (reading, cards, writing):
        assert "<script" not in rendered and "<img" not in rendered


def test_markdown_characters_show_as_themselves():
    """Inside the answer's HTML block Markdown does not run: an escape must not show as a backslash."""
    html = app.render_answer(_answer_turn("In mid-February, talks (in #Beijing) were *useful* [2]."), 1)
    assert "\\" not in html and "&#45;" in html and "&#42;useful&#42;" in html
    assert re.findall(r'class="cite" href="#src-1-(\d+)"', html) == ["2"]
