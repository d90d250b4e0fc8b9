"""Telegram handlers: each one parses the update, calls one ``Services`` method, and formats.

Model and index calls run in worker threads (``asyncio.to_thread``) so the event loop keeps
answering while a reindex runs. Everything sent is HTML built by ``bot.formatting``; if Telegram
still rejects the markup, the same text goes out as plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Protocol

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from index.errors import QuotebotError, StoreUnavailable
from index.sources import SUFFIXES, format_of
from retrieval.answers import Result
from retrieval.engine import is_question

from . import conversation
from . import formatting as fmt
from .state import BotState, RateLimiter

if TYPE_CHECKING:
    from index.feeds import Feed, FeedReport
    from index.records import IndexSummary
    from index.store import ArticleInfo, Catalog

    from .config import BotSettings

logger = logging.getLogger(__name__)

REFUSAL = "Sorry, only the bot's admins can do that."
ERROR_REPLY = "Sorry, something went wrong while answering. Please try again in a moment."
TYPING_EVERY_S = 4.0  # Telegram shows "typing…" for about 5 s per chat action


class QuotebotServices(Protocol):
    """What the handlers need from ``bot.services.Services`` (a fake implements it in tests)."""

    def ask(self, question: str, k: int = 3) -> Result: ...
    def reindex(self, progress: Any = None) -> IndexSummary: ...
    def add_url(self, url: str) -> IndexSummary: ...
    def add_upload(self, filename: str, data: bytes) -> IndexSummary: ...
    def sources(self) -> list[ArticleInfo]: ...
    def catalog(self) -> Catalog: ...
    def stats(self) -> dict[str, Any]: ...
    def feeds(self) -> list[Feed]: ...
    def add_feed(self, url: str, every: int | None = None) -> Feed: ...
    def remove_feed(self, url: str) -> IndexSummary: ...
    def fetch_feeds(
        self, due_only: bool = False, urls: Sequence[str] | None = None
    ) -> list[FeedReport]: ...


_DEPS_KEY = "quotebot"  # where the Application keeps its BotDeps: BotDeps.of() reads it


@dataclass
class BotDeps:
    """Everything handlers share, stored once in ``application.bot_data``."""

    services: QuotebotServices
    state: BotState
    settings: BotSettings
    limiter: RateLimiter  # per user
    progress_interval: float = 2.0  # seconds between reindex progress edits (flood control)
    reindexing: asyncio.Lock = field(default_factory=asyncio.Lock)
    feeding: asyncio.Lock = field(default_factory=asyncio.Lock)  # one feed pass at a time
    chat_limiter: RateLimiter | None = None  # per group chat; built from settings when None
    clock: Callable[[], float] = time.monotonic
    _told: dict[tuple[str, int], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.chat_limiter is None:
            self.chat_limiter = RateLimiter(self.settings.rate_limit_chat_count,
                                            self.settings.rate_limit_seconds, self.clock)

    @staticmethod
    def of(holder: Any) -> BotDeps:
        """The deps of a handler's ``context`` or of the ``Application`` (both hold bot_data)."""
        deps = holder.bot_data[_DEPS_KEY]
        assert isinstance(deps, BotDeps)
        return deps

    def attach(self, app: Any) -> None:
        app.bot_data[_DEPS_KEY] = self

    def is_admin(self, update: Update) -> bool:
        """Whoever sent (or edited, or forwarded) this message; never a forward's original author."""
        user = update.effective_user
        return user is not None and user.id in self.settings.admins

    def admit(self, user_id: int, group_id: int | None) -> tuple[float, tuple[str, int]]:
        """(0, _) when the user, and the group chat if any, may ask now; else (seconds, who).

        The user's own limit is counted first, so one flooding user never uses up a group's share.
        """
        wait = self.limiter.check(user_id)
        if wait:
            return wait, ("user", user_id)
        if group_id is not None and self.chat_limiter is not None:
            wait = self.chat_limiter.check(group_id)
            if wait:
                return wait, ("chat", group_id)
        return 0.0, ("user", user_id)

    def first_refusal(self, who: tuple[str, int], wait: float) -> bool:
        """True once per limited spell: the rest of a flood is dropped without a reply.

        Replying to every message of a flood would itself flood the chat and queue everyone
        else's answers behind Telegram's sending limits.
        """
        now = self.clock()
        if self._told.get(who, 0.0) > now:
            return False
        if len(self._told) > 10_000:  # forget finished spells so memory stays bounded
            self._told = {k: t for k, t in self._told.items() if t > now}
        self._told[who] = now + wait
        return True


