"""Build or update the index incrementally, publishing a new generation atomically.

Unchanged articles (same content hash) keep their passages and vectors; changed and new ones are
re-chunked and embedded; articles whose files are gone are removed. The work happens in a new
generation directory; only when it is complete does ``current`` switch to it.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import chunk, dateline_day, sentence_spans
from .cleaning import clean
from .embedding import Embedder
from .errors import (
    DataDirReadOnly,
    DiskFull,
    IndexBusy,
    IndexCorrupt,
    IndexWriteError,
    ModelMismatch,
    QuotebotError,
)
from .multilingual import MultilingualEmbedder, is_current, update_vectors
from .parsing import Parser
from .records import Article, Document, IndexSummary, Passage, Skipped
from .settings import ChunkSettings, IngestSettings, MultilingualSettings, VectorSettings
from .snapshot import (
    DB_FILE,
    REBUILD,
    VECTORS_FILE,
    current_generation,
    new_generation,
    publish,
    read_manifest,
    remove_stale,
    verify_file,
)
from .sources import iter_files, read_file
from .store import ArticleRows, Store
from .vectors import Vectors

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; stages are "reading", "embedding", "parsing",
"multilingual", "saving"."""


@dataclass(frozen=True)
class IndexRun:
    """How one index run embeds, chunks and reads, and what it may drop."""

    embedder: Embedder
    chunking: ChunkSettings = ChunkSettings()
    vectors: VectorSettings = VectorSettings()
    ingest: IngestSettings = IngestSettings()
    parser: Parser | None = None  # each new passage's parse is stored too, for the answer reader
    prune: bool = True  # drop articles whose files are gone
    rebuild: bool = False  # start from an empty index, not from the served one
    progress: Progress | None = None
    # A second vector index of the passages for questions in other languages (None: none).
    multilingual: MultilingualEmbedder | None = None
    multilingual_settings: MultilingualSettings = MultilingualSettings()

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


def writer_lock(data_dir: Path) -> AbstractContextManager[None]:
    """One writer at a time per data directory; readers never wait for it."""
    return exclusive(
        data_dir / ".lock",
        IndexBusy(f"another index update is running in {data_dir}; try again later"),
    )


@contextmanager
def exclusive(lock_file: Path, busy: QuotebotError) -> Iterator[None]:
    """Hold ``lock_file`` exclusively (across processes), or raise ``busy`` at once."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        yield


_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
_KEPT = "the served index is unchanged"


@contextmanager
def write_errors(data_dir: Path) -> Iterator[None]:
    """A write that fails (full disk, size limit, read-only directory) becomes one clear error.

    Nothing is lost when it happens: the new generation is abandoned and ``current`` still
    points at the old one, so the message can say so.
    """
    try:
        yield
    except OSError as exc:
        where = exc.filename or data_dir
        if exc.errno in _NO_SPACE:
            raise DiskFull(
                f"no space left to write the index in {data_dir} ({exc.strerror}: {where}); "
                f"{_KEPT}: free some space and run `quotebot index` again"
            ) from None
        if exc.errno in _NOT_WRITABLE:
            raise DataDirReadOnly(
                f"cannot write the index in {data_dir} ({exc.strerror}: {where}); {_KEPT}: "
                "make the directory writable, or choose another with --data or QUOTEBOT_DATA"
            ) from None
        raise
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorname", "")
        if code == "SQLITE_FULL":
            raise DiskFull(
                f"no space left to write the index in {data_dir} ({exc}); {_KEPT}: "
                "free some space and run `quotebot index` again"
            ) from None
        if code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")):
            raise DataDirReadOnly(
                f"cannot write the index in {data_dir} ({exc}); {_KEPT}: make the directory "
                "writable, or choose another with --data or QUOTEBOT_DATA"
            ) from None
        if code.startswith("SQLITE_IOERR"):
            raise IndexWriteError(
                f"could not write the index in {data_dir} ({exc}); {_KEPT}: check free space, "
                "file size limits and permissions, then run `quotebot index` again"
            ) from None
        if code in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
            raise IndexCorrupt(
                f"the served index in {data_dir} is damaged ({exc}): "
                "rebuild it with `quotebot index --rebuild PATH...`"
            ) from None
        raise


def make_article(doc: Document, ident: str, chunking: ChunkSettings) -> Article:
    """Clean a document; its hash covers everything that changes passages or what is shown."""
    cleaned = clean(
        doc.text,
        title=doc.title,
        title_from_first_line=doc.fmt in ("txt", "md"),
        comments=doc.comments,
    )
    if not cleaned.title:
        cleaned = type(cleaned)(
            Path(doc.path or doc.key).stem, cleaned.text, cleaned.comments_start
        )
    published = iso_date(doc.published) if doc.published else None
    if published is None:  # a wire story's dateline, in the year its file was written
        day = dateline_day(cleaned.text, _written(doc))
        published = day.isoformat() if day is not None else None
    payload = json.dumps(
        [
            cleaned.title,
            cleaned.text,
            cleaned.comments_start,
            doc.url,
            published,
            chunking.max_words,
            chunking.overlap_sentences,
        ]
    )
    return Article(
        id=ident,
        key=doc.key,
        title=cleaned.title,
        text=cleaned.text,
        content_hash=hashlib.sha256(payload.encode()).hexdigest(),
        url=doc.url,
        published=published,
        path=doc.path,
        comments_start=cleaned.comments_start,
    )


def iso_date(text: str) -> str | None:
    """``text`` as ISO 8601 ("Thu, 26 Feb 1987 15:18:06 GMT" -> "1987-02-26T15:18:06+00:00"),
    so that dates sort and filter as text; None when it is no date at all."""
    text = text.strip()
    try:
        dt.datetime.fromisoformat(text)
        return text  # already ISO: kept as written
    except ValueError:
        pass
    import dateparser

    parsed = dateparser.parse(text, languages=["en"], settings={"STRICT_PARSING": False})
    return parsed.isoformat() if parsed is not None else None


def _written(doc: Document) -> dt.date:
    """When the article's file was last written (today for one that has no file)."""
    try:
        return dt.date.fromtimestamp(Path(doc.path).stat().st_mtime) if doc.path else dt.date.today()
    except OSError:
        return dt.date.today()


