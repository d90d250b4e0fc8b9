"""Where the index lives, chosen by ``[store] url``: the factory and the two backends.

``""`` is today's embedded store, SQLite + FAISS generations in the data directory; a
``postgresql://`` URL is that database (one schema per index). Both offer the same four things
(serve, update, check, built) so that ``bot/services.py`` holds one ``Storage`` and neither the
bot nor retrieval knows which backend it has.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .builder import IndexRun, update_index
from .check import CheckReport, Problem, check_index
from .errors import QuotebotError
from .feeds import check_feeds
from .records import IndexSummary
from .settings import StoreSettings
from .snapshot import CURRENT, ServedIndex, Snapshot
from .store import ArticleInfo, Catalog

if TYPE_CHECKING:
    from .pg import PgDatabase


class Served(Protocol):
    """The index being served: its snapshot for answering, and its catalogue."""

    def snapshot(self) -> Snapshot: ...

    def sources(self) -> list[ArticleInfo]: ...

    def catalog(self) -> Catalog: ...

    def stats(self) -> dict[str, Any]: ...


class Storage(Protocol):
    """One index and what can be done with it."""

    data_dir: Path  # feeds, uploads and the bot's state stay here on both backends
    where: str  # for messages: the data directory, or the database without its password

    def served(self, model: str | None = None, dim: int | None = None) -> Served: ...

    def update(self, paths: list[Path], run: IndexRun) -> IndexSummary: ...

    def check(self, model: str | None = None, dim: int | None = None) -> CheckReport: ...

    def built(self) -> bool: ...

    def close(self) -> None: ...


class FileStorage:
    """SQLite + FAISS generations in the data directory (the default)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.where = str(self.data_dir)

    def served(self, model: str | None = None, dim: int | None = None) -> Served:
        return ServedIndex(self.data_dir, model, dim)

    def update(self, paths: list[Path], run: IndexRun) -> IndexSummary:
        return update_index(self.data_dir, paths, run)

    def check(self, model: str | None = None, dim: int | None = None) -> CheckReport:
        return check_index(self.data_dir, model=model, dim=dim)

    def built(self) -> bool:
        return (self.data_dir / CURRENT).exists()

    def close(self) -> None:
        """Nothing to close: each snapshot's connection closes with it."""


class PgStorage:
    """PostgreSQL + pgvector (``index/pg.py``): one schema of one database."""

    def __init__(self, data_dir: Path, settings: StoreSettings, ef_search: int = 128) -> None:
        from .pg import PgDatabase  # psycopg is imported only for this backend

        self.data_dir = Path(data_dir)
        self.db: PgDatabase = PgDatabase(settings)
        self.where = self.db.where
        self.ef_search = ef_search

    def served(self, model: str | None = None, dim: int | None = None) -> Served:
        from .pg import PgServed

        return PgServed(self.db, model, dim, self.ef_search)

    def update(self, paths: list[Path], run: IndexRun) -> IndexSummary:
        from .pg_build import update_postgres

        return update_postgres(self.db, paths, run)

    def check(self, model: str | None = None, dim: int | None = None) -> CheckReport:
        from .pg_check import check_postgres

        report = check_postgres(self.db, self.data_dir, model, dim)
        problems, notes, counts = check_feeds(self.data_dir)
        return dataclasses.replace(
            report,
            problems=report.problems + tuple(Problem(name, detail) for name, detail in problems),
            notes=report.notes + tuple(notes),
            counts=report.counts | counts,
        )

    def built(self) -> bool:
        return "model" in self.db.meta()

    def close(self) -> None:
        self.db.close()


def open_storage(
    data_dir: Path, settings: StoreSettings | None = None, ef_search: int = 128
) -> Storage:
    """The backend ``settings.url`` names; ``ef_search`` is the graph search breadth of HNSW."""
    settings = settings or StoreSettings()
    if not settings.url:
        return FileStorage(data_dir)
    if settings.url.startswith(("postgresql://", "postgres://")):
        return PgStorage(data_dir, settings, ef_search)
    raise QuotebotError("[store] url must be empty (the data directory) or postgresql://...")
