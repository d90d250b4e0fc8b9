"""The composition root's façade: one object the CLI and the Telegram bot both call.

It loads the embedding model once (lazily), opens the served index, answers questions and runs
index updates. Every method is synchronous and may take seconds: the bot calls them off the event
loop (``asyncio.to_thread``). ``ask`` is safe to call while ``reindex`` runs in another thread: the
old index serves until the new one is swapped in.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.builder import Progress, update_index
from index.embedding import Embedder, load_embedder
from index.errors import QuotebotError
from index.records import IndexSummary
from index.sources import fetch_url, safe_upload_name, url_key
from index.store import ArticleInfo, Catalog
from retrieval.answers import Result
from retrieval.engine import Answerer

from .config import Config


class Services:
    """Everything the front ends need, built from one ``Config``."""

    def __init__(self, config: Config, embedder: Embedder | None = None) -> None:
        self.config = config
        self._embedder = embedder
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()  # guards lazy loading
        self._index_lock = threading.Lock()  # one index update at a time

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.config.embedding)
            return self._embedder

    @property
    def answerer(self) -> Answerer:
        embedder = self.embedder
        with self._lock:
            if self._answerer is None:
                self._answerer = Answerer(self.config.data_dir, embedder, self.config.retrieval)
            return self._answerer

    def ask(self, question: str, k: int = 3) -> Result:
        return self.answerer.ask(question, k=k)

    def index(
        self,
        paths: Sequence[Path | str],
        progress: Progress | None = None,
        prune: bool = True,
        rebuild: bool = False,
    ) -> IndexSummary:
        """Add or update articles from ``paths``; ``prune`` drops articles whose files are gone."""
        with self._index_lock:
            summary = update_index(
                self.config.data_dir,
                [Path(p) for p in paths],
                self.embedder,
                chunking=self.config.chunking,
                vectors=self.config.vectors,
                ingest=self.config.ingest,
                progress=progress,
                prune=prune,
                rebuild=rebuild,
            )
        if self._answerer is not None:
            self._answerer.refresh()
        return summary

    def reindex(self, progress: Progress | None = None) -> IndexSummary:
        """Re-scan the configured article folders (``[bot] article_dirs``) incrementally."""
        if not self.config.bot.article_dirs:
            raise QuotebotError("no article folders are configured: set [bot] article_dirs")
        return self.index(self.config.bot.article_dirs, progress=progress)

    def add_url(self, url: str) -> IndexSummary:
        """Fetch one article over http(s) and index it (kept under the data directory)."""
        doc = fetch_url(url, self.config.ingest, allow_private=self.config.bot.allow_private_urls)
        # Kept as a one-line JSONL file so that the URL, title and date survive a re-index.
        record = {
            "id": url_key(doc.key),
            "url": doc.url,
            "title": doc.title,
            "published": doc.published,
            "text": doc.text + "\n" + doc.comments,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        return self._store_and_index(url_key(doc.key), line.encode("utf-8"), suffix=".jsonl")

    def add_upload(self, filename: str, data: bytes) -> IndexSummary:
        """Index an uploaded .txt/.md/.html/.jsonl file; the name is sanitised, never trusted."""
        return self._store_and_index(filename, data, suffix="")

    def _store_and_index(self, name: str, data: bytes, suffix: str) -> IndexSummary:
        uploads = self.config.data_dir / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        target = uploads / (safe_upload_name(name) + suffix)
        with tempfile.NamedTemporaryFile(dir=uploads, delete=False) as tmp:
            tmp.write(data)
        Path(tmp.name).replace(target)
        return self.index([target], prune=False)

    def sources(self) -> list[ArticleInfo]:
        return self.answerer.sources()

    def catalog(self) -> Catalog:
        return self.answerer.catalog()

    def stats(self) -> dict[str, Any]:
        return self.answerer.stats()
