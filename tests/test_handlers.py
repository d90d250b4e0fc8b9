"""Handler-level tests: the real ``Application`` from ``build_application`` processes hand-made
updates; a recording request object stands in for Telegram and a fake ``Services`` for the index.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot import app as bot_app
from bot import formatting as fmt
from bot import handlers as h
from bot.config import BotSettings
from bot.state import BotState
from index.errors import FeedError, IngestError, QuotebotError, StoreUnavailable
from index.feeds import Feed, FeedReport
from index.records import IndexSummary, Skipped
from retrieval.answers import Answer, Result, SourceRef

BOT_ID = 4242
BOT_NAME = "quote_bot"
ADMIN = 1
USER = 2
TOKEN = "4242:TEST-token-never-logged"


# ---- fakes ---------------------------------------------------------------------------------


@dataclass
class FakeCatalog:
    articles: int = 5
    passages: int = 120
    first_published: str | None = "2024-02-26"
    last_published: str | None = "2024-11-25"


@dataclass
class FakeArticle:
    id: str
    title: str
    path: str | None
    url: str | None
    published: str | None
    passages: int


def _source(i: int) -> SourceRef:
    return SourceRef(id=f"a{i}", title=f"Article {i}", path=f"/news/{i}.txt",
                     url=f"https://news.example/{i}", published="2024-11-25", start=0, end=50)


TROOPS = [
    "The statement was quickly disavowed by NATO officials, while Scholz objected.",
    "The UK and France have reactivated talks on sending troops to Ukraine.",
    "Macron caused controversy by declaring his willingness to send ground troops.",
    "Starmer and Macron are lobbying for deeper missile strikes.",
]


@dataclass
class FakeServices:
    """Same methods as ``bot.services.Services``; records calls and the thread they ran in."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    reindex_started: threading.Event = field(default_factory=threading.Event)
    reindex_release: threading.Event = field(default_factory=threading.Event)
    ask_error: Exception | None = None

    def __post_init__(self) -> None:
        self.reindex_release.set()
        self.feed_release.set()

    def _record(self, name: str, arg: Any = None) -> None:
        self.calls.append((name, arg))
        self.threads.append(threading.current_thread().name)

    def ask(self, question: str, k: int = 3) -> Result:
        self._record("ask", question)
        if self.ask_error is not None:
            raise self.ask_error
        if "troops" in question.lower() or "disavow" in question.lower():
            answers = tuple(
                Answer(quote=q, highlight=(q.index("NATO"), q.index("NATO") + 14)
                       if "NATO" in q else None, score=1.0 - i / 10,
                       sources=(_source(i), _source(i + 10)) if i == 0 else (_source(i),),
                       passage_ids=(i,))
                for i, q in enumerate(TROOPS))
            return Result(question, False, answers[:k])
        if "<" in question:
            quote = f"Echo {question}" + " many words" * (800 if "long" in question else 0)
            return Result(question, False, (Answer(quote, (0, 4), 0.9, (_source(9),), (9,)),))
        return Result(question, True, (), message=None,
                      related=("Troops to Ukraine", "Missile strikes"))

    def reindex(self, progress: Any = None) -> IndexSummary:
        self._record("reindex")
        self.reindex_started.set()
        for done in range(1, 4):
            if progress is not None:
                progress("embedding", done, 3)
            time.sleep(0.02)
        assert self.reindex_release.wait(10)
        return IndexSummary(added=["x"], updated=[], unchanged=["a", "b"], passages_embedded=7,
                            seconds=0.5)

    def add_url(self, url: str) -> IndexSummary:
        self._record("add_url", url)
        if "bad" in url:
            raise IngestError(f"{url}: could not fetch (HTTP 404)")
        return IndexSummary(added=[url], passages_embedded=3)

    def add_upload(self, filename: str, data: bytes) -> IndexSummary:
        self._record("add_upload", (filename, data))
        return IndexSummary(added=[filename], passages_embedded=2,
                            skipped=[Skipped("line 3", "no text")])

    articles: int = 1

    def sources(self) -> list[FakeArticle]:
        self._record("sources")
        first = [FakeArticle("a1", "Troops <talks>", "/n/1.txt", "https://n.example/1",
                             "2024-11-25", 12)]
        return first + [FakeArticle(f"v{i}", f"Variant {i}: " + "long title " * 20, None, None,
                                    None, 1) for i in range(2, self.articles + 1)]

    def catalog(self) -> FakeCatalog:
        self._record("catalog")
        return FakeCatalog()

    def stats(self) -> dict[str, Any]:
        self._record("stats")
        return {"articles": 5, "passages": 120, "index_bytes": 2_000_000}

    feed_list: list[Feed] = field(default_factory=list)
    feed_release: threading.Event = field(default_factory=threading.Event)

    def feeds(self) -> list[Feed]:
        self._record("feeds")
        return self.feed_list

    def add_feed(self, url: str, every: int | None = None) -> Feed:
        self._record("add_feed", (url, every))
        if "bad" in url:
            raise FeedError(f"{url}: refusing 10.0.0.1: not a public internet address")
        feed = Feed(url, every or 60)
        self.feed_list.append(feed)
        return feed

    def remove_feed(self, url: str) -> IndexSummary:
        self._record("remove_feed", url)
        if url not in [f.url for f in self.feed_list]:
            raise FeedError(f"{url} is not a feed")
        return IndexSummary(removed=["e1", "e2"])

    def fetch_feeds(self, due_only: bool = False, urls: Any = None) -> list[FeedReport]:
        self._record("fetch_feeds", (due_only, urls))
        assert self.feed_release.wait(10)
        return [FeedReport(f.url, added=2, notes=["x.html: the server answered HTTP 404"])
                for f in self.feed_list if urls is None or f.url in urls]


