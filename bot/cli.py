"""The ``quotebot`` command line: a thin click front over ``Services``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from index.check import CheckReport
from index.embedding import model_path_for
from index.errors import QuotebotError
from index.feeds import Feed
from index.records import IndexSummary

from .config import load_config
from .formatting import format_result_plain
from .services import Services

log = logging.getLogger(__name__)


def setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs request URLs, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for noisy in ("sentence_transformers", "transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Our own errors become one-line messages that say the fix; anything else is a bug."""
    try:
        yield
    except QuotebotError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="config.toml to read (default: ./config.toml when present).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory holding the index (overrides the config).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, data_dir: Path | None, verbose: int) -> None:
    """Answer questions about news articles with quoted passages and their sources."""
    setup_logging(verbose)
    with friendly_errors():
        config = load_config(config_path, data_dir=data_dir)
    ctx.obj = Services(config)


def _services(ctx: click.Context) -> Services:
    services: Services = ctx.obj
    return services


class _Bar:
    """A tqdm progress bar fed by the index builder's progress callback."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage not in ("embedding", "parsing", "multilingual") or total == 0:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, unit="passage", desc=stage, file=sys.stderr, disable=None)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_summary(summary: IndexSummary) -> str:
    lines = [
        f"added {len(summary.added)}, updated {len(summary.updated)}, unchanged "
        f"{len(summary.unchanged)}, removed {len(summary.removed)}, skipped "
        f"{len(summary.skipped)} ({summary.passages_embedded} passages embedded"
        + (f", {summary.passages_multilingual} multilingual" if summary.passages_multilingual
           else "")
        + f" in {summary.seconds:.1f}s)"
    ]
    for label, items in (
        ("added", summary.added),
        ("updated", summary.updated),
        ("removed", summary.removed),
    ):
        lines.extend(f"  {label}: {item}" for item in items)
    lines.extend(f"  skipped: {s.source}: {s.reason}" for s in summary.skipped)
    return "\n".join(lines)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Start a fresh index (e.g. after changing model).")
@click.option("--no-prune", is_flag=True, help="Keep articles whose files are gone.")
@click.pass_context
def index(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, no_prune: bool) -> None:
    """Build or update the index from files and folders (.txt .md .html .jsonl .jsonl.gz)."""
    services = _services(ctx)
    bar = _Bar()
    with friendly_errors():
        try:
            summary = services.index(list(paths), progress=bar, prune=not no_prune, rebuild=rebuild)
        finally:
            bar.close()
    click.echo(format_summary(summary))


@main.command()
@click.argument("question")
@click.option("-k", "k", default=3, show_default=True, help="How many answers.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only articles published on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only articles published on or before this day.")
@click.pass_context
def ask(ctx: click.Context, question: str, k: int, as_json: bool, since: dt.datetime | None,
        until: dt.datetime | None) -> None:
    """Answer QUESTION; with QUESTION '-', answer each line of stdin in order."""
    services = _services(ctx)
    dates = {"since": since.date() if since else None, "until": until.date() if until else None}
    questions = sys.stdin if question == "-" else [question]
    with friendly_errors():
        for line in questions:
            line = line.rstrip("\n")
            if question == "-" and not line.strip() and not as_json:
                continue
            result = services.ask(line, k=k, **dates)
            if as_json:
                click.echo(json.dumps(result.to_json(), ensure_ascii=False))
                sys.stdout.flush()
            else:
                click.echo(format_result_plain(result))
                if question == "-":
                    click.echo()


@main.command()
@click.pass_context
def sources(ctx: click.Context) -> None:
    """List the indexed articles."""
    with friendly_errors():
        for info in _services(ctx).sources():
            extra = " · ".join(x for x in (info.published, info.url or info.path) if x)
            click.echo(f"{info.id}\t{info.passages} passages\t{info.title}\t{extra}")


@main.command()
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Counts and sizes of the served index."""
    with friendly_errors():
        click.echo(json.dumps(_services(ctx).stats(), indent=2))


@main.group()
def feeds() -> None:
    """RSS, Atom and RDF feeds whose entries are indexed as articles (`serve` polls them)."""


@feeds.command(name="add")
@click.argument("url")
@click.option("--every", type=click.IntRange(min=1), metavar="MINUTES",
              help="How often `serve` fetches it.  [default: [feeds] every_minutes]")
