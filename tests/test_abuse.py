"""Abuse (issue 5): admin-only actions, SSRF-safe /add, untrusted upload names, rate limits.

Admin checks and rate limits run through the real ``Application`` (handler level, recording Bot
API). ``/add`` fetches for real from an HTTP server on 127.0.0.1. Uploads go through the real
``Services`` with the fake embedder.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import handlers as h
from bot.config import BotSettings, Config
from bot.services import Services
from bot.state import RateLimiter
from index.errors import IngestError
from index.settings import IngestSettings
from index.snapshot import open_snapshot
from index.sources import SUFFIXES, check_url, fetch_url, safe_upload_name
from retrieval.answers import Result
from retrieval.settings import RetrievalSettings
from tests.conftest import FakeEmbedder
from tests.test_handlers import (
    ADMIN,
    USER,
    FakeServices,
    Harness,
    _update_ids,
    _user,
    group,
    make_harness,
    message,
)
from tests.test_hostile_input import PNG, check_telegram_html

SETTINGS = RetrievalSettings(highlight=False)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = make_harness(tmp_path, rate_limit_count=50, rate_limit_chat_count=50)
    async with harness.app:
        yield harness


# ---- admins only: private and group chats, new, edited and forwarded messages ---------------


def edited(text: str, uid: int, chat_type: str = "private") -> dict[str, Any]:
    """The same message as ``message``/``group`` build, arriving as an edit."""
    update = message(text, uid) if chat_type == "private" else group(text, uid)
    update["edited_message"] = {**update.pop("message"), "edit_date": 1700000100}
    return update


def forwarded(text: str, uid: int, author: int, chat_type: str = "private") -> dict[str, Any]:
    """``text`` first written by ``author``, forwarded to the bot by ``uid``."""
    origin = {"forward_origin": {"type": "user", "sender_user": _user(author), "date": 1690000000}}
    return message(text, uid, **origin) if chat_type == "private" else group(text, uid, **origin)


def sent(text: str, uid: int, chat_type: str) -> dict[str, Any]:
    return message(text, uid) if chat_type == "private" else group(text, uid)


COMMANDS = {
    "/reindex": "reindex",
    "/add https://news.example/a": "add_url",
    "/sources": "sources",
    "/stats": "stats",
}
WAYS = {
    "new": sent,
    "edited": edited,
    # a non-admin forwards an admin's own command: the forwarder is who asks
    "forwarded": lambda text, uid, chat: forwarded(text, uid, ADMIN if uid == USER else USER, chat),
}


@pytest.mark.parametrize("chat", ["private", "supergroup"])
@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("uid", [USER, ADMIN], ids=["user", "admin"])
async def test_only_admins_run_admin_commands_however_they_arrive(
    bot: Harness, chat: str, way: str, command: str, uid: int
) -> None:
    # an edit is handled as the message it now is; a forward acts for whoever forwards it
    await bot.send(WAYS[way](command, uid, chat))
    if uid == ADMIN:
        assert [name for name, _ in bot.services.calls] == [COMMANDS[command]]
        assert h.REFUSAL not in bot.texts()
    else:
        assert bot.texts() == [h.REFUSAL]
        assert bot.services.calls == []


async def test_an_edited_question_gets_a_fresh_answer(bot: Harness) -> None:
    await bot.send(message("Tell me about tanks", USER))
    await bot.send(edited("Tell me about troops", USER))
    assert [q for name, q in bot.services.calls if name == "ask"] == [
        "Tell me about tanks",
        "Tell me about troops",
    ]
    assert "NATO officials" in bot.texts()[-1]


async def test_commands_for_another_bot_and_channel_posts_do_nothing(bot: Harness) -> None:
    await bot.send(group("/reindex@other_bot", ADMIN))
    post = {
        "message_id": 5,
        "date": 1700000000,
        "text": "/reindex",
        "chat": {"id": -1001, "type": "channel", "title": "News"},
        "sender_chat": {"id": -1001, "type": "channel", "title": "News"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
    }
    await bot.send({"update_id": next(_update_ids), "channel_post": post})
    assert bot.services.calls == [] and bot.tg.sent() == []


DOC = {"file_id": "f1", "file_unique_id": "u1", "file_name": "report.txt", "file_size": 30}


async def test_only_admins_upload_and_only_in_private(bot: Harness) -> None:
    bot.tg.files["f1"] = b"Title\n\nA report about wheat."
    # a non-admin, sending or forwarding an admin's file, with a command as its caption
    await bot.send(message("", USER, document=DOC))
    await bot.send(
        message(
            "",
            USER,
            document=DOC,
            forward_origin={"type": "user", "sender_user": _user(ADMIN), "date": 1690000000},
        )
    )
    await bot.send(
        message(
            "",
            USER,
            document=DOC,
            caption="/reindex",
            caption_entities=[{"type": "bot_command", "offset": 0, "length": 8}],
        )
    )
    assert bot.services.calls == [] and bot.tg.sent("getFile") == []
    assert set(bot.texts()) == {h.REFUSAL}
    # an admin's file in a group is not taken either: uploads are a private-chat action
    await bot.send(group("", ADMIN, document=DOC))
    assert bot.services.calls == [] and bot.tg.sent("getFile") == []
    await bot.send(message("", ADMIN, document=DOC))
    assert [name for name, _ in bot.services.calls] == ["add_upload"]


async def test_a_refused_flood_gets_one_notice_then_silence(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, rate_limit_count=3)
    async with harness.app:
        for _ in range(50):
            await harness.send(message("/reindex", USER))
    texts = harness.texts()
    assert texts[:3] == [h.REFUSAL] * 3
    assert len(texts) == 4 and "asking faster than I can read" in texts[3]
    assert harness.services.calls == []


# ---- /add: no SSRF --------------------------------------------------------------------------

REFUSED_URLS = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://0x7f.1/",
    "HTTP://127.0.0.1/",
    "http://localhost/",
    "http://LocalHost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "https://user:pw@127.0.0.1:8443/x",
]
NOT_WEB = [
    "file:///etc/passwd",
    "ftp://example.org/x",
    "gopher://127.0.0.1/",
    "javascript:x",
    "data:text/html,<b>x</b>",
    "http:///nohost",
    "//example.org/x",
    "example.org",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_local_private_and_reserved_addresses_are_refused_in_any_spelling(url: str) -> None:
    # (httpx itself rejects some spellings, such as a leading-zero octet, as invalid links)
    with pytest.raises(IngestError, match="refusing .*not a public internet addr|not a valid link"):
        check_url(url)


@pytest.mark.parametrize("url", NOT_WEB)
def test_only_http_and_https_links(url: str) -> None:
    with pytest.raises(IngestError, match="only http:// and https://|not a valid link"):
        check_url(url)


@pytest.mark.parametrize(
    "url,address",
    [
        ("http://93.184.216.34/a", "93.184.216.34"),
        ("https://[2606:4700::1111]/", "2606:4700::1111"),
    ],
)
def test_public_addresses_pass(url: str, address: str) -> None:
    assert check_url(url) == address


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Made-up host names and their addresses; other names resolve as usual. Counts lookups."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo
    table["lookups"] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in table:
            return real(host, port, *args, **kwargs)
        table["lookups"].append(name)
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port or 80),
            )
            for a in table[name]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return table


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.1.2.3"],
        ["93.184.216.34", "192.168.0.7"],
        ["::ffff:192.168.0.1"],
        ["fe80::1%eth0"],
        ["2606:4700::1111", "::1"],
    ],
)
def test_host_names_that_resolve_to_private_addresses_are_refused(
    dns: dict[str, list[str]], addresses: list[str]
) -> None:
    dns["intranet.example"] = addresses
    with pytest.raises(IngestError, match="refusing"):
        check_url("https://intranet.example/news")


# a real web server on 127.0.0.1 ------------------------------------------------------------

ARTICLE = b"""<html><head><title>Bridge works</title></head><body><article><h1>Bridge works</h1>
<p>Engineers finished repairing the old stone bridge over the river on Friday, the city council
said in a statement to reporters gathered at the town hall.</p><p>Traffic will return to the
bridge next week once the final inspections are complete, officials said.</p></article></body>
</html>"""


class Site(BaseHTTPRequestHandler):
    """Pages that misbehave in every way /add must survive; each request is recorded."""

    seen: list[tuple[str, str]]

    def log_message(self, *args: Any) -> None:
        return None

    def _send(
        self, status: int, body: bytes = b"", kind: str = "text/html; charset=utf-8", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", headers.pop("length", str(len(body))))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.seen.append((self.path, self.headers.get("Host", "")))
        port = self.server.server_address[1]
        redirects = {
            "/to-private": "http://10.0.0.1/admin",
            "/to-loopback2": f"http://127.0.0.2:{port}/article",
            "/to-metadata": "http://169.254.169.254/latest/meta-data/",
            "/to-mapped": f"http://[::ffff:127.0.0.2]:{port}/article",
            "/to-file": "file:///etc/passwd",
            "/to-relative": "/article",
            "/loop": "/loop",
        }
        if self.path in redirects:
            self._send(302, Location=redirects[self.path])
        elif self.path == "/article":
            self._send(200, ARTICLE)
        elif self.path == "/host":
            self._send(200, ARTICLE.replace(b"Friday", self.headers["Host"].encode()))
        elif self.path == "/image":
            self._send(200, PNG, kind="image/png")
        elif self.path == "/binary":
            self._send(200, b"\x00\x01\x02" * 1000)
        elif self.path == "/odd-charset":
            self._send(200, ARTICLE, kind="text/html; charset=x-no-such-charset")
        elif self.path == "/big-declared":
            self._send(200, b"<html>", length=str(10**9))
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no length: HTTP/1.0 streams until the connection closes
            for _ in range(200):
                self.wfile.write(b"<p>" + b"x" * 1000 + b"</p>")
        elif self.path == "/slow":  # a byte every 0.1 s: no single read ever times out
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/hang":
            time.sleep(3)
            self._send(200, ARTICLE)
        else:
            self._send(404, b"not here")


@pytest.fixture
def site() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    seen: list[tuple[str, str]] = []
    handler = type("RecordingSite", (Site,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


LOOPBACK_ONLY = ("127.0.0.1/32",)


def _services(tmp_path: Path, **bot: Any) -> Services:
    config = Config(data_dir=tmp_path / "data", retrieval=SETTINGS, bot=BotSettings(**bot))
    return Services(config, embedder=FakeEmbedder())


def test_add_reaches_loopback_only_when_the_config_allows_it(
    tmp_path: Path, site: tuple[str, list[Any]]
) -> None:
    base, seen = site
    with pytest.raises(IngestError, match="refusing 127.0.0.1"):
        _services(tmp_path).add_url(f"{base}/article")
    assert seen == []  # refused before any connection
    services = _services(tmp_path, allow_private_urls=True)
    summary = services.add_url(f"{base}/article")
    assert len(summary.added) == 1 and seen == [("/article", base.removeprefix("http://"))]
    result = services.ask("Who repaired the old stone bridge over the river?")
    assert not result.abstained and "stone bridge" in result.answers[0].quote
    assert result.answers[0].sources[0].url == f"{base}/article"


@pytest.mark.parametrize(
    "path,refused",
    [
        ("/to-private", "refusing 10.0.0.1"),
        ("/to-loopback2", "refusing 127.0.0.2"),
        ("/to-metadata", "refusing 169.254.169.254"),
        ("/to-mapped", "refusing ::ffff:7f00:2"),
        ("/to-file", "only http:// and https://"),
    ],
)
def test_every_redirect_is_checked_again(
    site: tuple[str, list[Any]], path: str, refused: str
) -> None:
    base, seen = site
    with pytest.raises(IngestError, match=refused):
        fetch_url(f"{base}{path}", IngestSettings(), allow=LOOPBACK_ONLY)
    assert [p for p, _ in seen] == [path]  # the redirect target was never contacted


def test_safe_redirects_are_followed_and_loops_stopped(site: tuple[str, list[Any]]) -> None:
    base, seen = site
    doc = fetch_url(f"{base}/to-relative", IngestSettings(), allow=LOOPBACK_ONLY)
    assert doc.url == f"{base}/article" and "stone bridge" in doc.text
    with pytest.raises(IngestError, match="more than 5 redirects"):
        fetch_url(f"{base}/loop", IngestSettings(), allow=LOOPBACK_ONLY)
    assert [p for p, _ in seen].count("/loop") == 6


@pytest.mark.parametrize(
    "path,error",
    [
        ("/big-declared", "page is 1,000,000,000 bytes, over the 20,000 limit"),
        ("/big-chunked", "page is over the 20,000 byte limit"),
        ("/image", "the link is image/png, not a web page"),
        ("/binary", "binary file"),
        ("/missing", "HTTP 404"),
    ],
)
def test_size_and_type_limits(site: tuple[str, list[Any]], path: str, error: str) -> None:
    base, _ = site
    with pytest.raises(IngestError, match=error):
        fetch_url(f"{base}{path}", IngestSettings(url_max_bytes=20_000), allow=LOOPBACK_ONLY)


def test_an_unknown_charset_still_reads_the_page(site: tuple[str, list[Any]]) -> None:
    base, _ = site
    doc = fetch_url(f"{base}/odd-charset", IngestSettings(), allow=LOOPBACK_ONLY)
    assert "stone bridge" in doc.text


@pytest.mark.slow  # waits out real time limits (1 s and 0.5 s)
@pytest.mark.parametrize(
    "path,timeout,error",
    [
        ("/slow", 1.0, "took longer than 1 s"),  # trickles forever: the total time is capped
        ("/hang", 0.5, "could not fetch \\(ReadTimeout\\)"),  # says nothing: one read times out
    ],
)
def test_time_limits(site: tuple[str, list[Any]], path: str, timeout: float, error: str) -> None:
    base, _ = site
    started = time.monotonic()
    with pytest.raises(IngestError, match=error):
        fetch_url(f"{base}{path}", IngestSettings(url_timeout_s=timeout), allow=LOOPBACK_ONLY)
    assert time.monotonic() - started < timeout + 1.5


def test_the_checked_address_is_the_one_connected_to(
    site: tuple[str, list[Any]], dns: dict[str, list[str]]
) -> None:
    # resolved once and pinned: a second DNS answer (rebinding) is never asked for
    base, seen = site
    port = base.rsplit(":", 1)[1]
    dns["news.test"] = ["127.0.0.1"]
    doc = fetch_url(f"http://news.test:{port}/host", IngestSettings(), allow=LOOPBACK_ONLY)
    assert dns["lookups"] == ["news.test"]
    assert seen == [("/host", f"news.test:{port}")]  # the server saw the name, not the address
    assert f"news.test:{port}" in doc.text and doc.url == f"http://news.test:{port}/host"


async def test_add_in_the_bot_explains_a_refused_link(
    tmp_path: Path, site: tuple[str, list[Any]]
) -> None:
    base, seen = site
    harness = make_harness(tmp_path)
    h.BotDeps.of(harness.app).services = _services(tmp_path)
    async with harness.app:
        for url in (f"{base}/article", "http://2130706433/", "file:///etc/passwd"):
            await harness.send(message(f"/add {url}", ADMIN))
    texts = harness.texts()
    assert "Couldn't add that" in texts[0] and "refusing 127.0.0.1" in texts[0]
    assert "refusing 127.0.0.1" in texts[1] and "only http:// and https://" in texts[2]
    for text in texts:
        check_telegram_html(text)
    assert seen == []


# ---- uploads: names and contents are never trusted ------------------------------------------


@pytest.mark.parametrize(
    "raw,safe",
    [
        ("../../etc/passwd", "passwd"),
        ("../../etc/cron.d/evil.txt", "evil.txt"),
        ("/etc/passwd.md", "passwd.md"),
        ("C:\\Windows\\System32\\evil.html", "evil.html"),
        ("a\x00b.txt", "a_b.txt"),
        ("report.txt\x00.png", "report.txt_.png"),
        ("..", "upload"),
        ("...txt", "upload.txt"),
        ("", "upload"),
        ("новости 2024.md", "новости_2024.md"),
        ("\u202egnp.txt", "gnp.txt"),
        ("😀.jsonl", "upload.jsonl"),
        ("REPORT.TXT", "REPORT.txt"),
        ("%2e%2e%2fetc.txt", "2e_2e_2fetc.txt"),
    ],
)
def test_upload_names_are_sanitised(raw: str, safe: str) -> None:
    assert safe_upload_name(raw) == safe


def test_a_very_long_name_keeps_its_suffix() -> None:
    for stem in ("a" * 5000, "ж" * 5000, "中" * 5000):
        name = safe_upload_name(f"{stem}.txt")
        assert name.endswith(".txt") and len(name.encode()) <= 104


@given(st.text(max_size=300))
def test_any_upload_name_stays_inside_the_uploads_folder(raw: str) -> None:
    name = safe_upload_name(raw)
    assert name and Path(name).name == name and name not in (".", "..")
    assert not name.startswith(".") and not set("/\\\x00") & set(name)
    uploads = Path("/srv/data/uploads")
    assert (uploads / name).resolve().parent == uploads
    suffix = next(
        (
            s
            for s in sorted(SUFFIXES, key=len, reverse=True)
            if raw.replace("\\", "/").rsplit("/", 1)[-1].lower().endswith(s)
        ),
        "",
    )
    assert name.lower().endswith(suffix)
    assert len(name.encode()) <= 100 + len(suffix)


HOSTILE_NAMES = [
    "../../escape.txt",
    "/tmp/absolute.txt",
    "..\\..\\win.txt",
    "nul\x00byte.md",
    "x" * 1000 + ".txt",
    "новости.txt",
    ".hidden.txt",
]


def test_uploads_land_in_the_uploads_folder_whatever_their_name(tmp_path: Path) -> None:
    services = _services(tmp_path)
    before = set(tmp_path.parent.iterdir())
    for i, name in enumerate(HOSTILE_NAMES):
        summary = services.add_upload(name, f"Title {i}\n\nA report about wheat {i}.".encode())
        assert len(summary.added) == 1, (name, summary)
    uploads = tmp_path / "data" / "uploads"
    stored = sorted(p.name for p in uploads.iterdir())
    assert len(stored) == len(HOSTILE_NAMES) and all(n.endswith((".txt", ".md")) for n in stored)
    assert set(tmp_path.parent.iterdir()) == before  # nothing written beside the test folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert not Path("/tmp/absolute.txt").exists()


@pytest.mark.parametrize(
    "data,reason",
    [
        (PNG, "binary file"),
        (b"caf\xe9", "not valid UTF-8"),
        (b"  \n", "empty file"),
        (b"{oops\n[1]\n", "report.txt"),
    ],
)
def test_an_unreadable_upload_is_refused_and_the_earlier_one_kept(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    services = _services(tmp_path)
    good = b"Wheat report\n\nWheat exports rose sharply this spring."
    assert services.add_upload("report.txt", good).added == ["report"]
    name = "report.jsonl" if data.startswith(b"{") else "report.txt"
    expected = "report.jsonl:1: invalid JSON" if name.endswith("jsonl") else reason
    with pytest.raises(IngestError, match=expected):
        services.add_upload(name, data)
    uploads = tmp_path / "data" / "uploads"
    assert [p.name for p in uploads.iterdir()] == ["report.txt"]  # no stray or staged file
    assert (uploads / "report.txt").read_bytes() == good
    store = open_snapshot(tmp_path / "data").store
    [(text,)] = store.conn.execute("select text from articles").fetchall()
    assert "Wheat exports rose sharply" in text


def test_uploads_over_the_limit_are_refused_by_the_services_too(tmp_path: Path) -> None:
    services = _services(tmp_path, max_upload_bytes=100)
    with pytest.raises(IngestError, match="over the 100 byte limit"):
        services.add_upload("big.txt", b"word " * 100)
    assert not (tmp_path / "data" / "uploads").exists()


async def test_a_file_bigger_than_it_claims_is_refused_after_download(bot: Harness) -> None:
    bot.tg.files["f9"] = b"x" * 5000  # max_upload_bytes is 1000 in the harness
    document = {"file_id": "f9", "file_unique_id": "u9", "file_name": "small.txt", "file_size": 10}
    await bot.send(message("", ADMIN, document=document))
    assert "over the 1,000 byte limit" in bot.texts()[-1]
    assert bot.services.calls == []


# ---- rate limits under a flood --------------------------------------------------------------


class SlowServices(FakeServices):
    """Each question takes ``seconds`` of worker-thread time, like the real model."""

    seconds = 0.3

    def ask(self, question: str, k: int = 3) -> Result:
        time.sleep(self.seconds)
        return super().ask(question, k)


def _slow(harness: Harness) -> SlowServices:
    services = SlowServices()
    harness.services = services
    h.BotDeps.of(harness.app).services = services
    return services


def _texts_to(harness: Harness, chat_id: int) -> list[str]:
    return [p["text"] for p in harness.tg.sent() if p["chat_id"] == chat_id]


async def test_one_flooding_user_does_not_slow_others(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, rate_limit_count=5, rate_limit_seconds=60.0)
    services = _slow(harness)
    flooder, other = 66, 77

    async def timed_question() -> float:
        # asked once the flood has met its limit (its one notice is out), while the flood's
        # admitted questions still hold the model
        while not any("asking faster" in t for t in _texts_to(harness, flooder)):
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await harness.send(message("Tell me about troops", other))
        return time.monotonic() - started

    async with harness.app:
        flood = [harness.send(message(f"troops {i}?", flooder)) for i in range(300)]
        *_, latency = await asyncio.wait_for(asyncio.gather(*flood, timed_question()), 30)
    asked = [q for name, q in services.calls if name == "ask"]
    assert len([q for q in asked if q.startswith("troops ")]) == 5
    # 295 refused questions cost one notice and no model time; the other user waits for one
    # question's worth of model time (0.3 s), not the flood's (300 x 0.3 s / 6 threads)
    assert latency < 1.0, latency
    flooder_texts = _texts_to(harness, flooder)
    assert len(flooder_texts) == 6
    assert sum("asking faster than I can read" in t for t in flooder_texts) == 1
    assert "NATO officials" in _texts_to(harness, other)[0]


async def test_a_busy_group_is_limited_but_not_by_one_member(tmp_path: Path) -> None:
    # small numbers: python-telegram-bot's own limiter holds a group to 20 sends a minute
    harness = make_harness(
        tmp_path, rate_limit_count=2, rate_limit_chat_count=6, rate_limit_seconds=60.0
    )
    async with harness.app:
        await asyncio.gather(*[harness.send(group("/ask troops?", 66)) for _ in range(50)])
        # the flooder used only its own 2 of the group's 6: four others still get answers
        for uid in range(100, 120):
            await harness.send(group("/ask troops?", uid))
        await harness.send(message("/ask troops?", 200, chat_id=-200, chat_type="group"))
        await harness.send(message("Tell me about troops", 100))  # private: only per user
    users = [c for c in harness.services.calls if c[0] == "ask"]
    assert len(users) == 2 + 4 + 1 + 1
    in_group = _texts_to(harness, -100)
    assert sum("NATO officials" in t for t in in_group) == 6
    assert sum(t.startswith("You're asking faster") for t in in_group) == 1
    assert sum(t.startswith("This chat is asking faster") for t in in_group) == 1
    assert len(in_group) == 8  # and nothing else: the rest of the flood got no reply
    assert "NATO officials" in _texts_to(harness, -200)[0]
    assert "NATO officials" in _texts_to(harness, 100)[0]


async def test_limits_lift_when_the_window_has_passed(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, rate_limit_count=2, rate_limit_seconds=30.0)
    now = [1000.0]
    deps = h.BotDeps.of(harness.app)
    deps.clock = lambda: now[0]
    deps.limiter = RateLimiter(2, 30.0, clock=deps.clock)
    async with harness.app:
        for _ in range(5):
            await harness.send(message("Tell me about troops", USER))
        now[0] += 31
        for _ in range(5):
            await harness.send(message("Tell me about troops", USER))
    texts = harness.texts()
    assert [("NATO" in t, "faster" in t) for t in texts] == [
        (True, False),
        (True, False),
        (False, True),
    ] * 2
    assert "30 s" in texts[2]


async def test_help_and_inline_floods_are_limited_too(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, rate_limit_count=3)
    async with harness.app:
        for _ in range(20):
            await harness.send(message("/help", USER))
        for i in range(20):
            await harness.send(
                {
                    "update_id": next(_update_ids),
                    "inline_query": {
                        "id": f"iq{i}",
                        "from": _user(88),
                        "query": "troops",
                        "offset": "",
                    },
                }
            )
    calls = [name for name, _ in harness.services.calls]
    assert calls.count("catalog") == 3 and calls.count("ask") == 3
    assert sum("asking faster" in t for t in harness.texts()) == 1
    answered = [a for a in harness.tg.sent("answerInlineQuery") if a["results"]]
    assert len(answered) == 3 and len(harness.tg.sent("answerInlineQuery")) == 20
