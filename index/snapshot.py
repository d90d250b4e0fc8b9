"""Index generations in the data directory, and read-only snapshots of the one being served.

Layout::

    data/current -> gen-000007      (a symlink, replaced atomically with os.replace)
    data/gen-000007/index.db        (SQLite: articles, passages, FTS5, meta)
    data/gen-000007/vectors.faiss   (FAISS, keyed by passage id)
    data/gen-000007/manifest.json   (size and SHA-256 of both files, written last)

A build writes a whole new generation beside the served one and then swaps the symlink, so a
crash at any point leaves ``current`` pointing at a complete, consistent generation. The manifest
lets a reader refuse files that were damaged after they were written (a truncated copy, a flipped
bit), which neither SQLite nor FAISS can always notice on their own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backend import ReadStore, VectorSearch
from .errors import IndexCorrupt, IndexNotBuilt, ModelMismatch
from .store import ArticleInfo, Catalog, Store
from .vectors import Vectors

log = logging.getLogger(__name__)

CURRENT = "current"
DB_FILE = "index.db"
VECTORS_FILE = "vectors.faiss"
MANIFEST_FILE = "manifest.json"
# Files a generation may hold besides the two it always has (index/multilingual.py writes the
# first): the manifest covers each one that is there.
OPTIONAL_FILES = ("vectors-multilingual.faiss",)
REBUILD = "rebuild it from the articles with `quotebot index --rebuild PATH...`"
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
    write_manifest(gen)
    for name in _files(gen):
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


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_manifest(gen: Path) -> None:
    """Record the size and SHA-256 of the finished files, atomically."""
    manifest = {
        name: {"bytes": (gen / name).stat().st_size, "sha256": file_sha256(gen / name)}
        for name in _files(gen)
    }
    tmp = gen / (MANIFEST_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, gen / MANIFEST_FILE)


def _files(gen: Path) -> list[str]:
    """The files of a finished generation: the database, the vectors, and optional ones."""
    return [DB_FILE, VECTORS_FILE, *(n for n in OPTIONAL_FILES if (gen / n).exists())]


def read_manifest(gen: Path) -> dict[str, dict[str, int | str]] | None:
    """The generation's manifest; None for a generation written before manifests existed."""
    path = gen / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        for name in (DB_FILE, VECTORS_FILE):
            int(manifest[name]["bytes"])
            str(manifest[name]["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"{path}: unreadable manifest ({exc})") from None
    return manifest  # type: ignore[no-any-return]


def verify_file(gen: Path, name: str, manifest: dict[str, dict[str, int | str]]) -> None:
    """Raise IndexCorrupt when ``gen/name`` is not byte for byte what the builder wrote."""
    path = gen / name
    expected = manifest[name]
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise IndexCorrupt(f"{path} is missing") from None
    if size != int(expected["bytes"]):
        raise IndexCorrupt(f"{path} has {size} bytes, {expected['bytes']} were written")
    if file_sha256(path) != expected["sha256"]:
        raise IndexCorrupt(f"{path} was changed or damaged after it was written")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Snapshot:
    """One generation opened read-only: the store and vectors always belong together. (On
    PostgreSQL, ``index/pg.py``, the one database: its rows and its vector column.)"""

    generation: str
    store: ReadStore
    vectors: VectorSearch
    model: str
    dim: int

    def close(self) -> None:
        self.store.close()


class Catalogued:
    """The catalogue (sources, counts) of whatever ``snapshot`` serves, on either backend."""

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def sources(self) -> list[ArticleInfo]:
        return self.snapshot().store.sources()

    def catalog(self) -> Catalog:
        return self.snapshot().store.catalog()


class ServedIndex(Catalogued):
    """The generation ``current`` points at, reopened when it moves: what answering reads and
    what the catalogue (sources, counts, sizes) describes."""

    def __init__(self, data_dir: Path, model: str | None = None, dim: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.model, self.dim = model, dim
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        with self._lock:
            gen = current_generation(self.data_dir)
            if self._snapshot is None or gen is None or gen.name != self._snapshot.generation:
                fresh = open_snapshot(self.data_dir, self.model, self.dim)
                # The old snapshot is not closed here: a question in another thread may still be
                # reading it. Its connection closes when the last reference goes.
                self._snapshot = fresh
            return self._snapshot

    def stats(self) -> dict[str, Any]:
        snap = self.snapshot()
        gen = self.data_dir / snap.generation
        return snapshot_stats(snap, {p.name: p.stat().st_size for p in gen.iterdir() if p.is_file()})


def snapshot_stats(snap: Snapshot, sizes: dict[str, int]) -> dict[str, Any]:
    """What `quotebot stats` prints: counts, model, and the bytes of each file (or table)."""
    return {
        **snap.store.counts(),
        "generation": snap.generation,
        "model": snap.model,
        "dim": snap.dim,
        "vectors": len(snap.vectors),
        "bytes": sum(sizes.values()),
        "files": sizes,
    }


def open_snapshot(data_dir: Path, model: str | None = None, dim: int | None = None) -> Snapshot:
    """Open the served generation, checking that it is intact and built with ``model``."""
    for attempt in range(3):
        gen = current_generation(data_dir)
        if gen is None:
            raise IndexNotBuilt(f"no index in {data_dir}: build one with `quotebot index PATH...`")
        try:
            return _open_generation(gen, model, dim)
        except IndexCorrupt as exc:
            if attempt < 2 and current_generation(data_dir) != gen:
                continue  # a newer generation was published (and this one removed) meanwhile
            raise IndexCorrupt(f"{exc}. The served index is damaged: {REBUILD}") from None
    raise AssertionError("unreachable")


def _open_generation(gen: Path, model: str | None, dim: int | None) -> Snapshot:
    manifest = read_manifest(gen)
    if manifest is None:
        log.warning("%s has no checksums (built by an older quotebot): %s", gen, REBUILD)
    else:
        verify_file(gen, DB_FILE, manifest)
    # Without checksums, SQLite's own structural check is the best defence against damage.
    store = Store.open(gen / DB_FILE, readonly=True, quick_check=manifest is None)
    try:
        built_model = store.get_meta("model") or "?"
        built_dim = int(store.get_meta("dim") or 0)
        wrong = store.mismatch(model, dim)
        if wrong is not None:
            raise ModelMismatch(
                f"{gen.parent}: {wrong[1]}: rebuild with `quotebot index --rebuild PATH...`"
            )
        digest = manifest[VECTORS_FILE]["sha256"] if manifest else None
        vectors = Vectors.load(gen / VECTORS_FILE, sha256=str(digest) if digest else None)
        (count,) = store.conn.execute("select count(*) from passages").fetchone()
        if vectors.dim != built_dim or len(vectors) != count:
            raise IndexCorrupt(
                f"{gen}: {len(vectors)} vectors of {vectors.dim}-d for {count} passages of "
                f"{built_dim}-d"
            )
    except sqlite3.DatabaseError as exc:
        store.close()
        raise IndexCorrupt(f"{gen / DB_FILE}: unreadable ({exc})") from None
    except BaseException:
        store.close()
        raise
    return Snapshot(gen.name, store, vectors, built_model, built_dim)
