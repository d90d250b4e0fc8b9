"""Numbered schema migrations for the SQLite files quotebot writes (the index and the bot's state)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
