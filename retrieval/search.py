"""Hybrid candidates: FTS5 bm25 and FAISS dense search over one snapshot, fused by rank."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.snapshot import Snapshot
from index.store import Dated

from .fusion import rrf
from .settings import RetrievalSettings


@dataclass(frozen=True)
class Candidate:
    passage_id: int
    fused: float


def full_text(
    snapshot: Snapshot, question: str, settings: RetrievalSettings, dated: Dated | None = None
) -> list[tuple[int, float]]:
    """(passage id, bm25) of the full-text candidates (of articles published in ``dated``):
    needs no query vector, so it can run while the question is being embedded."""
    return snapshot.store.fts_search(
        question, settings.fts_candidates, settings.fts_max_postings, dated
    )


def hybrid_search(
    snapshot: Snapshot,
    fts: list[tuple[int, float]],
    qvec: np.ndarray,
    settings: RetrievalSettings,
    lap: Callable[[str], None] | None = None,
    within: Sequence[int] | None = None,
) -> list[Candidate]:
    """Passages ranked by reciprocal rank fusion of the full-text candidates and dense results
    (only passages ``within``, when given: a time filter's).

    ``lap(stage)`` is called after each stage ("dense", "fusion") to time it.
    """
    tick = lap or (lambda stage: None)
    dense = snapshot.vectors.search(
        qvec, settings.dense_candidates, [pid for pid, _ in fts], within
    )
    tick("dense")
    fused = rrf(
        [[pid for pid, _ in fts], [pid for pid, _ in dense]],
        weights=[settings.fts_weight, settings.dense_weight],
        k=settings.rrf_k,
    )
    out = [Candidate(pid, score) for pid, score in fused]
    tick("fusion")
    return out
