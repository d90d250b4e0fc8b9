"""Numbered schema migrations: the SQLite files quotebot writes (the index and the bot's state),
and the index's PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlite_utils

Step = Callable[[sqlite_utils.Database], None]


def migrate(db: sqlite_utils.Database, steps: Sequence[Step], legacy: int = 0) -> None:
    """Apply ``steps`` past ``PRAGMA user_version``, each with its version bump in one transaction.

    A step that fails is rolled back and leaves the version where it was. ``legacy`` is where a
    file whose ``user_version`` is still 0 starts, for files that recorded their version
    elsewhere. Inside ``atomic`` sqlite-utils (4.0 on) runs scripts such as ``enable_fts``'s
    statement by statement, so they do not commit the step half done as ``executescript`` would.
    """
    version = db.execute("pragma user_version").fetchone()[0] or legacy
    for number, step in enumerate(steps[version:], start=version + 1):
        with db.atomic():
            step(db)
            db.execute(f"pragma user_version = {number}")


def migrate_postgres(conn: Any, steps: Sequence[Callable[[Any], None]], lock: str) -> None:
    """Apply ``steps`` past the version in ``schema_version``, each with its version bump in one
    transaction, under a transaction-level advisory lock: processes starting together (several
    bot replicas) migrate once. ``conn`` is an autocommit psycopg connection; its search path
    names the schema."""
    conn.execute("create table if not exists schema_version (version integer not null)")
    while True:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", [lock])
            row = conn.execute("select max(version) from schema_version").fetchone()
            version = int(row[0] or 0)
            if version >= len(steps):
                return
            steps[version](conn)
            conn.execute("delete from schema_version")
            conn.execute("insert into schema_version values (%s)", [version + 1])
