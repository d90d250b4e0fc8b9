"""Feeds: RSS 2.0, Atom and RDF served on loopback, fetched into entry files (no model)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import FeedBusy, FeedError
from index.feeds import (
    FeedBook,
    check_feed_url,
    check_feeds,
    fetch_feed,
    fetch_lock,
)
from index.settings import FeedSettings, IngestSettings
from index.sources import ANY_ADDRESS
from tests.conftest import Site, running_site

LOOPBACK = ("127.0.0.1/32",)
INGEST = IngestSettings(url_timeout_s=5.0)


@pytest.fixture
def site() -> Iterator[Site]:
    with running_site() as state:
        yield state


def page(title: str, text: str) -> str:
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{text}</p><p>The company gave no other details on the plan.</p></article>"
            "</body></html>")


def rss(items: list[tuple[str, str, str, str]]) -> str:
    """RSS 2.0 of (title, link, RFC 822 date, description) items."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>{d}</pubDate>"
        f"<description>{desc}</description></item>"
        for t, link, d, desc in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'


def atom(items: list[tuple[str, str, str, str]]) -> str:
    body = "".join(
        f'<entry><title>{t}</title><link href="{link}"/><id>{link}</id><updated>{d}</updated>'
        f"<summary>{desc}</summary></entry>"
        for t, link, d, desc in items
    )
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Atom wire</title><id>urn:wire</id><updated>2026-12-01T10:00:00Z</updated>"
            f"{body}</feed>")


def rdf(items: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f'<item rdf:about="{link}"><title>{t}</title><link>{link}</link>'
        f"<dc:date>{d}</dc:date></item>"
        for t, link, d in items
    )
    return ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<channel rdf:about="urn:wire"><title>RDF wire</title></channel>'
            f"{body}</rdf:RDF>")


def entries(path: Path) -> list[dict[str, str]]:
    return sorted(
        (json.loads(f.read_text()) for f in path.rglob("*.jsonl")), key=lambda r: r["title"]
    )


@pytest.fixture
def book(tmp_path: Path) -> Iterator[FeedBook]:
    b = FeedBook(tmp_path)
    yield b
    b.close()


def fetch(book: FeedBook, url: str, settings: FeedSettings | None = None, now: float = 1e9):
    feed = book.get(url)
    assert feed is not None
    return fetch_feed(book, feed, INGEST, settings or FeedSettings(), LOOPBACK, now=now)


def test_rss_entries_become_article_files_with_page_text_and_dates(site, book, tmp_path):
    a = site.put("/a.html", page("Orchard buys Lumen", "Orchard Corp agreed to buy Lumen Inc."))
    b = site.put("/b.html", page("Lumen names chief", "Lumen Inc named Ann Ray chief executive."))
    url = site.put("/feed.xml", rss([
        ("Orchard buys Lumen", a, "Tue, 01 Dec 2026 10:00:00 GMT", "Short summary."),
        ("Lumen names chief", b, "Mon, 30 Nov 2026 09:30:00 GMT", "Another summary."),
    ]), kind="application/rss+xml")
    book.add(url, every=30)
    report = fetch(book, url)
    assert (report.added, report.updated, report.unchanged, report.failed) == (2, 0, 0, 0)
    assert report.error is None and len(report.files) == 2
    first, second = entries(tmp_path / "feeds")
    assert first["title"] == "Lumen names chief" and first["url"] == b
    assert "Ann Ray chief executive" in first["text"]  # the page, not the feed's summary
    assert first["published"] == "2026-11-30T09:30:00+00:00"
    assert second["published"] == "2026-12-01T10:00:00+00:00"
    feed = book.get(url)
    assert feed is not None and feed.title == "Wire" and feed.entries == 2 and feed.failures == 0
    assert feed.next_at == 1e9 + 30 * 60


