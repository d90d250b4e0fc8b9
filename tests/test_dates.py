"""Dates: the time a question names as a range of publication days, datelines, the order by
date, and the replies that show them (no model)."""

from __future__ import annotations

import datetime as dt

import pytest

from index.chunking import dateline_day
from retrieval.dates import Period, day_label, find_period, parse_day, wants_latest

D = dt.date
TODAY = D(2026, 12, 3)  # a Thursday


@pytest.mark.parametrize("question,start,end", [
    ("What did Macron say in February?", D(2026, 2, 1), D(2026, 2, 28)),
    ("what happened on March 2", D(2026, 3, 2), D(2026, 3, 2)),
    ("Who spoke on 2 March 2024?", D(2024, 3, 2), D(2024, 3, 2)),
    ("what was agreed in early March", D(2026, 3, 1), D(2026, 3, 10)),
    ("who resigned in late February 2024?", D(2024, 2, 21), D(2024, 2, 29)),
    ("what happened last week?", D(2026, 11, 23), D(2026, 11, 29)),
    ("who resigned yesterday", D(2026, 12, 2), D(2026, 12, 2)),
    ("what happened in 2024", D(2024, 1, 1), D(2024, 12, 31)),
    ("news of the past 3 days", D(2026, 11, 30), D(2026, 12, 3)),
    ("what did NATO say during May?", D(2026, 5, 1), D(2026, 5, 31)),
])
def test_a_named_time_is_a_range_of_days(question: str, start: D, end: D) -> None:
    period = find_period(question, TODAY)
    assert period is not None and (period.start, period.end) == (start, end)


@pytest.mark.parametrize("question,start,end", [
    ("what changed since Monday?", D(2026, 11, 30), None),
    ("what was said before March 2024?", None, D(2024, 2, 29)),
    ("who sold after February 26?", D(2026, 2, 27), None),
])
def test_since_before_and_after_leave_one_end_open(question: str, start: D | None,
                                                   end: D | None) -> None:
    period = find_period(question, TODAY)
    assert period is not None and (period.start, period.end) == (start, end)


@pytest.mark.parametrize("question", [
    "What was said before the ceasefire talks?",  # an event, not a date
    "Who may buy Lumen?",  # the verb, not the month
    "What is in the 2024 budget?",  # a year as a name
    "Who bought 2000 shares?",
    "who proposed troops?",
])
def test_words_that_are_not_a_time_filter_nothing(question: str) -> None:
    assert find_period(question, TODAY) is None


def test_a_phrase_without_a_year_moves_to_an_older_collection() -> None:
    newest = D(1987, 3, 2)
    seen: list[Period] = []

    def rebase(period: Period) -> D | None:
        seen.append(period)
        return newest  # no article of that time: resolve against the newest article

    period = find_period("what happened last week?", TODAY, rebase=rebase)
    assert period is not None and (period.start, period.end) == (D(1987, 2, 23), D(1987, 3, 1))
    assert period.label() == "Articles from 23 Feb to 1 Mar 1987"
    assert (seen[0].start, seen[0].end) == (D(2026, 11, 23), D(2026, 11, 29))
    on = find_period("Which company made an offer on February 26?", TODAY, rebase=rebase)
    assert on is not None and on.label() == "Articles of 26 Feb 1987"
    fixed = find_period("what happened in 2024?", TODAY, rebase=rebase)
    assert fixed is not None and fixed.start == D(2024, 1, 1)  # a year is never moved


def test_the_reporting_lag_widens_the_days_searched() -> None:
    period = find_period("what did purolator stock close at on feb 27", D(1987, 3, 2),
                         report_lag_days=3)
    assert period is not None and period.end == D(1987, 2, 27)
    assert period.published() == ("1987-02-27", "1987-03-02")
    assert period.label() == "Articles from 27 Feb to 2 Mar 1987"  # what was searched
    since = find_period("what changed since Monday?", TODAY, report_lag_days=3)
    assert since is not None and since.published() == ("2026-11-30", None)


