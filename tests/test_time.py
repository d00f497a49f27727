"""Time as a filter: typed periods, time phrases in questions, and retrieval kept to a period."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from qa.timeframe import Period, PeriodError, day_number, parse_day, period_between, read_time

from conftest import MULTIHOP, ROOT

NEWEST = date(2023, 12, 9)  # a Saturday: the newest of eval/articles/


def reading(question: str, narrows=lambda period: True):
    return read_time(question, NEWEST, narrows)


# --- typed dates and periods --------------------------------------------------

def test_typed_dates_and_their_errors():
    assert parse_day("2023-11-06") == date(2023, 11, 6)
    assert parse_day("2023-11") == date(2023, 11, 1) and parse_day("2023-11", end=True) == date(2023, 11, 30)
    assert parse_day("2024", end=True) == date(2024, 12, 31)
    for bad in ("2023-13-01", "2023-02-30", "yesterday", "11/06/2023", ""):
        with pytest.raises(PeriodError):
            parse_day(bad)
    assert period_between("", "  ") is None
    assert period_between("2023-11", "") == Period(date(2023, 11, 1), None)
    with pytest.raises(PeriodError, match="after it ends"):
        period_between("2023-12-10", "2023-12-01")


def test_day_numbers_and_chroma_clause():
    assert day_number("2023-11-27 21:20:11.000000000Z") == 20231127
    assert day_number("") == 0 and day_number("last Tuesday") == 0
    assert Period(date(2023, 11, 1), date(2023, 11, 30)).where() == {
        "$and": [{"day": {"$gte": 20231101}}, {"day": {"$lte": 20231130}}]}
    assert Period(None, date(2023, 11, 30)).where() == {"$and": [{"day": {"$gte": 1}}, {"day": {"$lte": 20231130}}]}
    assert not Period(date(2023, 11, 1)).contains(None)  # an undated article is in no period


# --- time phrases in questions ----------------------------------------------

@pytest.mark.parametrize("question, since, until", [
    ("What happened with Ohtani last week?", date(2023, 11, 27), date(2023, 12, 3)),
    ("What did the Dodgers do this week?", date(2023, 12, 4), NEWEST),
    ("Any news in the past 3 days?", date(2023, 12, 7), NEWEST),
    ("What was reported over the last two weeks?", date(2023, 11, 26), NEWEST),
    ("What happened yesterday?", date(2023, 12, 8), date(2023, 12, 8)),
    ("What was said last month about free agency?", date(2023, 11, 1), date(2023, 11, 30)),
    ("What was reported in November?", date(2023, 11, 1), date(2023, 11, 30)),
    ("What happened in December 2022?", date(2022, 12, 1), date(2022, 12, 31)),
    ("Show me articles from 2023 about chips", date(2023, 1, 1), date(2023, 12, 31)),
    ("What has happened since December 1?", date(2023, 12, 1), None),
])
def test_time_phrases_become_periods(question, since, until):
    found = reading(question)
    assert found.period == Period(since, until), question
    assert found.phrase and found.phrase.lower() in question.lower()


@pytest.mark.parametrize("question", [
    # Outlets, products and events, not the articles' time.
    "What did Business Today report about Mossad?",
    "What did Apple announce with its latest iPhone?",
    "Which company, recently portrayed as the antagonist in an Epic trial by The Verge, ranks local results?",
    "What happened during the last week of October?",
    "Who has been a prodigy since his early twenties?",
    "Did the All Blacks lose at home last summer?",
    "Can you tell me why the trip was cancelled?",
    "What was reported by Chinese officials about the balloon?",
    "What would they do in may?",
    # "today" is "nowadays" as often as the day; two months named are a comparison across them.
    "How important is the Sullivan-Wang line of contact today?",
    "How did the contract estimate change between the article in November and the report in December?",
    # A month or year after anything but news words is the event's time.
    "What did the NAR report about existing-home sales in September?",
    "Was TikTok the most downloaded app in 2023?",
    "Did the Fortune article contradict the TechCrunch article from November 18, 2023?",
    "What did The Verge and CNET say in their latest articles on the iMac?",
    "How did the 2023-24 season start?",
    "What has changed since 2023-02-30?",  # no such day
    "What has changed since February 30?",
])
def test_phrases_that_name_no_period(question):
    found = reading(question)
    assert found.period is None and not found.recent, question


def test_named_months_and_years_need_some_articles_published_then():
    # "in January 2020" in a question about 2023 news names the event's time, not the articles'; a
    # period holding every article would change nothing but the prompt's order.
    assert reading("What happened in January 2020 at CollegeHumor?", lambda period: False).period is None
    assert reading("What happened since March 3?", lambda period: False).period is None
    # Relative phrases stand: no article last week is an answer in itself.
    assert reading("What happened last week?", lambda period: False).period is not None


@pytest.mark.parametrize("question, recent", [
    ("What's the latest on the Ohtani negotiations?", True),
    ("What are the latest developments in Gaza?", True),
    ("Which team did he sign with most recently?", True),
    ("What did TomTom announce in its latest strategic partnership?", False),
    ("Was the most recent iPhone cheaper?", False),
])
def test_asking_for_the_newest_news(question, recent):
    assert reading(question).recent is recent


@pytest.mark.dataset
def test_no_multihop_or_natural_question_gets_a_period():
    """The benchmark's and the natural set's phrasings, read against MultiHop-RAG's own dates: time
    phrases there name events ("in 2021", "during December 2022"), so none may become a filter."""
    corpus = MULTIHOP / "corpus.jsonl"
    if not corpus.exists():
        pytest.skip("shared MultiHop-RAG data not present")
    days = [date.fromisoformat(json.loads(line)["published_at"][:10]) for line in corpus.open()]
    newest = max(days)
    questions = [json.loads(line)["question"] for path in (MULTIHOP / "dev.jsonl", ROOT / "eval" / "natural.jsonl")
                 for line in path.open()]
    narrows = lambda p: 0 < sum(map(p.contains, days)) < len(days)  # noqa: E731
    fired = [(q, r) for q in questions if (r := read_time(q, newest, narrows)).period or r.recent]
    assert fired == [], fired[:5]


# --- retrieval kept to a period (the gold index: default corpus, undated, + four dated Ohtani articles) --

LAST_WEEK = {"ohtani-sporting-news-2023-11-27.md", "ohtani-sporting-news-2023-12-01.md"}


def test_search_keeps_to_the_period(gold_index):
    from qa import pipeline

    period = Period(date(2023, 11, 27), date(2023, 12, 3))
    for hybrid in (True, False):
        found = pipeline.search(gold_index, "Shohei Ohtani contract Dodgers", top_k=10, hybrid=hybrid, period=period)
        assert found and {p.doc_id for p in found} <= LAST_WEEK, hybrid
    everything = pipeline.search(gold_index, "Shohei Ohtani contract Dodgers", top_k=10)
    assert {p.doc_id for p in everything} - LAST_WEEK  # without the period, other articles come back
    # A period with a named outlet keeps both: the outlet's own list is cut to the period too.
    found = pipeline.search(gold_index, "What did The New York Times report about Ohtani?", top_k=10,
                            period=Period(None, date(2023, 11, 30)))
    assert found and all(p.published_at[:10] <= "2023-11-30" for p in found)
    assert pipeline.search(gold_index, "Ohtani", period=Period(date(2024, 1, 1))) == []


def test_question_periods_are_read_against_the_newest_article(gold_index):
    from qa import pipeline
    from qa.answer import time_scope

    found = pipeline.retriever(gold_index)
    assert found.newest == NEWEST
    analysis = found.analyse("What was reported about Ohtani last week?")
    period, notes = time_scope(analysis, None, found.newest)
    assert period == Period(date(2023, 11, 27), date(2023, 12, 3))
    assert notes == ["Read “last week” as articles published 2023-11-27 – 2023-12-03 (the newest article is from "
                     "2023-12-09)."]
    assert set(found.within_period(None, period)) == LAST_WEEK
    # A period the user gave wins over the question's words, without a note.
    assert time_scope(analysis, Period(date(2023, 12, 9)), found.newest) == (Period(date(2023, 12, 9)), [])


def test_cli_since_until(gold_index):
    from qa.cli import main

    runner = CliRunner()
    index = ["--index", str(gold_index.index_dir)]
    result = runner.invoke(main, ["search", "Ohtani", "--json", "--since", "2023-12", *index])
    assert result.exit_code == 0, result.output
    assert {p["published_at"][:7] for p in json.loads(result.stdout)} == {"2023-12"}
    for bad, words in ((["--since", "2023-13-01"], "not a date"),
                       (["--since", "2023-12-10", "--until", "2023-12-01"], "after it ends")):
        result = runner.invoke(main, ["search", "Ohtani", *bad, *index])
        assert result.exit_code == 1 and words in result.output, result.output
        assert "Traceback" not in result.output


def test_a_period_without_articles_is_said_so(gold_index):
    from qa import pipeline

    answer = pipeline.ask(gold_index, "What did the Dodgers do?", period=Period(date(2024, 1, 1), date(2024, 1, 31)))
    assert answer.refused and "No indexed article was published 2024-01-01 – 2024-01-31" in answer.text
    assert not answer.citations


@pytest.mark.model
def test_an_answer_about_last_week_cites_only_last_week(gold_index, ask_once):
    answer = ask_once(gold_index, "What was reported about Shohei Ohtani's free agency last week?")
    assert answer.notes and "last week" in answer.notes[0]
    assert {p.doc_id for p in answer.passages} <= LAST_WEEK
    assert {c.doc_id for c in answer.citations} <= LAST_WEEK


# --- timelines ------------------------------------------------------------------

@pytest.mark.parametrize("question, fires", [
    ("How did Shohei Ohtani's free agency unfold?", True),
    ("Give me a timeline of the talks.", True),
    ("What led up to the ceasefire?", True),
    ("How has the conflict escalated since October?", True),
    ("What is the name of the AI developed by OpenAI that reached 100 million users?", False),
    ("How did the AI developed by OpenAI perform?", False),
    ("How did the market react?", False),
    ("Can you tell me why the trip was cancelled?", False),
])
def test_timeline_questions(question, fires):
    from qa.question import is_timeline_question

    assert is_timeline_question(question) is fires


@pytest.mark.parametrize("sentence, day, named", [
    ("The deal was announced on November 6, 2023, in Paris.", "2023-11-06", "November 6, 2023"),
    ("Officials met on Tuesday to discuss it.", "2023-11-21", "on Tuesday"),  # the article is from Wednesday 22nd
    ("He said yesterday that talks would resume.", "2023-11-21", "yesterday"),
    ("The vote on Nov. 3 went his way.", "2023-11-03", "Nov. 3"),
    ("A ruling on December 12 is expected.", "2022-12-12", "December 12"),  # a month after the article's: last year
    ("The talks are going well, officials said.", "2023-11-22", ""),
    ("Ohtani announced Saturday that he had agreed.", "2023-11-18", "Saturday"),  # news style: a bare weekday
    # Not days: a newspaper's name, shopping days.
    ("USA Today's Nightengale reported the talks.", "2023-11-22", ""),
    ("Black Friday sales rose 5%.", "2023-11-22", ""),
    ("Cyber Monday deals are live.", "2023-11-22", ""),
])
def test_event_days_read_against_the_article(sentence, day, named):
    from qa.timeline import event_day

    found, words = event_day(sentence, date(2023, 11, 22))
    assert (found.isoformat(), words) == (day, named)


def test_timeline_orders_events_and_drops_wire_copies():
    from qa.evidence import Evidence
    from qa.timeline import build_timeline
    from qa.types import Passage

    def evidence(doc_id: str, published_at: str, text: str) -> Evidence:
        passage = Passage(chunk_id=doc_id, doc_id=doc_id, title="t", text=f"Intro. {text}", start=0, end=0,
                          published_at=published_at)
        return Evidence(passage, 7, 7 + len(text))

    events = build_timeline([
        evidence("b", "2023-12-01", "The team signed him on Saturday."),  # 2023-11-25
        evidence("a", "2023-11-20", "Rumours began."),
        evidence("c", "", "Nobody knows when this happened."),
        evidence("d", "2023-11-20", "Rumours began."),  # a wire copy
        evidence("e", "2023-12-01", "Fans cheered."),
        evidence("f", "2023-12-01", "Shohei Ohtani free agent rumors and updates"),  # a heading: no event
    ])
    assert [(e.n, e.day) for e in events] == [(2, "2023-11-20"), (1, "2023-11-25"), (5, "2023-12-01"), (3, "")]
    assert events[1].named == "on Saturday" and events[1].text == "The team signed him on Saturday."


@pytest.mark.model
def test_a_timeline_question_gets_dated_cited_events(gold_index, ask_once):
    answer = ask_once(gold_index, "How did Shohei Ohtani's free agency unfold?")
    assert not answer.refused and answer.timeline
    days = [event.day for event in answer.timeline if event.day]
    assert days == sorted(days) and len(set(days)) > 1
    cited = {c.n: c for c in answer.citations}
    for event in answer.timeline:
        assert event.n in cited and cited[event.n].doc_id == event.doc_id
        assert event.text == " ".join(answer.evidence[event.n - 1].text.split())
        if not event.named:
            assert event.day == event.published_at[:10]


def test_no_gold_question_gets_a_period(gold_index):
    """The gold set's phrasings on its own index (undated Blinken articles, dated Ohtani ones)."""
    from qa import pipeline

    found = pipeline.retriever(gold_index)
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "gold.jsonl").open()]
    read = [(q, found.analyse(q).time) for q in questions]
    assert [(q, t) for q, t in read if t.period or t.recent] == []


def test_quotes_shown_with_the_days_their_relative_words_mean():
    from qa.timeline import with_days

    text = "Officials met on Tuesday and again yesterday; a vote on Nov. 3 passed. Prices may 10 rise."
    assert with_days(text, "2023-11-22T10:00:00Z") == (
        "Officials met on Tuesday (2023-11-21) and again yesterday (2023-11-21); a vote on Nov. 3 (2023-11-03) "
        "passed. Prices may 10 rise.")
    assert with_days(text, "") == text  # an undated article's days stay as written


def test_ui_evidence_quotes_carry_the_days(tmp_path):
    import app
    from qa.answer import READING, Stage
    from qa.evidence import Evidence
    from qa.types import Passage

    sentence = "The envoy arrived on Monday <b>unannounced</b>."
    passage = Passage(chunk_id="c", doc_id="d", title="t", text=sentence, start=0, end=len(sentence),
                      source="Wire", published_at="2023-11-22")
    rendered = app.render_progress(Stage(READING, [Evidence(passage, 0, len(sentence))]), "", 1)
    import html as markup

    assert "on Monday (2023-11-20)" in markup.unescape(rendered) and "<b>" not in rendered
