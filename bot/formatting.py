"""Pure functions that turn answers and index reports into Telegram HTML or plain text.

Everything that reaches Telegram is built here from escaped text, so user input, article text and
titles can never inject markup. Messages are measured in UTF-16 code units, the unit Telegram's
4096 limit counts, and split between blocks (or at whitespace inside an over-long block) with every
open tag closed and reopened, never inside a tag or an entity.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from retrieval.answers import Answer, Result, SourceRef
from retrieval.dates import day_label
from retrieval.engine import NOT_FOUND

from .conversation import ENGLISH_ONLY, ENGLISH_ONLY_EN, Turn

if TYPE_CHECKING:
    from index.feeds import Feed, FeedReport
    from index.records import IndexSummary
    from index.store import ArticleInfo, Catalog

MAX_MESSAGE = 4096  # Telegram's limit for one message text
MAX_LINK_URL = 512  # longer URLs are shown as plain titles rather than risk a rejected message
MAX_TITLE = 300  # a source title is a line, not a page (JSONL titles can be anything)
SOURCES_PER_PAGE = 40  # /sources lists this many articles a message, with Back/More
ASK_USAGE = "Ask me a question about the news articles, e.g. /ask who sent troops?"
NO_ANSWER_TITLE = "No answer in the articles"
TRY_AGAIN = "The articles cannot be searched just now. Please try again in a minute."
SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Span:
    """A run of raw (unescaped) text inside nested tags, outermost first.

    A tag is its opening form without brackets, e.g. ``"b"`` or ``'a href="..."'``; keeping text
    and markup apart is what lets a long block be split anywhere and still stay balanced.
    """

    text: str
    tags: tuple[str, ...] = ()


Block = list[Span]


def telegram_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def render(spans: Iterable[Span]) -> str:
    """Escaped HTML for ``spans``, opening and closing only the tags that change between spans."""
    out: list[str] = []
    stack: tuple[str, ...] = ()
    for span in spans:
        if not span.text:
            continue
        common = 0
        while (common < len(stack) and common < len(span.tags)
               and stack[common] == span.tags[common]):
            common += 1
        out.extend(f"</{_tag_name(t)}>" for t in reversed(stack[common:]))
        out.extend(f"<{t}>" for t in span.tags[common:])
        out.append(html.escape(span.text, quote=False))
        stack = span.tags
    out.extend(f"</{_tag_name(t)}>" for t in reversed(stack))
    return "".join(out)


def _tag_name(tag: str) -> str:
    return tag.split(" ", 1)[0]


def split_blocks(blocks: Sequence[Block], limit: int = MAX_MESSAGE) -> list[str]:
    """Pack blocks into as few messages as fit ``limit``, splitting only an over-long block."""
    messages: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            messages.append(SEPARATOR.join(current))
            current.clear()

    for block in blocks:
        for piece in _split_block(block, limit):
            joined = SEPARATOR.join([*current, piece])
            if current and telegram_len(joined) > limit:
                flush()
            current.append(piece)
    flush()
    return [m for m in messages if m.strip()]


def _split_block(block: Block, limit: int) -> list[str]:
    """One block as one or more rendered pieces, each within ``limit``."""
    spans = [s for s in block if s.text]
    whole = render(spans)
    if telegram_len(whole) <= limit:
        return [whole] if whole else []
    pieces: list[str] = []
    acc: list[Span] = []
    queue = list(spans)
    while queue:
        span = queue.pop(0)
        if telegram_len(render([*acc, span])) <= limit:
            acc.append(span)
            continue
        cut = _best_cut(acc, span, limit)
        if cut == 0:
            if not acc:  # even one character with its tags does not fit: drop the markup
                span = Span(span.text)
                cut = max(1, _best_cut([], span, limit))
            else:
                pieces.append(render(acc))
                acc = []
                queue.insert(0, span)
                continue
        acc.append(Span(span.text[:cut], span.tags))
        pieces.append(render(acc))
        acc = []
        rest = span.text[cut:]
        if rest:
            queue.insert(0, Span(rest, span.tags))
    if acc:
        pieces.append(render(acc))
    return [p for p in pieces if p]


def _best_cut(acc: list[Span], span: Span, limit: int) -> int:
    """Longest prefix of ``span`` that still fits after ``acc``, moved back to a space if any."""
    lo, hi = 0, len(span.text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if telegram_len(render([*acc, Span(span.text[:mid], span.tags)])) <= limit:
            lo = mid
        else:
            hi = mid - 1
    if 0 < lo < len(span.text):
        space = span.text.rfind(" ", 0, lo)
        if space > lo // 2:  # prefer a word boundary unless it wastes half the room
            lo = space + 1
    return lo


# ---- answers -------------------------------------------------------------------------------


def page_count(result: Result, per_page: int) -> int:
    """How many pages the "More" button can reach (at least one)."""
    return max(1, -(-len(result.answers) // max(1, per_page)))


def answer_blocks(answer: Answer, number: int | None = None) -> list[Block]:
    """An answer as its quote block (answer span in bold) and its source line."""
    quote: Block = []
    if number is not None:
        quote.append(Span(f"{number}. "))
    q = ("blockquote",)
    span = answer.highlight
    if span is not None and 0 <= span[0] < span[1] <= len(answer.quote):
        start, end = span
        quote += [Span(answer.quote[:start], q), Span(answer.quote[start:end], (*q, "b")),
                  Span(answer.quote[end:], q)]
    else:
        quote.append(Span(answer.quote, q))
    return [quote, source_line(answer.sources)]


def source_line(sources: Sequence[SourceRef]) -> Block:
    """"— Title, 2024-11-25 and 2 more sources", with the title linked when there is a URL."""
    if not sources:
        return [Span("— source unknown", ("i",))]
    first = sources[0]
    line: Block = [Span("— ")]
    if first.kind == "comment":
        line.append(Span("a reader comment under "))
    line.append(_title_span(first.title or first.path or first.id, first.url))
    date = format_date(first.published)
    if date:
        line.append(Span(f", {date}"))
    others = len(sources) - 1
    if others:
        line.append(Span(f" and {others} more source{'s' if others > 1 else ''}"))
    return line


def _title_span(title: str, url: str | None) -> Span:
    title = _clip(" ".join(title.split()), MAX_TITLE)
    if url and url.startswith(("http://", "https://")) and len(url) <= MAX_LINK_URL:
        return Span(title, (f'a href="{html.escape(url, quote=True)}"',))
    return Span(title, ("i",))


def format_date(published: str | None) -> str | None:
    """ "26 Feb 1987" for an ISO timestamp; any other value as given."""
    if not published or not published.strip():
        return None
    try:
        return day_label(dt.date.fromisoformat(published.strip()[:10]))
    except ValueError:
        return published.strip()


def not_found_blocks(result: Result) -> list[Block]:
    """Retrieval's own "I don't know" (or "ask in words"), with the closest topics if any."""
    blocks: list[Block] = [[Span((result.message or "").strip() or NOT_FOUND)]]
    if result.period:
        blocks.insert(0, [Span(result.period, ("i",))])
    if result.related:
        lines: Block = [Span("Closest topics in the articles:")]
        lines += [Span(f"\n• {title}") for title in result.related]
        blocks.append(lines)
    return blocks


