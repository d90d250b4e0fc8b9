"""Reciprocal rank fusion: combine ranked lists by rank, not by their incomparable scores."""

from __future__ import annotations

from collections.abc import Sequence


def rrf(
    ranked: Sequence[Sequence[int]], weights: Sequence[float] | None = None, k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum of weight / (k + rank), rank starting at 1.

    Ties keep the order in which ids were first seen, so results are deterministic.
    """
    if weights is None:
        weights = [1.0] * len(ranked)
    if len(weights) != len(ranked):
        raise ValueError(f"{len(weights)} weights for {len(ranked)} ranked lists")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    scores: dict[int, float] = {}
    for ids, weight in zip(ranked, weights, strict=True):
        for rank, ident in enumerate(ids, 1):
            scores[ident] = scores.get(ident, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
