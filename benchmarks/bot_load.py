"""Bounded load and soak runs of the real bot through the Bot API emulator on 127.0.0.1.

The bot runs in its own process (this script with ``--serve``): the real index of the news
corpus, the real model and ``bot.app.build_application``, polling telegram-test-api as it would
poll Telegram. This process plays the users: each asks its questions one after another, all
users at once. Part way through, an admin adds 41 articles and sends ``/reindex``. Every
question must be answered exactly once; the run reports throughput, reply latency (p50, p95,
p99, max), where the time goes inside the bot, and the bot process's RSS, sampled throughout.

    .venv/bin/python benchmarks/bot_load.py --users 50 --questions 20 --reindex-at 0.5
    .venv/bin/python benchmarks/bot_load.py --users 20 --soak-seconds 300 --max-growth-mb 30

A soak run keeps the users asking for ``--soak-seconds`` and checks that RSS after the warm-up
grows by less than ``--max-growth-mb``. ``--json PATH`` writes every figure. Needs node and
``npm ci --prefix tests/e2e``; every wait is bounded by ``--timeout``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator import Emulator, EmulatorRequest, emulator_available  # benchmarks/emulator.py

from retrieval.evaluation import percentile

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "news"
TOKEN = "123456:load-test-token"
ADMIN, CHECKER, LATECOMER = (
    999,
    998,
    997,
)  # reindexes; waits for start-up; asks about the new article
FIRST_USER = 10_000
QUESTIONS = [
    "Who disavowed Macron's statement about ground troops?",
    "Which countries reactivated talks on sending troops to Ukraine?",
    "What did Le Monde report?",
    "What did Olaf Scholz tell reporters?",
    "Who are lobbying the Biden administration for deeper missile strikes?",
    "What are the concerns about American military support under Trump?",
    "Where is the Klietz military training area?",
    "Who is the German Defense Minister?",
    "What did national security advisers discuss?",
    "Should European leaders send troops to Ukraine?",
]
NEW_ARTICLE = """Elbonia signs the Zorblatt accord

The Zorblatt accord on river shipping was signed in Vienna by the foreign minister of Elbonia.
Officials said the accord would take effect next spring after ratification by parliament.
"""
NEW_ARTICLE_QUESTION, NEW_ARTICLE_ANSWER = "Who signed the Zorblatt accord?", "Elbonia"
# what the handlers send when something went wrong or a user is throttled (bot/handlers.py)
BAD_REPLIES = ("Sorry, something went wrong", "asking faster than I can read")


def summary(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in seconds, rounded to the millisecond; percentiles as every latency
    figure takes them (``retrieval.evaluation.percentile``)."""
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values), 3),
    }


# ---- the bot process (--serve) ----------------------------------------------------------------

_update: ContextVar[dict[str, float] | None] = ContextVar("update", default=None)


def serve(config_path: Path, probe_out: Path | None) -> None:
    """Index, warm up and run the bot until SIGTERM; with ``probe_out``, time each answer's steps.

    The probe follows each update through a context variable (copied into the worker thread by
    ``asyncio.to_thread``): received, ask started and ended, reply queued, sent and answered.
    """
    import logging

    from telegram import Update
    from telegram.ext import TypeHandler

    from bot import app as bot_app
    from bot.config import load_config
    from bot.services import Services

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    config = load_config(config_path)
    services = Services(config)
    services.index(config.bot.article_dirs)
    services.ask("warm up the model", config.bot.max_answers)
    records: list[dict[str, float]] = []

    class ProbedServices:
        def __getattr__(self, name: str) -> Any:
            return getattr(services, name)

        def ask(self, question: str, k: int = 3) -> Any:
            record = _update.get()
            if record is not None:
                record["ask_start"] = time.monotonic()
            try:
                return services.ask(question, k)
            finally:
                if record is not None:
                    record["ask_end"] = time.monotonic()

    class ProbedRequest(EmulatorRequest):
        async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
            record = _update.get()
            if record is None or not url.endswith("/sendMessage"):
                return await super().do_request(url, method, *args, **kwargs)
            record.setdefault("send_start", time.monotonic())
            try:
                return await super().do_request(url, method, *args, **kwargs)
            finally:
                record["send_end"] = time.monotonic()

    async def received(update: Update, _context: Any) -> None:
        if update.effective_chat is not None:
            record = {"chat": float(update.effective_chat.id), "received": time.monotonic()}
            _update.set(record)  # seen by the handlers that run next for this update
            records.append(record)

    probing = probe_out is not None
    app = bot_app.build_application(
        ProbedServices() if probing else services,
        TOKEN,
        request=(ProbedRequest if probing else EmulatorRequest)(connection_pool_size=16),
        get_updates_request=EmulatorRequest(),
    )
    if probing:
        app.add_handler(TypeHandler(Update, received), group=-1)
        limiter = app.bot.rate_limiter
        assert limiter is not None
        through_limiter = limiter.process_request

        async def queued(*args: Any, **kwargs: Any) -> Any:
            record = _update.get()
            if record is not None and kwargs.get("endpoint") == "sendMessage":
                record.setdefault("queued", time.monotonic())
            return await through_limiter(*args, **kwargs)

        limiter.process_request = queued  # type: ignore[method-assign]
    bot_app.serve(app, config.bot)  # until SIGTERM
    if probe_out is not None:
        probe_out.write_text(json.dumps(records), encoding="utf-8")


