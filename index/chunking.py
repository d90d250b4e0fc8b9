"""Sentence spans and passages with exact character offsets into the cleaned article text."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from .records import ARTICLE, COMMENT, Passage
from .settings import ChunkSettings

# Words that end in a period without ending the sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "gov",
        "sen",
        "rep",
        "pres",
        "st",
        "jr",
        "sr",
        "co",
        "corp",
        "inc",
        "ltd",
        "vs",
        "etc",
        "al",
        "fig",
        "no",
        "nos",
        "vol",
        "pp",
        "approx",
        "dept",
        "est",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "mt",
        "ft",
    ]
)
# End punctuation, optional closing quotes/brackets, then space and a likely sentence opener.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-Ý])")


# A wire dateline opening a paragraph: "NEW YORK, FEB 26 - ", "GARDEN CITY, N.Y., March 2 - ",
# "LONDON (Reuters) - ". It is a span of its own, so that a quote starts at the sentence.
DATELINE = re.compile(
    r"[A-Z][\w.'&]*(?: [A-Z][\w.'&]*){0,3}(?: ?, [A-Z][\w.'&]*(?: [A-Z][\w.'&]*){0,2}){0,2}"
    r"(?: ?,? [A-Z][a-zA-Z]{2,8}\.? +\d{1,2}| \((?:Reuters?|AP|AFP|UPI|dpa)\))"
    r" (?:-{1,2}|–|—) (?=\S)"
)


_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_abbr) if name}
_DATELINE_DAY = re.compile(r"([A-Z][a-zA-Z]{2,8})\.? +(\d{1,2}) (?:-{1,2}|–|—) $")


def dateline_day(text: str, before: dt.date) -> dt.date | None:
    """The day a wire dateline opening ``text`` names ("NEW YORK, FEB 26 -"): a dateline has no
    year, so it is the latest year that puts the day on or before ``before``."""
    opening = DATELINE.match(text.lstrip()[:200])
    day = _DATELINE_DAY.search(opening.group(0)) if opening else None
    month = _MONTHS.get(day.group(1)[:3].lower()) if day else None
    if day is None or month is None:
        return None
    for year in range(before.year, before.year - 8, -1):  # 29 Feb waits for a leap year
        try:
            found = dt.date(year, month, int(day.group(2)))
        except ValueError:
            continue
        if found <= before:
            return found
    return None


def is_dateline(sentence: str) -> bool:
    """A sentence span that is only a dateline ("NEW YORK, Feb 26 -"): nothing to quote."""
    m = DATELINE.match(sentence + " .")
    return m is not None and m.end() == len(sentence) + 1


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text[start:end]``.

    Cleaning leaves one paragraph a line, so a newline always ends a sentence.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl == -1 else nl
        spans.extend(_line_sentences(text, pos, line_end))
        pos = line_end + 1
    return spans


def _line_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cur = start
    dateline = DATELINE.match(text, start, end)
    if dateline:
        spans.append((cur, dateline.end()))
        cur = dateline.end()
    for m in _BOUNDARY.finditer(text, start, end):
        if _is_abbreviation(text, cur, m.start()) and text[m.start()] == ".":
            continue
        spans.append((cur, m.end()))
        cur = m.end()
    spans.append((cur, end))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[0] < s[1]]


def _is_abbreviation(text: str, sent_start: int, dot: int) -> bool:
    word_start = dot
    while word_start > sent_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].strip("\"'“‘(")
    if not word:
        return False
    # Initials and dotted acronyms: "J.", "U.S", "e.g"
    if len(word) == 1 and word.isalpha() or "." in word and len(word.replace(".", "")) <= 4:
        return True
    return word.lower() in _ABBREVIATIONS


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def chunk(
    article_id: str, text: str, comments_start: int | None, settings: ChunkSettings
) -> list[Passage]:
    """Passages of consecutive sentences up to ``max_words``, overlapping by a few sentences.

    The article body and the comment thread are chunked apart, so a passage is either one or the
    other and can be labelled.
    """
    sections = [(0, len(text), ARTICLE)]
    if comments_start is not None and 0 <= comments_start < len(text):
        sections = [(0, comments_start, ARTICLE), (comments_start, len(text), COMMENT)]
    passages: list[Passage] = []
    for sec_start, sec_end, kind in sections:
        spans = sentence_spans(text, sec_start, sec_end)
        i = 0
        while i < len(spans):
            j, words = i, 0
            while j < len(spans) and (
                j == i or words + _words(text, spans[j]) <= settings.max_words
            ):
                words += _words(text, spans[j])
                j += 1
            a, b = spans[i][0], spans[j - 1][1]
            passages.append(Passage(article_id, a, b, text[a:b], kind))
            if j >= len(spans):
                break
            i = max(i + 1, j - settings.overlap_sentences)
    return passages


def _words(text: str, span: tuple[int, int]) -> int:
    return len(text[span[0] : span[1]].split())