def test_atom_and_rdf_feeds_are_read_too(site, book, tmp_path):
    a = site.put("/a.html", page("Atom story", "Orchard Corp agreed to buy Lumen Inc."))
    r = site.put("/r.html", page("RDF story", "Lumen Inc named Ann Ray chief executive."))
    atom_url = site.put("/atom.xml", atom([("Atom story", a, "2026-12-01T08:00:00Z", "S")]),
                        kind="application/atom+xml")
    rdf_url = site.put("/rdf.xml", rdf([("RDF story", r, "2026-11-29T07:00:00Z")]),
                       kind="application/rdf+xml")
    for url in (atom_url, rdf_url):
        book.add(url, every=60)
        assert fetch(book, url).added == 1
    got = entries(tmp_path / "feeds")
    assert [e["title"] for e in got] == ["Atom story", "RDF story"]
    assert got[0]["published"] == "2026-12-01T08:00:00+00:00"
    assert got[1]["published"] == "2026-11-29T07:00:00+00:00"


def test_a_second_fetch_is_conditional_and_an_edited_entry_replaces_its_file(site, book, tmp_path):
    a = site.put("/a.html", page("Orchard buys Lumen", "Orchard pays 12 mln dlrs."))
    items = [("Orchard buys Lumen", a, "Tue, 01 Dec 2026 10:00:00 GMT", "Orchard pays 12.")]
    url = site.put("/feed.xml", rss(items), kind="application/rss+xml")
    book.add(url, every=60)
    fetch(book, url)
    again = fetch(book, url)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    assert site.hits("/feed.xml")[-1].get("If-None-Match")  # the ETag went back
    assert len(site.hits("/a.html")) == 1  # a 304 reads no page
    site.put("/a.html", page("Orchard buys Lumen", "Orchard now pays 14 mln dlrs."))
    site.put("/feed.xml", rss([(*items[0][:3], "Orchard pays 14.")]), kind="application/rss+xml")
    edited = fetch(book, url)
    assert (edited.added, edited.updated, edited.unchanged) == (0, 1, 0)
    [entry] = entries(tmp_path / "feeds")
    assert "14 mln dlrs" in entry["text"] and "12 mln" not in entry["text"]


def test_an_entry_whose_page_fails_is_indexed_from_the_feed_and_marked(site, book, tmp_path):
    gone = site.base + "/gone.html"
    url = site.put("/feed.xml", rss([
        ("Gone page", gone, "Tue, 01 Dec 2026 10:00:00 GMT",
         "<p>Lumen Inc said its chief executive, Ann Ray, will step down in March.</p>"),
        ("No text", site.base + "/none.html", "Tue, 01 Dec 2026 09:00:00 GMT", ""),
    ]), kind="application/rss+xml")
    book.add(url, every=60)
    report = fetch(book, url)
    assert (report.added, report.failed) == (1, 1)
    assert any("gone.html: the server answered HTTP 404: indexed the feed's own text" in n
               for n in report.notes)
    assert any("none.html" in n and "no text of its own" in n for n in report.notes)
    [entry] = entries(tmp_path / "feeds")
    assert entry["text"] == "Lumen Inc said its chief executive, Ann Ray, will step down in March."
    assert book.entry(next(iter(book.keys())))["via"] == "feed"  # type: ignore[index]


def test_the_same_story_under_another_link_is_not_indexed_twice(site, book, tmp_path):
    text = page("Orchard buys Lumen", "Orchard Corp agreed to buy Lumen Inc for 12 mln dlrs.")
    one, two = site.put("/one.html", text), site.put("/two.html", text)
    first = site.put("/f1.xml", rss([("Orchard buys Lumen", one, "Tue, 01 Dec 2026 10:00:00 GMT",
                                      "s")]), kind="application/rss+xml")
    second = site.put("/f2.xml", rss([("Orchard buys Lumen", two, "Tue, 01 Dec 2026 11:00:00 GMT",
                                       "s"), ("Orchard buys Lumen", one,
                                              "Tue, 01 Dec 2026 10:00:00 GMT", "s")]),
                      kind="application/rss+xml")
    book.add(first, every=60)
    book.add(second, every=60)
    assert fetch(book, first).added == 1
    report = fetch(book, second)
    assert (report.added, report.unchanged) == (0, 2)
    assert any("the same text as" in n and "one.html" in n for n in report.notes)
    assert len(entries(tmp_path / "feeds")) == 1


