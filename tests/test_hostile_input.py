"""Hostile input: strange questions and broken article files (issue 5, "Bad input").

Every question gets quotes or a clear message, never a crash, and every reply is valid Telegram
HTML within 4096 UTF-16 units, checked by a strict parser of Telegram's HTML rules. Every bad
article file is skipped and named with its reason, while the good files beside it are indexed.
The fake embedder keeps it fast; no real model is loaded.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import app as bot_app
from bot import formatting as fmt
from bot.cli import main
from bot.config import BotSettings, Config
from bot.services import Services
from bot.state import BotState
from index.builder import IndexRun, update_index
from index.records import Skipped
from index.settings import IngestSettings
from index.snapshot import open_snapshot
from retrieval.answers import Result
from retrieval.engine import NO_WORDS, Answerer
from retrieval.settings import RetrievalSettings
from tests.conftest import FakeEmbedder
from tests.test_handlers import ADMIN, TOKEN, USER, FakeTelegram, group, message

# ---- a strict checker for Telegram's HTML parse mode ----------------------------------------

# The tags Telegram accepts (core.telegram.org/bots/api#html-style) and their allowed attributes.
TELEGRAM_TAGS: dict[str, tuple[str, ...]] = {
    "b": (),
    "strong": (),
    "i": (),
    "em": (),
    "u": (),
    "ins": (),
    "s": (),
    "strike": (),
    "del": (),
    "tg-spoiler": (),
    "span": ("class",),
    "a": ("href",),
    "tg-emoji": ("emoji-id",),
    "code": ("class",),
    "pre": (),
    "blockquote": ("expandable",),
}
_TAG = re.compile(r'<(/?)([a-z][a-z0-9-]*)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*>')
_ATTR = re.compile(r'\s+([a-z-]+)(?:="([^"<>]*)")?')
# Telegram knows only these named entities, plus numeric ones.
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


def check_telegram_html(text: str, limit: int = fmt.MAX_MESSAGE) -> str:
    """Fail unless ``text`` is one message Telegram's HTML parser accepts; return what it shows.

    Only Telegram's tags with their own attributes, properly nested and closed, every ``<``,
    ``>`` and ``&`` outside a tag escaped, links only to http(s) or tg:, nothing inside code.
    """
    assert fmt.telegram_len(text) <= limit, f"{fmt.telegram_len(text)} UTF-16 units > {limit}"
    stack: list[str] = []
    shown: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            tag = _TAG.match(text, i)
            assert tag, f"unescaped '<' at {i}: {text[i : i + 30]!r}"
            closing, name, attrs = tag.groups()
            assert name in TELEGRAM_TAGS, f"<{name}> is not a tag Telegram allows"
            if closing:
                assert not attrs.strip(), f"attributes on </{name}>"
                assert stack and stack[-1] == name, f"</{name}> closes {stack}"
                stack.pop()
            else:
                assert not ({"code", "pre"} & set(stack)) or name == "code", f"<{name}> in code"
                for key, value in _ATTR.findall(attrs):
                    assert key in TELEGRAM_TAGS[name], f"<{name} {key}=...> not allowed"
                    if name == "a":
                        assert re.match(r"(https?|tg)://", html.unescape(value)), value
                stack.append(name)
            i = tag.end()
        elif char == "&":
            entity = _ENTITY.match(text, i)
            assert entity, f"unescaped '&' at {i}: {text[i : i + 12]!r}"
            shown.append(html.unescape(entity.group()))
            i = entity.end()
        else:
            assert char != ">", f"unescaped '>' at {i}"
            shown.append(char)
            i += 1
    assert not stack, f"unclosed {stack}"
    visible = "".join(shown)
    assert visible.strip(), "a message with nothing to show"
    return visible


@pytest.mark.parametrize(
    "bad",
    [
        "<b>open",
        "</b>",
        "<b><i>x</b></i>",
        "<script>x</script>",
        "a < b",
        "a > b",
        "fish & chips",
        "&nbsp;",
        "&lt",
        '<a href="javascript:alert(1)">x</a>',
        '<b class="x">y</b>',
        "<code><b>x</b></code>",
        "<br>",
        "",
        "   ",
        "<b></b>",
        "x" * 4097,
        "😀" * 2049,
    ],
)
def test_the_checker_rejects_what_telegram_rejects(bad: str) -> None:
    with pytest.raises(AssertionError):
        check_telegram_html(bad)


def test_the_checker_accepts_telegram_html() -> None:
    shown = check_telegram_html(
        "<blockquote>a &lt;b&gt; &amp; <b>c</b></blockquote>\n— "
        '<a href="https://x.org/?a=1&amp;b=2">T</a> &#128512; &quot;'
    )
    assert shown == 'a <b> & c\n— T 😀 "'


# ---- a small index built with the fake embedder ---------------------------------------------

ARTICLES = {
    "troops.txt": "Troop talks\nFrance and the UK discussed sending troops to Ukraine. NATO "
    "officials disavowed the idea of ground troops in February.",
    "missiles.md": "# Missiles\nStorm Shadow missiles were supplied by Britain. The missiles "
    "have a range of about 250 kilometres.",
    "scripts.txt": "Войска и переговоры\nВойска НАТО провели учения в Германии. قالت الحكومة إن "
    "المحادثات مستمرة. Rockets 🚀 were launched from the coast at dawn.",
    "markup.txt": "Markup <b>in</b> the feed\nA headline with <script>alert(1)</script> & "
    'ampersands, "quotes", *stars*, _underscores_ and [a link](javascript:x) '
    "appeared in the troops feed. Another line ends with </blockquote> and &amp;.",
}
SETTINGS = RetrievalSettings(highlight=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("articles")
    for name, text in ARTICLES.items():
        (src / name).write_text(text, encoding="utf-8")
    data = tmp_path_factory.mktemp("data")
    summary = update_index(data, [src], IndexRun(FakeEmbedder()))
    assert len(summary.added) == len(ARTICLES) and not summary.skipped
    return data


@pytest.fixture(scope="module")
def answerer(data_dir: Path) -> Answerer:
    return Answerer(data_dir, FakeEmbedder(), SETTINGS)


# ---- questions ------------------------------------------------------------------------------

NO_WORD_QUESTIONS = [
    "",
    "   ",
    "\n\t \u3000\u200b",
    "?!...",
    "\x00\x01\x02",
    "\u202e\u202c",
    "🚀👍🏽",
    "<>&",
    "* ^ : ( )",
]
QUESTIONS = [
    "troops " * 2000,  # 14,000 characters
    "x" * 12_000,
    "Who disavowed the troops?" + " " * 10_000 + "missiles",
    "troops\x00missiles",
    "\x1b[31mtroops\x7f\x85",
    "\u202eRTL override troops\u202c",
    "ما هي المحادثات؟",
    "Войска NATO в Германии?",
    "🚀 rockets launched? 👨‍👩‍👧",
    "𝕿𝖗𝖔𝖔𝖕𝖘",
    "troo\u0301ps\u200d",
    '"',
    '"troops',
    "troop*",
    "NEAR(troops missiles, 2)",
    "troops AND OR NOT missiles",
    "text:troops title:missiles",
    "^troops",
    "((troops",
    "-troops",
    "troops} {missiles",
    "<b>troops</b> & <script>alert(1)</script>",
    "&lt;b&gt; &amp; &#0; &#x110000; &nbsp; troops",
    '<a href="javascript:x">troops</a>',
    "<tg-spoiler>troops</tg-spoiler> <blockquote>missiles",
    "*troops* _missiles_ `code` ```x```",
    "[troops](javascript:alert(1)) ||spoiler|| ~strike~",
    "</blockquote></b>troops<b>",
]


def _reply_messages(result: Result) -> list[str]:
    messages = fmt.format_result_page(result, 0, per_page=3)
    assert messages
    return messages


@pytest.mark.parametrize("question", NO_WORD_QUESTIONS)
def test_questions_without_words_get_a_clear_message(answerer: Answerer, question: str) -> None:
    result = answerer.ask(question)
    assert result.abstained and result.message == NO_WORDS
    shown = "".join(check_telegram_html(m) for m in _reply_messages(result))
    assert NO_WORDS in shown


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: repr(q[:24]))
def test_hostile_questions_get_quotes_or_a_clear_message(answerer: Answerer, question: str) -> None:
    result = answerer.ask(question)
    json.dumps(result.to_json())
    shown = "".join(check_telegram_html(m) for m in _reply_messages(result))
    if result.abstained:
        assert result.message and result.message in shown
    else:
        for answer in result.answers:
            assert answer.quote.strip() and answer.sources
            assert " ".join(answer.quote.split()) in " ".join(shown.split())


def test_quoted_article_markup_is_shown_as_text(answerer: Answerer) -> None:
    result = answerer.ask("headline with script ampersands quotes stars underscores troops feed")
    assert not result.abstained
    [answer] = [a for a in result.answers if "<script>" in a.quote]
    shown = "".join(check_telegram_html(m) for m in _reply_messages(result))
    assert answer.quote in shown  # escaped on the way in, shown verbatim


@pytest.mark.parametrize(
    "question",
    [
        "troops AND OR NOT missiles",
        "NEAR(troops missiles, 2)",
        'text:troops "',
        "troops* ^",
        "((troops -",
        "troops} {",
        "TROOPS OR",
        "troops\x00",
    ],
)
def test_fts5_syntax_is_searched_as_plain_words(answerer: Answerer, question: str) -> None:
    store = answerer.snapshot().store
    hits = store.fts_search(question, 10)
    texts = store.passages(pid for pid, _ in hits)
    assert any("troops" in row.text.lower() for row in texts.values())


def test_the_longest_question_is_cut_not_refused(answerer: Answerer) -> None:
    question = "Who disavowed the idea of ground troops? " + "padding " * 5000
    result = answerer.ask(question)
    assert any("disavowed" in a.quote for a in result.answers)


question_text = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.sampled_from(
            [
                '"',
                "*",
                "NEAR",
                "AND",
                "OR",
                "NOT",
                "col:",
                "(",
                ")",
                "^",
                "-",
                "<b>",
                "</b>",
                "&amp;",
                "&",
                "<",
                ">",
                "\x00",
                "\u202e",
                "troops",
                "missiles",
                "🚀",
                "Войска",
                "المحادثات",
                "\n",
                "`",
                "*bold*",
            ]
        ),
    ),
    max_size=30,
).map(" ".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(question=question_text)
def test_any_question_gets_quotes_or_a_message_as_valid_html(
    answerer: Answerer, question: str
) -> None:
    result = answerer.ask(question)
    assert result.answers or result.message
    for page in range(fmt.page_count(result, 3)):
        for m in fmt.format_result_page(result, page, per_page=3):
            check_telegram_html(m)
    for answer in result.answers:
        check_telegram_html(fmt.format_inline_answer(question, answer))


# ---- questions through the bot --------------------------------------------------------------


class Bot:
    """The real Application with real ``Services`` over the fake-embedder index."""

    def __init__(self, tmp_path: Path, data_dir: Path) -> None:
        config = Config(data_dir=data_dir, retrieval=SETTINGS)
        self.tg = FakeTelegram()
        self.app = bot_app.build_application(
            Services(config, embedder=FakeEmbedder()),
            TOKEN,
            request=self.tg,
            get_updates_request=self.tg,
            state=BotState(tmp_path / "bot.db"),
            settings=BotSettings(admins=(ADMIN,), rate_limit_count=0, rate_limit_chat_count=0),
        )

    async def replies_to(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        from telegram import Update

        before = len(self.tg.calls)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return [
            p for name, p in self.tg.calls[before:] if name in ("sendMessage", "answerInlineQuery")
        ]


def inline(query: str, uid: int = USER) -> dict[str, Any]:
    from tests.test_handlers import _update_ids, _user

    return {
        "update_id": next(_update_ids),
        "inline_query": {"id": "iq", "from": _user(uid), "query": query, "offset": ""},
    }


def _check_replies(replies: list[dict[str, Any]]) -> str:
    """Every reply is HTML Telegram accepts; returns what the user sees."""
    shown = []
    for reply in replies:
        if "results" in reply:  # an inline answer: each result's message
            for result in reply["results"]:
                content = result["input_message_content"]
                assert content["parse_mode"] == "HTML"
                shown.append(check_telegram_html(content["message_text"]))
            continue
        assert reply["parse_mode"] == "HTML"
        shown.append(check_telegram_html(reply["text"]))
    return "\n".join(shown)


@pytest.mark.parametrize("question", NO_WORD_QUESTIONS + QUESTIONS, ids=lambda q: repr(q[:24]))
async def test_bot_replies_to_hostile_questions_with_valid_html(
    tmp_path: Path, data_dir: Path, question: str
) -> None:
    bot = Bot(tmp_path, data_dir)
    async with bot.app:
        private = await bot.replies_to(message(question)) if question else ["(none)"]
        in_group = await bot.replies_to(group("/ask " + question))
        offered = await bot.replies_to(inline(question[:256]))
    for replies in (private, in_group):
        assert replies, "no reply at all"
        shown = _check_replies([r for r in replies if r != "(none)"]) if question else ""
        assert "something went wrong" not in shown
    _check_replies(offered)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(question=question_text.filter(lambda q: q and not q.startswith("/")))
def test_bot_replies_to_any_question_with_valid_html(
    tmp_path: Path, data_dir: Path, question: str
) -> None:
    async def run() -> list[dict[str, Any]]:
        bot = Bot(tmp_path, data_dir)
        async with bot.app:
            return await bot.replies_to(message(question))

    replies = asyncio.run(run())
    assert replies
    assert "something went wrong" not in _check_replies(replies)


# ---- article files --------------------------------------------------------------------------

GOOD = {
    "good.txt": "Ceasefire talks\nA ceasefire agreement was signed in Geneva on Tuesday.",
    "good.md": "# Harbour\nThe harbour reopened after the storm passed.",
    "page.html": """<html><head><title>Bridge works</title><style>.x{color:red}</style>
        <script>var tracking = "SECRETTRACKER";</script></head><body><nav>Home | World</nav>
        <article><h1>Bridge works</h1><p>Engineers finished repairing the old stone bridge over
        the river on Friday, the city council said in a statement to reporters.</p><p>Traffic
        will return to the bridge next week once the final inspections are complete.</p>
        <script>document.write("INJECTEDSCRIPT")</script><style>p{display:none}</style>
        </article></body></html>""",
    "late-nul.txt": "Late NUL\n" + "Filler sentence about rivers. " * 300 + "\x00Tail text.",
}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
FEED = [
    json.dumps({"id": "f1", "title": "Feed one", "text": "Wheat exports rose sharply."}),
    "{broken json",
    json.dumps({"id": "f2", "title": "no text field"}),
    json.dumps({"id": "f3", "text": 42}),
    json.dumps({"id": "f4", "text": "   "}),
    json.dumps(["not", "an", "object"]),
    "[" * 100_000,
    '{"id": "f5", "text": "lone \\ud800 surrogate"}',
    json.dumps(
        {"id": "f6", "text": "Valid text with U+2028\u2028inside a string."}, ensure_ascii=False
    ),
    json.dumps({"id": "f7", "title": "Feed seven", "text": "Barley harvests fell."}),
]


def bad_files() -> dict[str, tuple[bytes, str]]:
    """name -> (content, the reason it must be skipped with)."""
    rng = random.Random(5)
    no_nul = bytes(rng.randrange(1, 256) for _ in range(10_000))
    return {
        "latin1.txt": (
            "Caf\xe9 cr\xe8me au lait, fran\xe7ais.".encode("latin-1"),
            "not valid UTF-8",
        ),
        "image.txt": (PNG, "binary file"),
        "program.md": (b"\x7fELF\x02\x01\x01\x00" + bytes(200), "binary file"),
        "noise.txt": (no_nul, "binary file"),
        "utf16.txt": ("Hello in UTF-16".encode("utf-16"), "binary file"),
        "archive.html": (gzip.compress(b"<html>zipped</html>"), "binary file"),
        "empty.txt": (b"", "empty file"),
        "blank.md": (b" \n\t\r\n ", "empty file"),
        "empty.jsonl": (b"\n\n", "empty file"),
        "scripts-only.html": (
            b"<html><head><script>alert(1)</script><style>b{}</style>"
            b"</head><body><script>x()</script></body></html>",
            "no article text",
        ),
        "boilerplate.txt": (b"Share\nLeave a reply\nAdvertisement\n", "nothing left"),
        "truncated.jsonl.gz": (gzip.compress(FEED[0].encode())[:20], "cannot decompress"),
        "bomb.jsonl.gz": (gzip.compress(b"\n" * 30_000_000), "decompresses to over"),
    }


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of good articles mixed with every kind of bad one, including a 50 MB file."""
    src = tmp_path_factory.mktemp("messy")
    for name, text in GOOD.items():
        (src / name).write_text(text, encoding="utf-8")
    for name, (data, _) in bad_files().items():
        (src / name).write_bytes(data)
    (src / "feed.jsonl").write_text("\n".join(FEED) + "\n", encoding="utf-8")
    with (src / "huge.txt").open("wb") as fh:  # 50 MB of real text, over the default limit
        line = b"The river rose again overnight, officials said. " * 1000 + b"\n"
        while fh.tell() < 50 * 2**20:
            fh.write(line)
    assert IngestSettings().max_file_bytes < (src / "huge.txt").stat().st_size
    return src.resolve()