# ---- this process: the users ------------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS so far) of a process in MB, from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


@dataclass
class Asked:
    user: int
    question: str
    sent: float
    replied: float | None = None
    text: str = ""


@dataclass
class Run:
    """Shared state of one run: questions asked, replies seen, and what the admin did."""

    emulator: Emulator
    deadline: float
    asked: list[Asked] = field(default_factory=list)
    replies: dict[int, list[tuple[float, str]]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)
    reindex: dict[str, Any] = field(default_factory=dict)

    def watch_replies(self) -> None:
        """Record each bot message as it arrives (one long poll at a time, no history re-reads)."""
        after = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            for item in self.emulator.bot_messages_since(after, timeout=1.0):
                now = time.monotonic()
                after = max(after, int(item["messageId"]))
                chat = int(item["message"]["chat_id"])
                with self.changed:
                    self.replies.setdefault(chat, []).append((now, item["message"]["text"]))
                    self.changed.notify_all()

    def ask(self, user: int, question: str) -> Asked:
        """Send one question and wait for the bot's next message in that chat."""
        with self.changed:
            before = len(self.replies.get(user, []))
        asked = Asked(user, question, time.monotonic())
        self.emulator.send_text(user, question)
        with self.changed:
            got = self.changed.wait_for(
                lambda: len(self.replies.get(user, [])) > before,
                max(0.0, self.deadline - time.monotonic()),
            )
            if got:
                asked.replied, asked.text = self.replies[user][before]
            self.asked.append(asked)
        return asked

    def user(self, uid: int, questions: int, until: float | None) -> None:
        for i in range(questions if until is None else sys.maxsize):
            if until is not None and time.monotonic() >= until:
                return
            if self.ask(uid, QUESTIONS[(uid + i) % len(QUESTIONS)]).replied is None:
                return

    def reindex_when(self, ready: threading.Event, news: Path) -> None:
        """When ``ready`` is set: add 41 articles, send /reindex as the admin, wait for its end."""
        while not ready.wait(0.2):
            if self.stop.is_set():
                return
        (news / "900_elbonia.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        sources = sorted(CORPUS.glob("*.txt"))
        for i in range(40):
            text = sources[i % len(sources)].read_text(encoding="utf-8")
            (news / f"8{i:02d}_copy.txt").write_text(f"Edition {i}\n\n{text}", encoding="utf-8")
        self.reindex["start"] = time.monotonic()
        self.emulator.send_text(ADMIN, "/reindex")
        while time.monotonic() < self.deadline:
            status = self.emulator.bot_messages_since(0, chat_id=ADMIN)
            text = status[-1]["message"]["text"] if status else ""
            if "Reindex done" in text or "Reindex failed" in text:
                self.reindex.update(end=time.monotonic(), status=text)
                return
            time.sleep(0.2)


def start_bot(
    root: Path, emulator: Emulator, probe: bool, timeout: float
) -> subprocess.Popen[bytes]:
    """Start the bot process and wait until it answers a question (index built, model loaded)."""
    (root / "config.toml").write_text(
        f'data_dir = "data"\n[bot]\nadmins = [{ADMIN}]\narticle_dirs = ["news"]\n'
        f'base_url = "{emulator.url}"\n'
        "rate_limit_count = 0\n",  # 0: no per-user limit, every user asks as fast as it can
        encoding="utf-8",
    )
    command = [sys.executable, __file__, "--serve", str(root / "config.toml")]
    if probe:
        command += ["--probe-out", str(root / "probe.json")]
    with (root / "bot.log").open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    run = Run(emulator, time.monotonic() + timeout)
    watcher = threading.Thread(target=run.watch_replies, daemon=True)
    watcher.start()
    try:
        while proc.poll() is None and time.monotonic() < run.deadline:
            run.emulator.send_text(CHECKER, QUESTIONS[0])
            with run.changed:
                if run.changed.wait_for(lambda: run.replies.get(CHECKER), 5.0):
                    return proc
        raise RuntimeError(f"the bot did not start; see {root / 'bot.log'}")
    finally:
        run.stop.set()
        watcher.join(5)


def run_load(args: argparse.Namespace, root: Path, emulator: Emulator, pid: int) -> dict[str, Any]:
    """Drive the users (and the admin), sampling the bot's RSS; returns the raw observations."""
    started = time.monotonic()
    run = Run(emulator, started + args.timeout)
    soak = args.soak_seconds > 0
    until = started + args.soak_seconds if soak else None
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        while not run.stop.wait(args.sample_every):
            samples.append((round(time.monotonic() - started, 2), rss_mb(pid)[0]))

    reindex_ready = threading.Event()

    def trigger() -> None:  # the reindex starts once that share of the run is done
        total = args.users * args.questions
        while not run.stop.wait(0.1):
            done = (
                time.monotonic() - started >= args.reindex_at * args.soak_seconds
                if soak
                else sum(a.replied is not None for a in run.asked) >= args.reindex_at * total
            )
            if done:
                reindex_ready.set()
                return

    helpers = [threading.Thread(target=run.watch_replies), threading.Thread(target=sample)]
    if args.reindex_at is not None:
        helpers += [
            threading.Thread(target=trigger),
            threading.Thread(target=run.reindex_when, args=(reindex_ready, root / "news")),
        ]
    users = [
        threading.Thread(target=run.user, args=(FIRST_USER + u, args.questions, until))
        for u in range(args.users)
    ]
    rss_before = rss_mb(pid)[0]
    for t in helpers + users:
        t.start()
    for t in users:
        t.join(max(0.0, run.deadline - time.monotonic()) + 1)
    wall = time.monotonic() - started
    if args.reindex_at is not None:  # a run shorter than the reindex still waits for it
        helpers[3].join(max(0.0, run.deadline - time.monotonic()) + 1)
    time.sleep(2.0)  # let any duplicate reply show up before counting
    new_index = None
    if run.reindex.get("end"):
        new_index = NEW_ARTICLE_ANSWER in run.ask(LATECOMER, NEW_ARTICLE_QUESTION).text
    run.stop.set()
    for t in helpers:
        t.join(10)
    rss_after, hwm = rss_mb(pid)
    return {
        "run": run,
        "wall": wall,
        "samples": samples,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "hwm": hwm,
        "new_index": new_index,
    }


def stage_times(asked: list[Asked], records: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Where the time goes, per step, matching the bot's records to questions in order per chat."""
    by_chat: dict[int, list[dict[str, float]]] = {}
    for record in sorted(records, key=lambda r: r["received"]):
        by_chat.setdefault(int(record["chat"]), []).append(record)
    steps: dict[str, list[float]] = {}
    spans = {
        "to the bot (emulator, polling)": ("sent", "received"),
        "until a worker thread runs ask()": ("received", "ask_start"),
        "ask() (model, index, quotes)": ("ask_start", "ask_end"),
        "logging, formatting": ("ask_end", "queued"),
        "rate limiter queue": ("queued", "send_start"),
        "sendMessage until the user sees it": ("send_start", "replied"),
    }
    seen: dict[int, int] = {}
    for a in sorted(asked, key=lambda a: a.sent):
        i = seen.get(a.user, 0)
        seen[a.user] = i + 1
        chat = by_chat.get(a.user, [])
        if i >= len(chat) or a.replied is None:
            continue
        point = {**chat[i], "sent": a.sent, "replied": a.replied}
        for name, (start, end) in spans.items():
            if start in point and end in point:
                steps.setdefault(name, []).append(point[end] - point[start])
    return {name: summary(values) for name, values in steps.items()}


def report(
    args: argparse.Namespace, raw: dict[str, Any], records: list[dict[str, float]]
) -> dict[str, Any]:
    """Check exactly-once delivery and compute the figures; ``ok`` is False on any loss."""
    run: Run = raw["run"]
    users = [a for a in run.asked if a.user >= FIRST_USER]
    replied = [a for a in users if a.replied is not None]
    latencies = [a.replied - a.sent for a in replied if a.replied is not None]
    per_chat = {u: len(run.replies.get(u, [])) for u in {a.user for a in users}}
    asked_per_chat: dict[int, int] = {}
    for a in users:
        asked_per_chat[a.user] = asked_per_chat.get(a.user, 0) + 1
    extra = {u: per_chat[u] - n for u, n in asked_per_chat.items() if per_chat[u] != n}
    bad = [a.text[:80] for a in replied if any(b in a.text for b in BAD_REPLIES)]
    found = sum("<blockquote>" in a.text for a in replied)
    out: dict[str, Any] = {
        "users": args.users,
        "questions_per_user": None if args.soak_seconds else args.questions,
        "soak_seconds": args.soak_seconds or None,
        "asked": len(users),
        "answered": len(replied),
        "answered_with_quotes": found,
        "not_found": len(replied) - found - len(bad),
        "bad_replies": bad[:5],
        "replies_not_one_per_question": extra,
        "wall_s": round(raw["wall"], 1),
        "throughput_qps": round(len(replied) / raw["wall"], 2),
        "latency_s": summary(latencies),
        "rss_mb": {
            "before": raw["rss_before"],
            "peak_sampled": max([raw["rss_before"]] + [s[1] for s in raw["samples"]]),
            "after": raw["rss_after"],
            "peak_lifetime": raw["hwm"],
        },
        "machine": {"cpus": os.cpu_count(), "load_avg_end": [round(x, 2) for x in os.getloadavg()]},
    }
    if records:
        out["where_the_time_goes_s"] = stage_times(users, records)
    if run.reindex:
        start, end = run.reindex["start"], run.reindex.get("end")
        during = [
            a.replied - a.sent
            for a in replied
            if end and a.replied and a.sent < end and a.replied > start
        ]
        out["reindex"] = {
            "seconds": round(end - start, 1) if end else None,
            "status": run.reindex.get("status", "did not finish"),
            "questions_overlapping": len(during),
            "latency_during_s": summary(during),
            "new_article_answered_after": raw["new_index"],
        }
    if args.soak_seconds:
        warm = [mb for t, mb in raw["samples"] if t >= args.warmup_seconds]
        growth = round(warm[-1] - warm[0], 1) if warm else None
        first = [a.replied - a.sent for a in replied if a.sent - replied[0].sent < 60 and a.replied]
        last = [a.replied - a.sent for a in replied if replied[-1].sent - a.sent < 60 and a.replied]
        out["soak"] = {
            "warmup_s": args.warmup_seconds,
            "rss_after_warmup_mb": warm[0] if warm else None,
            "rss_end_mb": warm[-1] if warm else None,
            "rss_max_after_warmup_mb": max(warm) if warm else None,
            "growth_mb": growth,
            "bound_mb": args.max_growth_mb,
            "latency_first_minute_s": summary(first),
            "latency_last_minute_s": summary(last),
            "samples": raw["samples"],
        }
    ok = (
        len(replied) == len(users) > 0
        and not extra
        and not bad
        and (
            not run.reindex
            or (
                run.reindex.get("end")
                and "Reindex done" in run.reindex["status"]
                and raw["new_index"]
            )
        )
        and (
            not args.soak_seconds
            or (
                out["soak"]["growth_mb"] is not None
                and out["soak"]["growth_mb"] < args.max_growth_mb
            )
        )
    )
    out["ok"] = bool(ok)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="questions per user")
    parser.add_argument(
        "--reindex-at",
        type=float,
        default=None,
        metavar="FRACTION",
        help="send /reindex (41 new articles) once this share of the run is done",
    )
    parser.add_argument("--soak-seconds", type=float, default=0, help="ask for this long instead")
    parser.add_argument(
        "--warmup-seconds", type=float, default=30, help="soak: RSS counted from here"
    )
    parser.add_argument("--max-growth-mb", type=float, default=30, help="soak: allowed RSS growth")
    parser.add_argument("--sample-every", type=float, default=0.5, help="RSS sampling period (s)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--timeout", type=float, default=900.0, help="bound on the whole run (s)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.probe_out)
        return 0
    reason = emulator_available()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="quotebot-load-") as tmp:
        root = Path(tmp)
        shutil.copytree(CORPUS, root / "news")
        emulator = Emulator(TOKEN)
        probe = not args.soak_seconds  # the probe's records would grow the bot during a soak
        try:
            bot = start_bot(root, emulator, probe, args.timeout)
            try:
                raw = run_load(args, root, emulator, bot.pid)
            finally:
                bot.send_signal(signal.SIGTERM)
                bot.wait(60)
            probe_file = root / "probe.json"
            records = json.loads(probe_file.read_text()) if probe_file.exists() else []
            out = report(args, raw, records)
            log = (root / "bot.log").read_text(encoding="utf-8", errors="replace")
            out["bot_log_errors"] = log.count(" ERROR ")
            db = [f.stat().st_size for f in (root / "data").glob("bot.db*")]
            out["bot_db_mb"] = round(sum(db) / 2**20, 1)  # question log and stored results
        finally:
            emulator.close()
    text = json.dumps(out, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in out.items() if k != "soak"}, indent=2))
    if "soak" in out:
        print(json.dumps({k: v for k, v in out["soak"].items() if k != "samples"}, indent=2))
    print("OK: every question answered exactly once" if out["ok"] else "FAILED")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
