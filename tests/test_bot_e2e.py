"""End to end: the real bot (real index, real model, ``bot.app.serve`` polling) talking HTTP to
the telegram-test-api emulator on 127.0.0.1, driven as Telegram users would drive it."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e.harness import BotThread

from benchmarks.emulator import (
    EMULATOR_BOT_ID,
    EMULATOR_BOT_NAME,
    Emulator,
    EmulatorRequest,
    emulator_available,
)
from bot.handlers import ERROR_REPLY

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "news"
TOKEN = "123456:e2e-test-token"
ADMIN, ALICE, BOB, CAROL = 1001, 1002, 1003, 1004
GROUP = -5001
MACRON_TITLE = "The idea of direct Western participation in the conflict"
NEW_ARTICLE = """Elbonia signs the Zorblatt accord

The Zorblatt accord on river shipping was signed in Vienna by the foreign minister of Elbonia.
Officials said the accord would take effect next spring after ratification by parliament.
"""


@dataclass
class Live:
    emulator: Emulator
    bot: BotThread
    request: EmulatorRequest
    data_dir: Path
    news_dir: Path

    def ask_private(self, uid: int, text: str, timeout: float = 60) -> dict[str, Any]:
        """Send ``text`` in uid's private chat and return the bot's next message there."""
        before = len(self.emulator.bot_messages(uid))
        self.emulator.send_text(uid, text)
        replies = self.emulator.wait_for(
            lambda: self.emulator.bot_messages(uid)[before:], timeout, f"a reply to {text!r}"
        )
        return dict(replies[0])

    def group_replies(self) -> list[dict[str, Any]]:
        return self.emulator.bot_messages(GROUP)


@dataclass
class Indexed:
    config: Any  # bot.config.Config
    services: Any  # bot.services.Services
    news_dir: Path


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    """A real index of a copy of the news corpus, shared by every bot in this module."""
    reason = emulator_available()
    if reason:
        pytest.skip(reason)
    if not CORPUS.is_dir():
        pytest.skip(f"the news corpus is not at {CORPUS}")
    from bot.config import load_config
    from bot.services import Services

    root = tmp_path_factory.mktemp("e2e")
    news = root / "news"
    shutil.copytree(CORPUS, news)
    (root / "config.toml").write_text(
        f'data_dir = "data"\n[bot]\nadmins = [{ADMIN}]\narticle_dirs = ["news"]\n'
        "rate_limit_count = 100\n",
        encoding="utf-8",
    )
    config = load_config(root / "config.toml")
    services = Services(config)
    services.index([news])
    return Indexed(config, services, news)


def start_bot(
    emulator: Emulator, services: Any, settings: Any, state_db: Path, **build: Any
) -> tuple[BotThread, EmulatorRequest]:
    """The real Application polling ``emulator`` (its URL as ``[bot] base_url``), in a thread."""
    from bot import app as bot_app
    from bot.state import BotState

    settings = dataclasses.replace(settings, base_url=emulator.url)
    request = EmulatorRequest(connection_pool_size=8)
    app = bot_app.build_application(
        services,
        TOKEN,
        request=request,
        get_updates_request=EmulatorRequest(),
        settings=settings,
        state=BotState(state_db),
        **build,
    )
    return BotThread(app, lambda: bot_app.serve(app, settings, stop_signals=None)), request


@contextmanager
def own_emulator(
    services: Any, settings: Any, state_db: Path, **build: Any
) -> Iterator[tuple[Emulator, BotThread]]:
    """A bot polling an emulator of its own, both stopped when the block ends."""
    emulator = Emulator(TOKEN)
    try:
        bot, _ = start_bot(emulator, services, settings, state_db, **build)
    except BaseException:
        emulator.close()
        raise
    try:
        yield emulator, bot
    finally:
        try:
            bot.stop()
        finally:
            emulator.close()


@pytest.fixture(scope="module")
def live(indexed: Indexed) -> Iterator[Live]:
    emulator = Emulator(TOKEN)
    try:
        data_dir = indexed.config.data_dir
        bot, request = start_bot(
            emulator, indexed.services, indexed.config.bot, data_dir / "bot.db"
        )
    except BaseException:
        emulator.close()
        raise
    try:
        yield Live(emulator, bot, request, data_dir, indexed.news_dir)
    finally:
        try:
            bot.stop()
        finally:
            emulator.close()


@pytest.fixture(autouse=True)
def no_error_replies(live: Live) -> Iterator[None]:
    """After each test: the bot never had to tell anyone that something went wrong."""
    yield
    sent = [
        u["message"].get("text")
        for u in live.emulator.history()
        if "chat_id" in u.get("message", {})
    ]
    assert ERROR_REPLY not in sent


def test_private_question_gets_the_right_quote_and_source(live: Live) -> None:
    reply = live.ask_private(ALICE, "Who disavowed Macron's statement about ground troops?")
    text = reply["message"]["text"]
    assert reply["message"]["parse_mode"] == "HTML"
    assert "NATO officials" in text and "<blockquote>" in text
    assert MACRON_TITLE in text
    keyboard = reply["message"]["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in keyboard[0]][:2] == ["👍", "👎"]
    # the command menu was registered at start-up (the emulator lacks setMyCommands: stubbed)
    assert any(name == "setMyCommands" for name, _ in live.request.stubbed)
    assert any(name == "sendChatAction" for name, _ in live.request.stubbed)


def test_feedback_button_is_stored(live: Live) -> None:
    reply = live.ask_private(BOB, "Which countries reactivated talks on sending troops?")
    thumbs_up = reply["message"]["reply_markup"]["inline_keyboard"][0][0]
    live.emulator.press(BOB, reply, thumbs_up["callback_data"])

    def stored() -> list[tuple[Any, ...]]:
        with sqlite3.connect(live.data_dir / "bot.db") as db:
            return db.execute(
                "SELECT user_id, vote, question, answer_ids FROM feedback WHERE user_id = ?", (BOB,)
            ).fetchall()

    [(user_id, vote, question, answer_ids)] = live.emulator.wait_for(stored, 15, "feedback")
    assert (user_id, vote) == (BOB, 1)
    assert question == "Which countries reactivated talks on sending troops?"
    assert answer_ids.startswith("[[")


def test_group_chatter_is_ignored_but_ask_and_mentions_are_answered(live: Live) -> None:
    em = live.emulator
    em.send_text(CAROL, "did anyone read about the troops talks?", GROUP, "supergroup")
    em.send_text(
        CAROL, "/ask Who disavowed Macron's statement about ground troops?", GROUP, "supergroup"
    )
    mention = f"@{EMULATOR_BOT_NAME} who disavowed Macron's statement about ground troops?"
    em.send_text(
        CAROL,
        mention,
        GROUP,
        "supergroup",
        entities=[{"type": "mention", "offset": 0, "length": len(EMULATOR_BOT_NAME) + 1}],
    )
    em.send_text(CAROL, f"/ask@{EMULATOR_BOT_NAME} What did Le Monde report?", GROUP, "supergroup")
    em.wait_for(lambda: len(live.group_replies()) >= 3, 90, "three group replies")
    # the answer to one more /ask, sent after those replies, is the signal: a wrong reply to the
    # chatter, handled long before it, would be there by then
    em.send_text(
        CAROL, "/ask Who disavowed Macron's statement about ground troops?", GROUP, "supergroup"
    )
    replies = em.wait_for(
        lambda: len(live.group_replies()) >= 4 and live.group_replies(), 60, "a fourth group reply"
    )
    assert len(replies) == 4
    asked = {u["messageId"]: u["message"]["text"] for u in em.user_messages(GROUP)}
    chatter_id = next(i for i, t in asked.items() if t.startswith("did anyone"))
    replied_to = {_reply_id(r) for r in replies}
    assert chatter_id not in replied_to
    assert replied_to == set(asked) - {chatter_id}
    assert sum("NATO officials" in r["message"]["text"] for r in replies) >= 3


def _reply_id(stored: dict[str, Any]) -> int:
    """The message a bot reply answers (PTB sends reply_parameters as a JSON form field)."""
    params = stored["message"]["reply_parameters"]
    return int((json.loads(params) if isinstance(params, str) else params)["message_id"])


def _earlier_bot_message() -> dict[str, Any]:
    """A message the bot sent in the group, for a user to reply to."""
    return {
        "message_id": 1,
        "date": int(time.time()),
        "text": "earlier",
        "from": {"id": EMULATOR_BOT_ID, "is_bot": True, "first_name": "Bot"},
        "chat": {"id": GROUP, "type": "supergroup"},
    }


def test_a_reply_to_the_bot_in_a_group_is_answered(live: Live) -> None:
    em = live.emulator
    before = len(live.group_replies())
    bot_message = _earlier_bot_message()
    em.send_text(
        CAROL,
        "and who disavowed Macron's statement about ground troops?",
        GROUP,
        "supergroup",
        reply_to=bot_message,
    )
    replies = em.wait_for(lambda: live.group_replies()[before:], 60, "a reply in the group")
    assert "NATO officials" in replies[0]["message"]["text"]


def test_non_admin_reindex_is_refused(live: Live) -> None:
    reply = live.ask_private(ALICE, "/reindex")
    assert reply["message"]["text"] == "Sorry, only the bot's admins can do that."
    assert not (live.data_dir / "uploads").exists()


def test_more_and_back_page_the_answer_in_place(live: Live) -> None:
    em = live.emulator
    reply = live.ask_private(ALICE, "What are the UK and France discussing?")
    first = reply["message"]["text"]
    assert "page 1 of" in first
    index = len(em.bot_messages(ALICE)) - 1
    more = reply["message"]["reply_markup"]["inline_keyboard"][0][-1]
    assert more["text"] == "More ▸"
    em.press(ALICE, reply, more["callback_data"])
    second = em.wait_for(
        lambda: "page 2 of" in (t := em.bot_messages(ALICE)[index]["message"]["text"]) and t,
        30, "the second page",
    )
    assert second != first
    key = more["callback_data"].rsplit(":", 1)[0]
    em.press(ALICE, em.bot_messages(ALICE)[index], f"{key}:0")
    em.wait_for(lambda: em.bot_messages(ALICE)[index]["message"]["text"] == first, 30,
                "the first page again")
    assert len(em.bot_messages(ALICE)) == index + 1  # one message, edited both ways


def test_small_talk_gets_a_friendly_line_in_private_and_silence_in_a_group(live: Live) -> None:
    em = live.emulator
    reply = live.ask_private(CAROL, "hi")
    assert reply["message"]["text"].startswith("Hi! Ask me about the news")
    bot_message = _earlier_bot_message()
    before = len(live.group_replies())
    em.send_text(CAROL, "thanks!", GROUP, "supergroup", reply_to=bot_message)
    em.send_text(CAROL, "/ask Who disavowed Macron's statement about ground troops?", GROUP,
                 "supergroup")
    # the answer to the /ask sent after it is the signal that "thanks!" was handled
    [answer] = em.wait_for(lambda: live.group_replies()[before:], 60, "the answer to /ask")
    asked = {u["message"]["text"]: u["messageId"] for u in em.user_messages(GROUP)}
    assert _reply_id(answer) == asked["/ask Who disavowed Macron's statement about ground troops?"]
    assert "NATO officials" in answer["message"]["text"]


def test_start_in_a_group_and_unknown_commands(live: Live) -> None:
    em = live.emulator
    before = len(live.group_replies())
    em.send_text(CAROL, "/start", GROUP, "supergroup")
    [start] = em.wait_for(lambda: live.group_replies()[before:], 30, "the /start reply")
    assert "Here: just type" not in start["message"]["text"]
    assert "In a group, like here" in start["message"]["text"]
    reply = live.ask_private(CAROL, "/foo")
    assert reply["message"]["text"].startswith("I don't know /foo.")


def test_admin_reindex_runs_while_another_user_is_answered(live: Live) -> None:
    em = live.emulator
    # enough new articles that the reindex takes a while, one with a fact nothing else has
    (live.news_dir / "900_elbonia.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    for i in range(40):
        source = sorted(CORPUS.glob("*.txt"))[i % 5].read_text(encoding="utf-8")
        (live.news_dir / f"8{i:02d}_copy.txt").write_text(
            f"Edition {i}\n\n{source}", encoding="utf-8"
        )
    before_admin = len(em.bot_messages(ADMIN))
    before_bob = len(em.bot_messages(BOB))
    em.send_text(ADMIN, "/reindex")
    em.wait_for(lambda: em.bot_messages(ADMIN)[before_admin:], 30, "the reindex status message")
    em.send_text(BOB, "Who disavowed Macron's statement about ground troops?")

    seen: dict[str, float] = {}

    def both_done() -> bool:
        status = em.bot_messages(ADMIN)[before_admin]["message"]["text"]
        if "Reindex done" in status:
            seen.setdefault("reindex", time.monotonic())
        if em.bot_messages(BOB)[before_bob:]:
            seen.setdefault("answer", time.monotonic())
        return len(seen) == 2

    em.wait_for(both_done, 180, "the reindex summary and Bob's answer")
    assert seen["answer"] < seen["reindex"], "the question waited for the reindex"
    assert "NATO officials" in em.bot_messages(BOB)[before_bob]["message"]["text"]
    status = em.bot_messages(ADMIN)[before_admin]["message"]["text"]
    assert "41 added" in status and "5 unchanged" in status
    # the new index is served once swapped in
    reply = live.ask_private(ALICE, "Who signed the Zorblatt accord?")
    assert "Elbonia" in reply["message"]["text"]


def test_sources_lists_every_article_in_whole_lines_with_paging(live: Live) -> None:
    # after the reindex above: 46 articles, too many long titles for one message
    em = live.emulator
    reply = live.ask_private(ADMIN, "/sources")
    text = reply["message"]["text"]
    header = re.match(r"<b>46 articles indexed \(1–(\d+), page 1 of (\d+)\):</b>\n• ", text)
    assert header is not None, text[:200]
    shown = int(header.group(1))
    assert text.count("\n• ") == shown and text.endswith(("passage)", "passages)"))
    assert "(1 passages)" not in text
    [more] = reply["message"]["reply_markup"]["inline_keyboard"][0]
    assert more["text"] == "More ▸"
    index = len(em.bot_messages(ADMIN)) - 1
    em.press(ADMIN, reply, more["callback_data"])
    page2 = em.wait_for(
        lambda: "page 2 of" in (t := em.bot_messages(ADMIN)[index]["message"]["text"]) and t,
        30, "the list's second page",
    )
    assert f"({shown + 1}–" in page2 and len(em.bot_messages(ADMIN)) == index + 1


# ---- Telegram errors: flood control, dropped connections, a restarted Bot API -------------------

HOLD = "[hold] "  # questions starting with this wait until the test releases them
DAVE, ERIN, FRANK = 1101, 1102, 1103
MACRON_QUESTION = "Who disavowed Macron's statement about ground troops?"
OTHER_QUESTION = "Which countries reactivated talks on sending troops?"  # another answer
# the bot's re-send delays, shorter than production's SEND_RETRY_DELAYS_S to keep the tests quick
RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0, 4.0)


class HeldServices:
    """The real services, except that a question starting with ``HOLD`` is answered only once
    the test releases it, so the test can break Telegram while the answer is on its way."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asking = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ask(self, question: str, k: int = 3) -> Any:
        if question.startswith(HOLD):
            self.asking.set()
            if not self.release.wait(60):
                raise TimeoutError("the test never released the held question")
            question = question.removeprefix(HOLD)
        return self.inner.ask(question, k)