FEED_SKIPS = {
    2: "invalid JSON",
    3: "'text'",
    4: "'text'",
    5: "empty 'text'",
    6: "'text'",
    7: "nested too deeply",
    8: "surrogate",
}


def expected_skips(src: Path) -> dict[str, str]:
    skips = {str(src / name): reason for name, (_, reason) in bad_files().items()}
    skips[str(src / "huge.txt")] = "over the 20,000,000 limit"
    skips.update({f"{src / 'feed.jsonl'}:{n}": reason for n, reason in FEED_SKIPS.items()})
    return skips


def test_bad_articles_are_skipped_and_named_and_good_ones_indexed(
    tmp_path: Path, messy: Path
) -> None:
    data = tmp_path / "data"
    summary = update_index(data, [messy], IndexRun(FakeEmbedder()))
    reasons = {s.source: s.reason for s in summary.skipped}
    expected = expected_skips(messy)
    assert set(reasons) == set(expected), set(reasons) ^ set(expected)
    for source, reason in expected.items():
        assert reason in reasons[source], (source, reasons[source])
    added = sorted(summary.added)
    assert added[:6] == ["f1", "f6", "f7", "good", added[4], "late-nul"], added
    assert added[4].startswith("good-") and added[6:] == ["page"]  # good.md, its id made unique
    store = open_snapshot(data).store
    titles = {r[0]: r[1] for r in store.conn.execute("select id, text from articles")}
    assert len(titles) == 7
    for text in titles.values():  # nothing stored is garbage: no NULs or control characters
        assert not re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text)
    for word in ("ceasefire", "harbour", "bridge", "wheat", "barley", "tail"):
        assert store.fts_search(word, 5), word
    for junk in ("SECRETTRACKER", "INJECTEDSCRIPT", "color", "display"):
        assert not store.fts_search(junk, 5), junk