class FakeTelegram(BaseRequest):
    """Stands in for the Bot API: records every call and answers like Telegram would.

    ``fail[method]`` queues (status, body) responses to return first, e.g. a 400 about entities
    or a 429 RetryAfter.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        self.files: dict[str, bytes] = {}
        self._next_id = 1000

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            return 200, self.files[url.rsplit("/", 1)[-1]]
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((name, params))
        if self.fail[name]:
            status, body = self.fail[name].pop(0)
            return status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Quote", "username": BOT_NAME,
                    "can_join_groups": True, "supports_inline_queries": True}
        if name in ("sendMessage", "editMessageText"):
            self._next_id += 1
            return {"message_id": params.get("message_id", self._next_id), "date": 1700000000,
                    "chat": {"id": params["chat_id"], "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Quote"},
                    "text": params["text"]}
        if name == "getFile":
            return {"file_id": params["file_id"], "file_unique_id": "u1",
                    "file_path": params["file_id"]}
        return True


# ---- update builders -----------------------------------------------------------------------

_update_ids = iter(range(1, 1_000_000))


def _user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": f"User{uid}"}


def message(text: str, uid: int = USER, chat_id: int | None = None, chat_type: str = "private",
            entities: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    if entities is None and text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    msg = {"message_id": next(_update_ids), "date": 1700000000, "from": _user(uid),
           "chat": {"id": chat_id if chat_id is not None else uid, "type": chat_type},
           "text": text, **extra}
    if entities:
        msg["entities"] = entities
    return {"update_id": next(_update_ids), "message": msg}


def group(text: str, uid: int = USER, **kw: Any) -> dict[str, Any]:
    return message(text, uid, chat_id=-100, chat_type="supergroup", **kw)


def callback(data: str, uid: int = USER, message_id: int = 1001) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "callback_query": {
        "id": str(next(_update_ids)), "from": _user(uid), "chat_instance": "ci", "data": data,
        "message": {"message_id": message_id, "date": 1700000000,
                    "chat": {"id": uid, "type": "private"}, "text": "old",
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Quote"}}}}


# ---- fixtures ------------------------------------------------------------------------------


@dataclass
class Harness:
    app: Application  # type: ignore[type-arg]
    tg: FakeTelegram
    services: FakeServices
    state: BotState

    async def send(self, data: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(data, self.app.bot))

    def texts(self) -> list[str]:
        return [p["text"] for p in self.tg.sent()]


def make_harness(tmp_path: Path, **settings: Any) -> Harness:
    defaults: dict[str, Any] = {"admins": (ADMIN,), "article_dirs": ("/news",),
                                "answers_per_page": 3, "max_answers": 9,
                                "rate_limit_count": 50, "rate_limit_seconds": 30.0,
                                "max_upload_bytes": 1000}
    tg, services = FakeTelegram(), FakeServices()
    state = BotState(tmp_path / "bot.db")
    app = bot_app.build_application(services, TOKEN, request=tg, get_updates_request=tg,
                                    settings=BotSettings(**{**defaults, **settings}), state=state)
    h.BotDeps.of(app).progress_interval = 0.01
    return Harness(app, tg, services, state)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = make_harness(tmp_path)
    async with harness.app:
        yield harness


# ---- private questions ---------------------------------------------------------------------


async def test_private_question_gets_quotes_sources_and_buttons(bot: Harness) -> None:
    await bot.send(message("Who disavowed Macron's statement about ground troops?"))
    [reply] = bot.tg.sent()
    text = reply["text"]
    assert reply["parse_mode"] == "HTML"
    assert "<blockquote>The statement was quickly disavowed by <b>NATO officials</b>" in text
    assert '<a href="https://news.example/0">Article 0</a>, 25 Nov 2024 and 1 more source' in text
    assert "Answers 1–3 of 4" in text and TROOPS[3] not in text
    buttons = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["👍", "👎", "More ▸"]
    assert bot.tg.sent("sendChatAction")[0]["action"] == "typing"
    # the model ran in a worker thread, never on the event loop's thread
    assert bot.services.threads[0] != threading.main_thread().name
    assert bot.state.counts()["questions_asked"] == 1


async def test_more_and_back_page_the_same_message_both_ways(bot: Harness) -> None:
    await bot.send(message("Tell me about troops"))
    first = bot.tg.sent()[0]
    markup = first["reply_markup"]["inline_keyboard"][0]
    more = markup[2]["callback_data"]
    assert len(more.encode()) < 64
    assert "page 1 of 2" in first["text"]
    await bot.send(callback(more))
    [edit] = bot.tg.sent("editMessageText")
    assert TROOPS[3] in edit["text"] and TROOPS[0] not in edit["text"]
    assert "Answers 4–4 of 4 · page 2 of 2" in edit["text"]
    buttons = edit["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍", "👎", "◂ Back"]
    await bot.send(callback(buttons[2]["callback_data"]))
    back = bot.tg.sent("editMessageText")[1]
    assert back["text"] == first["text"] and back["message_id"] == edit["message_id"]
    assert [b["text"] for b in back["reply_markup"]["inline_keyboard"][0]] == ["👍", "👎",
                                                                              "More ▸"]
    assert len(bot.tg.sent()) == 1  # edited in place: no new message
    assert bot.tg.sent("answerCallbackQuery")


async def test_feedback_button_stores_the_vote(bot: Harness) -> None:
    await bot.send(message("Tell me about troops"))
    thumbs_down = bot.tg.sent()[0]["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    await bot.send(callback(thumbs_down, uid=USER))
    [row] = bot.state.feedback()
    assert row["vote"] == -1 and row["user_id"] == USER
    assert row["question"] == "Tell me about troops"
    assert json.loads(row["answer_ids"]) == [[0], [1], [2]]
    assert bot.tg.sent("answerCallbackQuery")[-1]["text"] == "Thanks for the feedback!"


async def test_expired_buttons_say_so(bot: Harness) -> None:
    await bot.send(callback("more:nokey:1"))
    await bot.send(callback("fb:nokey:0:+"))
    answers = bot.tg.sent("answerCallbackQuery")
    assert all("expired" in a["text"] for a in answers) and len(answers) == 2
    assert not bot.state.feedback()


async def test_not_found_reply_offers_related_topics_and_no_buttons(bot: Harness) -> None:
    await bot.send(message("What is the capital of Mars?"))
    [reply] = bot.tg.sent()
    assert reply["text"].startswith(fmt.NOT_FOUND)
    assert "• Troops to Ukraine" in reply["text"]
    assert "reply_markup" not in reply


async def test_question_and_quote_text_are_escaped(bot: Harness) -> None:
    await bot.send(message("what is <b>bold</b> & <script>?"))
    text = bot.tg.sent()[0]["text"]
    assert "&lt;script&gt;" in text and "<script>" not in text


async def test_rejected_markup_falls_back_to_plain_text(bot: Harness) -> None:
    bot.tg.fail["sendMessage"].append(
        (400, {"ok": False, "error_code": 400,
               "description": "Bad Request: can't parse entities: unsupported start tag"}))
    await bot.send(message("Tell me about troops"))
    first, second = bot.tg.sent()
    assert first["parse_mode"] == "HTML"
    assert "parse_mode" not in second and "<blockquote>" not in second["text"]
    assert "“" not in second["text"] and "NATO officials" in second["text"]
    assert "Article 0 (https://news.example/0)" in second["text"]
    assert second["reply_markup"]  # the buttons survive the fallback


@pytest.mark.slow  # waits out Telegram's shortest retry_after, 1 s
async def test_retry_after_is_honoured(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns about RetryAfter's future timedelta type unless opted in; opt in
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    bot.tg.fail["sendMessage"].append(
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
               "parameters": {"retry_after": 1}}))
    started = time.monotonic()
    await bot.send(message("Tell me about troops"))
    assert time.monotonic() - started >= 1.0
    assert len(bot.tg.sent()) == 2  # the rejected attempt and the retry
    assert "NATO officials" in bot.tg.sent()[-1]["text"]


async def test_rate_limit_slows_a_user_down(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, rate_limit_count=2, rate_limit_seconds=60.0)
    async with harness.app:
        for _ in range(3):
            await harness.send(message("Tell me about troops"))
        await harness.send(message("Tell me about troops", uid=77))
    texts = harness.texts()
    assert "asking faster than I can read" in texts[2] and "60 s" in texts[2]
    assert "NATO" in texts[3]  # another user is not affected
    assert [c for c, _ in harness.services.calls].count("ask") == 3


async def test_service_errors_are_shown_and_crashes_logged_not_leaked(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    bot.services.ask_error = QuotebotError("No index yet: run `quotebot index PATH` first.")
    await bot.send(message("Tell me about troops"))
    assert bot.texts()[-1] == "No index yet: run `quotebot index PATH` first."
    bot.services.ask_error = RuntimeError("secret internals")
    with caplog.at_level(logging.ERROR):
        await bot.send(message("Tell me about troops"))
    assert bot.texts()[-1] == h.ERROR_REPLY
    assert "secret internals" not in bot.texts()[-1]
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


async def test_an_unavailable_database_asks_to_try_again_without_its_address(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    bot.services.ask_error = StoreUnavailable(
        "the index database postgresql://qb:***@db.internal:5432/qb (schema quotebot) is "
        "unavailable (connection refused); check that the server runs and [store] url")
    with caplog.at_level(logging.WARNING):
        await bot.send(message("Tell me about troops"))
    assert bot.texts()[-1] == fmt.TRY_AGAIN
    assert any("db.internal" in r.getMessage() for r in caplog.records)  # the log says where


async def test_a_long_answer_is_split_and_buttons_go_on_the_last_part(bot: Harness) -> None:
    await bot.send(message("<long answer, please?"))
    parts = bot.tg.sent()
    assert len(parts) >= 3
    assert all(len(p["text"]) <= 4096 for p in parts)
    assert "reply_markup" in parts[-1] and all("reply_markup" not in p for p in parts[:-1])


# ---- groups --------------------------------------------------------------------------------


async def test_group_chatter_gets_no_reply(bot: Harness) -> None:
    await bot.send(group("anyone seen the news about troops?"))
    await bot.send(group("@someone_else what about troops?",
                         entities=[{"type": "mention", "offset": 0, "length": 13}]))
    await bot.send(group("/ask@other_bot troops?"))
    assert bot.tg.sent() == [] and bot.services.calls == []


@pytest.mark.parametrize("text,entities", [
    ("/ask who disavowed the troops idea?", None),
    (f"/ask@{BOT_NAME} who disavowed the troops idea?", None),
    (f"@{BOT_NAME} who disavowed the troops idea?",
     [{"type": "mention", "offset": 0, "length": len(BOT_NAME) + 1}]),
    (f"who disavowed the troops idea, @{BOT_NAME.upper()}?",
     [{"type": "mention", "offset": 31, "length": len(BOT_NAME) + 1}]),
])
async def test_group_asks_are_answered_as_replies(bot: Harness, text: str,
                                                  entities: list[dict[str, Any]] | None) -> None:
    update = group(text, entities=entities)
    await bot.send(update)
    [reply] = bot.tg.sent()
    assert reply["chat_id"] == -100
    assert reply["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert "NATO officials" in reply["text"]
    [(_, question)] = [c for c in bot.services.calls if c[0] == "ask"]
    assert "who disavowed the troops idea" in question
    assert BOT_NAME not in question.lower() and "/ask" not in question


async def test_a_reply_to_the_bot_in_a_group_is_a_question(bot: Harness) -> None:
    bot_message = {"message_id": 5, "date": 1700000000, "text": "earlier answer",
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Quote"},
                   "chat": {"id": -100, "type": "supergroup"}}
    await bot.send(group("and the troops?", reply_to_message=bot_message))
    [reply] = bot.tg.sent()
    assert "NATO officials" in reply["text"]
    other = {**bot_message, "from": _user(9)}
    await bot.send(group("and the troops?", reply_to_message=other))
    assert len(bot.tg.sent()) == 1


async def test_ask_without_a_question_explains_usage(bot: Harness) -> None:
    await bot.send(group("/ask"))
    assert "/ask who sent troops?" in bot.texts()[0]
    assert not bot.services.calls


# ---- inline --------------------------------------------------------------------------------


async def test_inline_query_offers_each_answer(bot: Harness) -> None:
    update = {"update_id": next(_update_ids), "inline_query": {
        "id": "iq1", "from": _user(USER), "query": "who disavowed the troops idea?",
        "offset": ""}}
    await bot.send(update)
    [answer] = bot.tg.sent("answerInlineQuery")
    results = answer["results"]
    assert len(results) == 4
    first = results[0]
    assert first["title"] == "NATO officials"
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert "<b>NATO officials</b>" in content["message_text"]
    assert "<i>who disavowed the troops idea?</i>" in content["message_text"]


async def test_empty_inline_query_answers_nothing(bot: Harness) -> None:
    await bot.send({"update_id": next(_update_ids), "inline_query": {
        "id": "iq2", "from": _user(USER), "query": "  ", "offset": ""}})
    assert bot.tg.sent("answerInlineQuery")[0]["results"] == []
    assert not bot.services.calls


# ---- start, help, command menu -------------------------------------------------------------


async def test_start_explains_what_it_knows_and_how_to_ask(bot: Harness) -> None:
    await bot.send(message("/start"))
    text = "\n".join(bot.texts())
    assert "5 news articles" in text and "26 Feb 2024 to 25 Nov 2024" in text
    assert f"@{BOT_NAME}" in text and "/ask" in text and "/reindex" not in text
    await bot.send(message("/help", uid=ADMIN))
    assert "/reindex" in bot.texts()[-1]


async def test_post_init_registers_the_command_menus(bot: Harness) -> None:
    assert bot.app.post_init is not None
    await bot.app.post_init(bot.app)
    everyone, admin = bot.tg.sent("setMyCommands")
    assert [c["command"] for c in everyone["commands"]] == ["ask", "help", "start"]
    assert "reindex" in [c["command"] for c in admin["commands"]]
    assert admin["scope"] == {"type": "chat", "chat_id": ADMIN}


# ---- admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/reindex", "/add https://x.example/a", "/sources",
                                     "/stats", "/feeds", "/feed_add https://x.example/f.xml",
                                     "/feed_remove https://x.example/f.xml"])
async def test_non_admins_are_refused_and_nothing_changes(bot: Harness, command: str) -> None:
    await bot.send(message(command, uid=USER))
    assert bot.texts() == [h.REFUSAL]
    assert bot.services.calls == []


async def test_non_admin_upload_is_refused(bot: Harness) -> None:
    doc = {"file_id": "f1", "file_unique_id": "u", "file_name": "a.txt", "file_size": 5}
    await bot.send(message("", uid=USER, document=doc))
    assert bot.texts() == [h.REFUSAL]
    assert bot.services.calls == [] and bot.tg.sent("getFile") == []


async def test_reindex_edits_progress_then_summary_while_questions_are_answered(
        bot: Harness) -> None:
    bot.services.reindex_release.clear()
    task = asyncio.create_task(bot.send(message("/reindex", uid=ADMIN)))
    assert await asyncio.to_thread(bot.services.reindex_started.wait, 5)
    # a second user's question is answered while the reindex is still running
    await asyncio.wait_for(bot.send(message("Tell me about troops", uid=USER)), 5)
    assert not task.done()
    assert "NATO officials" in bot.texts()[-1]
    # a second /reindex does not start another one
    await bot.send(message("/reindex", uid=ADMIN))
    assert bot.texts()[-1] == "A reindex is already running."
    for _ in range(500):  # the last progress is shown (not merely slept for) before it finishes
        if "Reindexing… embedding 3/3" in [e["text"] for e in bot.tg.sent("editMessageText")]:
            break
        await asyncio.sleep(0.01)
    bot.services.reindex_release.set()
    await asyncio.wait_for(task, 5)
    status = bot.tg.sent()[0]
    assert status["text"] == "Reindexing…"
    edits = [e["text"] for e in bot.tg.sent("editMessageText")]
    assert "Reindexing… embedding 3/3" in edits
    assert edits[-1].startswith("<b>Reindex done</b>")
    assert "1 added, 0 updated, 2 unchanged, 0 removed" in edits[-1]
    assert [c for c, _ in bot.services.calls].count("reindex") == 1


async def test_reindex_without_folders_is_a_clear_message(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, article_dirs=())
    async with harness.app:
        await harness.send(message("/reindex", uid=ADMIN))
    assert "article_dirs" in harness.texts()[0]
    assert harness.services.calls == []


async def test_add_url_indexes_or_explains(bot: Harness) -> None:
    await bot.send(message("/add https://news.example/new", uid=ADMIN))
    assert ("add_url", "https://news.example/new") in bot.services.calls
    assert bot.texts()[-1].startswith("<b>Added</b>")
    await bot.send(message("/add https://news.example/bad", uid=ADMIN))
    assert "Couldn't add that: https://news.example/bad: could not fetch" in bot.texts()[-1]
    await bot.send(message("/add", uid=ADMIN))
    assert "Usage" in bot.texts()[-1]


async def test_feed_add_fetches_it_now_and_feeds_lists_it(bot: Harness) -> None:
    await bot.send(message("/feeds", uid=ADMIN))
    assert "No feeds yet" in bot.texts()[-1]
    await bot.send(message("/feed_add https://wire.example/feed.xml 15", uid=ADMIN))
    assert ("add_feed", ("https://wire.example/feed.xml", 15)) in bot.services.calls
    assert ("fetch_feeds", (False, ["https://wire.example/feed.xml"])) in bot.services.calls
    assert bot.texts()[-1] == "Added https://wire.example/feed.xml; fetching it now…"
    [edited] = bot.tg.sent("editMessageText")
    assert edited["text"].startswith("<b>Added; fetched every 15 min</b>")
    assert "https://wire.example/feed.xml: 2 added, 0 updated, 0 unchanged, 0 failed" in (
        edited["text"])
    assert "• x.html: the server answered HTTP 404" in edited["text"]
    bot.services.feed_list[0] = Feed("https://wire.example/feed.xml", 15, title="Wire <news>",
                                     last_fetched="2026-12-01T10:00:00+00:00",
                                     last_result="2 added", entries=2)
    await bot.send(message("/feeds", uid=ADMIN))
    listing = bot.texts()[-1]
    assert "<b>1 feed:</b>" in listing
    assert '<a href="https://wire.example/feed.xml">Wire &lt;news&gt;</a>' in listing
    assert "every 15 min, 2 entries; last fetched" in listing and "2 added" in listing


@pytest.mark.parametrize("command,reply", [
    ("/feed_add", "Usage"),
    ("/feed_add https://wire.example/f.xml soon", "Usage"),
    ("/feed_add https://wire.example/f.xml 0", "Usage"),
    ("/feed_add http://bad.example/f.xml", "Couldn't add that feed: http://bad.example/f.xml: "
                                           "refusing 10.0.0.1"),
    ("/feed_remove", "Usage"),
    ("/feed_remove https://wire.example/none.xml", "Couldn't remove that feed: "
                                                   "https://wire.example/none.xml is not a feed"),
])
async def test_feed_commands_explain_what_is_wrong(bot: Harness, command: str,
                                                   reply: str) -> None:
    await bot.send(message(command, uid=ADMIN))
    assert reply in bot.texts()[-1]
    assert not any(name == "fetch_feeds" for name, _ in bot.services.calls)


async def test_feed_remove_says_how_many_articles_went(bot: Harness) -> None:
    await bot.send(message("/feed_add https://wire.example/feed.xml", uid=ADMIN))
    await bot.send(message("/feed_remove https://wire.example/feed.xml", uid=ADMIN))
    assert bot.texts()[-1] == "Removed https://wire.example/feed.xml and 2 articles."


async def test_a_feed_pass_never_runs_twice_at_once(bot: Harness) -> None:
    bot.services.feed_list.append(Feed("https://wire.example/feed.xml", 60))
    bot.services.feed_release.clear()
    deps = h.BotDeps.of(bot.app)
    first = asyncio.create_task(h._feed_pass(deps, due_only=True))
    while not bot.services.calls:
        await asyncio.sleep(0.01)
    assert await h._feed_pass(deps) == (
        "A feed fetch is already running; the feed is fetched after it.")
    bot.services.feed_release.set()
    [report] = await first
    assert report.added == 2
    assert bot.services.calls == [("fetch_feeds", (True, None))]
    assert bot.services.threads[0] != threading.main_thread().name  # off the event loop


async def test_the_scheduler_polls_due_feeds_when_configured(tmp_path: Path) -> None:
    services = FakeServices()
    app = bot_app.build_application(services, TOKEN, request=FakeTelegram(),
                                    get_updates_request=FakeTelegram(),
                                    settings=BotSettings(admins=(ADMIN,)),
                                    state=BotState(tmp_path / "bot.db"), feed_check_seconds=0.05)
    [job] = app.job_queue.jobs()  # type: ignore[union-attr]
    assert job.name == "feeds"
    services.feed_list.append(Feed("https://wire.example/feed.xml", 60))
    async with app:
        await app.start()
        try:
            for _ in range(200):
                if services.calls:
                    break
                await asyncio.sleep(0.01)
        finally:
            await app.stop()
    assert services.calls[0] == ("fetch_feeds", (True, None))
    unscheduled = bot_app.build_application(services, TOKEN, request=FakeTelegram(),
                                            get_updates_request=FakeTelegram(),
                                            settings=BotSettings(admins=(ADMIN,)),
                                            state=BotState(tmp_path / "bot2.db"))
    assert unscheduled.job_queue.jobs() == ()  # type: ignore[union-attr]


async def test_uploaded_document_is_downloaded_and_indexed(bot: Harness) -> None:
    bot.tg.files["f1"] = b"Title\n\nSome article text."
    doc = {"file_id": "f1", "file_unique_id": "u", "file_name": "report.md", "file_size": 24}
    await bot.send(message("", uid=ADMIN, document=doc))
    assert ("add_upload", ("report.md", b"Title\n\nSome article text.")) in bot.services.calls
    assert bot.texts()[-1].startswith("<b>Indexed report.md</b>")
    assert "line 3" in bot.texts()[-1]


@pytest.mark.parametrize("name", ["notes.markdown", "wire.jsonl.gz", "Page.HTM"])
async def test_every_format_the_index_reads_can_be_uploaded(bot: Harness, name: str) -> None:
    bot.tg.files["f1"] = b"x"
    doc = {"file_id": "f1", "file_unique_id": "u", "file_name": name, "file_size": 1}
    await bot.send(message("", uid=ADMIN, document=doc))
    assert ("add_upload", (name, b"x")) in bot.services.calls


@pytest.mark.parametrize("name,size,expected", [("photo.png", 10, "not one of them"),
                                                ("big.txt", 5000, "the limit is 1,000")])
async def test_unsuitable_uploads_are_refused(bot: Harness, name: str, size: int,
                                              expected: str) -> None:
    doc = {"file_id": "f2", "file_unique_id": "u", "file_name": name, "file_size": size}
    await bot.send(message("", uid=ADMIN, document=doc))
    assert expected in bot.texts()[-1]
    assert bot.services.calls == []


async def test_sources_and_stats_for_admins(bot: Harness) -> None:
    await bot.send(message("Tell me about troops", uid=USER))
    await bot.send(message("/sources", uid=ADMIN))
    assert ('<a href="https://n.example/1">Troops &lt;talks&gt;</a>, 25 Nov 2024 (12 passages)'
            in bot.texts()[-1])
    await bot.send(message("/stats", uid=ADMIN))
    stats = bot.texts()[-1]
    assert "Passages: 120" in stats and "Index bytes: 1.9 MB" in stats
    assert "Questions asked: 1" in stats


async def test_sources_pages_whole_lines_with_back_and_more(bot: Harness) -> None:
    bot.services.articles = 130
    await bot.send(message("/sources", uid=ADMIN))
    [first] = bot.tg.sent()
    header = re.match(r"<b>130 articles indexed \(1–(\d+), page 1 of (\d+)\):</b>\n• ",
                      first["text"])
    assert header is not None
    shown, pages = int(header.group(1)), int(header.group(2))
    assert 10 < shown < 40 and pages > 130 // 40  # long titles: fewer lines a page
    assert "(12 passages)" in first["text"] and "(1 passage)" in first["text"]
    assert first["text"].count("\n• ") == shown and first["text"].endswith("(1 passage)")
    buttons = first["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["More ▸"]
    await bot.send(callback(buttons[0]["callback_data"], uid=ADMIN))
    [page2] = bot.tg.sent("editMessageText")
    assert f"({shown + 1}–" in page2["text"] and f"Variant {shown + 1}:" in page2["text"]
    assert [b["text"] for b in page2["reply_markup"]["inline_keyboard"][0]] == ["◂ Back",
                                                                               "More ▸"]
    for part in (first["text"], page2["text"]):
        assert len(part) <= 4096 and part.count("<i>") == part.count("</i>")
    await bot.send(callback("src:1", uid=USER))  # a non-admin cannot page the list
    assert len(bot.tg.sent("editMessageText")) == 1
    assert "only the bot's admins" in bot.tg.sent("answerCallbackQuery")[-1]["text"]


# ---- conversation --------------------------------------------------------------------------


@pytest.mark.parametrize("text,opener", [("hi", "Hi!"), ("thanks!", "You're welcome!"),
                                         ("ok 👍", "Ask me")])
async def test_small_talk_in_private_gets_a_friendly_line(bot: Harness, text: str,
                                                          opener: str) -> None:
    await bot.send(message(text))
    [reply] = bot.texts()
    assert reply.startswith(opener) and "Ask me about the news" in reply and "/help" in reply
    assert not bot.services.calls  # nothing was searched
    assert "I don't know" not in reply


async def test_a_non_question_reply_to_the_bot_in_a_group_gets_silence(bot: Harness) -> None:
    to_bot = {"message_id": 5, "date": 1700000000, "chat": {"id": -100, "type": "supergroup"},
              "from": {"id": BOT_ID, "is_bot": True, "first_name": "Quote"}, "text": "…"}
    for text in ("thanks!", "lol", "interesting stuff"):
        await bot.send(group(text, reply_to_message=to_bot))
    assert not bot.tg.sent() and not bot.services.calls
    await bot.send(group("and who objected?", reply_to_message=to_bot))
    assert bot.services.calls == [("ask", "and who objected?")]


async def test_a_long_message_is_answered_by_its_question_and_says_so(bot: Harness) -> None:
    pasted = "Here is an article I read this morning. " * 40
    await bot.send(message(pasted + "So who sent the troops? " + "More context. " * 50))
    assert bot.services.calls == [("ask", "So who sent the troops?")]
    [note, *answers] = bot.texts()
    assert note.startswith("Your message is long, so I answered only this part of it: "
                           "<i>So who sent the troops?</i>")
    assert "NATO officials" in answers[0]


async def test_a_question_in_another_language_is_told_so_in_that_language(bot: Harness) -> None:
    await bot.send(message("Wer hat Truppen vorgeschlagen?"))
    [reply] = bot.texts()
    assert reply.startswith("Ich beantworte Fragen") and "please ask in English" in reply
    await bot.send(message("Qui a proposé d'envoyer des troupes ?"))
    assert bot.texts()[-1].startswith("Je réponds en anglais")
    # when the articles do answer it (names, shared words), the answers are what counts
    await bot.send(message("Wer hat die troops nach der Ukraine geschickt?"))
    assert "NATO officials" in bot.texts()[-1]


async def test_unknown_commands_get_the_help_line_in_private_only(bot: Harness) -> None:
    await bot.send(message("/foo bar"))
    [reply] = bot.texts()
    assert reply.startswith("I don't know /foo.") and "/help" in reply
    await bot.send(group("/foo"))
    assert len(bot.texts()) == 1


async def test_start_in_a_group_does_not_say_just_type(bot: Harness) -> None:
    await bot.send(group("/start"))
    text = "\n".join(bot.texts())
    assert "Here: just type" not in text and "In a private chat with me" in text
    assert "In a group, like here" in text and "/ask" in text


async def test_an_inline_query_without_an_answer_offers_one_explaining_result(
        bot: Harness) -> None:
    await bot.send({"update_id": next(_update_ids), "inline_query": {
        "id": "iq3", "from": _user(USER), "query": "capital of Mars", "offset": ""}})
    [result] = bot.tg.sent("answerInlineQuery")[0]["results"]
    assert result["title"] == "No answer in the articles"
    sent = result["input_message_content"]["message_text"]
    assert sent.startswith("<i>capital of Mars</i>") and fmt.NOT_FOUND in sent


async def test_start_up_and_reindex_are_logged_for_operators(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot"):
        assert bot.app.post_init is not None
        await bot.app.post_init(bot.app)
        await bot.send(message("/reindex", uid=ADMIN))
    logged = [r.getMessage() for r in caplog.records]
    assert f"serving @{BOT_NAME} with 5 articles, polling" in logged
    assert any(m.startswith(f"reindex by {ADMIN}: 1 added, 0 updated") for m in logged)


# ---- app wiring ----------------------------------------------------------------------------


@pytest.mark.parametrize("base,kind,expected", [
    ("", "bot", "https://api.telegram.org/bot"),
    ("http://127.0.0.1:9000", "bot", "http://127.0.0.1:9000/bot"),
    ("http://127.0.0.1:9000/", "file/bot", "http://127.0.0.1:9000/file/bot"),
    ("http://h/bot", "bot", "http://h/bot"),
])
def test_api_url(base: str, kind: str, expected: str) -> None:
    assert bot_app.api_url(base, kind) == expected


def test_application_uses_base_url_rate_limiter_and_concurrency(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, base_url="http://127.0.0.1:9")
    assert harness.app.bot.base_url == f"http://127.0.0.1:9/bot{TOKEN}"
    assert harness.app.bot.rate_limiter is not None
    assert harness.app.concurrent_updates > 1


def test_token_is_redacted_from_logs() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        bot_app.redact_token_in_logs(TOKEN)
        logging.getLogger("telegram.ext.test").warning("GET %s/getMe", f"https://x/bot{TOKEN}")
    finally:
        root.removeHandler(handler)
    assert TOKEN not in stream.getvalue() and "<token>/getMe" in stream.getvalue()
    assert logging.getLogger("httpx").level == logging.WARNING


def test_terminal_chat_prints_answers_as_plain_text() -> None:
    services = FakeServices()
    out = io.StringIO()
    bot_app.run_terminal_chat(services,  # type: ignore[arg-type]
                              io.StringIO("Who disavowed the troops idea?\n\nMars?\n"), out)
    text = out.getvalue()
    assert "5 news articles" in text
    assert "“The statement was quickly disavowed by [NATO officials]" in text
    assert "— Article 0 · 25 Nov 2024 · https://news.example/0\n   — Article 10 ·" in text
    assert fmt.NOT_FOUND in text
    assert "<" not in text.replace("> ", "")
    assert [c for c, _ in services.calls].count("ask") == 2


def test_terminal_chat_pages_and_chats_like_the_bot() -> None:
    services = FakeServices()
    out = io.StringIO()
    bot_app.run_terminal_chat(services,  # type: ignore[arg-type]
                              io.StringIO("hi\nTell me about troops\nmore\nmore\nback\n"
                                          "Wer hat Truppen vorgeschlagen?\n/help\n/sources\n"),
                              out)
    turns = out.getvalue().split("\n> ")[1:]
    assert turns[0].startswith("hi\nHi! Ask me about the news")
    assert "Answers 1–3 of 4 · page 1 of 2" in turns[1] and TROOPS[3] not in turns[1]
    assert TROOPS[3] in turns[2] and "page 2 of 2" in turns[2] and TROOPS[0][:30] not in turns[2]
    assert "That was the last page." in turns[3]
    assert TROOPS[0][:30] in turns[4] and "page 1 of 2" in turns[4]
    assert "Ich beantworte Fragen" in turns[5] and "please ask in English" in turns[5]
    assert "5 news articles" in turns[6] and "help shows this again" in turns[6]
    assert "I don't know /sources here" in turns[7]
    assert [c for c, _ in services.calls].count("ask") == 2  # not for "hi", paging, commands


def test_terminal_chat_reports_a_missing_index() -> None:
    class NoIndex(FakeServices):
        def catalog(self) -> FakeCatalog:
            raise QuotebotError("No index in data/: run `quotebot index PATH` first.")

    out = io.StringIO()
    bot_app.run_terminal_chat(NoIndex(), io.StringIO("q\n"), out)  # type: ignore[arg-type]
    assert "run `quotebot index PATH` first" in out.getvalue()



@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_serve_runs_the_configured_mode(tmp_path: Path, mode: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    harness = make_harness(tmp_path)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(harness.app, "run_polling", lambda **kw: seen.update(polling=kw))
    monkeypatch.setattr(harness.app, "run_webhook", lambda **kw: seen.update(webhook=kw))
    settings = BotSettings(mode=mode, webhook_url="https://bot.example/hook/abc",
                           webhook_listen="127.0.0.1", webhook_port=8444)
    bot_app.serve(harness.app, settings)
    if mode == "polling":
        assert "polling" in seen and "webhook" not in seen
    else:
        kw = seen["webhook"]
        assert (kw["listen"], kw["port"], kw["url_path"]) == ("127.0.0.1", 8444, "hook/abc")
        assert kw["webhook_url"] == "https://bot.example/hook/abc"
        assert len(kw["secret_token"]) >= 32


@pytest.mark.parametrize("settings,message", [
    (BotSettings(mode="webhook"), "needs webhook_url"),
    (BotSettings(mode="carrier-pigeon"), "must be \"polling\" or \"webhook\""),
])
def test_serve_rejects_bad_modes(tmp_path: Path, settings: BotSettings, message: str) -> None:
    from index.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        bot_app.serve(make_harness(tmp_path).app, settings)