def test_labels_dates_and_latest() -> None:
    assert day_label(D(1987, 2, 26)) == "26 Feb 1987"
    assert Period(D(2024, 12, 30), D(2025, 1, 2)).label() == (
        "Articles from 30 Dec 2024 to 2 Jan 2025")
    assert Period(D(1987, 3, 1), None).label() == "Articles since 1 Mar 1987"
    assert parse_day("1987-02-26T15:51:17") == D(1987, 2, 26)
    assert parse_day("26 February 1987") == D(1987, 2, 26)
    assert wants_latest("What is the latest on Lumen?") and wants_latest("most recent offer")
    assert not wants_latest("Who bought Lumen late last year?")


@pytest.mark.parametrize("text,written,day", [
    ("NEW YORK, FEB 26 - Diamond Shamrock Corp said", D(1987, 3, 5), D(1987, 2, 26)),
    ("GARDEN CITY, N.Y., March 2 - The company said", D(1987, 3, 5), D(1987, 3, 2)),
    ("NEW YORK, Dec 30 - Lumen said", D(1988, 1, 4), D(1987, 12, 30)),  # the year before
    ("LONDON (Reuters) - Lumen said", D(1987, 3, 5), None),  # no day in it
    ("The company said on Feb 26 - nothing", D(1987, 3, 5), None),  # not a dateline
])
def test_a_dateline_dates_its_story_in_the_year_it_was_written(text: str, written: D,
                                                               day: D | None) -> None:
    assert dateline_day(text, written) == day


# -- answers from the articles of a time: the Reuters stories (26 Feb to 2 Mar 1987) ----------


def published_days(result) -> set[str]:
    return {s.published[:10] for a in result.answers for s in a.sources}


@pytest.mark.model
def test_on_march_2_answers_from_the_stories_of_that_day(reuters_answerer) -> None:
    result = reuters_answerer.ask("Which company agreed to be acquired on March 2?", k=5)
    assert not result.abstained and result.period == "Articles of 2 Mar 1987"
    assert published_days(result) and published_days(result) <= {"1987-03-02"}
    unfiltered = reuters_answerer.ask("Which company agreed to be acquired?", k=5)
    assert unfiltered.period is None


@pytest.mark.model
def test_in_early_march_leaves_out_the_february_stories(reuters_answerer) -> None:
    question = "Which two Japanese steelmakers said in early March that they were considering a merger?"
    result = reuters_answerer.ask(question, k=5)
    assert result.period == "Articles from 1 Mar to 10 Mar 1987"
    assert published_days(result) and all(d >= "1987-03-01" for d in published_days(result))
    assert result.answers[0].sources[0].id == "reuters-260"
    assert "Toshin Steel" in (result.answers[0].highlight_text or "")


@pytest.mark.model
def test_explicit_since_and_until_filter_and_say_when_nothing_is_from_then(
    reuters_answerer,
) -> None:
    question = "Who made a tender offer?"
    feb = reuters_answerer.ask(question, k=5, until=D(1987, 2, 26))
    assert published_days(feb) == {"1987-02-26"}
    assert feb.period == "Articles up to 26 Feb 1987"
    march = reuters_answerer.ask(question, k=5, since=D(1987, 3, 1))
    assert published_days(march) and all(d >= "1987-03-01" for d in published_days(march))
    none = reuters_answerer.ask(question, since=D(2024, 1, 1))
    assert none.abstained and none.message == "I don't know: no article is from that time."


@pytest.mark.model
def test_a_time_the_articles_tell_of_falls_back_to_every_article(reuters_answerer) -> None:
    # 1986 is the time of the earnings, not of the stories (1987): nothing is filtered out
    result = reuters_answerer.ask(
        "How much did Shearson contribute to American Express's earnings in 1986?")
    assert not result.abstained and result.period is None


@pytest.mark.model
def test_latest_puts_the_newest_story_first(reuters_answerer) -> None:
    result = reuters_answerer.ask("What is the latest acquisition news?", k=5)
    days = [a.sources[0].published for a in result.answers]
    assert len(days) > 1 and days == sorted(days, reverse=True)


# -- the filter, the order and the replies, with the fake embedder ---------------------------


