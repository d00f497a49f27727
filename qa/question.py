"""Question analysis: what shape a question has and which outlets and dates it names.

Rules only (no model call): they are fast, testable and right on the patterns news questions
use. The shape decides how the question is answered (`qa.answer`); the outlets decide which
parts of the corpus are searched (`qa.retrieve`) and whether the corpus can answer at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

YES_NO = "yes_no"
FACT = "fact"

# A yes/no question's main clause opens with an auxiliary verb: "Does the article…", or
# "Between the report on X and the report on Y, was there…"; a wh-word anywhere makes it a fact question.
_AUX = r"(do|does|did|is|are|was|were|has|have|had|can|could|would|will|should)"
_AUXILIARY_FIRST = re.compile(rf"^\W*{_AUX}\b", re.IGNORECASE)
_AUXILIARY_CLAUSE = re.compile(rf",\s*{_AUX}\s+(there|the|it|they|both|all|\w+['’]s|[A-Z])", re.IGNORECASE)
_WH = re.compile(r"(^|[,;]\s*)\W*(which|what|who|whose|whom|where|when|how|why)\b", re.IGNORECASE)
# Words that make a question about order or change over time.
_TEMPORAL = re.compile(r"\b(before|after|earlier|later|prior to|following|since|between|remained|changed?|"
                       r"shift(ed)?|consistent|published (on|in)|as of)\b", re.IGNORECASE)
_MONTHS = ("january february march april may june july august september october november december").split()
_DATE = re.compile(r"\b(" + "|".join(m.capitalize() for m in _MONTHS) + r")\s+(\d{1,2}),?\s+(\d{4})\b")

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


@dataclass(frozen=True)
class Question:
    """A question with what the rules found in it."""

    text: str
    shape: str = FACT                # YES_NO or FACT: how the answer must start
    temporal: bool = False           # about order or change over time: passages go in date order
    outlets: list[str] = field(default_factory=list)          # corpus outlets it names, in order
    unknown_outlets: list[str] = field(default_factory=list)  # named sources the corpus has no article from
    dates: list[date] = field(default_factory=list)


def analyse(text: str, known_outlets: list[str]) -> Question:
    outlets = named_outlets(text, known_outlets)
    return Question(
        text=text,
        shape=YES_NO if _is_yes_no(text) else FACT,
        temporal=bool(_TEMPORAL.search(text)),
        outlets=outlets,
        unknown_outlets=unknown_sources(text, known_outlets),
        dates=_dates(text),
    )


def _is_yes_no(text: str) -> bool:
    if _AUXILIARY_FIRST.match(text):
        return True
    return not _WH.search(text) and bool(_AUXILIARY_CLAUSE.search(text))


def named_outlets(question: str, outlets: list[str]) -> list[str]:
    """Outlets of the corpus that the question names, in the order it names them.

    Names match case-sensitively on word boundaries, so the outlet "The Age" matches
    "reported by The Age" but not "the age of"; a name that is part of a longer named
    outlet ("The Independent" in "The Independent - Sports") does not count separately.
    """
    found: list[tuple[int, int, str]] = []
    for name in outlets:
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", question)
        if match:
            found.append((match.start(), match.end(), name))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    kept: list[tuple[int, int, str]] = []
    for start, end, name in found:
        if not any(start >= s and end <= e for s, e, _ in kept):
            kept.append((start, end, name))
    return [name for _, _, name in kept]


def source_mentions(question: str) -> list[str]:
    """Names the question gives as the source of a report ("a Bloomberg article" → "Bloomberg")."""
    found: list[tuple[int, str]] = []
    for pattern in _SOURCE_PATTERNS:
        for match in pattern.finditer(question):
            raw = match.group(1)
            name = re.sub(r"(\s+(and|for|of|&|\||-))+$", "", raw).strip(" '‘’\"“”,.")
            before = question[match.start(1) - 1:match.start(1)]
            quoted = before in QUOTES or raw[-1:] in QUOTES or question[match.end(1):match.end(1) + 1] in QUOTES
            if (not name or name in _NOT_A_SOURCE or name.endswith(("'s", "’s")) or quoted
                    or name.split()[0].lower() in _MONTHS):
                continue  # possessives, quoted titles and dates are not outlets
            found.append((match.start(1), name))
    names: list[str] = []
    for _, name in sorted(found):
        if name not in names:
            names.append(name)
    return names


def unknown_sources(question: str, known_outlets: list[str]) -> list[str]:
    """Sources the question names that no indexed outlet matches; "X and Y" is split where X and Y
    are not one outlet's name ("The Independent - Life and Style" is one)."""
    unknown: list[str] = []
    for mention in source_mentions(question):
        parts: list[str] = []
        for piece in re.split(r"\s+and\s+", mention):
            joined = f"{parts[-1]} and {piece}" if parts else ""
            if joined and _is_known(joined, known_outlets):
                parts[-1] = joined
            else:
                parts.append(piece)
        unknown += [part for part in parts if not _is_known(part, known_outlets) and part not in unknown]
    return unknown


def _simple(name: str) -> str:
    return re.sub(r"^the\s+", "", name.strip().lower())


def _is_known(name: str, outlets: list[str]) -> bool:
    """"Guardian" is The Guardian; "BBC News" covers "BBC News - Technology"."""
    wanted = _simple(name)
    return any(known == wanted or known.startswith(wanted + " ") for known in map(_simple, outlets))


def _dates(text: str) -> list[date]:
    found = []
    for month, day, year in _DATE.findall(text):
        try:
            found.append(date(int(year), _MONTHS.index(month.lower()) + 1, int(day)))
        except ValueError:
            continue
    return found