def test_a_failing_feed_backs_off_and_recovers(site, book):
    url = site.put("/feed.xml", "boom", kind="text/plain", status=500)
    book.add(url, every=10)
    settings = FeedSettings(max_backoff_minutes=60)
    waits = []
    for n in range(4):
        report = fetch(book, url, settings, now=1e9)
        assert report.error == "the server answered HTTP 500"
        feed = book.get(url)
        assert feed is not None and feed.failures == n + 1
        waits.append((feed.next_at - 1e9) / 60)
    assert waits == [20, 40, 60, 60]  # doubling, up to max_backoff_minutes
    assert book.due(1e9 + 59 * 60) == [] and book.due(1e9 + 60 * 60)
    site.put("/feed.xml", rss([]), kind="application/rss+xml")
    assert fetch(book, url, settings, now=2e9).error is None
    feed = book.get(url)
    assert feed is not None and feed.failures == 0 and feed.next_at == 2e9 + 10 * 60


@pytest.mark.parametrize(
    "body,kind,reason",
    [
        ("<html><body>a page</body></html>", "text/html", "the link is text/html, not a news feed"),
        ("just words, no feed", "text/plain", "no RSS, Atom or RDF entries found"),
    ],
)
def test_a_link_that_is_not_a_feed_says_so(site, book, body, kind, reason):
    url = site.put("/x", body, kind=kind)
    book.add(url, every=60)
    assert reason in (fetch(book, url).error or "")


def test_only_the_newest_entries_are_read_in_one_fetch(site, book, tmp_path):
    items = [(f"Story {d}", site.put(f"/{d}.html", page(f"Story {d}", f"Lumen story number {d}.")),
              f"Tue, {d:02d} Dec 2026 10:00:00 GMT", "s") for d in range(1, 6)]
    url = site.put("/feed.xml", rss(items), kind="application/rss+xml")
    book.add(url, every=60)
    assert fetch(book, url, FeedSettings(max_entries=2)).added == 2
    assert [e["title"] for e in entries(tmp_path / "feeds")] == ["Story 4", "Story 5"]


def test_private_feed_links_are_refused_unless_allowed(site):
    with pytest.raises(FeedError, match="not a public internet address"):
        check_feed_url(site.base + "/feed.xml")
    assert check_feed_url(f"  {site.base}/feed.xml ", ANY_ADDRESS) == site.base + "/feed.xml"
    with pytest.raises(FeedError, match="only http:// and https://"):
        check_feed_url("file:///etc/passwd", ANY_ADDRESS)


def test_feeds_survive_reopening_and_removal_deletes_their_files(site, book, tmp_path):
    a = site.put("/a.html", page("Orchard buys Lumen", "Orchard Corp agreed to buy Lumen Inc."))
    url = site.put("/feed.xml", rss([("Orchard buys Lumen", a, "Tue, 01 Dec 2026 10:00:00 GMT",
                                      "s")]), kind="application/rss+xml")
    book.add(url, every=15)
    fetch(book, url)
    with pytest.raises(FeedError, match="already a feed"):
        book.add(url, every=15)
    again = FeedBook(tmp_path)
    try:
        [feed] = again.feeds()
        assert (feed.url, feed.every, feed.entries) == (url, 15, 1)
        assert again.remove(url) == 1
        assert again.feeds() == [] and not list((tmp_path / "feeds").rglob("*.jsonl"))
        with pytest.raises(FeedError, match="is not a feed"):
            again.remove(url)
    finally:
        again.close()


def test_check_names_entries_missing_from_the_index(site, book, tmp_path):
    a = site.put("/a.html", page("Orchard buys Lumen", "Orchard Corp agreed to buy Lumen Inc."))
    url = site.put("/feed.xml", rss([("Orchard buys Lumen", a, "Tue, 01 Dec 2026 10:00:00 GMT",
                                      "s")]), kind="application/rss+xml")
    book.add(url, every=15)
    fetch(book, url)
    problems, notes, counts = check_feeds(tmp_path)  # written, never indexed
    assert [name for name, _ in problems] == ["feed_entries_unindexed"]
    assert counts == {"feeds": 1, "feed_entries": 1} and notes == []


def test_one_feed_pass_at_a_time(tmp_path):
    with fetch_lock(tmp_path), pytest.raises(FeedBusy, match="already running"), fetch_lock(
        tmp_path
    ):
        pass