def _dated_index(tmp_path, fake_embedder):
    import json

    from index.builder import IndexRun, update_index
    from retrieval.engine import Answerer
    from retrieval.settings import RetrievalSettings

    stories = [
        ("old", "1987-02-26T10:00:00", "Orchard Corp said it agreed to buy Lumen Inc for cash."),
        ("new", "1987-03-02T09:00:00", "Orchard Corp said it agreed to buy Lumen Inc for stock."),
        ("undated", None, "Orchard Corp said it agreed to buy Lumen Inc in a swap."),
    ]
    path = tmp_path / "wire.jsonl"
    path.write_text("".join(json.dumps({"id": i, "title": f"Lumen {i}", "published": p,
                                        "text": t}) + "\n" for i, p, t in stories))
    update_index(tmp_path / "data", [path], IndexRun(fake_embedder))
    settings = RetrievalSettings(highlight=False, min_quote_similarity=0.0, merge_similarity=1.1)
    return Answerer(tmp_path / "data", fake_embedder, settings)


def test_only_articles_of_the_time_are_searched_and_undated_ones_are_left_out(
    tmp_path, fake_embedder
) -> None:
    answerer = _dated_index(tmp_path, fake_embedder)
    ids = lambda r: [s.id for a in r.answers for s in a.sources]  # noqa: E731
    assert sorted(ids(answerer.ask("Who agreed to buy Lumen Inc?", k=5))) == [
        "new", "old", "undated"]
    assert ids(answerer.ask("Who agreed to buy Lumen Inc?", k=5, since=D(1987, 3, 1))) == ["new"]
    assert ids(answerer.ask("Who agreed to buy Lumen Inc?", k=5, until=D(1987, 2, 28))) == [
        "old"]
    on = answerer.ask("Who agreed to buy Lumen Inc on March 2, 1987?", k=5)
    assert ids(on) == ["new"] and on.period == "Articles of 2 Mar 1987"
    assert on.to_json()["period"] == "Articles of 2 Mar 1987"


def test_the_newer_of_two_close_answers_comes_first() -> None:
    from retrieval.engine import _by_date

    class Row:
        def __init__(self, published):
            self.published = published

    def group(score, published):
        quote = type("Q", (), {})()
        quote.score, quote.row = score, Row(published)
        return [quote]

    older, newer = group(0.800, "1987-02-26"), group(0.795, "1987-03-02")
    assert _by_date([older, newer], 0.01, latest=False) == [newer, older]  # about the same
    assert _by_date([older, newer], 0.0, latest=False) == [older, newer]  # no tie-break
    far = group(0.700, "1987-03-02")
    assert _by_date([older, far], 0.01, latest=False) == [older, far]  # not close: score wins
    assert _by_date([older, far], 0.01, latest=True) == [far, older]


def test_replies_show_the_time_answered_from_and_dates_as_days() -> None:
    from bot import formatting as fmt
    from retrieval.answers import Answer, Result, SourceRef

    src = SourceRef("a", "Lumen", None, "https://x.example/a", "1987-03-02T09:00:00", 0, 5)
    result = Result("q on March 2?", False, (Answer("Orchard agreed.", None, 0.9, (src,)),),
                    period="Articles of 2 Mar 1987")
    [html] = fmt.format_result_page(result)
    assert html.startswith("<i>Articles of 2 Mar 1987</i>")
    assert ", 2 Mar 1987" in html
    plain = fmt.format_result_plain(result)
    assert plain.splitlines()[0] == "Articles of 2 Mar 1987" and "· 2 Mar 1987 ·" in plain
    none = Result("q", True, message="I don't know: no article is from that time.",
                  period="Articles since 1 Jan 2024")
    assert fmt.format_result_plain(none).splitlines() == [
        "Articles since 1 Jan 2024", "I don't know: no article is from that time."]


