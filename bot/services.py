"""The composition root's façade: one object the CLI and the Telegram bot both call.

It loads the embedding model once (lazily), opens the served index, answers questions and runs
index updates. Every method is synchronous and may take seconds: the bot calls them off the event
loop (``asyncio.to_thread``). ``ask`` is safe to call while ``reindex`` runs in another thread: the
old index serves until the new one is swapped in.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.builder import IndexRun, Progress
from index.embedding import Embedder, load_embedder
from index.errors import IndexNotBuilt, IngestError, QuotebotError
from index.feeds import (
    FEEDS_DIR,
    Feed,
    FeedBook,
    FeedReport,
    check_feed_url,
    fetch_feed,
    fetch_lock,
    unindexed,
)
from index.multilingual import MultilingualEmbedder, load_multilingual
from index.parsing import Parser
from index.records import Document, IndexSummary
from index.sources import ANY_ADDRESS, fetch_url, read_file, safe_upload_name, url_key
from index.storage import Storage, open_storage
from index.store import ArticleInfo, Catalog
from retrieval.answers import Result
from retrieval.dates import find_period
from retrieval.engine import Answerer
from retrieval.multilingual import CrossLingual
from retrieval.reading import Reader, SpacyReader
from retrieval.settings import RetrievalSettings

from .config import Config
from .conversation import foreign_language


class Services:
    """Everything the front ends need, built from one ``Config``."""

    def __init__(
        self,
        config: Config,
        embedder: Embedder | None = None,
        multilingual: MultilingualEmbedder | None = None,
    ) -> None:
        self.config = config
        self._embedder = embedder
        self._answerer: Answerer | None = None
        # The index's backend ([store] url): SQLite + FAISS in the data directory, or PostgreSQL.
        self.storage: Storage = open_storage(
            config.data_dir, config.store, ef_search=config.vectors.hnsw_ef_search
        )
        self._multilingual = multilingual  # used only when [multilingual] enabled
        self._crosslingual: CrossLingual | None = None
        # What is indexed, read without the model: `quotebot sources` and `stats` load none.
        self.catalogue = self.storage.served()
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
                self._answerer = self._answerer_with(embedder, self.config.retrieval)
            return self._answerer

    def answerer_for(self, settings: RetrievalSettings, reader: Reader | None = None) -> Answerer:
        """An ``Answerer`` over this index with other settings (the eval commands')."""
        return self._answerer_with(self.embedder, settings, reader)

    def _answerer_with(
        self, embedder: Embedder, settings: RetrievalSettings, reader: Reader | None = None
    ) -> Answerer:
        served = self.storage.served(embedder.name, embedder.dim)
        return Answerer(self.config.data_dir, embedder, settings, reader, served=served)

    @property
    def multilingual(self) -> MultilingualEmbedder | None:
        """The multilingual model when ``[multilingual] enabled``; ModelMissing, naming the
        package, when it is enabled but not installed."""
        settings = self.config.multilingual
        if not settings.enabled:
            return None
        with self._lock:
            if self._multilingual is None:
                self._multilingual = load_multilingual(settings)
            return self._multilingual

    @property
    def crosslingual(self) -> CrossLingual | None:
        """Answering in other languages, when enabled."""
        embedder = self.multilingual
        if embedder is None:
            return None
        answerer = self.answerer
        with self._lock:
            if self._crosslingual is None:
                self._crosslingual = CrossLingual(answerer, embedder, self.config.multilingual)
            return self._crosslingual

    @property
    def parser(self) -> Parser | None:
        """The answer reader's parser, so that passages are parsed once, when indexed."""
        if not self.config.ingest.parse_passages:
            return None
        reader = self.answerer.reader
        return reader.parser if isinstance(reader, SpacyReader) else None

    def warm_up(self) -> bool:
        """Load the models and open the served index before the first question arrives.

        A damaged index or a model mismatch is raised here, at start-up, with its fix. An index
        not built yet is not an error (an admin may build it from the chat): False says so.
        """
        answerer = self.answerer
        answerer.reader  # noqa: B018 - loads the spaCy model now, not on a user's question
        if self.crosslingual is not None:
            foreign_language("Wer hat Truppen vorgeschlagen?")  # loads lingua's models (a second)
        find_period("on March 2", dt.date.today())  # and dateparser's tables (a quarter second)
        try:
            answerer.refresh()
        except IndexNotBuilt:
            return False
        return True

    def ask(
        self, question: str, k: int = 3, since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Result:
        """The answers to ``question``. With ``[multilingual] enabled``, a question in another
        language is answered from the multilingual vectors (English ones never are)."""
        crosslingual = self.crosslingual
        if crosslingual is not None:
            language = foreign_language(question)
            if language is not None:
                result = crosslingual.ask(question, language, k=k, since=since, until=until)
                if result is not None:  # None: the served index has no multilingual vectors
                    return result
        return self.answerer.ask(question, k=k, since=since, until=until)

    def index(
        self,
        paths: Sequence[Path | str],
        progress: Progress | None = None,
        prune: bool = True,
        rebuild: bool = False,
    ) -> IndexSummary:
        """Add or update articles from ``paths``; ``prune`` drops articles whose files are gone."""
        with self._index_lock:
            run = IndexRun(
                self.embedder,
                chunking=self.config.chunking,
                vectors=self.config.vectors,
                ingest=self.config.ingest,
                parser=self.parser,
                multilingual=self.multilingual,
                multilingual_settings=self.config.multilingual,
                prune=prune,
                rebuild=rebuild,
                progress=progress,
            )
            summary = self.storage.update([Path(p) for p in paths], run)
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
        doc = fetch_url(url, self.config.ingest, allow=self._allow())
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
        """Index an uploaded article file (any format ``index`` reads); the name is sanitised, never trusted."""
        limit = self.config.bot.max_upload_bytes
        if len(data) > limit:
            raise IngestError(f"{safe_upload_name(filename)} is over the {limit:,} byte limit")
        return self._store_and_index(filename, data, suffix="")

    def _store_and_index(self, name: str, data: bytes, suffix: str) -> IndexSummary:
        """Stage the file, keep it only if it holds an article, then index it.

        A file with nothing readable (binary, empty, not UTF-8) is refused before it can replace
        an earlier upload of the same name.
        """
        uploads = self.config.data_dir / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        target = uploads / (safe_upload_name(name) + suffix)
        # a dot file: a folder scan of uploads/ never picks up a half-written upload
        with tempfile.NamedTemporaryFile(
            dir=uploads, prefix=".", suffix=target.name, delete=False
        ) as tmp:
            tmp.write(data)
        staged = Path(tmp.name)
        try:
            items = list(read_file(staged, self.config.ingest))
            if not any(isinstance(item, Document) for item in items):
                where = str(staged.resolve())
                reasons = "; ".join(
                    item.reason
                    if item.source == where
                    else f"{item.source.replace(where, target.name)}: {item.reason}"
                    for item in items[:3]
                    if not isinstance(item, Document)
                )
                raise IngestError(reasons or f"{target.name}: no article found")
            staged.replace(target)
        finally:
            staged.unlink(missing_ok=True)
        return self.index([target], prune=False)

    # -- feeds ---------------------------------------------------------------------------------
    def _allow(self) -> tuple[str, ...]:
        """The networks links may point into: only public ones unless private URLs are on."""
        return ANY_ADDRESS if self.config.bot.allow_private_urls else ()

    def feeds(self) -> list[Feed]:
        book = FeedBook(self.config.data_dir)
        try:
            return book.feeds()
        finally:
            book.close()

    def add_feed(self, url: str, every: int | None = None) -> Feed:
        """Remember a feed (checked like an /add link); it is fetched on the next pass."""
        url = check_feed_url(url, self._allow())
        book = FeedBook(self.config.data_dir)
        try:
            return book.add(url, every or self.config.feeds.every_minutes)
        finally:
            book.close()

    def remove_feed(self, url: str) -> IndexSummary:
        """Forget a feed and drop its articles from the index."""
        with fetch_lock(self.config.data_dir):
            book = FeedBook(self.config.data_dir)
            try:
                entries = book.remove(url.strip())
            finally:
                book.close()
        if not entries or not self.storage.built():
            return IndexSummary()
        return self.index([], prune=True)  # the entries' files are gone: so are their articles

    def fetch_feeds(
        self, due_only: bool = False, urls: Sequence[str] | None = None
    ) -> list[FeedReport]:
        """One pass over the feeds (those due, for the scheduler; or only ``urls``), then one
        index update with every entry written. Raises ``FeedBusy`` when a pass is running."""
        data = self.config.data_dir
        with fetch_lock(data):
            book = FeedBook(data)
            try:
                now = time.time()
                todo = book.due(now) if due_only else book.feeds()
                if urls is not None:
                    todo = [feed for feed in todo if feed.url in urls]
                reports = [
                    fetch_feed(book, feed, self.config.ingest, self.config.feeds, self._allow())
                    for feed in todo
                ]
                behind = bool(unindexed(book, data))  # written, but an index update failed
            finally:
                book.close()
            files = [path for report in reports for path in report.files]
            if files or behind:
                # the whole feeds folder: entries an earlier pass wrote but could not index too
                summary = self.index([data / FEEDS_DIR], prune=False)
                owner = {str(path.resolve()): r for r in reports for path in r.files}
                for skipped in summary.skipped:  # written, but the index found nothing in it
                    report = owner.get(re.split(r"[#:](?=[^/]*$)", skipped.source)[0])
                    if report is not None:
                        report.notes.append(f"{Path(skipped.source).name}: {skipped.reason}")
        return reports

    def sources(self) -> list[ArticleInfo]:
        return self.catalogue.sources()

    def catalog(self) -> Catalog:
        return self.catalogue.catalog()

    def stats(self) -> dict[str, Any]:
        return self.catalogue.stats()
