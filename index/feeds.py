"""News feeds (RSS 2.0, Atom, RDF): the list of feeds, and one fetch pass that turns their
entries into article files.

Feeds and the entries read from them live in ``DATA/feeds.db`` beside the index generations, so
they survive restarts and re-indexing. Each entry becomes a one-line JSONL file under
``DATA/feeds/`` that is indexed like any other article file: a folder reindex keeps it, and
removing the feed removes its files and so its articles. The caller indexes the files a pass
wrote (``FeedReport.files``); this module only fetches and writes.

Each entry's page is fetched with the same SSRF-safe ``fetch`` as ``/add`` and its main text
extracted; when the page cannot be fetched, the entry's own content or summary is indexed and the
entry is marked ``via = "feed"``. Feeds are fetched with ETag / Last-Modified, read at most
``max_entries`` entries a pass, and wait longer after each failure.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .builder import exclusive
from .errors import FeedBusy, FeedError, IndexCorrupt, IngestError
from .settings import FeedSettings, IngestSettings
from .snapshot import DB_FILE, current_generation
from .sources import check_url, fetch, fetch_url, url_key
from .store import Store

FEEDS_DB = "feeds.db"
FEEDS_DIR = "feeds"
# What servers send feeds as; a web page (text/html) is refused with a message that says so.
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/x-rss+xml",
    "application/xml",
    "text/xml",
    "text/plain",
)


@dataclass(frozen=True)
class Feed:
    url: str
    every: int  # minutes between fetches
    title: str = ""
    added: str = ""
    last_fetched: str | None = None
    last_result: str = ""  # "2 added, 1 unchanged" or the error of the last fetch
    failures: int = 0  # fetches failed in a row
    next_at: float = 0.0  # epoch seconds of the next scheduled fetch
    etag: str | None = None
    modified: str | None = None
    entries: int = 0


@dataclass
class FeedReport:
    """What one fetch of one feed did."""

    url: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = None  # the feed itself could not be fetched or read
    notes: list[str] = field(default_factory=list)  # per-entry problems and fallbacks
    files: list[Path] = field(default_factory=list)  # entry files written: index these

    def line(self) -> str:
        if self.error is not None:
            return f"{self.url}: failed: {self.error}"
        return (
            f"{self.url}: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )


class FeedBook:
    """The feeds of one data directory and the entries read from them (``DATA/feeds.db``)."""

    def __init__(self, data_dir: Path) -> None:
        import sqlite_utils

        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(data_dir / FEEDS_DB)
        self.db.conn.execute("pragma busy_timeout = 5000")  # `feeds add` beside `serve`
        self.db["feeds"].create(  # type: ignore[union-attr]
            {
                "url": str,
                "every": int,
                "title": str,
                "added": str,
                "last_fetched": str,
                "last_result": str,
                "failures": int,
                "next_at": float,
                "etag": str,
                "modified": str,
            },
            pk="url",
            not_null={"url", "every"},
            defaults={"failures": 0, "next_at": 0.0, "title": "", "last_result": ""},
            if_not_exists=True,
        )
        self.db["entries"].create(  # type: ignore[union-attr]
            {
                "key": str,  # the article id: url_key of the entry's link (or its id)
                "feed": str,
                "link": str,
                "title": str,
                "published": str,
                "signature": str,  # what the feed says of it: unchanged means no refetch
                "text_hash": str,  # the same text under another link is not indexed twice
                "via": str,  # "page", or "feed" when the entry's own text was indexed
                "file": str,
            },
            pk="key",
            if_not_exists=True,
        )
        self.db["entries"].create_index(["text_hash"], if_not_exists=True)  # type: ignore[union-attr]
        self.db["entries"].create_index(["feed"], if_not_exists=True)  # type: ignore[union-attr]

    def close(self) -> None:
        self.db.conn.close()

    def feeds(self) -> list[Feed]:
        counts = {
            row["feed"]: row["n"]
            for row in self.db.query("select feed, count(*) as n from entries group by feed")
        }
        return [
            Feed(**{k: v for k, v in row.items() if v is not None}, entries=counts.get(row["url"], 0))
            for row in self.db.query("select * from feeds order by added, url")
        ]

    def get(self, url: str) -> Feed | None:
        return next((f for f in self.feeds() if f.url == url), None)

    def add(self, url: str, every: int, now: float | None = None) -> Feed:
        if self.get(url) is not None:
            raise FeedError(f"{url} is already a feed")
        if every < 1:
            raise FeedError(f"--every must be at least 1 minute, got {every}")
        stamp = _iso(now if now is not None else time.time())
        self.db["feeds"].insert({"url": url, "every": every, "added": stamp, "next_at": 0.0})  # type: ignore[union-attr]
        feed = self.get(url)
        assert feed is not None
        return feed

    def remove(self, url: str) -> int:
        """Forget a feed and delete its entries' files; returns how many entries it had."""
        feed = self.get(url)
        if feed is None:
            raise FeedError(f"{url} is not a feed (see `quotebot feeds list`)")
        with self.db.conn:
            self.db.execute("delete from entries where feed = ?", [url])
            self.db.execute("delete from feeds where url = ?", [url])
        shutil.rmtree(self.folder(url), ignore_errors=True)
        return feed.entries

    def keys(self) -> set[str]:
        """The article ids of every entry read (an entry's id is its key)."""
        return {row["key"] for row in self.db.query("select key from entries")}

    def due(self, now: float) -> list[Feed]:
        return [f for f in self.feeds() if f.next_at <= now]

    def folder(self, url: str) -> Path:
        return self.data_dir / FEEDS_DIR / ("feed-" + hashlib.sha256(url.encode()).hexdigest()[:12])

    def entry(self, key: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from entries where key = ?", [key]))
        return rows[0] if rows else None

    def same_text(self, text_hash: str, key: str) -> str | None:
        rows = list(
            self.db.query(
                "select link from entries where text_hash = ? and key != ? limit 1", [text_hash, key]
            )
        )
        return rows[0]["link"] if rows else None

    def save_entry(self, row: dict[str, Any]) -> None:
        self.db["entries"].upsert(row, pk="key")  # type: ignore[union-attr]

    def fetched(self, feed: Feed, report: FeedReport, settings: FeedSettings, now: float,
                title: str = "", etag: str | None = None, modified: str | None = None) -> None:
        """Record a fetch: the next one is due ``every`` minutes later, or later after failures."""
        failures = feed.failures + 1 if report.error is not None else 0
        wait = min(feed.every * 2**failures, max(feed.every, settings.max_backoff_minutes))
        values: dict[str, Any] = {
            "last_fetched": _iso(now),
            "last_result": report.line().removeprefix(f"{feed.url}: "),
            "failures": failures,
            "next_at": now + 60 * wait,
        }
        if report.error is None:
            values |= {"etag": etag, "modified": modified, "title": title or feed.title}
        self.db["feeds"].update(feed.url, values)  # type: ignore[union-attr]


def fetch_lock(data_dir: Path) -> AbstractContextManager[None]:
    """One feed fetch at a time per data directory (``serve`` and ``feeds fetch`` alike)."""
    return exclusive(
        data_dir / ".feeds.lock", FeedBusy("a feed fetch is already running; try again later")
    )


def unindexed(book: FeedBook, data_dir: Path) -> set[str]:
    """Entries read but not in the served index (an index update failed after the fetch)."""
    keys = book.keys()
    gen = current_generation(data_dir)
    if not keys or gen is None:
        return keys
    store = Store.open(gen / DB_FILE, readonly=True)
    try:
        return keys - store.article_ids()
    finally:
        store.close()


def check_feeds(data_dir: Path) -> tuple[list[tuple[str, str]], list[str], dict[str, int]]:
    """What ``quotebot check`` says of the feeds: problems (name, detail), notes and counts."""
    if not (data_dir / FEEDS_DB).exists():
        return [], [], {}
    problems: list[tuple[str, str]] = []
    notes: list[str] = []
    try:
        book = FeedBook(data_dir)
        try:
            integrity = [r[0] for r in book.db.execute("pragma integrity_check(5)").fetchall()]
            if integrity != ["ok"]:
                return [("feeds_damaged", f"{data_dir / FEEDS_DB}: {'; '.join(integrity)}")], [], {}
            feeds = book.feeds()
            missing = unindexed(book, data_dir)
            gone = [row["file"] for row in book.db.query("select file from entries")
                    if not Path(row["file"]).exists()]
        finally:
            book.close()
    except (sqlite3.DatabaseError, IndexCorrupt) as exc:
        return [("feeds_unreadable", f"{data_dir / FEEDS_DB}: {exc}")], [], {}
    if missing:
        problems.append(("feed_entries_unindexed", f"{len(missing)} feed entries are not in the "
                         "index: `quotebot feeds fetch` indexes them"))
    if gone:
        problems.append(("feed_entry_files_missing", f"{len(gone)} feed entry files are gone "
                         f"(e.g. {gone[0]}): remove and add their feed again"))
    for feed in feeds:
        if feed.failures:
            times = "once" if feed.failures == 1 else f"{feed.failures} times in a row"
            notes.append(f"feed {feed.url} {feed.last_result} ({times})")
    return problems, notes, {"feeds": len(feeds), "feed_entries": sum(f.entries for f in feeds)}


def check_feed_url(url: str, allow: Sequence[str] = ()) -> str:
    """The URL, stripped, when it is http(s) on an address the settings allow."""
    url = url.strip()
    try:
        check_url(url, allow)
    except IngestError as exc:
        raise FeedError(str(exc)) from None
    return url


def fetch_feed(
    book: FeedBook,
    feed: Feed,
    ingest: IngestSettings,
    settings: FeedSettings,
    allow: Sequence[str] = (),
    now: float | None = None,
) -> FeedReport:
    """Fetch one feed and write its new and changed entries; never raises for a bad feed."""
    import feedparser

    now = now if now is not None else time.time()
    report = FeedReport(feed.url)
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.modified:
        headers["If-Modified-Since"] = feed.modified
    try:
        got = fetch(feed.url, ingest, allow, types=FEED_TYPES, headers=headers)
        if got.status == 304:  # nothing new since the last fetch
            report.unchanged = feed.entries
            book.fetched(feed, report, settings, now, etag=feed.etag, modified=feed.modified)
            return report
        parsed = feedparser.parse(got.body)
        if not parsed.entries and (parsed.bozo or not parsed.version):
            reason = getattr(parsed.get("bozo_exception"), "getMessage", lambda: "")()
            raise IngestError(
                f"no RSS, Atom or RDF entries found{f' ({reason})' if reason else ''}"
            )
    except IngestError as exc:
        report.error = str(exc).removeprefix(f"{feed.url}: ")
        book.fetched(feed, report, settings, now)
        return report
    entries = sorted(parsed.entries, key=_entry_time, reverse=True)[: settings.max_entries]
    for entry in entries:
        try:
            _read_entry(book, feed, entry, ingest, allow, report)
        except IngestError as exc:
            report.failed += 1
            report.notes.append(str(exc))
    book.fetched(
        feed,
        report,
        settings,
        now,
        title=str(parsed.feed.get("title", "")),
        etag=got.headers.get("etag"),
        modified=got.headers.get("last-modified"),
    )
    return report


def _read_entry(
    book: FeedBook,
    feed: Feed,
    entry: Any,
    ingest: IngestSettings,
    allow: Sequence[str],
    report: FeedReport,
) -> None:
    link = str(entry.get("link") or "").strip()
    ident = link or str(entry.get("id") or "").strip()
    if not ident:
        raise IngestError(f"an entry of {feed.url} has neither a link nor an id")
    key = url_key(ident)
    own_text = _entry_text(entry)
    signature = hashlib.sha256(
        json.dumps([_raw(entry, "updated"), entry.get("title"), own_text]).encode()
    ).hexdigest()
    prior = book.entry(key)
    if prior is not None and (prior["signature"] == signature or prior["feed"] != feed.url):
        report.unchanged += 1  # the feed says nothing new of it, or another feed brought it
        return
    title = str(entry.get("title") or "").strip()
    published = _entry_date(entry)
    via = "page"
    text = ""
    try:
        if not link.startswith(("http://", "https://")):
            raise IngestError(f"{ident}: the entry has no web link")
        page = fetch_url(link, ingest, allow)
        text = (page.text + "\n" + page.comments).strip()
        title = title or page.title
        published = published or page.published
    except IngestError as exc:
        if not own_text.strip():
            raise IngestError(f"{exc}; the entry has no text of its own") from None
        report.notes.append(f"{exc}: indexed the feed's own text of the entry")
        via, text = "feed", own_text
    text_hash = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
    if prior is not None and prior["text_hash"] == text_hash:
        book.save_entry(prior | {"signature": signature})
        report.unchanged += 1
        return
    twin = book.same_text(text_hash, key)
    if twin is not None:  # syndicated copy: the same story under another link
        report.unchanged += 1
        report.notes.append(f"{link or ident}: the same text as {twin}, not indexed again")
        return
    path = book.folder(feed.url) / f"{key}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"id": key, "url": link or None, "title": title, "published": published, "text": text}
    tmp = path.with_name("." + path.name)  # a folder scan never reads a half-written entry
    tmp.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    book.save_entry(
        {
            "key": key,
            "feed": feed.url,
            "link": link or ident,
            "title": title,
            "published": published,
            "signature": signature,
            "text_hash": text_hash,
            "via": via,
            "file": str(path),
        }
    )
    if prior is None:
        report.added += 1
    else:
        report.updated += 1
    report.files.append(path)


def _entry_text(entry: Any) -> str:
    """The entry's own text: its full content when the feed has it, else its summary."""
    from trafilatura import html2txt

    parts = [c.get("value", "") for c in entry.get("content") or []] or [entry.get("summary", "")]
    html = "\n".join(str(p) for p in parts if p)
    if not html.strip():
        return ""
    if "<" not in html:
        return html.strip()
    return (html2txt(f"<html><body>{html}</body></html>") or "").strip()  # a fragment parses as nothing


def _raw(entry: Any, key: str) -> Any:
    """A field as the feed gave it (feedparser maps a missing "updated" to "published", with a
    warning)."""
    return dict.get(entry, key)


def _entry_time(entry: Any) -> float:
    stamp = _raw(entry, "published_parsed") or _raw(entry, "updated_parsed")
    return calendar.timegm(stamp) if stamp else 0.0


def _entry_date(entry: Any) -> str | None:
    stamp = _raw(entry, "published_parsed") or _raw(entry, "updated_parsed")
    return _iso(calendar.timegm(stamp)) if stamp else None


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(microsecond=0).isoformat()