# ---- sending -------------------------------------------------------------------------------


def _is_markup_error(exc: BadRequest) -> bool:
    text = str(exc).lower()
    return "parse" in text or "entit" in text or "tag" in text


async def reply_html(message: Message, text: str, markup: InlineKeyboardMarkup | None = None,
                     quote: bool = False) -> Message:
    """Reply with HTML; if Telegram rejects the markup, send the same words as plain text."""
    try:
        return await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                         do_quote=quote)
    except BadRequest as exc:
        if not _is_markup_error(exc):
            raise
        logger.warning("Telegram rejected our HTML (%s); sending plain text", exc)
        return await message.reply_text(fmt.html_to_plain(text), parse_mode=None,
                                         reply_markup=markup, do_quote=quote)


async def reply_chunks(message: Message, chunks: list[str],
                       markup: InlineKeyboardMarkup | None = None,
                       quote: bool = False) -> Message | None:
    """Send a multi-part reply; the keyboard goes on the last part, next to what it pages."""
    sent = None
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent = await reply_html(message, chunk, markup if last else None, quote and i == 0)
    return sent


async def edit_html(message: Message, text: str,
                    markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit a message in place, with the same plain-text fallback; "not modified" is fine."""
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        if not _is_markup_error(exc):
            raise
        logger.warning("Telegram rejected our HTML (%s); editing with plain text", exc)
        await message.edit_text(fmt.html_to_plain(text), parse_mode=None, reply_markup=markup)


@contextlib.asynccontextmanager
async def typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" for as long as the body runs (the action expires after ~5 s)."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(Exception):  # cosmetic: never fail an answer over it
                await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def page_buttons(prefix: str, page: int, pages: int) -> list[InlineKeyboardButton]:
    """"◂ Back" and "More ▸" to the pages either side; callback data ``<prefix>:<page>``."""
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton("◂ Back", callback_data=f"{prefix}:{page - 1}"))
    if page + 1 < pages:
        buttons.append(InlineKeyboardButton("More ▸", callback_data=f"{prefix}:{page + 1}"))
    return buttons


def result_keyboard(key: str, page: int, pages: int) -> InlineKeyboardMarkup:
    """👍/👎 for the answers on this page, and Back/More to the pages either side.

    Callback data is ``fb:<key>:<page>:<+|->`` or ``more:<key>:<page>``, under 20 bytes.
    """
    return InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data=f"fb:{key}:{page}:+"),
                                  InlineKeyboardButton("👎", callback_data=f"fb:{key}:{page}:-"),
                                  *page_buttons(f"more:{key}", page, pages)]])


# ---- questions -----------------------------------------------------------------------------


async def admitted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Count this message against the per-user and per-chat limits; False means drop it.

    Only the first refused message of a spell gets a "please wait" reply.
    """
    deps = BotDeps.of(context)
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return False
    group = None if message.chat.type == ChatType.PRIVATE else message.chat_id
    wait, who = deps.admit(user.id, group)
    if not wait:
        return True
    if deps.first_refusal(who, wait):
        asker = "You're" if who[0] == "user" else "This chat is"
        await reply_html(message, fmt.escape(
            f"{asker} asking faster than I can read. Please wait {wait:.0f} s and try again."),
            quote=group is not None)
    return False


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE,
                          text: str, via: str) -> None:
    """Rate-limit, ask off the event loop, log, and reply with the first page of answers.

    Small talk gets a friendly line instead, an over-long message is answered by the question
    inside it (and says so), and a question in another language is told, in that language,
    that the articles are in English when they hold no answer to it.
    """
    deps = BotDeps.of(context)
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not await admitted(update, context):
        return
    quote = message.chat.type != ChatType.PRIVATE
    if not text.strip():
        await reply_html(message, fmt.escape(fmt.ASK_USAGE), quote=quote)
        return
    chatting = conversation.small_talk(text)
    if chatting is not None:  # answered at once, on the event loop: nothing to search
        await reply_html(message, fmt.format_small_talk(chatting), quote=quote)
        return
    try:
        async with typing(context, message.chat_id):
            turn = await asyncio.to_thread(
                conversation.take_turn, text,
                lambda q: deps.services.ask(q, deps.settings.max_answers))
    except StoreUnavailable as exc:  # the database is down or slow: its address is not for users
        logger.warning("question failed: %s", exc)
        await reply_html(message, fmt.escape(fmt.TRY_AGAIN), quote=quote)
        return
    except QuotebotError as exc:
        logger.warning("question failed: %s", exc)
        await reply_html(message, fmt.escape(str(exc)), quote=quote)
        return
    result = turn.result
    assert result is not None
    question_id = await asyncio.to_thread(deps.state.log_question, user.id, message.chat_id,
                                          message.chat.type, result, via)
    markup = None
    if result.answers and not result.abstained:
        key = await asyncio.to_thread(deps.state.save_result, result, question_id)
        markup = result_keyboard(key, 0, fmt.page_count(result, deps.settings.answers_per_page))
    await reply_chunks(message, fmt.format_turn(turn, deps.settings.answers_per_page), markup,
                       quote)



