"""The time a question names ("in February", "on March 2", "last week", "since Monday") as a
range of publication dates, and the question's wish for the newest articles ("latest").

dateparser reads the date phrase and says what it names (a day, a week, a month, a year); this
module finds the phrase, turns it into a range, and resolves phrases without a year against a
reference day: today, or the newest article when the collection is older than the phrase.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|2[01]\d\d)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_UNIT = r"(?:day|week|month|year)s?"
_NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
# A phrase that names a time: the preposition, then the date. A bare month or year needs its
# preposition ("in May"; "may" alone is a verb, "the 2024 budget" no time filter).
_DATE = (
    rf"(?:{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?|{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|(?:(?:early|mid|late)[-\s]+)?{_MONTH}(?:,?\s+{_YEAR})?|{_YEAR}"
    rf"|(?:last\s+|this\s+|past\s+)?{_WEEKDAY}|(?:this|last|past)\s+(?:week|month|year)"
    rf"|{_NUMBER}\s+{_UNIT}\s+ago|yesterday|today)"
)
_PHRASE = re.compile(
    rf"\b(?P<prep>in|on|during|since|before|after|from|by|of)?\s*(?:the\s+)?(?P<date>{_DATE})\b"
    rf"|\b(?P<past>(?:the\s+)?(?:past|last)\s+{_NUMBER}\s+{_UNIT})\b",
    re.IGNORECASE,
)
_NEEDS_PREP = re.compile(rf"^(?:(?:early|mid|late)[-\s]+)?{_MONTH}(?:,?\s+{_YEAR})?$|^{_YEAR}$",
                         re.IGNORECASE)
_HAS_YEAR = re.compile(rf"\b{_YEAR}\b")
_LATEST = re.compile(r"\b(?:latest|newest|most\s+recent(?:ly)?|last\s+news|recent\s+news)\b",
                     re.IGNORECASE)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10}


@dataclass(frozen=True)
class Period:
    """Publication dates from ``start`` to ``end`` (inclusive; None = open); ``phrase`` is the
    question's words for it, ``relative`` whether it moves with the reference day."""

    start: dt.date | None
    end: dt.date | None
    phrase: str = ""
    relative: bool = False
    lag_days: int = 0  # articles published this many days after ``end`` still report on it

    @property
    def last(self) -> dt.date | None:
        """The last publication day searched: ``end`` and the reporting lag."""
        return self.end + dt.timedelta(days=self.lag_days) if self.end is not None else None

    def published(self) -> tuple[str | None, str | None]:
        """The ISO days an article's publication date must fall between (lag included)."""
        last = self.last
        return (self.start.isoformat() if self.start else None,
                last.isoformat() if last else None)

    def label(self) -> str:
        """What was searched, lag included: "Articles from 23 Feb to 1 Mar 1987", "Articles of
        2 Mar 1987", "Articles since 1 Mar 1987"."""
        start, last = self.start, self.last
        if start is not None and last is not None:
            if start == last:
                return f"Articles of {day_label(start)}"
            first = day_label(start, year=start.year != last.year)
            return f"Articles from {first} to {day_label(last)}"
        if start is not None:
            return f"Articles since {day_label(start)}"
        if last is not None:
            return f"Articles up to {day_label(last)}"
        return "All articles"


def day_label(day: dt.date, year: bool = True) -> str:
    """ "26 Feb 1987" (or "26 Feb"): the same in every language's reader, unlike 02/26."""
    return f"{day.day} {calendar.month_abbr[day.month]}" + (f" {day.year}" if year else "")


def parse_day(text: str) -> dt.date | None:
    """The date an ISO 8601 timestamp (or any date dateparser reads) stands for."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    parsed = _parser({}).get_date_data(text)
    return parsed.date_obj.date() if parsed and parsed.date_obj else None


def wants_latest(question: str) -> bool:
    """ "What is the latest on ...?": the answers go newest first."""
    return bool(_LATEST.search(question))


def find_period(
    question: str,
    today: dt.date,
    report_lag_days: int = 0,
    rebase: Callable[[Period], dt.date | None] | None = None,
) -> Period | None:
    """The publication dates ``question`` asks about, or None when it names no time.

    A phrase without a year resolves against ``today``; ``rebase(period)`` may name another
    reference day (the newest article's, when no article is in that period and the collection
    is older), and the phrase is resolved again against it: "last week" of a 1987 collection is
    its last week. A day, week or month also takes articles published up to ``report_lag_days``
    after it (news of a day comes out the day after, or after a weekend).
    """
    for match in _PHRASE.finditer(question):
        period = _period(match, today, report_lag_days)
        if period is None:
            continue
        base = rebase(period) if period.relative and rebase is not None else None
        if base is not None:
            period = _period(match, base, report_lag_days) or period
        return period
    return None


def _period(match: re.Match[str], base: dt.date, lag: int) -> Period | None:
    phrase = match.group(0).strip()
    if match.group("past"):  # "the past 3 days": up to the reference day
        words = match.group("past").split()
        count = words[-2].lower()
        n = _WORDS.get(count) or int(count)
        unit = words[-1].lower().rstrip("s")
        days = {"day": n, "week": 7 * n, "month": 30 * n, "year": 365 * n}[unit]
        return Period(base - dt.timedelta(days=days), base, phrase, relative=True)
    prep = (match.group("prep") or "").lower()
    text = match.group("date")
    if _NEEDS_PREP.match(text) and (not prep or re.search(r"\bthe\s", match.group(0), re.I)):
        return None  # "may" is a verb; "in the 2024 budget" names a budget, not a time
    if prep == "of" and not re.search(_DAY, text):  # "the plan of May" is not "in May"
        return None
    part = None
    early = re.match(r"(early|mid|late)[-\s]+", text, re.IGNORECASE)
    if early:
        part, text = early.group(1).lower(), text[early.end():]
    data = _parser(
        {"RELATIVE_BASE": dt.datetime.combine(base, dt.time(12)), "PREFER_DATES_FROM": "past",
         "RETURN_TIME_AS_PERIOD": True}
    ).get_date_data(re.sub(r"\b(?:last|this|past)\s+(?=" + _WEEKDAY + ")", "", text, flags=re.I))
    if data is None or data.date_obj is None:
        return None
    day, kind = data.date_obj.date(), data.period or "day"
    start, end = _span(day, kind)
    if part is not None:  # early / mid / late month: its first, middle or last ten days
        start, end = {
            "early": (start, start + dt.timedelta(days=9)),
            "mid": (start + dt.timedelta(days=10), start + dt.timedelta(days=19)),
            "late": (start + dt.timedelta(days=20), end),
        }[part]
    relative = not _HAS_YEAR.search(text)
    if prep == "since" or prep == "after":
        return Period(start if prep == "since" else end + dt.timedelta(days=1), None, phrase,
                      relative)
    if prep == "before" or prep == "by":
        return Period(None, start - dt.timedelta(days=1) if prep == "before" else end, phrase,
                      relative)
    return Period(start, end, phrase, relative, lag_days=0 if text.lower() == "today" else lag)


def _span(day: dt.date, kind: str) -> tuple[dt.date, dt.date]:
    if kind == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    if kind == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if kind == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    return day, day


@lru_cache(maxsize=64)
def _parser_for(settings: tuple[tuple[str, Any], ...]) -> Any:
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings=dict(settings))


def _parser(settings: dict[str, Any]) -> Any:
    # a parser per reference day: dateparser's settings are fixed when it is built
    return _parser_for(tuple(sorted(settings.items())))