@pytest.mark.slow  # feedparser reads all 10,000 entries (2 MB): seconds of CPU
def test_a_feed_of_ten_thousand_entries_reads_only_the_newest(site, book, tmp_path):
    pages = {d: site.put(f"/{d}.html", page(f"Story {d}", f"Lumen story number {d}."))
             for d in range(9_990, 10_000)}
    items = [(f"Story {d}", pages.get(d, f"{site.base}/{d}.html"),
              f"Tue, 01 Dec 2026 {d // 3600 % 24:02d}:{d // 60 % 60:02d}:{d % 60:02d} GMT", "s")
             for d in range(10_000)]
    url = site.put("/feed.xml", rss(items), kind="application/rss+xml")
    book.add(url, every=60)
    report = fetch(book, url, FeedSettings(max_entries=10))
    assert (report.added, report.failed) == (10, 0)
    assert sorted(e["title"] for e in entries(tmp_path / "feeds")) == [
        f"Story {d}" for d in range(9_990, 10_000)
    ]
    assert len(site.requests) == 11  # the feed and ten pages, not ten thousand


@pytest.mark.slow  # waits out two real 1 s time limits
def test_a_slow_server_is_cut_off_at_the_time_limit(site, book, tmp_path):
    slow = site.put("/slow.html", page("Slow story", "Lumen Inc named Ann Ray chief."))
    site.delays["/slow.html"] = 3.0
    url = site.put("/feed.xml", rss([("Slow story", slow, "Tue, 01 Dec 2026 10:00:00 GMT",
                                      "Lumen Inc named a new chief executive.")]),
                   kind="application/rss+xml")
    book.add(url, every=60)
    quick = IngestSettings(url_timeout_s=1.0)
    started = time.monotonic()
    report = fetch_feed(book, book.get(url), quick, FeedSettings(), LOOPBACK, now=1e9)
    assert time.monotonic() - started < 2.9
    assert report.added == 1 and any("slow.html: could not fetch" in n for n in report.notes)
    [entry] = entries(tmp_path / "feeds")
    assert entry["text"] == "Lumen Inc named a new chief executive."  # the feed's own text
    site.delays["/feed.xml"] = 3.0
    slow_feed = fetch_feed(book, book.get(url), quick, FeedSettings(), LOOPBACK, now=2e9)
    assert "could not fetch" in (slow_feed.error or "")


def test_a_redirect_to_a_private_address_is_refused(site, book):
    url = site.put("/feed.xml", "http://10.1.2.3/feed.xml", status=302)
    book.add(url, every=60)
    assert "10.1.2.3" in (fetch(book, url).error or "")
    assert "not a public internet address" in (fetch(book, url).error or "")
    story = site.put("/story.html", "http://192.168.0.9/story.html", status=301)
    site.put("/f2.xml", rss([("Moved", story, "Tue, 01 Dec 2026 10:00:00 GMT", "")]),
             kind="application/rss+xml")
    book.add(site.base + "/f2.xml", every=60)
    report = fetch(book, site.base + "/f2.xml")
    assert report.failed == 1 and "not a public internet address" in report.notes[0]


def test_an_entry_dropped_from_the_feed_stays_indexed(site, book, tmp_path):
    a = site.put("/a.html", page("Orchard buys Lumen", "Orchard Corp agreed to buy Lumen Inc."))
    b = site.put("/b.html", page("Lumen names chief", "Lumen Inc named Ann Ray chief executive."))
    url = site.put("/feed.xml", rss([("Orchard buys Lumen", a, "Mon, 30 Nov 2026 10:00:00 GMT",
                                      "s")]), kind="application/rss+xml")
    book.add(url, every=60)
    fetch(book, url)
    site.put("/feed.xml", rss([("Lumen names chief", b, "Tue, 01 Dec 2026 10:00:00 GMT", "s")]),
             kind="application/rss+xml")
    report = fetch(book, url)
    assert (report.added, report.unchanged) == (1, 0)
    # a feed lists only its newest stories: one that rolls off it was not retracted
    assert [e["title"] for e in entries(tmp_path / "feeds")] == [
        "Lumen names chief", "Orchard buys Lumen"]
    assert book.get(url).entries == 2  # type: ignore[union-attr]


# -- the command line and the services, with the real model ----------------------------------