@pytest.mark.slow  # ask highlights with spaCy's parser, as configured by default
def test_ask_since_and_until_on_the_command_line(tmp_path, fake_embedder, monkeypatch) -> None:
    import json

    from click.testing import CliRunner

    from bot.cli import main

    _dated_index(tmp_path, fake_embedder)
    monkeypatch.setattr("bot.services.load_embedder", lambda settings: fake_embedder)
    monkeypatch.setenv("QUOTEBOT_RETRIEVAL__MIN_QUOTE_SIMILARITY", "0.0")
    data = ["--data", str(tmp_path / "data")]
    out = CliRunner().invoke(main, [*data, "ask", "--json", "-k", "5", "--since", "1987-03-01",
                                    "Who agreed to buy Lumen Inc?"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout)
    assert [s["id"] for a in row["answers"] for s in a["sources"]] == ["new"]
    assert row["answers"][0]["sources"][0]["published"] == "1987-03-02T09:00:00"
    assert row["period"] == "Articles since 1 Mar 1987"
    bad = CliRunner().invoke(main, [*data, "ask", "--until", "March", "Who?"])
    assert bad.exit_code == 2 and "'March' does not match the format '%Y-%m-%d'" in bad.output


def test_news_of_a_time_is_its_articles_opening_sentences(tmp_path, fake_embedder) -> None:
    answerer = _dated_index(tmp_path, fake_embedder)
    result = answerer.ask("What happened on March 2, 1987?")
    assert result.period == "Articles of 2 Mar 1987"
    [lead] = result.answers
    assert lead.quote == "Orchard Corp said it agreed to buy Lumen Inc for stock."
    assert lead.sources[0].id == "new" and lead.highlight is None
    article = answerer.snapshot().store.article_text("new")
    assert article[lead.sources[0].start:lead.sources[0].end] == lead.quote  # verbatim
    both = answerer.ask("any news since February 1987?", k=5)
    assert [a.sources[0].id for a in both.answers] == ["new", "old"]  # newest first
    assert answerer.ask("What happened in 2024?").message == (
        "I don't know: no article is from that time.")
    # a topic beside the time is a question, not a request for headlines
    topic = answerer.ask("Who agreed to buy Lumen Inc on March 2, 1987?")
    assert topic.answers[0].sources[0].id == "new" and topic.answers[0].score != 1.0


@pytest.mark.model
def test_what_happened_last_week_in_an_older_collection(reuters_answerer) -> None:
    result = reuters_answerer.ask("what happened last week?", k=5)
    assert result.period == "Articles from 23 Feb to 1 Mar 1987"  # the collection's last week
    days = [a.sources[0].published for a in result.answers]
    assert len(days) == 5 and days == sorted(days, reverse=True)
    assert all("1987-02-23" <= d[:10] <= "1987-03-01" for d in days)


def test_a_collection_without_dates_takes_a_time_as_words(tmp_path, fake_embedder) -> None:
    from index.builder import IndexRun, update_index
    from retrieval.engine import Answerer
    from retrieval.settings import RetrievalSettings

    (tmp_path / "a.txt").write_text("Norman conquest\n\nIn 1066 the Normans crossed the sea.\n")
    update_index(tmp_path / "data", [tmp_path / "a.txt"], IndexRun(fake_embedder))
    answerer = Answerer(tmp_path / "data", fake_embedder,
                        RetrievalSettings(highlight=False, min_quote_similarity=0.0))
    result = answerer.ask("What happened in 1066?")
    assert result.period is None and "Normans crossed" in result.answers[0].quote


def test_a_date_in_another_form_is_stored_as_iso_and_filters(tmp_path, fake_embedder) -> None:
    import json

    from index.builder import IndexRun, iso_date, update_index
    from retrieval.engine import Answerer
    from retrieval.settings import RetrievalSettings

    assert iso_date("Thu, 26 Feb 1987 15:18:06 GMT") == "1987-02-26T15:18:06+00:00"
    assert iso_date("1987-02-26") == "1987-02-26" and iso_date("soon") is None
    path = tmp_path / "wire.jsonl"
    path.write_text(json.dumps({"id": "a", "published": "Thu, 26 Feb 1987 15:18:06 GMT",
                                "text": "Orchard Corp agreed to buy Lumen Inc."}) + "\n"
                    + json.dumps({"id": "b", "published": "soon",
                                  "text": "NEW YORK, Feb 27 - Lumen Inc agreed to be bought."})
                    + "\n")
    update_index(tmp_path / "data", [path], IndexRun(fake_embedder))
    answerer = Answerer(tmp_path / "data", fake_embedder,
                        RetrievalSettings(highlight=False, min_quote_similarity=0.0))
    published = {s.id: s.published for s in answerer.served.sources()}
    assert published["a"] == "1987-02-26T15:18:06+00:00"
    assert published["b"][5:] == "02-27"  # not a date: the dateline gives the day instead
    result = answerer.ask("Who agreed to buy Lumen Inc?", since=D(1987, 2, 26),
                          until=D(1987, 2, 26))
    assert [s.id for a in result.answers for s in a.sources] == ["a"]
