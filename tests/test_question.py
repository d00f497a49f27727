"""Question analysis: shape, named outlets, sources the corpus does not have, dates."""

from __future__ import annotations

from datetime import date

import pytest

from qa.question import FACT, YES_NO, analyse, dates, named_outlets, options, parts, source_mentions

OUTLETS = ["The Verge", "TechCrunch", "The Age", "The Independent - Sports", "The Independent - Life and Style", "BBC News - Technology", "The Guardian"]


@pytest.mark.parametrize("question,shape", [
    ("Does The Verge say the launch slipped?", YES_NO),
    ("Was the summit cancelled before the talks in Vienna?", YES_NO),
    ("Between the TechCrunch report on May 2, 2023 and the one on May 9, 2023, did the price change?", YES_NO),
    ("After The Age reported the result, was there a recount?", YES_NO),
    ("Which company, reported by TechCrunch, is also said to have lost the case?", FACT),
    ("Who led the delegation?", FACT),
    ("Considering the Verge article, what is the name of the phone?", FACT),
])
def test_shape(question, shape):
    assert analyse(question, OUTLETS).shape == shape


def test_named_outlets_are_case_sensitive_and_prefer_the_longest_name():
    assert named_outlets("As reported by The Age and TechCrunch", OUTLETS) == ["The Age", "TechCrunch"]
    assert named_outlets("at the age of ten", OUTLETS) == []
    assert named_outlets("did The Independent - Sports say", OUTLETS + ["The Independent"]) == [
        "The Independent - Sports"]


@pytest.mark.parametrize("question,unknown", [
    ("Considering a Bloomberg article and a report by Reuters on the merger, who led it?", ["Bloomberg", "Reuters"]),
    ("As reported by The Wall Street Journal, how large was the fine?", ["The Wall Street Journal"]),
    ("According to The Treasury Department, how large was the fine?", []),  # people and agencies, mostly
    ("What did a Guardian piece and a BBC News article say about the storm?", []),  # both indexed
    ("Did the 'Moneyline Betting' article from The Verge mention odds?", []),  # a quoted title, not an outlet
    ("What did the TechCrunch report on Google's plans say?", []),
    ("Which club, covered in The Age's report, won?", []),
    ("What happened in the report from November 3, 2023?", []),
    ("Who, according to articles from The Guardian and The Washington Post, won?", ["The Washington Post"]),
    ("What did the State Department say, according to Campbell?", []),
    ("Which pair, according to The Verge and The Independent - Life and Style, split?", []),
    ("Which firm, reviewed by TechCrunch for its model, was fined?", []),
])
def test_sources_the_corpus_lacks(question, unknown):
    assert analyse(question, OUTLETS).unknown_outlets == unknown


@pytest.mark.parametrize("text,days", [
    ("published on November 6, 2023", [date(2023, 11, 6)]),
    ("the one on 2023-10-02 and the one on October 24 2023", [date(2023, 10, 2), date(2023, 10, 24)]),
    # Not a full calendar day: none.
    ("in November 2023", []), ("the 2023-24 season", []), ("a 3-1 win on Tuesday", []),
    ("on 2023-13-45", []), ("February 30, 2024", []),
])
def test_dates_are_full_calendar_days(text, days):
    assert dates(text) == days


def test_mentions_and_dates():
    question = "Did the report by Reuters published on October 5, 2023 come before the one from September 30, 2023?"
    assert source_mentions(question) == ["Reuters"]
    analysis = analyse(question, OUTLETS)
    assert analysis.temporal and analysis.dates == [date(2023, 10, 5), date(2023, 9, 30)]
    assert not analyse("Who won the final?", OUTLETS).temporal


@pytest.mark.parametrize("question,shape", [
    ("Can you tell me why the trip was cancelled?", FACT),
    ("Could you explain how the balloon was found?", FACT),
    ("Do you know who arranged Blinken's trip?", FACT),
    ("Was it the Pentagon or the State Department that shot the balloon down?", FACT),
    ("Did France score six tries or eight against Italy?", FACT),
    ("Is it true that the balloon was shot down off South Carolina?", YES_NO),
    ("Do you know if the trip was rescheduled?", YES_NO),
    ("Did the talks take place in Vienna or not?", YES_NO),
    ("Can the balloon be recovered from the sea?", YES_NO),
])
def test_only_questions_that_ask_for_a_verdict_are_yes_no(question, shape):
    assert analyse(question, OUTLETS).shape == shape