@pytest.mark.model
def test_feeds_from_the_command_line_add_fetch_answer_check_and_remove(
    site, tmp_path, real_embedder, monkeypatch
):
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setattr("bot.services.load_embedder", lambda settings: real_embedder)
    a = site.put("/a.html", page("Orchard buys Lumen",
                                 "Orchard Corp agreed to buy Lumen Inc for 12 mln dlrs in cash."))
    b = site.put("/b.html", page("Lumen names chief", "Lumen Inc named Ann Ray chief executive."))
    good = site.put("/feed.xml", rss([
        ("Orchard buys Lumen", a, "Tue, 01 Dec 2026 10:00:00 GMT", "s"),
        ("Lumen names chief", b, "Mon, 30 Nov 2026 09:30:00 GMT", "s"),
    ]), kind="application/rss+xml")
    broken = site.put("/broken.xml", "just words, no feed", kind="application/rss+xml")
    runner = CliRunner()
    data = ["--data", str(tmp_path / "data")]

    refused = runner.invoke(main, [*data, "feeds", "add", good])
    assert refused.exit_code == 1 and "not a public internet address" in refused.output
    monkeypatch.setenv("QUOTEBOT_BOT__ALLOW_PRIVATE_URLS", "true")
    added = runner.invoke(main, [*data, "feeds", "add", good, "--every", "15"])
    assert added.exit_code == 0 and f"added {good}, fetched every 15 min" in added.output
    assert runner.invoke(main, [*data, "feeds", "add", broken]).exit_code == 0
    listed = runner.invoke(main, [*data, "feeds", "list"]).output
    assert f"{good}\tevery 15 min\t0 entries\tnot fetched yet" in listed

    fetched = runner.invoke(main, [*data, "feeds", "fetch"])
    assert fetched.exit_code == 1  # a feed failed: scripts can tell
    assert f"{good}: 2 added, 0 updated, 0 unchanged, 0 failed" in fetched.output
    assert f"{broken}: failed: no RSS, Atom or RDF entries found" in fetched.output

    out = runner.invoke(main, [*data, "ask", "--json", "Who agreed to buy Lumen?"])
    answer = json.loads(out.stdout)["answers"][0]
    assert "Orchard Corp agreed to buy Lumen Inc" in answer["quote"]
    [source] = answer["sources"]
    assert (source["url"], source["published"]) == (a, "2026-12-01T10:00:00+00:00")
    assert json.loads(runner.invoke(main, [*data, "stats"]).stdout)["articles"] == 2

    again = runner.invoke(main, [*data, "feeds", "fetch"]).output
    assert f"{good}: 0 added, 0 updated, 2 unchanged, 0 failed" in again
    check = runner.invoke(main, [*data, "check"])
    assert check.exit_code == 0, check.output
    assert "2 feeds, 2 feed entries" in check.output and "failed" in check.output

    removed = runner.invoke(main, [*data, "feeds", "remove", good])
    assert removed.exit_code == 0 and f"removed {good} and 2 articles" in removed.output
    assert json.loads(runner.invoke(main, [*data, "stats"]).stdout)["articles"] == 0
    gone = runner.invoke(main, [*data, "feeds", "remove", good])
    assert gone.exit_code == 1 and "is not a feed" in gone.output


@pytest.mark.model
def test_entries_an_index_update_missed_are_indexed_on_the_next_pass(site, tmp_path,
                                                                    real_embedder):
    from bot.config import BotSettings, Config
    from bot.services import Services

    a = site.put("/a.html", page("Orchard buys Lumen", "Orchard Corp agreed to buy Lumen Inc."))
    url = site.put("/feed.xml", rss([("Orchard buys Lumen", a, "Tue, 01 Dec 2026 10:00:00 GMT",
                                      "s")]), kind="application/rss+xml")
    data = tmp_path / "data"
    config = Config(data_dir=data, bot=BotSettings(allow_private_urls=True))
    services = Services(config, embedder=real_embedder)
    services.add_feed(url)
    book = FeedBook(data)
    try:  # a pass that wrote its entry and then died before indexing it
        fetch_feed(book, book.get(url), config.ingest, config.feeds, ANY_ADDRESS)
    finally:
        book.close()
    assert [name for name, _ in check_feeds(data)[0]] == ["feed_entries_unindexed"]
    [report] = services.fetch_feeds()
    assert (report.added, report.unchanged) == (0, 1)  # the feed answered 304...
    assert check_feeds(data)[0] == []  # ...and the missed entry was indexed all the same
    assert "Orchard Corp" in services.ask("Who agreed to buy Lumen?").answers[0].quote
