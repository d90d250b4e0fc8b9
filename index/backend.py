"""What a storage backend offers: the reads answering makes, its vector search, and the served
index with its catalogue. Two backends implement them: SQLite + FAISS generations in the data
directory (``store.py``, ``vectors.py``, ``snapshot.py``) and PostgreSQL + pgvector (``pg.py``).
Retrieval and the bot see only these protocols, so they do not know which one they use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from .store import ArticleInfo, Catalog, Dated, PassageRow, SentenceVectors


class ReadStore(Protocol):
    """The index's rows as answering reads them."""

    def fts_search(
        self, question: str, limit: int, max_postings: int = 0, dated: Dated | None = None
    ) -> list[tuple[int, float]]: ...

    def dated_passages(self, dated: Dated) -> list[int]: ...

    def leads(self, dated: Dated, limit: int) -> list[PassageRow]: ...

    def dated_articles(self, dated: Dated) -> int: ...

    def newest_published(self) -> str | None: ...

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRow]: ...

    def sentences(self, ids: Iterable[int], dim: int) -> dict[int, SentenceVectors]: ...

    def parses(self, ids: Iterable[int]) -> dict[int, str]: ...

    def passage_articles(self, ids: Iterable[int]) -> dict[int, str]: ...

    def article_text(self, article_id: str) -> str: ...

    def sources(self) -> list[ArticleInfo]: ...

    def catalog(self) -> Catalog: ...

    def counts(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class VectorSearch(Protocol):
    """Nearest passages by cosine (inner product of normalised vectors), best first."""

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    def search(
        self,
        query: np.ndarray,
        k: int,
        candidates: Sequence[int] = (),
        within: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]: ...
