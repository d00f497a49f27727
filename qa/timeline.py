"""Timelines: a question about how something developed gets its evidence as dated events, in order.

Each event is one evidence sentence, cited as the answer cites it ([n] is evidence[n - 1]), dated
by the day the sentence itself names ("on November 6, 2023", "on Tuesday", "yesterday": a weekday
or relative day is resolved against the article's own publication date), else by the article's
date. No model call: the events are the articles' own sentences, so every line is exactly as true
as its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from qa.evidence import Evidence
from qa.question import dates
from qa.timeframe import MONTHS, published_day

_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
# News style names days bare ("said Tuesday"); not "Black Friday" or "Cyber Monday", which are no day.
_WEEKDAY = re.compile(r"(?<!Black )(?<!Cyber )(?<!Super )(?<!Good )\b(?:(?:on|last|this past)\s+)?("
                      + "|".join(day.capitalize() for day in _WEEKDAYS) + r")\b")
# Lower case, or opening the sentence: "USA Today" is a newspaper.
_RELATIVE_DAY = re.compile(r"\b(yesterday|today|tonight)\b|^(Yesterday|Today|Tonight)\b")
# "on Nov. 6" / "on November 6" without a year: the year of the article (or the one before, for a
# month after the article's). Capitalised: "prices may 10%" names no day.
_MONTH_DAY = re.compile(r"\b(" + "|".join(m[:3].capitalize() for m in MONTHS) + r")[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b"
                        r"(?!,?\s*\d{4})")
_DATE_WORDS = re.compile(r"\b(?:" + "|".join(m.capitalize() for m in MONTHS) + r")\s+\d{1,2},?\s+\d{4}\b|\b\d{4}-\d{2}-\d{2}\b")


def _relative(match: re.Match, published: date) -> date:
    return published - timedelta(days=(match.group(1) or match.group(2)).lower() == "yesterday")


def _weekday(match: re.Match, published: date) -> date:
    back = (published.weekday() - _WEEKDAYS.index(match.group(1).lower())) % 7
    return published - timedelta(days=back or (7 if match.group(0).lower().startswith("last") else 0))


def _month_day(match: re.Match, published: date) -> date | None:
    month = [m[:3] for m in MONTHS].index(match.group(1).lower()) + 1
    try:
        return date(published.year if month <= published.month else published.year - 1, month, int(match.group(2)))
    except ValueError:
        return None


def relative_days(text: str, published: date) -> list[tuple[re.Match, date]]:
    """Each day `text` names without its year or by a relative word ("yesterday", "on Tuesday",
    "on Nov. 3"), read against its article's day `published`, in the order of the rules above."""
    found = []
    for pattern, resolve in ((_RELATIVE_DAY, _relative), (_WEEKDAY, _weekday), (_MONTH_DAY, _month_day)):
        found += [(match, day) for match in pattern.finditer(text) if (day := resolve(match, published))]
    return found


def with_days(text: str, published_at: str) -> str:
    """`text` with each relative day it names followed by the day it means, for showing a quote:
    "met on Tuesday (2023-11-21)"."""
    published = published_day(published_at)
    if published is None:
        return text
    for match, day in sorted(relative_days(text, published), key=lambda found: found[0].end(), reverse=True):
        text = f"{text[:match.end()]} ({day.isoformat()}){text[match.end():]}"
    return text


@dataclass
class Event:
    """Evidence `n` as a dated event: `day` is ISO ("" when neither the sentence nor its article is
    dated), `named` the words in the sentence that gave it ("on Tuesday"; "" for the article's date).
    Plain values, so a saved conversation keeps its timelines."""

    n: int
    day: str
    text: str
    doc_id: str
    source: str = ""
    published_at: str = ""
    named: str = ""


def event_day(sentence: str, published: date | None) -> tuple[date | None, str]:
    """The day a sentence says its event happened, read against the article's day `published`, and
    the words that say so; the article's day (and "") when it names none."""
    if dates(sentence):
        return dates(sentence)[0], _DATE_WORDS.search(sentence).group(0)
    found = relative_days(sentence, published) if published else []
    return (found[0][1], found[0][0].group(0)) if found else (published, "")


# An event is a sentence: a heading or a run of link titles has no closing punctuation.
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)]*$")


def build_timeline(evidence: list[Evidence]) -> list[Event]:
    """Every evidence sentence as an event, earliest first (undated last), the prompt's order among
    events of one day; a sentence repeated word for word (a wire copy) appears once, and a heading
    (no closing punctuation) not at all."""
    events, seen = [], set()
    for n, e in enumerate(evidence, start=1):
        key = " ".join(e.text.lower().split())
        if key in seen or not _ENDS_SENTENCE.search(key):
            continue
        seen.add(key)
        day, named = event_day(e.text, published_day(e.passage.published_at))
        events.append(Event(n, day.isoformat() if day else "", " ".join(e.text.split()), e.passage.doc_id,
                            e.passage.source, e.passage.published_at, named))
    return sorted(events, key=lambda event: (not event.day, event.day, event.n))
