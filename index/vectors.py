"""Passage vectors in a FAISS index keyed by passage id, saved atomically."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexCorrupt
from .settings import VectorSettings


class Vectors:
    """Inner-product search over normalised vectors (inner product equals cosine similarity)."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @classmethod
    def empty(cls, dim: int, settings: VectorSettings) -> Vectors:
        if settings.kind == "flat":
            base = faiss.IndexFlatIP(dim)
        elif settings.kind == "hnsw":
            base = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efSearch = settings.hnsw_ef_search
        else:
            raise ValueError(f"vectors.kind must be 'flat' or 'hnsw', got {settings.kind!r}")
        return cls(faiss.IndexIDMap2(base))

    @classmethod
    def load(cls, path: Path) -> Vectors:
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorrupt(
                f"{path}: unreadable vector index ({str(exc).splitlines()[0]})"
            ) from None
        return cls(index)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: list[int], vecs: np.ndarray) -> None:
        if len(ids) != len(vecs):
            raise ValueError(f"{len(ids)} ids for {len(vecs)} vectors")
        if len(ids):
            self.index.add_with_ids(
                np.ascontiguousarray(vecs, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: list[int]) -> None:
        if ids:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def ids(self) -> np.ndarray:
        """Every stored passage id (for consistency checks)."""
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if len(self) == 0 or k <= 0:
            return []
        scores, ids = self.index.search(
            np.ascontiguousarray(query.reshape(1, -1)), min(k, len(self))
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def save(self, path: Path) -> None:
        """Write to a temporary file, fsync, then rename: a crash never leaves half a file."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