@click.pass_context
def feeds_add(ctx: click.Context, url: str, every: int | None) -> None:
    """Add a feed; `quotebot feeds fetch` (or `serve`) reads it."""
    with friendly_errors():
        feed = _services(ctx).add_feed(url, every)
    click.echo(f"added {feed.url}, fetched every {feed.every} min by `quotebot serve`; "
               "`quotebot feeds fetch` reads it now")


@feeds.command(name="list")
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """The feeds, when each was last fetched, what it gave, and its entries."""
    with friendly_errors():
        listed = _services(ctx).feeds()
    if not listed:
        click.echo("no feeds yet: add one with `quotebot feeds add URL`")
    for feed in listed:
        click.echo(format_feed(feed))


def format_feed(feed: Feed) -> str:
    last = f"last fetched {feed.last_fetched}: {feed.last_result}" if feed.last_fetched else (
        "not fetched yet")
    title = f"\t{feed.title}" if feed.title else ""
    return f"{feed.url}\tevery {feed.every} min\t{feed.entries} entries\t{last}{title}"


@feeds.command(name="remove")
@click.argument("url")
@click.pass_context
def feeds_remove(ctx: click.Context, url: str) -> None:
    """Remove a feed and its articles."""
    with friendly_errors():
        summary = _services(ctx).remove_feed(url)
    click.echo(f"removed {url.strip()}" + (
        f" and {len(summary.removed)} articles" if summary.removed else ""))


@feeds.command(name="fetch")
@click.pass_context
def feeds_fetch(ctx: click.Context) -> None:
    """Fetch every feed now and index what is new; exit 1 when a feed failed."""
    with friendly_errors():
        reports = _services(ctx).fetch_feeds()
    if not reports:
        click.echo("no feeds yet: add one with `quotebot feeds add URL`")
    for report in reports:
        click.echo(report.line())
        for note in report.notes:
            click.echo(f"  {note}")
    if any(r.error is not None for r in reports):
        ctx.exit(1)


def format_check(report: CheckReport) -> str:
    """What ``quotebot check`` prints: the verdict, each problem by name, and the fix."""
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.counts.items())
    where = (
        f"{report.data_dir} ({report.generation})" if report.generation else str(report.data_dir)
    )
    lines = [f"{'ok' if report.ok else 'PROBLEMS'}: {where}" + (f": {counts}" if counts else "")]
    lines.extend(f"  {p.name}: {p.detail}" for p in report.problems)
    lines.extend(f"  note: {note}" for note in report.notes)
    if report.names == ["no_index"]:
        lines.append("Fix: build it with `quotebot index PATH...`")
    elif not report.ok:
        uploads = report.data_dir / "uploads"
        extra = f", plus {uploads} for articles added through the bot" if uploads.is_dir() else ""
        lines.append(
            f"Fix: rebuild it from the articles with `quotebot index --rebuild PATH...` "
            f"(PATH: your article folders{extra})"
        )
    return "\n".join(lines)


