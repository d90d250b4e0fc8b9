"""Shared fixtures: the real corpus, a deterministic fake embedder, and the real packaged model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NEWS = SHARED / "corpus" / "news"
NEWS_DEV = SHARED / "eval" / "news-dev.jsonl"


class FakeEmbedder:
    """Bag of hashed words: deterministic, instant, and texts sharing words are similar."""

    name = "fake-hash"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.documents = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def encode_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.documents += len(texts)
        if progress:
            progress(len(texts))
        return self.encode_queries(texts).astype(np.float32)

    def encode_passages(self, texts, spans, progress=None):
        """Sentences are encoded on their own: the fake has no context to pool."""
        sentences = [
            self.encode_documents([t[a:b] for a, b in s]) for t, s in zip(texts, spans, strict=True)
        ]
        return self.encode_documents(texts, progress), [
            v.reshape(len(s), self.dim) for v, s in zip(sentences, spans, strict=True)
        ]


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    from index.embedding import load_embedder
    from index.settings import EmbeddingSettings

    return load_embedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def news_data(tmp_path_factory, real_embedder) -> Path:
    """A data directory indexed from the real news corpus with the real model."""
    from index.builder import update_index

    data = tmp_path_factory.mktemp("news-data")
    update_index(data, [NEWS], real_embedder)
    return data


@pytest.fixture(scope="session")
def news_answerer(news_data, real_embedder):
    from retrieval.engine import Answerer
    from retrieval.settings import RetrievalSettings

    return Answerer(news_data, real_embedder, RetrievalSettings())