async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat any text is a question."""
    if update.effective_message and update.effective_message.text:
        await answer_question(update, context, update.effective_message.text, "private")


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/ask question`` (or ``/ask@botname question``) in any chat."""
    message = update.effective_message
    if message is None or not message.text:
        return
    # keep the question's own spacing: drop only the leading command entity
    command = next((e for e in message.entities if e.type == MessageEntity.BOT_COMMAND
                    and e.offset == 0), None)
    question = message.text[command.length:] if command else " ".join(context.args or [])
    via = "private" if message.chat.type == ChatType.PRIVATE else "group"
    await answer_question(update, context, question, via)


def addressed_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot (a mention or a reply), else None."""
    # entity offsets count UTF-16 units (an emoji is two), so cut the text in that unit
    units = (message.text or "").encode("utf-16-le")

    def cut(start: int, end: int | None = None) -> str:
        return units[start * 2:None if end is None else end * 2].decode("utf-16-le", "replace")

    mention = f"@{bot_username}".lower()
    mentioned = False
    pieces = []
    last = 0
    for entity in message.entities:
        if entity.type != MessageEntity.MENTION:
            continue
        if cut(entity.offset, entity.offset + entity.length).lower() == mention:
            mentioned = True
            pieces.append(cut(last, entity.offset))
            last = entity.offset + entity.length
    pieces.append(cut(last))
    replied = message.reply_to_message
    to_bot = (replied is not None and replied.from_user is not None
              and replied.from_user.id == bot_id)
    if not (mentioned or to_bot):
        return None
    return " ".join("".join(pieces).split()).strip(" ,:")


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups stay silent unless the message mentions the bot or replies to it."""
    message = update.effective_message
    if message is None:
        return
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is None:
        return
    mentioned = f"@{context.bot.username}".lower() in (message.text or "").lower()
    if not mentioned and (conversation.small_talk(question) is not None
                          or not is_question(question)):
        return  # "thanks!", "lol" in reply to the bot: conversation, not a question
    await answer_question(update, context, question, "group")


# ---- buttons -------------------------------------------------------------------------------