def format_result_page(result: Result, page: int = 0, per_page: int = 3,
                       limit: int = MAX_MESSAGE) -> list[str]:
    """HTML messages for one page of answers (or the not-found reply), each within ``limit``."""
    if result.abstained or not result.answers:
        return split_blocks(not_found_blocks(result), limit)
    pages = page_count(result, per_page)
    page = min(max(page, 0), pages - 1)
    first = page * per_page
    blocks: list[Block] = [[Span(result.period, ("i",))]] if result.period else []
    for i, answer in enumerate(result.answers[first:first + per_page], start=first + 1):
        blocks.extend(answer_blocks(answer, i if len(result.answers) > 1 else None))
    if pages > 1:
        last = min(first + per_page, len(result.answers))
        blocks.append([Span(f"Answers {first + 1}–{last} of {len(result.answers)} · page "
                            f"{page + 1} of {pages}", ("i",))])
    return split_blocks(blocks, limit)


def format_inline_answer(question: str, answer: Answer, limit: int = MAX_MESSAGE) -> str:
    """The message an inline result sends: the question, then one answer with its source.

    It must be one message, so an over-long quote keeps its verbatim start, ending in "…", and
    its source line always fits.
    """
    asked = [Span(_clip(" ".join(question.split()), 200), ("i",))]
    quote = answer.quote
    while True:
        messages = split_blocks([asked, *answer_blocks(answer)], limit)
        if len(messages) == 1 or len(quote) <= 1:
            return messages[0]
        quote = _clip(quote, len(quote) * 3 // 4)
        span = answer.highlight
        if span is not None and span[1] >= len(quote):
            span = None
        answer = dataclasses.replace(answer, quote=quote, highlight=span)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)].rstrip() + "…"


