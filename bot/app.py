"""Wiring: build the python-telegram-bot ``Application``, run it, or chat in the terminal.

The skeleton follows python-telegram-bot's own examples: handlers registered in one place, one
error handler, ``post_init`` for start-up work (the command menu), and the ``httpx`` logger kept
at WARNING because its request lines contain the bot token.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO
from urllib.parse import urlparse

import httpx
from aiolimiter import AsyncLimiter
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import FloodLimit
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_chain,
    wait_fixed,
)

from index.errors import ConfigError, QuotebotError
from index.settings import FeedSettings
from retrieval.answers import Result

from . import conversation
from . import formatting as fmt
from . import handlers as h
from .config import BotSettings
from .state import BotState, RateLimiter

logger = logging.getLogger(__name__)

# the httpx logger prints every request URL, and Bot API URLs contain the token
logging.getLogger("httpx").setLevel(logging.WARNING)

USER_COMMANDS = [
    BotCommand("ask", "Ask a question about the articles"),
    BotCommand("help", "What I know and how to ask"),
    BotCommand("start", "Introduction"),
]
ADMIN_COMMANDS = [
    *USER_COMMANDS,
    BotCommand("reindex", "Re-scan the article folders"),
    BotCommand("add", "Fetch and index one article: /add URL"),
    BotCommand("feeds", "The news feeds and their last fetch"),
    BotCommand("feed_add", "Index a feed now and on a schedule: /feed_add URL [MINUTES]"),
    BotCommand("feed_remove", "Drop a feed and its articles: /feed_remove URL"),
    BotCommand("sources", "List the indexed articles"),
    BotCommand("stats", "Index size, questions, feedback"),
]
MAX_RETRIES = 3  # AIORateLimiter retries a request this often after a RetryAfter (flood control)
# waits before re-sending a request whose connection failed: rides out about 15 s of outage
SEND_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)


def connection_failed(exc: TelegramError) -> bool:
    """True when a request failed on the connection, so sending it again is worth it.

    Refused, reset or closed before the response: retried. A read timeout is not: Telegram has
    the request and may have acted on it, so sending it again could post an answer twice.
    """
    if isinstance(exc, BadRequest):  # Telegram answered (a subclass of NetworkError in PTB)
        return False
    if isinstance(exc, TimedOut):  # only connect and pool timeouts never reached Telegram
        return isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(exc, NetworkError)


class SendRetries(AIORateLimiter):
    """PTB's ``AIORateLimiter`` (per-group limits; a ``RetryAfter`` is waited out and retried)
    with three additions for a bot that answers many users at once:

    * a request whose connection failed is sent again (``SEND_RETRY_DELAYS_S``), and one that
      fails for good is logged with the chat it was for;
    * the overall budget (Telegram's 30 messages/s) is kept here rather than in the parent, so
    * "typing…" is best effort: a chat action is skipped when the budget is spent instead of
      queueing in front of answers. Telegram recommends chat actions only for slow replies; under
      load they took a share of the budget that answers were waiting for.

    ``BaseRateLimiter.process_request`` is PTB's hook around every request but ``getUpdates``
    (polling has its own retry loop), so this is the one place that sees every send.
    """

    def __init__(
        self,
        delays: Sequence[float] = SEND_RETRY_DELAYS_S,
        messages_per_second: float = FloodLimit.MESSAGES_PER_SECOND,
    ) -> None:
        super().__init__(overall_max_rate=0, max_retries=MAX_RETRIES)  # overall budget: below
        self.delays = tuple(delays)
        self.budget = AsyncLimiter(messages_per_second, 1)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint == "sendChatAction" and not self.budget.has_capacity():
            return True
        in_budget = data.get("chat_id") is not None  # what AIORateLimiter counts overall

        async def send() -> bool | dict[str, Any] | list[dict[str, Any]]:
            if in_budget:
                await self.budget.acquire()
            return await super(SendRetries, self).process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0
            logger.warning(
                "%s %s failed (%s); retrying in %g s", endpoint, _target(data), exc, delay
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception(
                lambda exc: isinstance(exc, TelegramError) and connection_failed(exc)
            ),
            wait=wait_chain(*(wait_fixed(delay) for delay in self.delays)),
            stop=stop_after_attempt(1 + len(self.delays)),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return await retrying(send)
        except TelegramError as exc:
            if not isinstance(exc, BadRequest):  # the caller handles Telegram's refusals
                attempts = retrying.statistics.get("attempt_number", 1)
                logger.error(
                    "%s %s failed for good after %d attempt(s): %s",
                    endpoint,
                    _target(data),
                    attempts,
                    exc,
                )
            raise


def _target(data: dict[str, Any]) -> str:
    """Where a request was going, to find the lost message in the question log (no token)."""
    target = f"to chat {data.get('chat_id', '-')}"
    reply_id = getattr(data.get("reply_parameters"), "message_id", None)
    if data.get("message_id") is not None:
        target += f" (message {data['message_id']})"
    elif reply_id is not None:
        target += f" (replying to message {reply_id})"
    return target


class TokenFilter(logging.Filter):
    """Replace the bot token in every log record, whichever library logs it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token and self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        return True


def redact_token_in_logs(token: str) -> None:
    """Install ``TokenFilter`` on the root handlers, where records from every logger pass."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, TokenFilter) for f in handler.filters):
            handler.addFilter(TokenFilter(token))


def api_url(base_url: str, kind: str = "bot") -> str:
    """``base_url`` from config (a server root) as python-telegram-bot wants it (ends in /bot)."""
    base = base_url.rstrip("/")
    if not base:
        return f"https://api.telegram.org/{kind}"
    if base.endswith(f"/{kind}") or "{token}" in base:
        return base
    return f"{base}/{kind}"


def _services_settings(services: h.QuotebotServices) -> BotSettings:
    config = getattr(services, "config", None)
    settings = getattr(config, "bot", None)
    return settings if isinstance(settings, BotSettings) else BotSettings()


def build_application(
    services: h.QuotebotServices,
    token: str,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    settings: BotSettings | None = None,
    state: BotState | None = None,
    send_retry_delays: Sequence[float] = SEND_RETRY_DELAYS_S,
    feed_check_seconds: float | None = None,
) -> Application:  # type: ignore[type-arg]
    """The bot with every handler registered, and the feed poll when there is a config;
    ``request`` objects are a seam for tests."""
    settings = settings or _services_settings(services)
    if state is None:
        data_dir = services.config.data_dir  # type: ignore[attr-defined]
        state = BotState(data_dir / "bot.db")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url(settings.base_url, "bot"))
        .base_file_url(api_url(settings.base_file_url or settings.base_url, "file/bot"))
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(SendRetries(send_retry_delays))
        # answer other users while one waits on the model or a reindex runs
        .concurrent_updates(True)
        .post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app = builder.build()
    h.BotDeps(
        services=services,
        state=state,
        settings=settings,
        limiter=RateLimiter(settings.rate_limit_count, settings.rate_limit_seconds),
    ).attach(app)
    add_handlers(app)
    feeds = getattr(getattr(services, "config", None), "feeds", None)
    if feed_check_seconds is None and isinstance(feeds, FeedSettings):
        feed_check_seconds = feeds.check_seconds
    if feed_check_seconds and app.job_queue is not None:
        # each due feed is fetched off the event loop; a pass still running is not doubled
        app.job_queue.run_repeating(
            h.poll_feeds, interval=feed_check_seconds, first=feed_check_seconds,
            name="feeds", job_kwargs={"max_instances": 1, "coalesce": True},
        )
    return app


def add_handlers(app: Application) -> None:  # type: ignore[type-arg]
    """Register every handler; order matters only where filters overlap (none do)."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    app.add_handler(CommandHandler(["start", "help"], h.on_help))
    app.add_handler(CommandHandler("ask", h.on_ask))
    app.add_handler(CommandHandler("reindex", h.on_reindex))
    app.add_handler(CommandHandler("add", h.on_add))
    app.add_handler(CommandHandler("feeds", h.on_feeds))
    app.add_handler(CommandHandler("feed_add", h.on_feed_add))
    app.add_handler(CommandHandler("feed_remove", h.on_feed_remove))
    app.add_handler(CommandHandler("sources", h.on_sources))
    app.add_handler(CommandHandler("stats", h.on_stats))
    app.add_handler(MessageHandler(private & filters.Document.ALL, h.on_document))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, h.on_private_text))
    app.add_handler(MessageHandler(groups & filters.TEXT & ~filters.COMMAND, h.on_group_text))
    app.add_handler(CallbackQueryHandler(h.on_more, pattern=r"^more:"))
    app.add_handler(CallbackQueryHandler(h.on_feedback, pattern=r"^fb:"))
    app.add_handler(CallbackQueryHandler(h.on_sources_page, pattern=r"^src:"))
    app.add_handler(InlineQueryHandler(h.on_inline_query))
    app.add_handler(MessageHandler(filters.COMMAND, h.on_unknown_command))  # after the known ones
    app.add_error_handler(h.on_error)


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    """Register the command menu: everyone's, and the longer one in each admin's chat."""
    await app.bot.set_my_commands(USER_COMMANDS)
    deps = h.BotDeps.of(app)
    for admin in deps.settings.admins:
        try:
            await app.bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            logger.info("no admin command menu for %s: %s", admin, exc)
    try:
        catalog = await asyncio.to_thread(deps.services.catalog)
        articles = fmt.plural(catalog.articles, "article")
    except QuotebotError as exc:
        articles = f"no index ({exc})"
    mode = deps.settings.mode
    logger.info("serving @%s with %s, %s", app.bot.username, articles, mode)