async def on_more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"More ▸" / "◂ Back": edit the message in place to show that page of the stored result."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    deps = BotDeps.of(context)
    _, key, page_text = query.data.split(":", 2)
    result = deps.state.load_result(key)
    if result is None or not page_text.isdigit():
        await query.answer("This answer has expired; please ask again.", show_alert=True)
        return
    await query.answer()
    per_page = deps.settings.answers_per_page
    page = int(page_text)
    pages = fmt.page_count(result, per_page)
    chunks = fmt.format_result_page(result, page, per_page)
    markup = result_keyboard(key, page, pages)
    message = query.message
    if not isinstance(message, Message):
        return
    if len(chunks) == 1:
        await edit_html(message, chunks[0], markup)
        return
    # a page too long for one message: the first part replaces the old page, the rest follow
    await edit_html(message, chunks[0], None)
    await reply_chunks(message, chunks[1:], markup)


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎: store the vote for the answers shown on that page."""
    query = update.callback_query
    if query is None or query.data is None or query.from_user is None:
        return
    deps = BotDeps.of(context)
    try:
        _, key, page_text, sign = query.data.split(":", 3)
        page = int(page_text)
    except ValueError:
        await query.answer()
        return
    stored = await asyncio.to_thread(deps.state.record_feedback, key, page,
                                     deps.settings.answers_per_page, query.from_user.id,
                                     1 if sign == "+" else -1)
    if stored:
        await query.answer("Thanks for the feedback!")
    else:
        await query.answer("This answer has expired; please ask again.", show_alert=True)


# ---- inline mode ---------------------------------------------------------------------------


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``@botname question`` in any chat: offer each answer as a result to send."""
    query = update.inline_query
    if query is None:
        return
    deps = BotDeps.of(context)
    question = query.query.strip()
    if not question or deps.limiter.check(query.from_user.id):
        await query.answer([], cache_time=5, is_personal=True)
        return
    try:
        result = await asyncio.to_thread(deps.services.ask, question, deps.settings.max_answers)
    except QuotebotError as exc:
        logger.warning("inline question failed: %s", exc)
        await query.answer([], cache_time=5, is_personal=True)
        return
    await asyncio.to_thread(deps.state.log_question, query.from_user.id, 0, "inline", result,
                            "inline")
    results = []
    if result.abstained or not result.answers:
        results.append(InlineQueryResultArticle(
            id="none", title=fmt.NO_ANSWER_TITLE,
            description=fmt.html_to_plain(fmt.format_result_page(result)[0])[:200],
            input_message_content=InputTextMessageContent(
                fmt.format_inline_not_found(question, result), parse_mode=ParseMode.HTML)))
    else:
        for i, answer in enumerate(result.answers[:deps.settings.max_answers]):
            source = answer.sources[0].title if answer.sources else ""
            results.append(InlineQueryResultArticle(
                id=str(i),
                title=fmt.inline_title(answer),
                description=source,
                input_message_content=InputTextMessageContent(
                    fmt.format_inline_answer(question, answer), parse_mode=ParseMode.HTML),
            ))
    await query.answer(results, cache_time=60)