def inline_title(answer: Answer, width: int = 100) -> str:
    """A short one-line title for an inline result: the answer span, else the quote's start."""
    text = answer.highlight_text or answer.quote
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


# ---- plain text ----------------------------------------------------------------------------


def format_result_plain(result: Result, page: int = 0, per_page: int | None = None) -> str:
    """The answers as plain text, for ``quotebot ask`` and the terminal chat: the answer span in
    [brackets], then every source of the quote (title, date, where it is). With ``per_page``,
    one page of them and where it is among the pages."""
    period = [result.period] if result.period else []
    if result.abstained or not result.answers:
        lines = [*period, (result.message or "").strip() or NOT_FOUND]
        if result.related:
            lines.append("Closest topics in the articles:")
            lines += [f"  • {t}" for t in result.related]
        return "\n".join(lines)
    out = period
    first = 0 if per_page is None else page * per_page
    end = len(result.answers) if per_page is None else first + per_page
    for i, answer in enumerate(result.answers[first:end], start=first + 1):
        quote = answer.quote
        if answer.highlight is not None and 0 <= answer.highlight[0] < answer.highlight[1]:
            a, b = answer.highlight
            quote = f"{quote[:a]}[{quote[a:b]}]{quote[b:]}"
        out.append(f"{i}. “{quote}”")
        for src in answer.sources:
            bits = [src.title or src.id]
            if src.kind == "comment":
                bits.append("reader comment")
            date = format_date(src.published)
            if date:
                bits.append(date)
            bits.append(src.url or src.path or src.id)
            out.append("   — " + " · ".join(bits))
    pages = 1 if per_page is None else page_count(result, per_page)
    if pages > 1:
        last = min(end, len(result.answers))
        out.append(f"Answers {first + 1}–{last} of {len(result.answers)} · page {page + 1} of "
                   f"{pages}")
    return "\n".join(out)


_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"</?[a-z][^>]*>")


