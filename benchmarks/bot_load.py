"""Bounded load run: N users x M questions through the Bot API emulator on 127.0.0.1.

Builds a real index of the news corpus, runs the real bot (polling) against telegram-test-api,
and has every user ask its questions one after another, all users at once. Checks that every
question is answered exactly once and prints throughput and reply latency (p50/p95/max).

    .venv/bin/python benchmarks/bot_load.py --users 20 --questions 10

Needs node and ``npm ci --prefix tests/e2e``. Latency includes up to ~50 ms of polling on each
side (the emulator has no long polling), so it is an upper bound on what Telegram users would see.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from e2e.harness import BotThread, Emulator, EmulatorRequest, emulator_available  # noqa: E402

from bot import app as bot_app  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.services import Services  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "news"
TOKEN = "123456:load-test-token"
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="questions per user")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound on the whole run (s)")
    args = parser.parse_args(argv)
    reason = emulator_available()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="quotebot-load-") as tmp:
        root = Path(tmp)
        shutil.copytree(CORPUS, root / "news")
        emulator = Emulator(TOKEN)
        try:
            (root / "config.toml").write_text(
                f'data_dir = "data"\n[bot]\narticle_dirs = ["news"]\nbase_url = "{emulator.url}"\n'
                "rate_limit_count = 0\n", encoding="utf-8")  # 0: no per-user limit for the run
            config = load_config(root / "config.toml")
            services = Services(config)
            services.index([root / "news"])
            services.ask("warm up the model", 3)
            app = bot_app.build_application(services, TOKEN,
                                            request=EmulatorRequest(connection_pool_size=16),
                                            get_updates_request=EmulatorRequest())
            bot = BotThread(app, lambda: bot_app.serve(app, config.bot, stop_signals=None))
            try:
                return run(emulator, args.users, args.questions, args.timeout)
            finally:
                bot.stop()
        finally:
            emulator.close()


def run(emulator: Emulator, users: int, questions: int, timeout: float) -> int:
    """Drive the load and report; returns the process exit code (0 when all answered once)."""
    replies: dict[int, list[float]] = {}  # chat id -> time each bot message was first seen
    known: set[int] = set()
    changed = threading.Condition()
    stop = threading.Event()
    deadline = time.monotonic() + timeout

    def poll() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            now = time.monotonic()
            for item in emulator.history():
                msg = item.get("message", {})
                if "chat_id" in msg and item["messageId"] not in known:
                    known.add(item["messageId"])
                    with changed:
                        replies.setdefault(int(msg["chat_id"]), []).append(now)
                        changed.notify_all()
            time.sleep(0.05)

    latencies: list[float] = []
    failures: list[str] = []

    def user(uid: int) -> None:
        for i in range(questions):
            question = QUESTIONS[(uid + i) % len(QUESTIONS)]
            sent = time.monotonic()
            emulator.send_text(uid, question)
            with changed:
                ok = changed.wait_for(lambda i=i: len(replies.get(uid, [])) > i,
                                      max(0.0, deadline - time.monotonic()))
                if not ok:
                    failures.append(f"user {uid}: no reply to question {i + 1}")
                    return
                latencies.append(replies[uid][i] - sent)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(10_000 + u,)) for u in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 1)
    wall = time.monotonic() - started
    time.sleep(2.0)  # let any duplicate reply show up before counting
    stop.set()
    poller.join(5)

    extra = {uid: len(r) for uid, r in replies.items() if len(r) != questions}
    total = users * questions
    print(f"users={users} questions/user={questions} total={total} answered={len(latencies)}")
    print(f"wall={wall:.1f}s throughput={len(latencies) / wall:.2f} questions/s")
    if latencies:
        print(f"latency p50={statistics.median(latencies):.2f}s "
              f"p95={percentile(latencies, 0.95):.2f}s max={max(latencies):.2f}s")
    if failures or extra or len(latencies) != total:
        print(f"FAILED: {failures[:5]} replies per chat not {questions}: {extra}")
        return 1
    print("every question answered exactly once")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
