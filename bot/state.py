"""The bot's own state, kept apart from the index in ``data_dir/bot.db``.

It holds the question log, 👍/👎 feedback and the results the "More" button pages through (stored
under a short random key, so callback data stays far below Telegram's 64 bytes and survives a
restart). The per-user rate limiter lives in memory: losing it on restart is harmless.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from index.migrations import Step, migrate
from retrieval.answers import Result

PAGE_TTL_SECONDS = 7 * 24 * 3600  # results older than this can no longer be paged


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("questions").create(
        {"id": int, "user_id": int, "chat_id": int, "chat_type": str, "question": str,
         "abstained": int, "answers": int, "via": str, "asked_at": str},
        pk="id",
    )
    db.table("pages").create(
        {"key": str, "question_id": int, "question": str, "result": str, "created": float},
        pk="key",
    )
    db.table("feedback").create(
        {"key": str, "page": int, "user_id": int, "question": str, "answer_ids": str,
         "vote": int, "voted_at": str},
        pk=("key", "page", "user_id"),
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    # every save_result drops expired pages; without an index that reads the whole table (results
    # included) on the event loop, so each question got slower the more results were kept
    db.table("pages").create_index(["created"])


MIGRATIONS: list[Step] = [_migration_1, _migration_2]


class BotState:
    """Question log, feedback and paging state in one SQLite file, safe to use from any thread."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self.db = sqlite_utils.Database(self._conn)
        self._lock = threading.Lock()
        self._clock = clock
        migrate(self.db, MIGRATIONS)

    def close(self) -> None:
        self._conn.close()

    def _now_iso(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")

    def log_question(self, user_id: int, chat_id: int, chat_type: str, result: Result,
                     via: str) -> int:
        """Record one asked question; ``via`` is "private", "group", "inline" or "terminal"."""
        with self._lock:
            table = self.db.table("questions")
            table.insert({
                "user_id": user_id, "chat_id": chat_id, "chat_type": chat_type,
                "question": result.question, "abstained": int(result.abstained),
                "answers": len(result.answers), "via": via, "asked_at": self._now_iso(),
            })
            return int(table.last_pk)

    def save_result(self, result: Result, question_id: int | None = None) -> str:
        """Keep ``result`` for paging and feedback; returns the short key for callback data."""
        key = secrets.token_urlsafe(6)  # 8 characters, 48 random bits
        with self._lock:
            self.db.table("pages").insert({
                "key": key, "question_id": question_id, "question": result.question,
                "result": json.dumps(result.to_record()), "created": self._clock(),
            })
            self._conn.execute("DELETE FROM pages WHERE created < ?",
                               (self._clock() - PAGE_TTL_SECONDS,))
        return key

    def load_result(self, key: str) -> Result | None:
        """The result stored under ``key``, or None when it is unknown or expired."""
        with self._lock:
            row = self._conn.execute(
                "SELECT result, created FROM pages WHERE key = ?", (key,)).fetchone()
        if row is None or row[1] < self._clock() - PAGE_TTL_SECONDS:
            return None
        return Result.from_record(json.loads(row[0]))

    def record_feedback(self, key: str, page: int, per_page: int, user_id: int,
                        vote: int) -> bool:
        """Store a 👍 (+1) or 👎 (-1) for the answers on one page; a new vote replaces the old.

        Returns False when the result is unknown (expired), so the user can be told.
        """
        result = self.load_result(key)
        if result is None:
            return False
        shown = result.answers[page * per_page:(page + 1) * per_page]
        answer_ids = [list(a.passage_ids) for a in shown]
        with self._lock:
            self.db.table("feedback").upsert({
                "key": key, "page": page, "user_id": user_id, "question": result.question,
                "answer_ids": json.dumps(answer_ids), "vote": 1 if vote > 0 else -1,
                "voted_at": self._now_iso(),
            }, pk=("key", "page", "user_id"))
        return True

    def feedback(self) -> list[dict[str, Any]]:
        """Every stored vote, oldest first (for /stats and for analysis)."""
        with self._lock:
            return list(self.db.table("feedback").rows_where(order_by="voted_at"))

    def counts(self) -> dict[str, int]:
        """Questions asked and answered, and votes, for /stats."""
        with self._lock:
            q = self._conn.execute(
                "SELECT count(*), coalesce(sum(abstained), 0) FROM questions").fetchone()
            f = self._conn.execute(
                "SELECT coalesce(sum(vote > 0), 0), coalesce(sum(vote < 0), 0) FROM feedback"
            ).fetchone()
        return {"questions_asked": q[0], "questions_not_found": q[1],
                "feedback_helpful": f[0], "feedback_not_helpful": f[1]}


class RateLimiter:
    """Sliding-window limit of ``count`` questions per ``seconds`` for each user, in memory."""

    def __init__(self, count: int, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.seconds = seconds
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user_id: int) -> float:
        """0 when the user may ask now (and counts it), else the seconds until they may."""
        if self.count <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(user_id, deque())
            while times and times[0] <= now - self.seconds:
                times.popleft()
            if len(times) >= self.count:
                return max(0.1, times[0] + self.seconds - now)
            times.append(now)
            if len(self._seen) > 10_000:  # forget idle users so memory stays bounded
                for uid in [u for u, t in self._seen.items() if not t]:
                    del self._seen[uid]
            return 0.0