@pytest.mark.slow  # the index command parses passages with spaCy's parser, as configured by default
def test_quotebot_index_prints_each_skipped_file_with_its_reason(
    tmp_path: Path, messy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.services.load_embedder", lambda settings: FakeEmbedder())
    out = CliRunner().invoke(main, ["--data", str(tmp_path / "data"), "index", str(messy)])
    assert out.exit_code == 0, out.output
    expected = expected_skips(messy)
    assert out.output.startswith(
        f"added 7, updated 0, unchanged 0, removed 0, skipped {len(expected)} "
    )
    lines = out.output.splitlines()
    for source, reason in expected.items():
        [line] = [ln for ln in lines if ln.startswith(f"  skipped: {source}: ")]
        assert reason in line
    assert "Traceback" not in out.output


def test_a_broken_jsonl_line_costs_only_that_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    feed = src / "feed.jsonl"
    rows = [
        json.dumps({"id": f"r{i}", "text": f"Report number {i} about grain."}) for i in range(4)
    ]
    feed.write_text("\n".join(rows), encoding="utf-8")
    data = tmp_path / "data"
    assert sorted(update_index(data, [src], IndexRun(FakeEmbedder())).added) == ["r0", "r1", "r2", "r3"]
    # line 2 gets corrupted: it is named, the others stay, and its article is not thrown away
    feed.write_bytes("\n".join([rows[0], rows[1][:15], rows[2], rows[3]]).encode())
    summary = update_index(data, [src], IndexRun(FakeEmbedder()))
    assert [(s.source, s.reason.split(":")[0]) for s in summary.skipped] == [
        (f"{feed}:2", "invalid JSON")
    ]
    assert sorted(summary.unchanged) == ["r0", "r2", "r3"] and not summary.removed
    store = open_snapshot(data).store
    assert {r[0] for r in store.conn.execute("select id from articles")} == {"r0", "r1", "r2", "r3"}
    # invalid UTF-8 in one line is the same: that line only
    feed.write_bytes(
        b"\n".join(
            [
                rows[0].encode(),
                b'{"id": "r1", "text": "caf\xe9"}',
                rows[2].encode(),
                rows[3].encode(),
            ]
        )
    )
    summary = update_index(data, [src], IndexRun(FakeEmbedder()))
    assert [s.source for s in summary.skipped] == [f"{feed}:2"]
    assert "UTF-8" in summary.skipped[0].reason
    # once the file is whole again, a line deleted from it is removed from the index
    feed.write_text("\n".join([rows[0], rows[2]]), encoding="utf-8")
    summary = update_index(data, [src], IndexRun(FakeEmbedder()))
    assert sorted(summary.removed) == ["r1", "r3"] and not summary.skipped


def test_skipped_sources_are_escaped_in_the_bot_summary(messy: Path) -> None:
    from index.records import IndexSummary

    skipped = [
        Skipped(f"{messy}/<b>evil&.txt", "binary file"),
        Skipped("x" * 5000, "not valid UTF-8 (byte 3)"),
    ]
    check_telegram_html(fmt.format_summary(IndexSummary(skipped=skipped), "Reindex done"))


@pytest.mark.parametrize("before", ["🚀🚀 ", "𝕿𝖗𝖔𝖔𝖕𝖘 and 👨‍👩‍👧 ", "ما هي ", ""])
async def test_a_mention_after_emoji_and_other_scripts_is_found(
    tmp_path: Path, before: str
) -> None:
    # Telegram counts entity offsets in UTF-16 units: an emoji is two, a Python str index one
    from tests.test_handlers import BOT_NAME, make_harness

    harness = make_harness(tmp_path)
    text = f"{before}@{BOT_NAME} who disavowed the troops idea?"
    offset = fmt.telegram_len(before)
    entity = {"type": "mention", "offset": offset, "length": len(BOT_NAME) + 1}
    async with harness.app:
        await harness.send(group(text, entities=[entity]))
    [(_, question)] = [c for c in harness.services.calls if c[0] == "ask"]
    assert question == f"{before}who disavowed the troops idea?".strip()
    check_telegram_html(harness.texts()[0])


def test_an_inline_answer_is_one_message_with_its_source_however_long() -> None:
    from retrieval.answers import Answer, SourceRef

    source = SourceRef(
        id="a",
        title="T " * 2000 + "end",
        path=None,
        url="https://x.org/a",
        published="2024-11-25",
        start=0,
        end=1,
    )
    quote = "word " * 3000 + "last."
    answer = Answer(
        quote=quote,
        highlight=(len(quote) - 5, len(quote)),
        score=1.0,
        sources=(source,),
        passage_ids=(1,),
    )
    text = fmt.format_inline_answer("why? " * 2000, answer)
    shown = check_telegram_html(text)
    assert shown.count("word") > 500 and "…" in shown and "25 Nov 2024" in shown
    assert '<a href="https://x.org/a">' in text
