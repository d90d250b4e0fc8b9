"""Passage vectors in a FAISS index keyed by passage id, saved atomically.

Three kinds, chosen by ``[vectors] kind``:

- ``flat``: exact inner-product search over every vector (``IndexIDMap2(IndexFlatIP)``).
- ``hnsw``: a graph (``IndexIDMap2(IndexHNSWFlat)``); FAISS cannot remove from it, so removing
  passages rebuilds the graph from the full-precision vectors it stores.
- ``ivf_sq8``: an inverted file of 8-bit scalar-quantised vectors (``IndexIVFScalarQuantizer``,
  about a quarter of flat's memory). It keeps passage ids itself and removes them in place. It is
  trained on the vectors present when the build finishes, and retrained (from its decoded
  vectors) when the index has grown or shrunk so much that its number of lists is off by 2x.

The passage vectors live only in this file: converting between kinds reconstructs them from it.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexCorrupt
from .settings import VectorSettings

_TRAIN_PER_LIST = 64  # k-means sample per IVF list: enough for stable centroids, fast to train


def auto_nlist(n: int) -> int:
    """About 4 * sqrt(n) lists, but never fewer than ~39 training points per list."""
    return max(1, min(round(4 * math.sqrt(n)), n // 39))


def _nlist(settings: VectorSettings, n: int) -> int:
    """The configured number of IVF lists (or the automatic one), at most one per vector."""
    return max(1, min(settings.ivf_nlist or auto_nlist(n), n))


# A time filter's passages up to this many are scored exactly, in one matrix product; more are
# searched through the index and filtered.
EXACT_WITHIN = 50_000

class Vectors:
    """Inner-product search over normalised vectors (inner product equals cosine similarity)."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @classmethod
    def empty(cls, dim: int, settings: VectorSettings) -> Vectors:
        """An empty index; an IVF kind starts flat and is trained by ``fit`` once vectors exist."""
        if settings.kind == "hnsw":
            base = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = settings.hnsw_ef_construction
            base.hnsw.efSearch = settings.hnsw_ef_search
            return cls(faiss.IndexIDMap2(base))
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def build(cls, ids: np.ndarray, vecs: np.ndarray, settings: VectorSettings) -> Vectors:
        """An index of ``settings.kind`` holding exactly these vectors (IVF trained on them)."""
        dim = int(vecs.shape[1])
        if settings.kind != "ivf_sq8" or len(ids) == 0:
            out = cls.empty(dim, settings)
            out.add(ids, vecs)
            return out
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        nlist = _nlist(settings, len(ids))
        ivf = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dim),
            dim,
            nlist,
            faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )
        rng = np.random.default_rng(0)  # a fixed sample: the same input builds the same index
        sample = min(len(vecs), nlist * _TRAIN_PER_LIST)
        train = vecs if sample == len(vecs) else vecs[np.sort(rng.choice(len(vecs), sample, False))]
        ivf.train(train)
        # A hash map from passage id to list position: removal and reconstruction by id.
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        ivf.nprobe = settings.ivf_nprobe
        ivf.add_with_ids(vecs, np.asarray(ids, dtype=np.int64))
        return cls(ivf)

    @classmethod
    def load(cls, path: Path, sha256: str | None = None) -> Vectors:
        """Read a saved index; with ``sha256``, bytes that differ from what was saved are refused.

        FAISS reads many damaged files without complaint (a flipped bit in a vector is just
        another number), so the checksum is what stops a silently wrong answer.
        """
        # The checksum is streamed from the file, not taken over a copy in memory: a large flat
        # index would otherwise need twice its size (3 GB at a million passages) while loading.
        try:
            with open(path, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest() if sha256 else None
        except FileNotFoundError:
            raise IndexCorrupt(f"{path} is missing") from None
        except OSError as exc:
            raise IndexCorrupt(f"{path}: cannot be read ({exc.strerror})") from None
        if digest != sha256:
            raise IndexCorrupt(
                f"{path}: the vector index was changed or damaged after it was saved"
            )
        try:
            index = faiss.read_index(str(path))
        except (RuntimeError, MemoryError) as exc:
            raise IndexCorrupt(
                f"{path}: unreadable vector index ({str(exc).splitlines()[0][:200]})"
            ) from None
        return cls(index)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def kind(self) -> str:
        """ "flat", "hnsw" or "ivf_sq8", read from the index itself."""
        inner = self._inner()
        if isinstance(inner, faiss.IndexHNSW):
            return "hnsw"
        if isinstance(inner, faiss.IndexIVF):
            return "ivf_sq8"
        return "flat"

    def _inner(self) -> faiss.Index:
        if isinstance(self.index, faiss.IndexIDMap):
            return faiss.downcast_index(self.index.index)
        return faiss.downcast_index(self.index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: list[int] | np.ndarray, vecs: np.ndarray) -> None:
        if len(ids) != len(vecs):
            raise ValueError(f"{len(ids)} ids for {len(vecs)} vectors")
        if len(ids):
            self.index.add_with_ids(
                np.ascontiguousarray(vecs, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: list[int]) -> None:
        """Drop these passage ids; pass all of an update's removals at once (HNSW rebuilds)."""
        if not ids:
            return
        if self.kind == "hnsw":
            gone = np.asarray(ids, dtype=np.int64)
            keep_ids, keep_vecs = self.items()
            keep = ~np.isin(keep_ids, gone)
            inner = self._inner()
            settings = VectorSettings(
                kind="hnsw",
                hnsw_m=self._hnsw_m(),
                hnsw_ef_construction=inner.hnsw.efConstruction,
                hnsw_ef_search=inner.hnsw.efSearch,
            )
            self.index = Vectors.build(keep_ids[keep], keep_vecs[keep], settings).index
        else:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def ids(self) -> np.ndarray:
        """Every stored passage id (for consistency checks and rebuilds)."""
        if isinstance(self.index, faiss.IndexIDMap):
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = self._inner().invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(lists.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored; IVF vectors come back decoded from 8 bits."""
        ids = self.ids()
        if len(ids) == 0:
            return ids, np.zeros((0, self.dim), dtype=np.float32)
        if isinstance(self.index, faiss.IndexIDMap):
            # The wrapped index numbers its vectors 0..n-1 in id_map order.
            return ids, self._inner().reconstruct_n(0, len(ids))
        return ids, self.index.reconstruct_batch(ids)

    def matches(self, settings: VectorSettings) -> bool:
        """True when the index already is what ``settings`` ask for (``fit`` would keep it)."""
        kind = self.kind
        if settings.kind == "ivf_sq8" and kind == "flat" and len(self) == 0:
            return True  # nothing to train on yet
        if kind != settings.kind:
            return False
        inner = self._inner()
        if kind == "hnsw":
            return (
                self._hnsw_m() == settings.hnsw_m and inner.hnsw.efSearch == settings.hnsw_ef_search
            )
        if kind == "ivf_sq8":
            return inner.nprobe == settings.ivf_nprobe and self._ivf_lists_fit(settings)
        return True

    def fit(self, settings: VectorSettings) -> Vectors:
        """This index made to match ``settings``: search parameters set, and rebuilt from the
        vectors it stores when the kind, graph degree or number of lists no longer fit."""
        if self.matches(settings):
            return self
        kind, inner = self.kind, self._inner()
        if kind == settings.kind == "hnsw" and self._hnsw_m() == settings.hnsw_m:
            inner.hnsw.efSearch = settings.hnsw_ef_search
            inner.hnsw.efConstruction = settings.hnsw_ef_construction  # for vectors added later
            return self
        if kind == settings.kind == "ivf_sq8" and self._ivf_lists_fit(settings):
            inner.nprobe = settings.ivf_nprobe
            return self
        ids, vecs = self.items()
        return Vectors.build(ids, vecs, settings)

    def _hnsw_m(self) -> int:
        return int(self._inner().hnsw.nb_neighbors(1))  # level 0 has 2*M links, upper levels M

    def _ivf_lists_fit(self, settings: VectorSettings) -> bool:
        nlist = int(self._inner().nlist)
        if settings.ivf_nlist:
            return nlist == _nlist(settings, len(self))
        target = auto_nlist(len(self))
        return target / 2 <= nlist <= target * 2

    def search(
        self,
        query: np.ndarray,
        k: int,
        candidates: Sequence[int] = (),
        within: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` passages nearest ``query``, best first; only ids ``within`` when given.

        An approximate index can miss passages that belong in its top ``k``. Passage ids that
        another search found (``candidates``) are scored exactly when it missed them and take
        the place their score gives them: a passage full-text search ranks first and the dense
        list missed would otherwise lose its dense vote in the fusion.
        """
        if len(self) == 0 or k <= 0:
            return []
        if within is not None:
            return self._search_within(query, k, candidates, within)
        # One question is one thread's work; an OpenMP team waiting on a descheduled thread of
        # a busy machine would add its wait to every question (docs/benchmarks.md, Speed).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.index.search(
                np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, len(self))
            )
        finally:
            faiss.omp_set_num_threads(threads)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]
        if candidates and self.kind != "flat":  # flat is exact: it misses nothing
            hits = self._place_missed(query, hits, min(k, len(self)), candidates)
        return hits

    def _search_within(
        self, query: np.ndarray, k: int, candidates: Sequence[int], within: Sequence[int]
    ) -> list[tuple[int, float]]:
        """A search among some passages (a time filter's): up to ``EXACT_WITHIN`` of them are
        scored exactly; more go through the index, asked for more than ``k`` and filtered."""
        ids = np.unique(np.asarray(within, dtype=np.int64))
        if len(ids) > EXACT_WITHIN:
            allowed = set(ids.tolist())
            hits = self.search(query, min(len(self), k * 20), candidates)
            return [hit for hit in hits if hit[0] in allowed][:k]
        if not len(ids):
            return []
        try:
            vecs = self.index.reconstruct_batch(ids)
        except RuntimeError:  # an id without a vector: `quotebot check` reports such damage
            return []
        scores = vecs @ query.reshape(-1).astype(np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def _place_missed(
        self, query: np.ndarray, hits: list[tuple[int, float]], k: int, candidates: Sequence[int]
    ) -> list[tuple[int, float]]:
        found = {i for i, _ in hits}
        missed = np.asarray([c for c in dict.fromkeys(candidates) if c not in found], np.int64)
        if not len(missed):
            return hits
        try:
            vecs = self.index.reconstruct_batch(missed)
        except RuntimeError:  # an id without a vector: `quotebot check` reports such damage
            return hits
        scores = vecs @ query.reshape(-1).astype(np.float32)
        floor = hits[-1][1] if len(hits) >= k else -math.inf
        extra = [(int(i), float(s)) for i, s in zip(missed, scores, strict=True) if s > floor]
        return sorted(hits + extra, key=lambda hit: -hit[1])[:k]

    def save(self, path: Path) -> None:
        """Write to a temporary file, fsync, then rename: a crash never leaves half a file.

        The bytes are written by Python rather than by ``faiss.write_index`` so that a full disk
        or a file size limit surfaces as an ``OSError`` with its errno, never as a short file.
        """
        data = faiss.serialize_index(self.index)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(memoryview(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