def document_text(title: str, passage: Passage) -> str:
    """What is embedded for a passage: the title gives short passages their context."""
    return f"{title}\n{passage.text}" if title else passage.text


@dataclass
class _Scan:
    docs: list[Document]
    skipped: list[Skipped]
    whole_files: set[str]  # files read without a skip: their missing JSONL ids were deleted


def _scan(paths: list[Path], ingest: IngestSettings) -> _Scan:
    scan = _Scan([], [], set())
    for item in iter_files(paths):
        if isinstance(item, Skipped):
            scan.skipped.append(item)
            continue
        ok = True
        for doc in read_file(item, ingest):
            if isinstance(doc, Skipped):
                scan.skipped.append(doc)
                ok = False  # a broken JSONL line may be an article we had: keep the file's
            else:
                scan.docs.append(doc)
        if ok:
            scan.whole_files.add(str(item.resolve()))
    return scan


def _unique_id(doc: Document, taken: set[str]) -> str:
    base = doc.ident if doc.ident is not None else Path(doc.path or doc.key).stem
    base = base.strip() or "article"
    if base not in taken:
        return base
    return f"{base}-{hashlib.sha256(doc.key.encode()).hexdigest()[:6]}"


def plan_changes(
    existing: dict[str, tuple[str, str, str | None]],
    taken: set[str],
    scan: _Scan,
    run: IndexRun,
    summary: IndexSummary,
) -> tuple[list[Article], list[tuple[str, str]]]:
    """What an index run changes, on either backend: the articles to (re)write, and the (key,
    id) of those whose files are gone. Skipped and unchanged ones go into ``summary``, added and
    updated ones too. ``existing`` is ``articles_by_key()``; ``taken`` the stored ids (grown)."""
    seen: set[str] = set()
    todo: list[Article] = []
    for doc in scan.docs:
        if doc.key in seen:
            summary.skipped.append(Skipped(doc.key, "duplicate id in the same input"))
            continue
        seen.add(doc.key)
        prior = existing.get(doc.key)
        ident = prior[0] if prior else _unique_id(doc, taken)
        article = make_article(doc, ident, run.chunking)
        if not article.text.strip():
            summary.skipped.append(Skipped(doc.key, "nothing left after removing boilerplate"))
            continue
        if prior and prior[1] == article.content_hash:
            summary.unchanged.append(ident)
            continue
        taken.add(ident)
        (summary.updated if prior else summary.added).append(ident)
        todo.append(article)

    gone = [
        (key, ident)
        for key, (ident, _h, path) in existing.items()
        if key not in seen
        and run.prune
        and path is not None
        and (not Path(path).exists() or (path in scan.whole_files and "#" in key))
    ]
    return todo, gone


def update_index(data_dir: Path, paths: list[Path], run: IndexRun) -> IndexSummary:
    """Bring the index in ``data_dir`` up to date with the articles under ``paths``."""
    started = time.perf_counter()
    with write_errors(data_dir), writer_lock(data_dir):
        remove_stale(data_dir)
        run.report("reading", 0, len(paths))
        scan = _scan(paths, run.ingest)
        old = None if run.rebuild else current_generation(data_dir)
        gen = new_generation(data_dir)
        try:
            summary, changed = _build_generation(old, gen, scan, run)
            if changed:
                run.report("saving", 0, 1)
                publish(data_dir, gen)
                run.report("saving", 1, 1)
            else:
                shutil.rmtree(gen)
        except BaseException:
            if current_generation(data_dir) != gen:  # never delete a generation once it is served
                shutil.rmtree(gen, ignore_errors=True)
            raise
        remove_stale(data_dir)
    summary.seconds = time.perf_counter() - started
    return summary


