"""Question analysis: what shape a question has and which outlets and dates it names.

Rules only (no model call): they are fast, testable and right on the patterns news questions
use. The shape decides how the question is answered (`qa.answer`); the outlets decide which
parts of the corpus are searched (`qa.retrieve`) and whether the corpus can answer at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from qa.timeframe import Period, TimeReading, read_time

YES_NO = "yes_no"
FACT = "fact"

# A yes/no question asks for a verdict: its main clause opens with an auxiliary verb ("Does the
# article…", "Is it true that…", or "Between the report on X and the report on Y, was there…"); a
# wh-word anywhere makes it a fact question.
_AUX = r"(do|does|did|is|are|was|were|has|have|had|can|could|would|will|should)"
_AUXILIARY_FIRST = re.compile(rf"^\W*{_AUX}\b", re.IGNORECASE)
_AUXILIARY_CLAUSE = re.compile(rf",\s*{_AUX}\s+(there|the|it|they|both|all|\w+['’]s|[A-Z])", re.IGNORECASE)
_WH = re.compile(r"(^|[,;]\s*)\W*(which|what|who|whose|whom|where|when|how|why)\b", re.IGNORECASE)
# Requests that open with an auxiliary but ask for a fact: "Can you tell me why…", "Do you know who…".
_POLITE_REQUEST = re.compile(r"^\W*(can|could|would|will)\s+(you|anyone|someone)\s+(please\s+)?"
                             r"(tell|explain|say|describe|give|summari[sz]e|list|show|remind)\b"
                             r"|^\W*(do|does)\s+(you|anyone|someone)\s+know\s+(who|what|which|why|how|when|where|whose)\b",
                             re.IGNORECASE)
# "Was it X or Y?": answered with the option, not with Yes or No ("… or not?" is still a verdict).
# Only in a short question: a long one with "or" in it is a compound verdict ("Did X say A, or did Y…?").
# Not ", or do they…": a second clause, so a compound verdict.
_EITHER_OR = re.compile(rf"[^\s,;]\s+or\s+(?!not\b|otherwise\b|{_AUX}\b)\S[^,;]*\?\s*$", re.IGNORECASE)
_EITHER_OR_MAX_WORDS = 25
# Words that make a question about order or change over time. "between" only with dates or reports
# on both sides ("between the report on May 2 and…"), not in "the difference between X and Y".
_TEMPORAL = re.compile(r"\b(before|after|earlier|later|prior to|following|since|remained|changed?|"
                       r"shift(ed)?|consistent|published (on|in)|as of|timeline|over time)\b",
                       re.IGNORECASE)
_BETWEEN_REPORTS = re.compile(r"\bbetween\s+(the\s+)?(\w+\s+){0,4}(reports?|articles?|stor(y|ies)|publications?)\b"
                              r"\s+(on|from|by|in|published)\b", re.IGNORECASE)
# "How did the strike unfold?", "timeline of the talks", "what led up to the ceasefire". Not "the
# AI developed by OpenAI": the verb must end the question's clause ("how did X develop").
_TIMELINE = re.compile(
    r"\btime\s?line\b|\bchronology\b|\bsequence of events\b|\bwhat led (?:up )?to\b|\bstep by step\b"
    r"|\bhow\s+(?:did|has|have|had)\b[^?.;]{1,120}?\b(?:unfold(?:ed)?|develop(?:ed)?|evolve[d]?|progress(?:ed)?|"
    r"play(?:ed)?\s+out|escalate[d]?|come\s+about)\s*(?:\?|$|over\b|since\b|after\b|in\b|during\b)",
    re.IGNORECASE)
_MONTHS = ("january february march april may june july august september october november december").split()
_DATE = re.compile(r"\b(?:(" + "|".join(m.capitalize() for m in _MONTHS) + r")\s+(\d{1,2}),?\s+(\d{4})"
                   r"|(\d{4})-(\d{2})-(\d{2}))\b")

# An outlet-like name: capitalised words, optionally joined by "of", "&", "|" or "-" ("The Wall Street Journal").
_NAME_WORD = r"[A-Z][\w.&'’-]*"
_NAME = rf"((?:[Tt]he )?{_NAME_WORD}(?: (?:{_NAME_WORD}|&|\||of|for|and|-))*)"
# Phrases that introduce a source: "a Bloomberg article", "a report by Reuters", "reported by CNN".
_SOURCE_PATTERNS = [
    re.compile(rf"\b(?:from|by|in|of|on|an?)\s+(?:an?\s+|the\s+)?{_NAME}\s+(?:article|report|piece|story|publication)s?\b"),
    # Not "according to": it introduces people and agencies far more often than outlets.
    re.compile(rf"\b(?i:reported by|published by|published in)\s+"
               rf"(?:an?\s+(?:article|report|piece)\s+(?:from|by|in)\s+)?{_NAME}"),
    re.compile(rf"\b(?:article|report|piece)s?\s+(?:from|by|in)\s+{_NAME}"),
]
QUOTES = "'‘’\"“”"
_NOT_A_SOURCE = {"The", "A", "An", "Which", "What", "Who", "According", "Considering", "Based"}
# Nouns that make the name before or after them a publication; "report" does not: officials,
# agencies and courts publish reports ("a Pentagon report", "reported by Chinese officials").
_PUBLICATION = re.compile(r"\b(article|piece|story|stories|publication|column|newspaper|magazine|published)\b",
                          re.IGNORECASE)

# The one alias table: how people name outlets → the outlet's usual stored name. Extend it per
# corpus with the `outlet_aliases` setting (a TOML file of `"alias" = "Outlet"` lines).
OUTLET_ALIASES = {
    "NYT": "The New York Times", "New York Times": "The New York Times", "NY Times": "The New York Times",
    "WSJ": "The Wall Street Journal", "Wall Street Journal": "The Wall Street Journal",
    "WaPo": "The Washington Post", "Washington Post": "The Washington Post",
    "FT": "Financial Times", "AP": "Associated Press", "BBC": "BBC News", "CNBC": "Cnbc",
    "Fox News": "FOX News", "Guardian": "The Guardian", "Independent": "The Independent",
    "SMH": "The Sydney Morning Herald", "Sydney Morning Herald": "The Sydney Morning Herald",
    "Verge": "The Verge", "LA Times": "Los Angeles Times",
}
# Outlets well enough known that a question naming one as its source, with none of its articles
# indexed, is refused even without "article" next to the name.
KNOWN_OUTLETS = frozenset(OUTLET_ALIASES) | frozenset(OUTLET_ALIASES.values()) | {
    "Reuters", "Bloomberg", "CNN", "NPR", "Politico", "Axios", "The Economist", "Forbes", "Fortune", "TechCrunch",
    "Wired", "Engadget", "Al Jazeera", "ABC News", "NBC News", "CBS News", "USA Today", "The Telegraph",
    "Daily Mail", "The Atlantic", "Vox", "Business Insider", "Yahoo News", "Sky News", "AFP", "Xinhua", "Nikkei",
    "The Times", "Le Monde", "Der Spiegel", "Newsweek", "The Hill", "Mashable", "Polygon"}


@dataclass(frozen=True)
class Question:
    """A question with what the rules found in it."""

    text: str
    shape: str = FACT                # YES_NO or FACT: how the answer must start
    temporal: bool = False           # about order or change over time: passages go in date order
    outlets: list[str] = field(default_factory=list)          # corpus outlets it names, in order
    unknown_outlets: list[str] = field(default_factory=list)  # named sources the corpus has no article from
    dates: list[date] = field(default_factory=list)
    options: list[str] = field(default_factory=list)  # the two options of "Was it X or Y?"
    time: TimeReading = TimeReading()  # the period it names ("last week") or a wish for the newest news
    timeline: bool = False           # asks how something developed: answered with dated events too


def analyse(text: str, known_outlets: list[str], may_have_published: Callable[[str], bool] = lambda name: False,
            aliases: dict[str, str] = OUTLET_ALIASES, *, newest: date | None = None,
            narrows: Callable[[Period], bool] = lambda period: True) -> Question:
    """`may_have_published(name)`: the name could be the unrecorded outlet of some indexed articles
    (see `unknown_sources`). `newest` (the newest article's day; None: time phrases are not read) and
    `narrows` serve `qa.timeframe.read_time`."""
    named_dates = dates(text)
    time = read_time(text, newest, narrows)
    timeline = is_timeline_question(text)
    return Question(
        text=text,
        shape=YES_NO if is_yes_no(text) else FACT,
        temporal=is_temporal(text, named_dates) or time.recent or time.period is not None or timeline,
        time=time,
        timeline=timeline,
        outlets=named_outlets(text, known_outlets, aliases),
        unknown_outlets=unknown_sources(text, known_outlets, may_have_published, aliases),
        dates=named_dates,
        options=options(text),
    )


# Where a multi-part question divides: commas, semicolons and the words that join its claims.
_JOINERS = r"(?:and|but|while|whereas|yet|despite|although|compared to|in contrast to|as well as|or|with)"
_PART_BREAK = re.compile(rf"\s*[,;:]\s*(?:{_JOINERS}\s+)?|\s+{_JOINERS}\s+", re.IGNORECASE)
_PART_MIN_WORDS = 4


def parts(text: str) -> list[str]:
    """The claims a multi-part question combines ("X, as reported by A, while B says Y" → two parts),
    each of at least four words; [] for a question with one part."""
    pieces, current = [], ""
    for piece in _PART_BREAK.split(text):
        current = f"{current} {piece}".strip() if current else piece.strip()
        if len(current.split()) >= _PART_MIN_WORDS:
            pieces.append(current)
            current = ""
    if current and pieces:
        pieces[-1] = f"{pieces[-1]} {current}"
    return pieces if len(pieces) > 1 else []


def is_yes_no(text: str) -> bool:
    """Asks for a verdict: not a polite request for a fact, not a choice between options."""
    if _POLITE_REQUEST.match(text) or _is_either_or(text):
        return False
    if _AUXILIARY_FIRST.match(text):
        return True
    return not _WH.search(text) and bool(_AUXILIARY_CLAUSE.search(text))


def _is_either_or(text: str) -> bool:
    return len(text.split()) <= _EITHER_OR_MAX_WORDS and bool(_EITHER_OR.search(text))


_ARTICLE = frozenset({"the", "a", "an"})
_OPTION_WORD = re.compile(r"^[A-Z0-9£$€]")
_NUMBER = re.compile(r"^([£$€]?\d[\d.,]*\w*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"twenty|thirty|forty|fifty|hundred|thousand|million|billion)$", re.IGNORECASE)


def options(text: str) -> list[str]:
    """The two options of a short either/or question, or []: "Was it the No. 3 or the No. 5 app?" →
    ["the No. 3", "the No. 5"]. The left option mirrors the right one's opening words ("the end of
    the Permian or the end of the Cretaceous"); without shared words, names against names
    ("Finland or the Czech Republic"), a number against a number ("six tries or eight"), else one
    word each ("rise or fall")."""
    if not _is_either_or(text):
        return []
    left, right = re.split(r"\s+or\s+", text.strip().rstrip("?").strip(), flags=re.IGNORECASE)[-2:]
    lw, rw = left.split(), right.split()
    return _mirrored(lw, rw) or _numbers(lw, rw) or _names(lw, rw)


def _mirrored(lw: list[str], rw: list[str]) -> list[str]:
    """The left option starts where the words before "or" best repeat the right one's opening."""
    best, shared = None, 0
    for i in range(len(lw) - 1, max(-1, len(lw) - 8), -1):
        n = next((k for k, (a, b) in enumerate(zip(lw[i:], rw)) if a.lower() != b.lower()),
                 min(len(lw) - i, len(rw)))
        if shared < n < len(lw) - i:
            best, shared = i, n
    if best is None:
        return []
    first = lw[best:]
    return [" ".join(first), " ".join(rw[:len(first)])]


def _numbers(lw: list[str], rw: list[str]) -> list[str]:
    """A number against a number ("six tries or eight", "$5 million or $8 million")."""
    start = 1 if rw and rw[0].lower() in _ARTICLE else 0
    numbers = [i for i, w in enumerate(lw) if _NUMBER.match(w)]
    if not (start < len(rw) and _NUMBER.match(rw[start]) and numbers):
        return []
    k, m = numbers[-1], start + 1
    while k > 0 and _NUMBER.match(lw[k - 1]):
        k -= 1
    while m < len(rw) and _NUMBER.match(rw[m]):
        m += 1
    return [" ".join(lw[k:]), " ".join(rw[:m])]


def _names(lw: list[str], rw: list[str]) -> list[str]:
    """Capitalised words against capitalised words ("Finland or the Czech Republic"), else one word each."""
    start = 1 if rw and rw[0].lower() in _ARTICLE else 0
    k = len(lw)
    while k > 0 and _OPTION_WORD.match(lw[k - 1]):
        k -= 1
    m = start
    while m < len(rw) and _OPTION_WORD.match(rw[m]):
        m += 1
    if k == len(lw) or m == start:
        k, m = len(lw) - 1, start + 1
    return [" ".join(lw[k:]), " ".join(rw[:m])] if lw and m <= len(rw) else []


def is_timeline_question(text: str) -> bool:
    """Asks how something developed over time ("How did the talks unfold?", "timeline of the strike")."""
    return bool(_TIMELINE.search(text))


def is_temporal(text: str, dates: list[date]) -> bool:
    return bool(_TEMPORAL.search(text) or _BETWEEN_REPORTS.search(text)
                or (len(dates) >= 2 and re.search(r"\bbetween\b", text, re.IGNORECASE)))


def named_outlets(question: str, outlets: list[str], aliases: dict[str, str] = OUTLET_ALIASES) -> list[str]:
    """Outlets of the corpus that the question names, in the order it names them.

    Names match case-sensitively on word boundaries, so the outlet "The Age" matches
    "reported by The Age" and "the Age" but not "the age of"; a name that is part of a longer named
    outlet ("The Independent" in "The Independent - Sports") does not count separately. An alias
    ("NYT", "the Guardian", "BBC") names every indexed outlet its full name covers.
    """
    found: list[tuple[int, int, str]] = []
    for name in outlets:
        match = re.search(rf"(?<![\w-]){_name_pattern(name)}(?![\w-])", question)
        if match:
            found.append((match.start(), match.end(), name))
    for alias, full in aliases.items():
        covered = [name for name in outlets if _covers(full, name)]
        match = re.search(rf"(?<![\w-])(?:[Tt]he\s+)?{re.escape(alias)}(?![\w-])", question) if covered else None
        if match:
            found += [(match.start(), match.end(), name) for name in covered]
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    kept: list[tuple[int, int, str]] = []
    for start, end, name in found:
        if not any((start >= s and end <= e and (start, end) != (s, e)) or name == n for s, e, n in kept):
            kept.append((start, end, name))
    return [name for _, _, name in kept]


def _name_pattern(name: str) -> str:
    """The outlet's name, with its leading "The" also in lower case ("the Guardian")."""
    if name.startswith("The "):
        return r"[Tt]he\s+" + re.escape(name[4:])
    return re.escape(name)


def source_mentions(question: str) -> list[str]:
    """Names the question gives as the source of a report ("a Bloomberg article" → "Bloomberg")."""
    return [name for name, _ in _mentions(question)]


def _mentions(question: str) -> list[tuple[str, bool]]:
    """(name, named as a publication) for each source the question gives, in order."""
    found: list[tuple[int, str, bool]] = []
    for pattern in _SOURCE_PATTERNS:
        for match in pattern.finditer(question):
            raw = match.group(1)
            name = re.sub(r"(\s+(and|for|of|&|\||-))+$", "", raw).strip(" '‘’\"“”,.")
            before = question[match.start(1) - 1:match.start(1)]
            quoted = before in QUOTES or raw[-1:] in QUOTES or question[match.end(1):match.end(1) + 1] in QUOTES
            if (not name or name in _NOT_A_SOURCE or name.endswith(("'s", "’s")) or quoted
                    or name.split()[0].lower() in _MONTHS):
                continue  # possessives, quoted titles and dates are not outlets
            context = match.group(0).replace(raw, " ")
            found.append((match.start(1), name, bool(_PUBLICATION.search(context))))
    mentions: dict[str, bool] = {}
    for _, name, as_publication in sorted(found):
        mentions[name] = mentions.get(name, False) or as_publication
    return list(mentions.items())


def unknown_sources(question: str, known_outlets: list[str],
                    may_have_published: Callable[[str], bool] = lambda name: False,
                    aliases: dict[str, str] = OUTLET_ALIASES) -> list[str]:
    """Outlets the question names as its source that no indexed outlet matches.

    A name counts only as an outlet: one people know as such (`KNOWN_OUTLETS`), or another name given
    as the publisher of an article ("an article in X"); officials, agencies and courts report too
    ("reported by Chinese officials", "a Pentagon report"). An index without outlets never refuses, and
    none refuses a name that `may_have_published(name)` some of its articles (the index cannot tell
    who published them, and the name occurs in their text). "X and Y" is split where X and Y are not
    one outlet's name ("The Independent - Life and Style").
    """
    if not known_outlets:
        return []
    known = lambda name: _is_known(name, known_outlets, aliases)  # noqa: E731
    unknown: list[str] = []
    for mention, as_publication in _mentions(question):
        parts: list[str] = []
        for piece in re.split(r"\s+and\s+", mention):
            joined = f"{parts[-1]} and {piece}" if parts else ""
            if joined and known(joined):
                parts[-1] = joined
            else:
                parts.append(piece)
        for part in parts:
            is_outlet = as_publication or _simple(part) in {_simple(name) for name in KNOWN_OUTLETS}
            if is_outlet and not known(part) and not may_have_published(part) and part not in unknown:
                unknown.append(part)
    return unknown


def _simple(name: str) -> str:
    return re.sub(r"^the\s+", "", name.strip().lower())


def _covers(full: str, outlet: str) -> bool:
    """"BBC News" covers "BBC News - Technology"; "Guardian" covers "The Guardian"."""
    wanted, known = _simple(full), _simple(outlet)
    return known == wanted or known.startswith(wanted + " ")


def _is_known(name: str, outlets: list[str], aliases: dict[str, str] = OUTLET_ALIASES) -> bool:
    full = next((value for alias, value in aliases.items() if _simple(alias) == _simple(name)), name)
    return any(_covers(name, outlet) or _covers(full, outlet) for outlet in outlets)


def dates(text: str) -> list[date]:
    """The calendar days the text names in full, in order: "November 6, 2023", "2023-11-06"."""
    found = []
    for match in _DATE.finditer(text):
        month, day, year, iso_year, iso_month, iso_day = match.groups()
        try:
            found.append(date(int(year), _MONTHS.index(month.lower()) + 1, int(day)) if month
                         else date(int(iso_year), int(iso_month), int(iso_day)))
        except ValueError:
            continue
    return found