@main.command()
@click.option(
    "--model",
    "load_model",
    is_flag=True,
    help="Also load the embedding model to compare its dimension (slower).",
)
@click.pass_context
def check(ctx: click.Context, load_model: bool) -> None:
    """Check the served index is complete and consistent; exit 1 with the fix if not."""
    services = _services(ctx)
    with friendly_errors():
        _path, name = model_path_for(services.config.embedding)
        dim = services.embedder.dim if load_model else None
        report = services.storage.check(model=name, dim=dim)
    click.echo(format_check(report))
    if not report.ok:
        ctx.exit(1)


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the Telegram bot; without TELEGRAM_BOT_TOKEN, chat in this terminal instead."""
    from .app import run_bot, run_terminal_chat

    services = _services(ctx)
    with friendly_errors():
        if not services.warm_up():
            click.echo(
                f"No index in {services.storage.where} yet: build it with `quotebot index "
                "PATH...`, or /reindex as an admin in the chat.",
                err=True,
            )
        if services.config.token:
            # an operator sees the bot start, and each reindex and upload, at the default level
            if logging.getLogger("bot").getEffectiveLevel() > logging.INFO:
                logging.getLogger("bot").setLevel(logging.INFO)
            run_bot(services)
        else:
            click.echo(
                "TELEGRAM_BOT_TOKEN is not set: chatting here instead (Ctrl-D to stop).", err=True
            )
            run_terminal_chat(services, sys.stdin, sys.stdout)


@main.command(name="eval")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--split", default="test", show_default=True, help="BEIR qrels split.")
@click.option("--limit", type=int, help="Evaluate only this many queries per dataset.")
@click.option("--json", "as_json", is_flag=True, help="Print figures as JSON lines.")
@click.option(
    "--articles",
    metavar="A-B",
    help="SQuAD: ask only the questions of articles A to B (file order, all paragraphs indexed).",
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    paths: tuple[Path, ...],
    split: str,
    limit: int | None,
    as_json: bool,
    articles: str | None,
) -> None:
    """Measure quality: BEIR folders, SQuAD .json(.gz), and QA .jsonl files (news-dev).

    BEIR and SQuAD corpora are indexed into DATA/eval/<name> (once; later runs reuse them);
    QA files are asked against the served index.
    """
    from retrieval import evaluation as ev

    services = _services(ctx)
    for path in paths:
        targets = (
            [
                p
                for p in sorted(path.iterdir())
                if ev.is_beir(p) or ev.is_squad(p) or p.suffix == ".jsonl"
            ]
            if path.is_dir() and not ev.is_beir(path)
            else [path]
        )
        for target in targets:
            with friendly_errors():
                figures = _evaluate_one(services, target, split, limit, _range(articles))
            if as_json:
                click.echo(json.dumps(figures))
            else:
                click.echo(" ".join(f"{k}={v}" for k, v in figures.items()))


def _range(text: str | None) -> range | None:
    if text is None:
        return None
    first, sep, last = text.partition("-")
    if not (sep and first.isdigit() and last.isdigit() and int(first) <= int(last)):
        raise click.BadParameter(f"{text!r}: give a range such as 24-47", param_hint="--articles")
    return range(int(first), int(last) + 1)


def _evaluate_one(
    services: Services, target: Path, split: str, limit: int | None, articles: range | None
) -> dict[str, Any]:
    from retrieval import evaluation as ev

    config = services.config
    # BEIR ranks documents: claims ask for no span, so the reader is left out there.
    settings = dataclasses.replace(config.retrieval, highlight=False)
    if ev.is_beir(target):
        other = _eval_index(services, target.name, ev.beir_corpus(target))
        return ev.evaluate_beir(other.answerer_for(settings), target, split, limit)
    if ev.is_squad(target):
        corpus = ev.squad_paragraphs(target, config.data_dir / "eval" / "squad-paragraphs.jsonl")
        other = _eval_index(services, "squad", corpus)
        reader = services.answerer.reader  # the bold span is measured as users get it
        return ev.evaluate_squad(
            other.answerer_for(config.retrieval, reader), target, limit, articles
        )
    if target.suffix == ".jsonl":
        per_page = config.bot.answers_per_page  # pages as the bot shows them
        pages = -(-config.bot.max_answers // per_page)
        return ev.evaluate_qa(services.answerer, target, k=per_page, pages=pages)
    raise QuotebotError(f"{target}: not a BEIR folder, SQuAD .json or QA .jsonl file")


def _eval_index(services: Services, name: str, corpus: Path) -> Services:
    """The eval corpus ``name`` indexed apart from the served index: under DATA/eval/, and in a
    schema of its own when the index is in PostgreSQL."""
    config = services.config
    eval_dir = config.data_dir / "eval" / name
    slug = re.sub(r"[^a-z0-9_]", "_", name.lower())
    store = dataclasses.replace(config.store, schema=f"{config.store.schema}_eval_{slug}")
    other = Services(dataclasses.replace(config, data_dir=eval_dir, store=store), services.embedder)
    bar = _Bar()
    try:
        summary = other.index([corpus], progress=bar)
    finally:
        bar.close()
    if summary.passages_embedded:
        click.echo(
            f"indexed {eval_dir.name}: {summary.passages_embedded} passages in "
            f"{summary.seconds:.0f}s ({summary.passages_embedded / summary.seconds:.0f}/s)",
            err=True,
        )
    return other