def _build_generation(
    old: Path | None, gen: Path, scan: _Scan, run: IndexRun
) -> tuple[IndexSummary, bool]:
    """Fill ``gen`` from ``old`` plus the scanned documents: what changed, and whether anything
    did (if not, ``gen`` is left unfinished)."""
    summary = IndexSummary(skipped=list(scan.skipped))
    embedder = run.embedder
    old_vecs = None
    if old is not None:
        # Building on a damaged generation would copy the damage into a freshly checksummed one.
        try:
            manifest = read_manifest(old)
            if manifest is not None:
                verify_file(old, DB_FILE, manifest)
            else:  # no checksums: at least SQLite's structural check
                Store.open(old / DB_FILE, readonly=True, quick_check=True).close()
            digest = str(manifest[VECTORS_FILE]["sha256"]) if manifest else None
            old_vecs = Vectors.load(old / VECTORS_FILE, digest)
        except IndexCorrupt as exc:
            raise IndexCorrupt(f"{exc}. The served index is damaged: {REBUILD}") from None
        src = sqlite3.connect(f"file:{old / DB_FILE}?mode=ro", uri=True)
        dst = sqlite3.connect(str(gen / DB_FILE))
        src.backup(dst)
        src.close()
        dst.close()
    store = Store.open(gen / DB_FILE, scratch=True)
    try:
        wrong = store.mismatch(embedder.name, embedder.dim)
        if store.get_meta("model") is not None and wrong is not None:
            raise ModelMismatch(f"{wrong[1]}: run `quotebot index --rebuild PATH...`")
        vecs = old_vecs if old_vecs is not None else Vectors.empty(embedder.dim, run.vectors)

        todo, gone = plan_changes(
            store.articles_by_key(), store.article_ids(), scan, run, summary
        )
        if (
            not todo
            and not gone
            and vecs.matches(run.vectors)
            and is_current(old, store, run.multilingual)
        ):
            return summary, False

        removed: list[int] = []  # removed together: an HNSW graph is rebuilt once per update
        for _key, ident in gone:
            removed += store.delete_article(ident)
            summary.removed.append(ident)
        for article in todo:
            if article.id in summary.updated:
                removed += store.delete_article(article.id)
        vecs.remove(removed)

        summary.passages_embedded = _embed_and_store(store, vecs, todo, run)
        vecs = vecs.fit(run.vectors)  # kind or size changed: retrain or convert
        summary.passages_multilingual = update_vectors(
            old, gen, store, run.multilingual, run.multilingual_settings, run.vectors, run.report
        )
        store.set_meta("model", embedder.name)
        store.set_meta("dim", str(embedder.dim))
        store.set_meta("updated_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        store.commit()
        vecs.save(gen / VECTORS_FILE)
    finally:
        store.close()
    return summary, True


def _embed_and_store(store: Store, vecs: Vectors, articles: list[Article], run: IndexRun) -> int:
    """Chunk, embed (and parse) ``articles`` into ``store`` and ``vecs``; the passages embedded."""
    rows, matrix = encode_articles(plan_passages(articles, run), run)
    next_id = store.max_passage_id() + 1
    row = 0
    for item in rows:
        ids = store.add_articles([item], next_id)
        vecs.add(list(ids), matrix[row : row + len(item.passages)])
        row += len(item.passages)
        next_id += len(item.passages)
    store.set_meta("last_passage_id", str(next_id - 1))
    return row


Planned = list[tuple[Article, list[Passage]]]


def plan_passages(articles: list[Article], run: IndexRun) -> Planned:
    """Each article with its passages (cheap: no model)."""
    return [(a, chunk(a.id, a.text, a.comments_start, run.chunking)) for a in articles]


def encode_articles(
    planned: Planned, run: IndexRun, done: int = 0, total: int | None = None
) -> tuple[list[ArticleRows], np.ndarray]:
    """Embed (and parse) planned articles: their rows as ``Store.add_articles`` writes them,
    and the passage vectors, one row per passage in order. Progress counts from ``done`` of
    ``total`` passages (a run that encodes in batches reports the whole run)."""
    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []  # each passage's sentences, into article.text
    local: list[list[tuple[int, int]]] = []  # the same, into the embedded text
    for article, passages in planned:
        for p in passages:
            text = document_text(article.title, p)
            shift = len(text) - len(p.text) - p.start
            spans.append(sentence_spans(article.text, p.start, p.end))
            local.append([(a + shift, b + shift) for a, b in spans[-1]])
            texts.append(text)
    first = done
    total = len(texts) + done if total is None else total

    def tick(n: int) -> None:
        nonlocal done
        done += n
        run.report("embedding", done, total)

    def tick_parse(n: int) -> None:
        nonlocal done
        done += n
        run.report("parsing", done, total)

    run.report("embedding", done, total)
    matrix, sentence_vecs = run.embedder.encode_passages(texts, local, progress=tick)
    parses = None
    if run.parser is not None:
        done = first
        run.report("parsing", done, total)
        texts = [p.text for _, ps in planned for p in ps]
        parses = [p.to_json() for p in run.parser.parse(texts, progress=tick_parse)]
    rows = []
    row = 0
    for article, passages in planned:
        span = range(row, row + len(passages))
        rows.append(
            ArticleRows(
                article,
                passages,
                [(spans[r], sentence_vecs[r]) for r in span],
                None if parses is None else parses[row : row + len(passages)],
            )
        )
        row += len(passages)
    return rows, matrix
