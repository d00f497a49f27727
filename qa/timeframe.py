"""Time as a filter: publication-date ranges, and what a question says about time.

A `Period` restricts retrieval to articles published within it (Chroma `where` on the numeric
`day` field every chunk and sentence carries; BM25 through the same articles' rows). Periods come
from the user (`--since/--until`, the UI's date range) or from the question: relative phrases
("last week", "the past 3 days", "yesterday") are read against the newest article in the index,
the corpus's "now", since a news archive is rarely up to the minute. A named month or year ("in
March", "in 2023") and "since <date>" become a period only when articles were published in it:
"in January 2020" in a question about 2023 news names the event's time, not the articles'.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = "january february march april may june july august september october november december".split()


class PeriodError(ValueError):
    """A date the user typed that is not a date."""


@dataclass(frozen=True)
class Period:
    """Publication days from `since` to `until`, both included; None = open on that side."""

    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise PeriodError(f"the period starts ({self.since}) after it ends ({self.until})")

    def contains(self, day: date | None) -> bool:
        return day is not None and (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def where(self) -> dict:
        """The Chroma `where` clause on the `day` field (an undated article, day 0, is never in a period)."""
        clauses = [{"day": {"$gte": day_number(self.since) if self.since else 1}}]
        if self.until:
            clauses.append({"day": {"$lte": day_number(self.until)}})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def __str__(self) -> str:
        """As it follows "published": "on 2023-11-06", "2023-11-27 – 2023-12-03", "since 2023-11-01"."""
        if self.since and self.until:
            return f"on {self.since}" if self.since == self.until else f"{self.since} – {self.until}"
        return f"since {self.since}" if self.since else f"until {self.until}"


def day_number(value: date | str) -> int:
    """20231106 for 2023-11-06 (or "2023-11-06T10:00Z"); 0 for an undated or unreadable value."""
    day = value if isinstance(value, date) else published_day(value)
    return day.year * 10000 + day.month * 100 + day.day if day else 0


def published_day(published_at: str) -> date | None:
    """The calendar day of an article's `published_at` (its first ten characters, ISO)."""
    try:
        return date.fromisoformat(published_at[:10])
    except (ValueError, TypeError):
        return None


_TYPED = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def parse_day(text: str, *, end: bool = False) -> date:
    """A day the user typed: "2023-11-06", or "2023-11" / "2023" meaning its first day (its last with `end`)."""
    match = _TYPED.match(text or "")
    if not match:
        raise PeriodError(f"{text!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = (int(part) if part else None for part in match.groups())
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            return date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        return date(year, month, day)
    except ValueError:
        raise PeriodError(f"{text!r} is not a date") from None


def period_between(since: str | None, until: str | None) -> Period | None:
    """The period of two typed dates (either may be empty); None when both are."""
    since, until = (since or "").strip(), (until or "").strip()
    if not since and not until:
        return None
    return Period(parse_day(since) if since else None, parse_day(until, end=True) if until else None)


# --- what a question says about time -----------------------------------------

@dataclass(frozen=True)
class TimeReading:
    """What a question's words say about time: the period they name (`phrase` is the words read,
    `relative` whether it was read against the newest article), or a wish for the newest news."""

    period: Period | None = None
    phrase: str = ""
    relative: bool = False
    recent: bool = False


_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "a few": 3, "few": 3}
_SPAN = r"(\d{1,3}|two|three|four|five|six|seven|ten|(?:a\s+)?few)"
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}
_MONTH = "|".join(MONTHS)
# Not "today": it means "nowadays" as often as the day ("how important is the line of contact today?").
_YESTERDAY = re.compile(r"\byesterday\b", re.IGNORECASE)
_PAST_SPAN = re.compile(rf"\b(?:in\s+|over\s+|during\s+)?the\s+(?:past|last)\s+(?:{_SPAN}\s+)?(day|week|month)s?\b(?!\s+of\b)",
                        re.IGNORECASE)
_CALENDAR = re.compile(r"\b(this|last)\s+(week|month)\b(?!\s+of\b)", re.IGNORECASE)
# A month or year names the articles' time only right after news words ("what happened in March",
# "articles from 2023"); elsewhere it is an event's ("sales in September", "spent $26 billion in 2021").
_NEWS_WORDS = r"\b(?:happened|reported|published|written|news|articles?|stor(?:y|ies)|coverage|headlines)\s+"
_IN_MONTH = re.compile(rf"{_NEWS_WORDS}(?:in|during|from)\s+(?:early\s+|late\s+|mid-?)?({_MONTH})(?:\s+(\d{{4}}))?\b"
                       r"(?!\s+\d)", re.IGNORECASE)
