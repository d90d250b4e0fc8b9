"""Ingestion and storage: articles in, passages with offsets, FTS5 and FAISS out."""

from .builder import IndexRun, update_index
from .embedding import Embedder, load_embedder
from .errors import (
    IndexCorrupt,
    IndexNotBuilt,
    IngestError,
    ModelMismatch,
    ModelMissing,
    QuotebotError,
)
from .snapshot import Snapshot, open_snapshot

__all__ = [
    "Embedder",
    "IndexCorrupt",
    "IndexNotBuilt",
    "IndexRun",
    "IngestError",
    "ModelMismatch",
    "ModelMissing",
    "QuotebotError",
    "Snapshot",
    "load_embedder",
    "open_snapshot",
    "update_index",
]
