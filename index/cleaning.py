"""Turn captured page text into article text: drop boilerplate, find the title, label comments.

Real captures carry comment forms, paywall pitches, share buttons, "9 Min Read" lines and repeated
headlines. The text is first put back into paragraphs, one a line (hard-wrapped wire copy has its
inner line breaks turned into spaces), and boilerplate is removed paragraph by paragraph, so what is
kept is verbatim but for white space, and every later offset points into the cleaned text. Reader
comments stay (people ask about them) but are marked by an offset.
"""

from __future__ import annotations

import html
import re
import statistics
import unicodedata
from dataclasses import dataclass

# Control characters, zero-width spaces and soft hyphens: invisible, and they split words.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b\ufeff]")
# Entities left in plain text ("AT&amp;T"); only complete ones, so a bare "&" stays as it is.
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BULLET = re.compile(r"^[\s•·▪●◦*\-–]+(?=\S)")
_LIST_ITEM = re.compile(r"^[•·▪●◦*\-–]\s")

# Lines that are page furniture wherever they appear.
_BOILERPLATE = re.compile(
    r"""^(?:
        leave\ a\ (?:reply|comment|response)
      | (?:post|add|submit)\ (?:a\ )?comment
      | cancel\ reply
      | your\ email\ address\ will\ not\ be\ published.*
      | required\ fields\ are\ marked.*
      | (?:save\ my\ name|notify\ me\ of).*
      | share\ (?:this|this\ article|this\ story|on\ \w+)
      | (?:share|tweet|email|print|facebook|twitter|whatsapp|linkedin|telegram|reddit|copy\ link)
      | \d+\ min(?:ute)?s?\ read
      | (?:advertisement|sponsored(?:\ content)?|related(?:\ articles?|\ stories)?|read\ more)
      | (?:sign\ up|log\ ?in|sign\ in|register)(?:\ here)?
      | (?:follow\ us|subscribe)(?:\ on\ \w+|\ to\ our\ newsletter)?
      | all\ rights\ reserved.*|©.*|copyright\ ©?.*
      | (?:photo|image):?\ (?:getty|ap|reuters|afp)(?:\ images)?
      | reuters?  # the wire's sign-off
    )[\s.!:]*$""",
    re.IGNORECASE | re.VERBOSE,
)