_IN_YEAR = re.compile(rf"{_NEWS_WORDS}(?:in|during|from)\s+((?:19|20)\d\d)\b(?!\s*[-–/]\s*\d)", re.IGNORECASE)
_ANY_MONTH_OR_YEAR = re.compile(rf"\b(?:{_MONTH})(?:\s+\d{{1,2}}(?:st|nd|rd|th)?,?)?(?:\s+\d{{4}})?\b|\b(?:19|20)\d\d\b",
                                re.IGNORECASE)
_SINCE = re.compile(rf"\bsince\s+(?:(?:early|late|mid-?)\s*)?({_MONTH})(?:\s+(\d{{1,2}})(?:st|nd|rd|th)?)?(?:,?\s+(\d{{4}}))?\b"
                    r"|\bsince\s+(\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
# Asking for the newest news, not "the latest iPhone": latest/newest followed by news words, or
# "most recent(ly)" as the question's time, or "What's the latest on/about/with".
_RECENT = re.compile(r"\bthe\s+(?:latest|newest|most\s+recent)\s+(?:news|updates?|reports?|developments?|"
                     r"articles?|stor(?:y|ies)|coverage)\b|\bthe\s+latest\s+(?:on|about|with|in)\b"
                     r"|\bmost\s+recently\b", re.IGNORECASE)


def read_time(question: str, newest: date | None, narrows=lambda period: True) -> TimeReading:
    """The period or recency a question asks for, read against `newest` (the newest article's day).

    `narrows(period)`: some articles, but not all, were published in the period. Named months,
    years and "since" become a period only then (with none they name an event's time; with all, a
    filter would change nothing but the prompt's order)."""
    if newest is not None:
        relative = _relative_period(question, newest)
        if relative:
            return relative
        named = _named_period(question, newest)
        if named and narrows(named.period):
            return named
    return TimeReading(recent=bool(_RECENT.search(question)))


def _relative_period(question: str, newest: date) -> TimeReading | None:
    if match := _YESTERDAY.search(question):
        day = newest - timedelta(days=1)
        return TimeReading(Period(day, day), match.group(0), relative=True)
    if match := _PAST_SPAN.search(question):
        count = match.group(1) or "1"
        count = _NUMBER_WORDS.get(" ".join(count.lower().split()), None) or int(count)
        days = count * _UNIT_DAYS[match.group(2).lower()]
        return TimeReading(Period(newest - timedelta(days=days - 1), newest), match.group(0).strip(), relative=True)
    if match := _CALENDAR.search(question):
        which, unit = match.group(1).lower(), match.group(2).lower()
        if unit == "week":
            monday = newest - timedelta(days=newest.weekday())
            period = Period(monday, newest) if which == "this" else Period(monday - timedelta(days=7),
                                                                           monday - timedelta(days=1))
        else:
            first = newest.replace(day=1)
            before = first - timedelta(days=1)
            period = Period(first, newest) if which == "this" else Period(before.replace(day=1), before)
        return TimeReading(period, match.group(0), relative=True)
    return None


def _named_period(question: str, newest: date) -> TimeReading | None:
    if len(_ANY_MONTH_OR_YEAR.findall(question)) > 1:
        return None  # "the article in November and the report in December": a comparison across times
    if match := _SINCE.search(question):
        try:  # "since 2023-02-30" names no day
            if match.group(4):
                since = date.fromisoformat(match.group(4))
            else:
                month = MONTHS.index(match.group(1).lower()) + 1
                year = int(match.group(3)) if match.group(3) else _year_of(month, newest)
                since = date(year, month, int(match.group(2)) if match.group(2) else 1)
        except ValueError:
            return None
        return TimeReading(Period(since, None), match.group(0)) if since <= newest else None
    if match := _IN_MONTH.search(question):
        month = MONTHS.index(match.group(1).lower()) + 1
        if match.group(1)[0].islower() and match.group(1).lower() in ("may", "march"):
            return None  # "may" / "march" in lower case are verbs
        year = int(match.group(2)) if match.group(2) else _year_of(month, newest)
        return TimeReading(Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])),
                           match.group(0))
    if match := _IN_YEAR.search(question):
        year = int(match.group(1))
        return TimeReading(Period(date(year, 1, 1), date(year, 12, 31)), match.group(0))
    return None


def _year_of(month: int, newest: date) -> int:
    """The year of the latest such month at or before `newest`."""
    return newest.year if month <= newest.month else newest.year - 1