@dataclass
class Flaky:
    emulator: Emulator
    bot: BotThread
    services: HeldServices

    def replies(self, uid: int) -> list[str]:
        return [u["message"]["text"] for u in self.emulator.bot_messages(uid)]


@pytest.fixture(scope="module")
def flaky(indexed: Indexed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flaky]:
    """A second bot on its own emulator, which these tests break and restart."""
    services = HeldServices(indexed.services)
    with own_emulator(services, indexed.config.bot, tmp_path_factory.mktemp("flaky") / "bot.db",
                      send_retry_delays=RETRY_DELAYS_S) as (emulator, bot):
        yield Flaky(emulator, bot, services)


def test_flood_control_and_dropped_connections_are_retried_and_delivered_once(
    flaky: Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22 warns on RetryAfter's int unless opted in
    em = flaky.emulator
    em.inject("sendMessage", ["429", "drop", "drop"])
    started = time.monotonic()
    em.send_text(DAVE, MACRON_QUESTION)
    em.wait_for(lambda: flaky.replies(DAVE), 60, "the answer despite the faults")
    elapsed = time.monotonic() - started
    # the answer to a second question is the signal: a duplicate of the first would come before it
    em.send_text(DAVE, OTHER_QUESTION)
    replies = em.wait_for(
        lambda: len(flaky.replies(DAVE)) >= 2 and flaky.replies(DAVE), 60, "a second answer"
    )
    assert len(replies) == 2 and "NATO officials" in replies[0]
    assert replies[1] != replies[0]  # the second question's own answer, not the first again
    queued, met = em.faults()
    assert queued["sendMessage"] == []
    assert [m["fault"] for m in met if m["method"] == "sendMessage"] == ["429", "drop", "drop"]
    assert elapsed >= 1.0 + RETRY_DELAYS_S[0]  # retry_after (1 s) was waited out, then a backoff


def test_a_reply_that_fails_for_good_is_logged_with_its_chat(
    flaky: Flaky, caplog: pytest.LogCaptureFixture
) -> None:
    em = flaky.emulator
    em.inject("sendMessage", ["drop"] * (1 + len(RETRY_DELAYS_S)))  # every attempt fails
    em.send_text(ERIN, MACRON_QUESTION)
    # the answer is lost; the error handler then tells the user to try again
    em.wait_for(lambda: flaky.replies(ERIN), 60, "the error reply")
    assert flaky.replies(ERIN) == [ERROR_REPLY]
    lost = [r for r in caplog.records if "failed for good" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.ERROR
    message = lost[0].getMessage()
    assert message.startswith(f"sendMessage to chat {ERIN} failed for good")
    assert f"after {1 + len(RETRY_DELAYS_S)} attempt(s)" in message
    retries = [
        r
        for r in caplog.records
        if f"to chat {ERIN}" in r.getMessage() and "retrying" in r.getMessage()
    ]
    assert len(retries) == len(RETRY_DELAYS_S)
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_the_bot_survives_a_restart_of_the_bot_api_and_loses_no_answer(
    flaky: Flaky, caplog: pytest.LogCaptureFixture
) -> None:
    em = flaky.emulator
    em.send_text(FRANK, HOLD + MACRON_QUESTION)
    assert flaky.services.asking.wait(60), "the bot never picked up the question"
    em.kill()  # the Bot API dies while the answer is being prepared
    flaky.services.release.set()
    retried = f"sendMessage to chat {FRANK} failed"
    em.wait_for(
        lambda: any(
            retried in r.getMessage() and "retrying" in r.getMessage() for r in caplog.records
        ),
        10,
        "a failed attempt to send the answer",
    )
    em.start_again()  # same port, nothing stored: the old history is gone
    [answer] = em.wait_for(lambda: flaky.replies(FRANK), 30, "the answer held across the restart")
    assert "NATO officials" in answer
    # polling recovered too: a question sent to the new emulator is answered
    em.send_text(FRANK, "What did Le Monde report?")
    em.wait_for(lambda: len(flaky.replies(FRANK)) == 2, 60, "an answer after the restart")
    # the answer to a third question is the signal: a duplicate of either would come before it
    em.send_text(FRANK, OTHER_QUESTION)
    replies = em.wait_for(
        lambda: len(flaky.replies(FRANK)) >= 3 and flaky.replies(FRANK), 60, "a third answer"
    )
    assert len(replies) == 3 and len(set(replies)) == 3  # three questions, three answers
    assert flaky.bot.thread.is_alive() and flaky.bot.error is None
    assert not [r for r in caplog.records if "failed for good" in r.getMessage()]


# ---- feeds: added by an admin, then fetched on the bot's own schedule ------------------------

GRACE = 1006
ZORBLATT_PAGE = (
    "<html><head><title>Elbonia signs the Zorblatt accord</title></head><body><article>"
    "<h1>Elbonia signs the Zorblatt accord</h1><p>The Zorblatt accord on river shipping was "
    "signed in Vienna by the foreign minister of Elbonia.</p><p>Officials said the accord would "
    "take effect next spring after ratification by parliament.</p></article></body></html>"
)
QUUX_PAGE = (
    "<html><head><title>Quux Mining names a chief</title></head><body><article>"
    "<h1>Quux Mining names a chief</h1><p>Quux Mining appointed Ingrid Vale as its chief "
    "executive on Tuesday, the company said.</p><p>She succeeds the founder, who retires."
    "</p></article></body></html>"
)


def one_item_rss(title: str, link: str, date: str) -> str:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item>'
            f"<title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>"
            "<description>s</description></item></channel></rss>")


@dataclass
class Fed:
    emulator: Emulator
    services: Any
    site: Any  # tests.conftest.Site


@pytest.fixture(scope="module")
def fed(indexed: Indexed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    """A bot on its own emulator and data directory, polling its feeds every half second; the
    feeds are served on 127.0.0.1, which only this bot's config allows."""
    from bot.services import Services
    from tests.conftest import running_site

    root = tmp_path_factory.mktemp("fed")
    settings = dataclasses.replace(indexed.config.bot, allow_private_urls=True)
    config = dataclasses.replace(indexed.config, data_dir=root / "data", bot=settings)
    services = Services(config, embedder=indexed.services.embedder)
    bot = own_emulator(services, settings, root / "bot.db", feed_check_seconds=0.5)
    with running_site() as site, bot as (emulator, _thread):
        yield Fed(emulator, services, site)


def test_an_admin_adds_a_feed_and_the_schedule_fetches_the_next(fed: Fed) -> None:
    em, site = fed.emulator, fed.site
    page = site.put("/zorblatt.html", ZORBLATT_PAGE)
    feed = site.put("/wire.xml", one_item_rss("Elbonia signs the Zorblatt accord", page,
                                              "Mon, 30 Nov 2026 09:00:00 GMT"),
                    kind="application/rss+xml")
    em.send_text(ADMIN, f"/feed_add {feed}")
    em.wait_for(lambda: any("1 added" in m["message"]["text"] for m in em.bot_messages(ADMIN)), 60,
                "the feed's first fetch reported")
    em.send_text(GRACE, "Where was the Zorblatt accord signed?")
    [answer] = em.wait_for(lambda: em.bot_messages(GRACE), 60, "an answer from the feed entry")
    text = answer["message"]["text"]
    assert "Vienna" in text and "Elbonia signs the Zorblatt accord" in text
    assert "30 Nov 2026" in text  # the entry's date, shown with its source

    # a feed added beside the running bot (`quotebot feeds add`): the bot's schedule fetches it
    other = site.put("/quux.html", QUUX_PAGE)
    second = site.put("/mining.xml", one_item_rss("Quux Mining names a chief", other,
                                                  "Tue, 01 Dec 2026 08:00:00 GMT"),
                      kind="application/rss+xml")
    fed.services.add_feed(second)
    em.wait_for(lambda: fed.services.stats()["articles"] == 2, 60,
                "the scheduled fetch of the second feed, indexed")
    em.send_text(GRACE, "Who did Quux Mining appoint as chief executive?")
    replies = em.wait_for(lambda: em.bot_messages(GRACE)[1:], 60, "an answer from the schedule")
    text = replies[0]["message"]["text"]
    assert "Ingrid Vale" in text and "1 Dec 2026" in text
    assert len(site.hits("/wire.xml")) >= 1 and len(site.hits("/quux.html")) == 1
