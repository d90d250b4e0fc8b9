"""Index generations in the data directory, and read-only snapshots of the one being served.

Layout::

    data/current -> gen-000007      (a symlink, replaced atomically with os.replace)
    data/gen-000007/index.db        (SQLite: articles, passages, FTS5, meta)
    data/gen-000007/vectors.faiss   (FAISS, keyed by passage id)

A build writes a whole new generation beside the served one and then swaps the symlink, so a
crash at any point leaves ``current`` pointing at a complete, consistent generation.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import IndexCorrupt, IndexNotBuilt, ModelMismatch
from .store import Store
from .vectors import Vectors

CURRENT = "current"
DB_FILE = "index.db"
VECTORS_FILE = "vectors.faiss"
_GEN = re.compile(r"^gen-(\d{6})$")


def current_generation(data_dir: Path) -> Path | None:
    link = data_dir / CURRENT
    if not link.is_symlink():
        return None
    target = data_dir / os.readlink(link)
    return target if target.is_dir() else None


def generations(data_dir: Path) -> list[Path]:
    if not data_dir.is_dir():
        return []
    return sorted(p for p in data_dir.iterdir() if _GEN.match(p.name) and p.is_dir())


def new_generation(data_dir: Path) -> Path:
    numbers = [int(_GEN.match(p.name).group(1)) for p in generations(data_dir)]  # type: ignore[union-attr]
    gen = data_dir / f"gen-{(max(numbers) + 1) if numbers else 1:06d}"
    gen.mkdir(parents=True)
    return gen


def publish(data_dir: Path, gen: Path) -> None:
    """Make ``gen`` the served generation in one atomic rename, after everything is on disk."""
    for name in (DB_FILE, VECTORS_FILE):
        _fsync(gen / name)
    _fsync(gen)
    tmp = data_dir / (CURRENT + ".tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(gen.name, tmp)
    os.replace(tmp, data_dir / CURRENT)
    _fsync(data_dir)


def remove_stale(data_dir: Path, keep_previous: int = 1) -> None:
    """Delete unfinished generations and all but the newest ``keep_previous`` old ones.

    The previous generation is kept because a process may still be answering from it.
    """
    current = current_generation(data_dir)
    older = [g for g in generations(data_dir) if current is None or g.name < current.name]
    newer = [g for g in generations(data_dir) if current is not None and g.name > current.name]
    if current is None:
        newer, older = older, []
    for gen in newer + older[: max(0, len(older) - keep_previous)]:
        shutil.rmtree(gen, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Snapshot:
    """One generation opened read-only: the store and vectors always belong together."""

    generation: str
    store: Store
    vectors: Vectors
    model: str
    dim: int

    def close(self) -> None:
        self.store.close()


def open_snapshot(data_dir: Path, model: str | None = None, dim: int | None = None) -> Snapshot:
    """Open the served generation, checking that it is complete and built with ``model``."""
    gen = current_generation(data_dir)
    if gen is None:
        raise IndexNotBuilt(f"no index in {data_dir}: build one with `quotebot index PATH...`")
    store = Store.open(gen / DB_FILE, readonly=True)
    try:
        built_model = store.get_meta("model") or "?"
        built_dim = int(store.get_meta("dim") or 0)
        if (model is not None and model != built_model) or (dim is not None and dim != built_dim):
            raise ModelMismatch(
                f"the index in {data_dir} was built with {built_model} ({built_dim}-d) but "
                f"{model} ({dim}-d) is configured: rebuild with `quotebot index --rebuild PATH...`"
            )
        vectors = Vectors.load(gen / VECTORS_FILE)
        (count,) = store.conn.execute("select count(*) from passages").fetchone()
        if vectors.dim != built_dim or len(vectors) != count:
            raise IndexCorrupt(
                f"{gen}: {len(vectors)} vectors of {vectors.dim}-d for {count} passages of "
                f"{built_dim}-d: rebuild with `quotebot index --rebuild PATH...`"
            )
    except BaseException:
        store.close()
        raise
    return Snapshot(gen.name, store, vectors, built_model, built_dim)