def run_bot(services: h.QuotebotServices) -> None:
    """Serve until interrupted: long polling by default, a webhook when ``mode = "webhook"``."""
    config = services.config  # type: ignore[attr-defined]
    token = config.token
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    redact_token_in_logs(token)
    serve(build_application(services, token), config.bot)


def serve(
    app: Application,  # type: ignore[type-arg]
    settings: BotSettings,
    **run_kwargs: Any,
) -> None:
    """Run ``app`` by polling or webhook; tests pass ``stop_signals=None`` to run it in a thread."""
    if settings.mode == "polling":
        app.run_polling(allowed_updates=Update.ALL_TYPES, **run_kwargs)
    elif settings.mode == "webhook":
        if not settings.webhook_url:
            raise ConfigError('[bot] mode = "webhook" needs webhook_url (the public https URL)')
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            # Telegram echoes this header on every call, so forged updates are rejected
            secret_token=secrets.token_urlsafe(32),
            allowed_updates=Update.ALL_TYPES,
            **run_kwargs,
        )
    else:
        raise ConfigError(f'[bot] mode must be "polling" or "webhook", got {settings.mode!r}')


def run_terminal_chat(services: h.QuotebotServices, stdin: TextIO, stdout: TextIO) -> None:
    """A local chat without Telegram: the bot's replies as plain text, "more"/"back" to page."""
    settings = _services_settings(services)
    per_page = settings.answers_per_page

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    try:
        catalog = services.catalog()
    except QuotebotError as exc:
        say(str(exc))
        return
    intro = (f"{fmt.describe_catalog(catalog)}\nType a question and press Enter; more / back page "
             "through the answers; help shows this again; quit or Ctrl-D leaves.")
    say(intro)
    last: Result | None = None
    page = 0
    while True:
        stdout.write("\n> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            break
        text = line.strip()
        if not _is_tty(stdin):  # piped input: echo it so the transcript reads like a chat
            say(text)
        command = text.lower()
        if command in {"quit", "exit", "/quit"}:
            break
        if not text:
            continue
        if command in {"help", "/help", "/start", "?"}:
            say(intro)
            continue
        if text.startswith("/"):  # a Telegram command: not a question here
            say(f"I don't know {text.split()[0]} here. Type a question, or help.")
            continue
        if command in {"more", "back"} and last is not None:
            turned = page + (1 if command == "more" else -1)
            if not 0 <= turned < fmt.page_count(last, per_page):
                say("That was the last page." if command == "more" else "This is the first page.")
                continue
            page = turned
            say(fmt.format_result_plain(last, page, per_page))
            continue
        try:
            turn = conversation.take_turn(
                text, lambda q: services.ask(q, settings.max_answers)
            )
        except QuotebotError as exc:
            say(str(exc))
            continue
        if turn.result is None or turn.english_only is not None:
            say(fmt.html_to_plain(fmt.format_turn(turn)[0]))
            continue
        if turn.used_part:
            say(fmt.html_to_plain(fmt.format_used_part(turn.question)))
        last, page = (None if turn.result.abstained else turn.result), 0
        say(fmt.format_result_plain(turn.result, 0, per_page))
    say("Bye.")


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["SendRetries", "build_application", "run_bot", "run_terminal_chat", "serve"]