# A paywall pitch starts here and everything after it is the pitch.
_PAYWALL = re.compile(
    r"""^(?:
        keep\ reading\ for\ free
      | already\ a\ subscriber.*
      | subscribe\ (?:now\ )?to\ (?:continue|read|keep\ reading).*
      | get\ instant\ access\ to\ the\ rest\ of\ this\ article.*
      | this\ (?:article|content)\ is\ for\ (?:subscribers|members)\ only.*
      | to\ continue\ reading.*
      | you\ have\ reached\ your\ (?:free\ )?article\ limit.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

# A heading that announces the comment thread.
_COMMENTS_HEADING = re.compile(
    r"^(?:\d+\s+)?(?:comments?|responses?|replies|reader comments|discussion|join the discussion)"
    r"(?:\s*\(\d+\))?[\s:]*$",
    re.IGNORECASE,
)

_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|I’m|I’ve|I’d|me|my|mine)\b")
_CHATTY_OPENING = re.compile(
    r"^(?:yeah|yes|yep|nope|no\.|lol|agreed|great point|good point|exactly|possibly\?|"
    r"thanks|this\.|wow|haha|well,|so\b|\+1|@\w+)",
    re.IGNORECASE,
)
_BYLINE_BEFORE_READTIME = re.compile(r"^\d+\s+min(?:ute)?s?\s+read$", re.IGNORECASE)


@dataclass(frozen=True)
class Cleaned:
    """Cleaned article text with its title and where the comment thread starts (if any)."""

    title: str
    text: str
    comments_start: int | None


def normalize(text: str) -> str:
    """Unify newlines, decode entities, drop control characters; NFC so equal text hashes equal."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    return unicodedata.normalize("NFC", _CONTROL.sub("", text))


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs, each on one line with its inner line breaks turned into spaces.

    Wire copy and e-mail are hard-wrapped: a line ends where the next word would not have fit,
    and a paragraph ends at a blank line, an indented line, or a line that stops short. Web
    captures put a paragraph per line; there a line is only continued by one that opens in
    lower case after a line that does not end a sentence (a break inside a sentence).
    """
    lines = [ln.rstrip() for ln in normalize(text).split("\n")]
    width = _wrap_width(lines)
    out: list[str] = []
    prev = ""  # the previous non-empty line, as it was (indentation kept)
    for line in lines:
        body = _BULLET.sub("", line).strip()
        if not body:
            prev = ""
            continue
        if out and prev and _continues(prev, line, width):
            glue = "" if re.search(r"\w-$", out[-1]) and body[0].islower() else " "
            out[-1] += glue + body
        else:
            out.append(body)
        prev = line
    return out


def _wrap_width(lines: list[str]) -> int | None:
    """The width a hard-wrapped text was wrapped at, or None for text with a paragraph a line."""
    lengths = [len(ln) for ln in lines if ln.strip()]
    if len(lengths) < 4:
        return None
    width = sorted(lengths)[int(0.9 * (len(lengths) - 1))]
    if not 30 <= width <= 120 or statistics.median(lengths) < 0.6 * width:
        return None
    return width


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _continues(prev: str, line: str, width: int | None) -> bool:
    """Does ``line`` carry on the paragraph that ``prev`` is part of?"""
    body = line.strip()
    if _LIST_ITEM.match(body):
        return False
    if width is None:
        return body[0].islower() and not prev.rstrip().endswith((".", "!", "?", ":", ";", "”", '"'))
    if _indent(line) and _indent(line) != _indent(prev):
        return False  # an indented first line (or a sign-off set apart): a new paragraph
    # The line before stopped although the first word of this one would have fitted.
    first_word = body.split()[0]
    return len(prev) + 1 + len(first_word) > width - 4 or body[0].islower()


def clean(
    text: str, title: str = "", title_from_first_line: bool = True, comments: str = ""
) -> Cleaned:
    """Clean one article; ``comments`` (from an HTML extractor) are appended as the thread."""
    lines = paragraphs(text)
    if title_from_first_line and lines and not title:
        title = lines[0].lstrip("#").strip()
        if _is_prose(title):
            title = _shorten(title)  # a lede paragraph, not a headline: keep it as text
        else:
            lines.pop(0)
    title = " ".join(normalize(title).split())

    body = _drop_boilerplate(lines, title)
    split = _comment_start(body)
    extra = paragraphs(comments)
    if extra:
        extra = _drop_boilerplate(extra, title)
        if split is None:
            split = len(body)
        body = body + extra
    text_out = "\n".join(body)
    comments_start = None
    if split is not None and split < len(body):
        comments_start = sum(len(ln) + 1 for ln in body[:split])
    return Cleaned(title=title, text=text_out, comments_start=comments_start)


def _is_prose(line: str) -> bool:
    """A first line that is a paragraph of sentences rather than a headline."""
    return len(line.split()) > 25 or (len(line.split()) > 12 and line.endswith((".", "!", "?")))


def _shorten(line: str, limit: int = 90) -> str:
    """The first sentence of a lede, cut at a word boundary: a title people can read."""
    first = re.split(r"(?<=[.!?])\s+", line, maxsplit=1)[0]
    if len(first) <= limit:
        return first.rstrip(".")
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _drop_boilerplate(lines: list[str], title: str) -> list[str]:
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _PAYWALL.match(line):
            break  # the rest is the subscription pitch
        if _BOILERPLATE.match(line) or (title and line == title):
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _BYLINE_BEFORE_READTIME.match(nxt) and len(line.split()) <= 4:
            continue  # "S Haynes" above "9 Min Read": a byline, not text
        kept.append(line)
    return kept


def _is_chatty(line: str) -> bool:
    """A line reads like a reader comment: first person outside quotes, or a chat opener."""
    unquoted = _QUOTED.sub("", line)
    return bool(_FIRST_PERSON.search(unquoted) or _CHATTY_OPENING.match(line))


def _comment_start(lines: list[str]) -> int | None:
    """Index of the first comment line, or None.

    A heading such as "12 Comments" starts the thread outright. Otherwise the thread is the
    trailing run of lines, starting with a chatty one after at least three article lines, in which
    most lines are chatty: news prose rarely says "I" outside quotation marks, comments often do.
    """
    for i, line in enumerate(lines):
        if i >= 1 and _COMMENTS_HEADING.match(line):
            return i + 1
    for i in range(3, len(lines)):
        if not _is_chatty(lines[i]):
            continue
        tail = lines[i:]
        if len(tail) >= 2 and sum(map(_is_chatty, tail)) * 2 >= len(tail):
            return i
    return None