@pytest.mark.parametrize("question,temporal", [
    ("What is the difference between the US and Chinese accounts?", False),
    ("What is the relationship between Sullivan and Wang Yi?", False),
    ("Between the report on May 2, 2023 and the one on May 9, 2023, did the price change?", True),
    ("Between the TechCrunch report on the merger and the Verge article on it, which came out first?", True),
    ("Did The Verge report on the launch before TechCrunch did?", True),
])
def test_between_is_about_time_only_with_dates_or_reports(question, temporal):
    assert analyse(question, OUTLETS).temporal is temporal


@pytest.mark.parametrize("question,outlets,published,unknown", [
    ("What was reported by Chinese officials about the meeting?", ["Reuters"], set(), []),
    ("What does a Pentagon report say about the balloon?", ["Reuters"], set(), []),
    ("What did a BBC report say about the balloon?", ["Reuters"], {"BBC"}, []),  # BBC pages with no outlet recorded
    ("What did an article in the Elsworth Courier say?", ["Reuters"], set(), ["the Elsworth Courier"]),
    ("What did a Bloomberg article say about the balloon?", ["Reuters"], set(), ["Bloomberg"]),
    ("What did a Bloomberg article say about the balloon?", [], set(), []),  # no outlet metadata: never
    ("What did an NYT article say about the deal?", ["The New York Times"], set(), []),
    ("What did a BBC report say about the storm?", ["BBC News - Technology"], set(), []),
    ("As reported by the Guardian, who scored?", ["The Guardian"], set(), []),
    ("What did a WSJ report say about the fine?", ["The Guardian"], set(), ["WSJ"]),
    ("What did the report by the Justice Department say?", ["The Guardian"], set(), []),
])
def test_sources_are_refused_only_when_they_are_outlets(question, outlets, published, unknown):
    assert analyse(question, outlets, may_have_published=lambda name: name in published).unknown_outlets == unknown


def test_casual_outlet_names_find_the_indexed_outlet():
    outlets = ["The New York Times", "The Guardian", "BBC News - Technology", "BBC News - Entertainment & Arts"]
    assert named_outlets("What did NYT say about Haaland?", outlets) == ["The New York Times"]
    assert named_outlets("What did the Guardian say about Salah?", outlets) == ["The Guardian"]
    assert named_outlets("What did the BBC say about Kenwright?", outlets) == ["BBC News - Technology",
                                                                              "BBC News - Entertainment & Arts"]
    assert named_outlets("What did the guardian of the park say?", outlets) == []


def test_a_multi_part_question_is_split_into_its_claims():
    question = ("Does the TechCrunch article say the startup raised $5 million, while The Verge reports that "
                "its founder stepped down in March?")
    assert parts(question) == ["Does the TechCrunch article say the startup raised $5 million",
                               "The Verge reports that its founder stepped down in March?"]


@pytest.mark.parametrize("question", [
    "Can you tell me why the trip was cancelled?",
    "What is the difference between the US and Chinese accounts?",   # "and" inside one claim
    "Who met in Vienna, and when?",                                  # the second piece is too short
    "Was it Oregon State or Washington State?",
])
def test_a_question_with_one_claim_has_no_parts(question):
    assert parts(question) == []


@pytest.mark.parametrize("question,expected", [
    ("Was the trip cancelled because of rain or because of strikes?", ["because of rain", "because of strikes"]),
    ("Did it happen at the end of the Permian or the end of the Cretaceous?",
     ["the end of the Permian", "the end of the Cretaceous"]),
    ("Did Australia beat Finland or the Czech Republic to reach the final?", ["Finland", "the Czech Republic"]),
    ("Was it Oregon State or Washington State?", ["Oregon State", "Washington State"]),
    ("Did France score six tries or eight against Italy?", ["six tries", "eight"]),
    ("Did the deal cost $5 million or $8 million?", ["$5 million", "$8 million"]),
    ("Did prices rise or fall last year?", ["rise", "fall"]),
])
def test_either_or_options(question, expected):
    assert options(question) == expected
    assert analyse(question, OUTLETS).options == expected


@pytest.mark.parametrize("question", [
    "Did the summit go ahead or not?",                     # a verdict
    "Why was the trip cancelled?",
    "What did officials say, or did they stay silent, about the crash in the harbour last week? "
    "Tell me everything the articles report about it please.",   # long: a compound question
    "Did the TechCrunch article say X, or did The Verge report Y first?",  # a comma: two clauses
])
def test_no_options_where_there_is_no_choice(question):
    assert options(question) == []