# ---- start / help --------------------------------------------------------------------------


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot knows (from the catalog) and how to ask."""
    message = update.effective_message
    if message is None or not await admitted(update, context):
        return
    deps = BotDeps.of(context)
    try:
        catalog: Catalog | None = await asyncio.to_thread(deps.services.catalog)
    except QuotebotError as exc:
        logger.info("no catalog for /help: %s", exc)
        catalog = None
    private = message.chat.type == ChatType.PRIVATE
    chunks = fmt.format_help(catalog, context.bot.username, deps.is_admin(update), private)
    await reply_chunks(message, chunks, quote=not private)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/foo`` in a private chat gets the one-line help; in groups it may be another bot's."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE or not message.text:
        return
    if not await admitted(update, context):
        return
    command = message.text.split()[0].split("@")[0]
    await reply_html(message, fmt.format_unknown_command(command))


# ---- admin ---------------------------------------------------------------------------------


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def admin_only(handler: Handler) -> Handler:
    """The handler runs for admins; anyone else gets a polite refusal (rate-limited) and
    nothing happens.

    The sender decides, for new, edited and forwarded messages alike: Telegram lets only the
    author edit a message, and a forward is sent by whoever forwards it, not by its author.
    """

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if BotDeps.of(context).is_admin(update):
            await handler(update, context)
            return
        user = update.effective_user
        logger.info("refused an admin command from user %s", user.id if user else None)
        if update.effective_message is not None and await admitted(update, context):
            await reply_html(update.effective_message, fmt.escape(REFUSAL),
                             quote=update.effective_message.chat.type != ChatType.PRIVATE)

    return guarded


class _ProgressBox:
    """Latest progress reported by the worker thread; the event loop polls it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value: tuple[str, int, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self.value = (stage, done, total)

    def get(self) -> tuple[str, int, int] | None:
        with self._lock:
            return self.value


@admin_only
async def on_reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex: re-scan the article folders, editing one message with progress, then a summary."""
    message = update.effective_message
    assert message is not None
    deps = BotDeps.of(context)
    if not deps.settings.article_dirs:
        await reply_html(message, "No article folders are configured; set "
                                  "<code>article_dirs</code> in the <code>[bot]</code> section.")
        return
    if deps.reindexing.locked():
        await reply_html(message, "A reindex is already running.")
        return
    async with deps.reindexing:
        status = await reply_html(message, "Reindexing…")
        box = _ProgressBox()
        task = asyncio.create_task(asyncio.to_thread(deps.services.reindex, box))
        shown = None
        while not task.done():
            await asyncio.wait({task}, timeout=deps.progress_interval)
            progress = box.get()
            if not task.done() and progress is not None and progress != shown:
                shown = progress
                with contextlib.suppress(BadRequest):
                    await edit_html(status, fmt.format_progress(*progress))
        try:
            summary = task.result()
        except QuotebotError as exc:
            await edit_html(status, fmt.escape(f"Reindex failed: {exc}"))
            return
        logger.info("reindex by %s: %d added, %d updated, %d removed, %d skipped in %.1f s",
                    update.effective_user.id if update.effective_user else None,
                    len(summary.added), len(summary.updated), len(summary.removed),
                    len(summary.skipped), summary.seconds)
        await edit_html(status, fmt.format_summary(summary, "Reindex done"))


async def _url_argument(update: Update, context: ContextTypes.DEFAULT_TYPE,
                     usage: str) -> tuple[Message, str] | None:
    """The message and its one URL, for a command that takes one; None when ``usage`` was
    shown instead."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if len(args) != 1:
        await reply_html(message, f"Usage: <code>{fmt.escape(usage)}</code>")
        return None
    return message, args[0]


async def _admin_call(context: ContextTypes.DEFAULT_TYPE, message: Message, failed: str,
                      call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)`` in a worker thread while "typing…" shows; None after telling the admin
    why it failed (``failed`` starts the reply)."""
    async with typing(context, message.chat_id):
        try:
            return await asyncio.to_thread(call, *args)
        except QuotebotError as exc:
            await reply_html(message, fmt.escape(f"{failed}: {exc}"))
            return None


@admin_only
async def on_add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL: fetch one article and index it."""
    asked = await _url_argument(update, context, "/add https://example.com/article")
    if asked is None:
        return
    message, url = asked
    summary = await _admin_call(context, message, "Couldn't add that",
                                BotDeps.of(context).services.add_url, url)
    if summary is None:
        return
    logger.info("added %s: %d passages", url, summary.passages_embedded)
    await reply_html(message, fmt.format_summary(summary, "Added"))


@admin_only
async def on_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feeds: the feeds, when each was fetched and what it gave."""
    message = update.effective_message
    assert message is not None
    feeds = await asyncio.to_thread(BotDeps.of(context).services.feeds)
    await reply_html(message, fmt.format_feeds(feeds))


@admin_only
async def on_feed_add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feed_add URL [MINUTES]: remember a feed and fetch it now."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    every = args[1] if len(args) == 2 else None
    if len(args) not in (1, 2) or (every is not None and not (every.isdigit() and int(every))):
        await reply_html(message, "Usage: <code>/feed_add https://example.com/feed.xml</code> "
                                  "or <code>/feed_add URL MINUTES</code>")
        return
    deps = BotDeps.of(context)
    feed = await _admin_call(context, message, "Couldn't add that feed", deps.services.add_feed,
                             args[0], int(every) if every else None)
    if feed is None:
        return
    logger.info("feed added: %s every %d min", feed.url, feed.every)
    status = await reply_html(message, fmt.escape(f"Added {feed.url}; fetching it now…"))
    async with typing(context, message.chat_id):
        reports = await _feed_pass(deps, urls=[feed.url])
    await edit_html(status, fmt.format_feed_reports(
        reports, f"Added; fetched every {feed.every} min"))


@admin_only
async def on_feed_remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feed_remove URL: forget a feed and drop its articles."""
    asked = await _url_argument(update, context, "/feed_remove https://example.com/feed.xml")
    if asked is None:
        return
    message, url = asked
    summary = await _admin_call(context, message, "Couldn't remove that feed",
                                BotDeps.of(context).services.remove_feed, url)
    if summary is None:
        return
    logger.info("feed removed: %s, %d articles", url, len(summary.removed))
    await reply_html(message, fmt.escape(
        f"Removed {url} and {fmt.plural(len(summary.removed), 'article')}."))


async def poll_feeds(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The scheduler's job: fetch the feeds that are due, off the event loop."""
    await _feed_pass(BotDeps.of(context), due_only=True)


async def _feed_pass(
    deps: BotDeps, due_only: bool = False, urls: Sequence[str] | None = None
) -> list[FeedReport] | str:
    """One feed pass in a worker thread; never two at once (the reason when one is running)."""
    if deps.feeding.locked():
        return "A feed fetch is already running; the feed is fetched after it."
    async with deps.feeding:
        try:
            reports = await asyncio.to_thread(deps.services.fetch_feeds, due_only, urls)
        except QuotebotError as exc:  # FeedBusy from another process, a failed index update
            logger.warning("feed fetch failed: %s", exc)
            return f"The feed fetch failed: {exc}"
    for report in reports:
        logger.info("feed %s", report.line())
    return reports


@admin_only
async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An uploaded .txt/.md/.html/.jsonl file (from an admin) is indexed."""
    message = update.effective_message
    assert message is not None and message.document is not None
    deps = BotDeps.of(context)
    document = message.document
    name = document.file_name or "upload.txt"
    if format_of(PurePath(name)) is None:  # the suffixes `quotebot index` reads, no other list
        await reply_html(message, fmt.escape(
            f"I can index {', '.join(SUFFIXES)} files; {name} is not one of them."))
        return
    limit = deps.settings.max_upload_bytes
    if document.file_size is not None and document.file_size > limit:
        await reply_html(message, fmt.escape(
            f"{name} is {document.file_size:,} bytes; the limit is {limit:,}."))
        return
    async with typing(context, message.chat_id):
        telegram_file = await document.get_file()
        data = bytes(await telegram_file.download_as_bytearray())
        if len(data) > limit:
            await reply_html(message, fmt.escape(f"{name} is over the {limit:,} byte limit."))
            return
        try:
            summary = await asyncio.to_thread(deps.services.add_upload, name, data)
        except QuotebotError as exc:
            await reply_html(message, fmt.escape(f"Couldn't index {name}: {exc}"))
            return
    logger.info("indexed upload %s: %d passages", name, summary.passages_embedded)
    await reply_html(message, fmt.format_summary(summary, f"Indexed {name}"))


@admin_only
async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: list the indexed articles."""
    message = update.effective_message
    assert message is not None
    try:
        articles = await asyncio.to_thread(BotDeps.of(context).services.sources)
    except QuotebotError as exc:
        await reply_html(message, fmt.escape(str(exc)))
        return
    text, pages = fmt.format_sources(articles, 0)
    await reply_html(message, text, _sources_keyboard(0, pages))


def _sources_keyboard(page: int, pages: int) -> InlineKeyboardMarkup | None:
    buttons = page_buttons("src", page, pages)
    return InlineKeyboardMarkup([buttons]) if buttons else None


async def on_sources_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Back/More under /sources: the list is read again, so it is always the current one."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not BotDeps.of(context).is_admin(update):
        await query.answer(REFUSAL, show_alert=True)
        return
    page_text = query.data.split(":", 1)[1]
    await query.answer()
    if not page_text.isdigit() or not isinstance(query.message, Message):
        return
    articles = await asyncio.to_thread(BotDeps.of(context).services.sources)
    text, pages = fmt.format_sources(articles, int(page_text))
    await edit_html(query.message, text, _sources_keyboard(min(int(page_text), pages - 1), pages))


@admin_only
async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: index counts and size, questions asked, feedback."""
    message = update.effective_message
    assert message is not None
    deps = BotDeps.of(context)
    try:
        stats = await asyncio.to_thread(deps.services.stats)
    except QuotebotError as exc:
        stats = {"index": str(exc)}
    await reply_html(message, fmt.format_stats(stats, deps.state.counts()))


# ---- errors --------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback for us; tell the user briefly, never with details."""
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        with contextlib.suppress(Exception):
            await update.effective_message.reply_text(ERROR_REPLY)
    elif isinstance(update, Update) and update.callback_query is not None:
        with contextlib.suppress(Exception):
            await update.callback_query.answer(ERROR_REPLY)
