"""Numbered migrations: each step and its version bump commit together or not at all."""

from __future__ import annotations

import pytest
import sqlite_utils

from index.migrations import migrate


def _add(name: str):
    return lambda db: db[name].create({"id": int}, pk="id")


def _fail(db: sqlite_utils.Database) -> None:
    db["half"].create({"id": int}, pk="id")
    raise RuntimeError("step 2 broke")


def _version(db: sqlite_utils.Database) -> int:
    return db.execute("pragma user_version").fetchone()[0]


def test_steps_run_once_in_order(tmp_path):
    db = sqlite_utils.Database(tmp_path / "x.db")
    migrate(db, [_add("one"), _add("two")])
    migrate(db, [_add("one"), _add("two")])  # nothing left to do: no "table exists" error
    assert _version(db) == 2 and db.table_names() == ["one", "two"]
    migrate(db, [_add("one"), _add("two"), _add("three")])
    assert _version(db) == 3 and "three" in db.table_names()


def test_a_failing_step_is_rolled_back_and_keeps_the_version(tmp_path):
    db = sqlite_utils.Database(tmp_path / "x.db")
    with pytest.raises(RuntimeError, match="step 2 broke"):
        migrate(db, [_add("one"), _fail])
    assert _version(db) == 1 and db.table_names() == ["one"]
    migrate(db, [_add("one"), _add("two")])  # fixed: it runs from where it stopped
    assert _version(db) == 2 and db.table_names() == ["one", "two"]


def test_a_legacy_version_is_where_an_unversioned_file_starts(tmp_path):
    db = sqlite_utils.Database(tmp_path / "x.db")
    migrate(db, [_add("one"), _add("two")], legacy=1)
    assert _version(db) == 2 and db.table_names() == ["two"]
    migrate(db, [_add("one"), _add("two"), _add("three")], legacy=1)  # user_version wins
    assert db.table_names() == ["two", "three"]