def html_to_plain(text: str) -> str:
    """Strip our own markup (links become "title (url)") for the plain-text fallback."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return html.unescape(_TAG.sub("", text))


# ---- admin and help ------------------------------------------------------------------------


def format_summary(summary: IndexSummary, title: str = "Index updated") -> str:
    """What a reindex or an upload changed, as one short HTML message."""
    counts = (f"{len(summary.added)} added, {len(summary.updated)} updated, "
              f"{len(summary.unchanged)} unchanged, {len(summary.removed)} removed")
    blocks: list[Block] = [[
        Span(f"{title}", ("b",)),
        Span(f" in {summary.seconds:.1f} s: {counts}; "
             f"{summary.passages_embedded} passages embedded."),
    ]]
    if summary.skipped:
        lines: Block = [Span(f"Skipped {len(summary.skipped)}:")]
        for skipped in summary.skipped[:10]:
            lines += [Span("\n• "), Span(skipped.source, ("code",)), Span(f": {skipped.reason}")]
        if len(summary.skipped) > 10:
            lines.append(Span(f"\n… and {len(summary.skipped) - 10} more"))
        blocks.append(lines)
    return split_blocks(blocks)[0]


def format_feeds(feeds: Sequence[Feed]) -> str:
    """/feeds: each feed, how often it is fetched, its entries and its last fetch."""
    if not feeds:
        return render([Span("No feeds yet. Add one with "),
                       Span("/feed_add https://example.com/feed.xml", ("code",))])
    block: Block = [Span(f"{plural(len(feeds), 'feed')}:", ("b",))]
    for feed in feeds:
        last = (f"last fetched {format_date(feed.last_fetched)}: {feed.last_result}"
                if feed.last_fetched else "not fetched yet")
        block += [Span("\n• "), _title_span(feed.title or feed.url, feed.url),
                  Span(f" — every {feed.every} min, {plural(feed.entries, 'entry')}; {last}")]
    return split_blocks([block])[0]


def format_feed_reports(reports: Sequence[FeedReport] | str, title: str) -> str:
    """What one feed pass did, feed by feed, with the entries that failed; or why none ran."""
    if isinstance(reports, str):
        return render([Span(reports)])
    blocks: list[Block] = [[Span(title, ("b",))]]
    for report in reports:
        lines: Block = [Span(report.line())]
        for note in report.notes[:5]:
            lines.append(Span(f"\n• {note}"))
        if len(report.notes) > 5:
            lines.append(Span(f"\n… and {len(report.notes) - 5} more"))
        blocks.append(lines)
    return split_blocks(blocks)[0]


def format_progress(stage: str, done: int, total: int) -> str:
    """One line of reindex progress, e.g. "Reindexing… embedding 40/120"."""
    if total > 0:
        return html.escape(f"Reindexing… {stage} {done}/{total}", quote=False)
    return html.escape(f"Reindexing… {stage}", quote=False)


def format_sources(articles: Sequence[ArticleInfo], page: int = 0,
                   per_page: int = SOURCES_PER_PAGE, limit: int = MAX_MESSAGE) -> tuple[str, int]:
    """One page of the indexed articles (linked title, date, passage count) and the page count.

    A page is one message: the header, then whole lines (at most ``per_page``, fewer when long
    titles fill the message), never a line cut in two.
    """
    if not articles:
        return "No articles are indexed yet.", 1
    lines = [_source_line(a) for a in articles]
    bounds = []  # (first, end) of each page
    first = 0
    room = limit - 80  # the header
    while first < len(lines):
        end, used = first, 0
        while end < len(lines) and end - first < per_page:
            size = telegram_len(render(lines[end])) + 1
            if end > first and used + size > room:
                break
            used += size
            end += 1
        bounds.append((first, end))
        first = end
    page = min(max(page, 0), len(bounds) - 1)
    first, end = bounds[page]
    header = f"{plural(len(articles), 'article')} indexed"
    if len(bounds) > 1:
        header += f" ({first + 1}–{end}, page {page + 1} of {len(bounds)})"
    block: Block = [Span(header + ":", ("b",))]
    for line in lines[first:end]:
        block += [Span("\n• "), *line]
    return split_blocks([block], limit)[0], len(bounds)


def _source_line(article: ArticleInfo) -> Block:
    date = format_date(article.published)
    return [_title_span(article.title or article.path or article.id, article.url),
            Span(f"{', ' + date if date else ''} ({plural(article.passages, 'passage')})")]


def plural(n: int, noun: str) -> str:
    """"1 passage", "2 passages", "2 entries"."""
    if n == 1:
        return f"{n} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{n} {noun[:-1]}ies"
    return f"{n} {noun}s"


def format_stats(stats: Mapping[str, Any], bot_counts: Mapping[str, Any]) -> str:
    """Index statistics from the services plus the bot's own counters, one per line."""
    lines: Block = [Span("Index", ("b",))]
    for key, value in stats.items():
        lines.append(Span(f"\n{_humanize(key)}: {_value(key, value)}"))
    lines.append(Span("\n\n"))
    lines.append(Span("Bot", ("b",)))
    for key, value in bot_counts.items():
        lines.append(Span(f"\n{_humanize(key)}: {_value(key, value)}"))
    return split_blocks([lines])[0]


