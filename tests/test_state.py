"""Bot state: question log, feedback, paging results and the per-user rate limiter."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.state import PAGE_TTL_SECONDS, BotState, RateLimiter
from retrieval.answers import Answer, Result, SourceRef


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_result(n: int = 4) -> Result:
    return Result(
        question="Who disavowed it?",
        abstained=False,
        answers=tuple(
            Answer(quote=f"Quote {i}.", highlight=(0, 5) if i % 2 else None, score=0.5 + i,
                   sources=(SourceRef(f"a{i}", f"T{i}", "p.txt", None, "2024-11-25", 0, 9,
                                      "comment" if i == 3 else "article"),),
                   passage_ids=(10 * i, 10 * i + 1))
            for i in range(n)),
        message=None,
        related=("x",),
        timings_ms={"total": 3.0},
        period="Articles of 2 Mar 1987",
    )


@pytest.fixture
def state(tmp_path: Path) -> BotState:
    return BotState(tmp_path / "bot.db", clock=Clock())


def test_result_round_trips_through_json() -> None:
    result = make_result()
    assert Result.from_record(json.loads(json.dumps(result.to_record()))) == result


def test_saved_result_loads_by_short_key_and_expires(tmp_path: Path) -> None:
    clock = Clock()
    state = BotState(tmp_path / "bot.db", clock=clock)
    key = state.save_result(make_result())
    assert len(f"more:{key}:99".encode()) < 64
    assert state.load_result(key) == make_result()
    assert state.load_result("nope") is None
    clock.now += PAGE_TTL_SECONDS + 1
    assert state.load_result(key) is None


def test_feedback_stores_question_answer_ids_user_and_time(state: BotState) -> None:
    key = state.save_result(make_result(), state.log_question(7, 7, "private", make_result(),
                                                              "private"))
    assert state.record_feedback(key, page=1, per_page=3, user_id=7, vote=-1)
    [row] = state.feedback()
    assert row["question"] == "Who disavowed it?"
    assert json.loads(row["answer_ids"]) == [[30, 31]]  # page 1 shows only the 4th answer
    assert row["user_id"] == 7 and row["vote"] == -1 and row["voted_at"].startswith("2023-11-14")
    # voting again replaces the vote rather than counting twice
    assert state.record_feedback(key, page=1, per_page=3, user_id=7, vote=1)
    assert [r["vote"] for r in state.feedback()] == [1]
    assert not state.record_feedback("missing", 0, 3, 7, 1)
    assert state.counts() == {"questions_asked": 1, "questions_not_found": 0,
                              "feedback_helpful": 1, "feedback_not_helpful": 0}


def test_state_persists_and_migrations_run_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    first = BotState(path)
    first.log_question(1, 1, "private", Result("q", True), "private")
    first.close()
    again = BotState(path)
    assert again.counts()["questions_not_found"] == 1
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


def test_expired_pages_are_found_through_an_index(tmp_path: Path) -> None:
    # save_result runs this on every question; a full scan grew with every result kept (7 days)
    BotState(tmp_path / "bot.db").close()
    plan = sqlite3.connect(tmp_path / "bot.db").execute(
        "EXPLAIN QUERY PLAN DELETE FROM pages WHERE created < 1").fetchall()
    assert any("USING INDEX" in row[-1] for row in plan), plan


def test_rate_limiter_allows_count_per_window_per_user() -> None:
    clock = Clock(100.0)
    limiter = RateLimiter(count=2, seconds=10, clock=clock)
    assert limiter.check(1) == 0 and limiter.check(1) == 0
    wait = limiter.check(1)
    assert 9.9 <= wait <= 10
    assert limiter.check(2) == 0  # other users are unaffected
    clock.now += 10.01
    assert limiter.check(1) == 0


def test_rate_limiter_zero_count_means_unlimited() -> None:
    limiter = RateLimiter(count=0, seconds=10)
    assert all(limiter.check(1) == 0 for _ in range(100))