def _humanize(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _value(key: str, value: Any) -> str:
    if isinstance(value, Mapping):  # e.g. {"files": {"index.db": 319488, ...}}
        return ", ".join(f"{k} {_value(key, v)}" for k, v in value.items())
    if isinstance(value, int) and not isinstance(value, bool) and key.endswith(("bytes",
                                                                                "files")):
        return _size(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def describe_catalog(catalog: Catalog | None) -> str:
    """One sentence on what is indexed: article count, passages and date range."""
    if catalog is None or catalog.articles == 0:
        return "No articles are indexed yet, so I can't answer anything for now."
    span = ""
    if catalog.first_published and catalog.last_published:
        first = format_date(catalog.first_published)
        last = format_date(catalog.last_published)
        span = f", published {first}" if first == last else f", published {first} to {last}"
    return (f"I know {plural(catalog.articles, 'news article')} "
            f"({plural(catalog.passages, 'passage')}{span}).")


def format_help(catalog: Catalog | None, bot_username: str, is_admin: bool = False,
                private: bool = True) -> list[str]:
    """What the bot knows (article count and date range) and every way to ask it."""
    knows = describe_catalog(catalog)
    name = f"@{bot_username}" if bot_username else "me"
    here = ([Span("\n• Here: just type a question, e.g. "), Span("Who sent troops?", ("i",))]
            if private else [Span("\n• In a private chat with me: just type a question.")])
    blocks: list[Block] = [
        [Span("quotebot", ("b",)),
         Span(" answers questions about news articles with verbatim quotes and their sources. "
              "It never writes its own text.")],
        [Span(knows)],
        [Span("How to ask", ("b",)),
         *here,
         Span("\n• In a group" + ("" if private else ", like here") + ": "),
         Span("/ask your question", ("code",)),
         Span(f", mention {name}, or reply to one of my messages."),
         Span(f"\n• In any chat: type {name} and your question, then pick an answer."),
         Span("\nUse 👍/👎 to tell me whether an answer helped, and ◂ Back / More ▸ to page "
              "through further answers.")],
    ]
    if is_admin:
        blocks.append([
            Span("Admin", ("b",)),
            Span("\n/reindex – re-scan the article folders\n/add URL – fetch and index one "
                 "article\nsend a .txt, .md, .html or .jsonl file – index it\n/feeds – the news "
                 "feeds\n/feed_add URL [MINUTES] – index a feed's entries, now and on a "
                 "schedule\n/feed_remove URL – drop a feed and its articles\n/sources – what is "
                 "indexed\n/stats – index size, questions, feedback"),
        ])
    return split_blocks(blocks)


# ---- conversation --------------------------------------------------------------------------

_SMALL_TALK_REPLIES = {
    "greeting": "Hi! ",
    "thanks": "You're welcome! ",
    "chat": "",
}


def format_small_talk(kind: str) -> str:
    """A short friendly reply to "hi", "thanks", "ok" that says what the bot is for."""
    opener = _SMALL_TALK_REPLIES.get(kind, "")
    return render([Span(opener + "Ask me about the news, e.g. "), Span("Who sent troops?", ("i",)),
                   Span(" — /help says what I know.")])


def format_english_only(language: str) -> str:
    """"I answer in English about English articles", in the user's language and in English."""
    own = ENGLISH_ONLY.get(language)
    return render([Span(own + "\n\n", ()), Span(ENGLISH_ONLY_EN, ("i",))] if own
                  else [Span(ENGLISH_ONLY_EN)])


def format_turn(turn: Turn, per_page: int = 3) -> list[str]:
    """The reply to one chat message (``bot.conversation.take_turn``) as HTML messages."""
    if turn.small_talk is not None:
        return [format_small_talk(turn.small_talk)]
    if turn.english_only is not None:
        return [format_english_only(turn.english_only)]
    assert turn.result is not None
    chunks = format_result_page(turn.result, 0, per_page)
    return [format_used_part(turn.question), *chunks] if turn.used_part else chunks


def format_used_part(question: str) -> str:
    """The note above the answers to an over-long message: which part was asked."""
    return render([Span("Your message is long, so I answered only this part of it: "),
                   Span(_clip(question, 400), ("i",))])


def format_unknown_command(command: str) -> str:
    return render([Span(f"I don't know {_clip(command, 40)}. Type a question, or "),
                   Span("/help", ()), Span(" to see what I can do.")])


def format_inline_not_found(question: str, result: Result) -> str:
    """What the inline "No answer in the articles" result sends: the question and why."""
    return split_blocks([[Span(_clip(" ".join(question.split()), 200), ("i",))],
                         *not_found_blocks(result)])[0]


def escape(text: str) -> str:
    """Escape text for Telegram HTML (the one place handlers get escaping from)."""
    return html.escape(text, quote=False)
