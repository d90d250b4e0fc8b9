"""The incremental index run on PostgreSQL: one transaction per batch of articles.

What changes is planned as for the SQLite backend (``builder.plan_changes``). Removed articles go
in one transaction; then each batch of new and changed articles is embedded outside any
transaction and written in one (a changed article's old rows are deleted in the same one), so a
reader never sees half an article or an article missing while it is replaced. A crash (kill -9)
loses at most the batch in flight; the rerun finds the committed articles unchanged and writes
the rest. One run at a time per schema: a session advisory lock, released by the server when the
run's connection ends, however it ends.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from .builder import IndexRun, Planned, _scan, encode_articles, plan_changes, plan_passages
from .errors import DiskFull, IndexBusy, ModelMismatch
from .pg import PgDatabase, meta_mismatch
from .records import IndexSummary
from .settings import VectorSettings
from .store import ArticleRows

log = logging.getLogger(__name__)

BATCH_PASSAGES = 256  # passages per transaction: small enough that a crash loses little


@contextmanager
def advisory_lock(conn: psycopg.Connection[Any], name: str, busy: Exception) -> Iterator[None]:
    """Hold the session advisory lock ``name`` on ``conn``, or raise ``busy`` at once."""
    (got,) = conn.execute("select pg_try_advisory_lock(hashtext(%s))", [name]).fetchone()  # type: ignore[misc]
    if not got:
        raise busy
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", [name])


def index_lock_name(db: PgDatabase) -> str:
    return f"quotebot-index:{db.schema}"


def update_postgres(db: PgDatabase, paths: list[Path], run: IndexRun) -> IndexSummary:
    """Bring the index in ``db`` up to date with the articles under ``paths``."""
    started = time.perf_counter()
    conn = db.connect(autocommit=True)
    try:
        busy = IndexBusy(f"another index update is running on {db.where}; try again later")
        with advisory_lock(conn, index_lock_name(db), busy):
            summary = _update(conn, db, paths, run)
    except psycopg.errors.DiskFull as exc:
        raise DiskFull(
            f"the database {db.where} is out of space ({exc}); the articles committed so far "
            "are served: free some space and run `quotebot index` again"
        ) from None
    except psycopg.OperationalError as exc:
        raise db.unavailable(exc) from None
    finally:
        conn.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _update(
    conn: psycopg.Connection[Any], db: PgDatabase, paths: list[Path], run: IndexRun
) -> IndexSummary:
    run.report("reading", 0, len(paths))
    scan = _scan(paths, run.ingest)
    summary = IndexSummary(skipped=list(scan.skipped))
    embedder = run.embedder
    if run.rebuild:
        with conn.transaction():
            conn.execute("truncate articles, passages, sentences, parses")
            conn.execute("delete from meta")
            conn.execute("alter table passages drop column if exists embedding")
    meta = dict(conn.execute("select key, value from meta").fetchall())
    if "model" in meta:
        wrong = meta_mismatch(meta, embedder.name, embedder.dim)
        if wrong is not None:
            raise ModelMismatch(f"{db.where}: {wrong[1]}: run `quotebot index --rebuild PATH...`")
    else:
        with conn.transaction():
            _add_vectors(conn, embedder.name, embedder.dim, run.vectors)

    rows = conn.execute("select key, id, content_hash, path from articles").fetchall()
    existing = {key: (ident, h, path) for key, ident, h, path in rows}
    todo, gone = plan_changes(existing, {r[1] for r in rows}, scan, run, summary)
    if gone:
        with conn.transaction():
            conn.execute("delete from articles where id = any(%s)", [[i for _k, i in gone]])
            _touch(conn)
        summary.removed.extend(ident for _key, ident in gone)

    planned = plan_passages(todo, run)
    total = sum(len(passages) for _a, passages in planned)
    batches = list(_batches(planned))
    done = 0
    for number, batch in enumerate(batches, 1):
        items, matrix = encode_articles(batch, run, done, total)
        with conn.transaction():
            _write(conn, items, matrix)
            _touch(conn)
        done += len(matrix)
        run.report("saving", number, len(batches))
    summary.passages_embedded = total
    return summary


def _add_vectors(
    conn: psycopg.Connection[Any], model: str, dim: int, settings: VectorSettings
) -> None:
    """The first run's vector column, its HNSW index, and the model it was built for."""
    conn.execute("alter table passages drop column if exists embedding")
    conn.execute(f"alter table passages add column embedding vector({int(dim)}) not null")
    # Cosine distance; the model's vectors are normalised, so its order is inner product's.
    conn.execute(
        "create index passages_embedding on passages using hnsw (embedding vector_cosine_ops) "
        f"with (m = {int(settings.hnsw_m)}, ef_construction = {int(settings.hnsw_ef_construction)})"
    )
    for key, value in (("model", model), ("dim", str(dim))):
        _set_meta(conn, key, value)


def _set_meta(conn: psycopg.Connection[Any], key: str, value: str) -> None:
    conn.execute(
        "insert into meta (key, value) values (%s, %s) "
        "on conflict (key) do update set value = excluded.value",
        [key, value],
    )


def _touch(conn: psycopg.Connection[Any]) -> None:
    """Record a committed change: when, and a counter that readers' cached counts key on
    (two runs may commit within the same second)."""
    _set_meta(conn, "updated_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    conn.execute(
        "insert into meta (key, value) values ('changes', '1') on conflict (key) "
        "do update set value = (meta.value::bigint + 1)::text"
    )


def _batches(planned: Planned) -> Iterator[Planned]:
    batch: Planned = []
    size = 0
    for item in planned:
        batch.append(item)
        size += len(item[1])
        if size >= BATCH_PASSAGES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _write(conn: psycopg.Connection[Any], items: list[ArticleRows], matrix: np.ndarray) -> None:
    """Write articles (replacing any stored version) with their passages, vectors, sentence
    vectors and parses; inside the caller's transaction."""
    count = sum(len(item.passages) for item in items)
    ids = [r[0] for r in conn.execute(
        "select nextval('passage_ids') from generate_series(1, %s)", [count]
    ).fetchall()]
    # the old version of a changed article, with its passages (on delete cascade)
    conn.execute("delete from articles where id = any(%s)", [[i.article.id for i in items]])
    with conn.cursor() as cur:
        cur.executemany(
            "insert into articles (id, key, title, path, url, published, text, content_hash, "
            "comments_start) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (a.id, a.key, a.title, a.path, a.url, a.published, a.text, a.content_hash,
                 a.comments_start)
                for a in (item.article for item in items)
            ],
        )
        passages, sentences, parses = [], [], []
        row = 0
        for item in items:
            a = item.article
            for p, (spans, vecs) in zip(item.passages, item.sentences, strict=True):
                pid = ids[row]
                passages.append(
                    (pid, a.id, p.start, p.end, p.kind, p.text, a.title,
                     np.asarray(matrix[row], dtype=np.float32))
                )
                sentences.append(
                    (pid, json.dumps(spans), np.asarray(vecs, dtype=np.float16).tobytes())
                )
                row += 1
            if item.parses is not None:
                first = row - len(item.passages)
                parses.extend(zip(ids[first:row], item.parses, strict=True))
        cur.executemany(
            'insert into passages (id, article_id, start, "end", kind, text, title, embedding) '
            "values (%s, %s, %s, %s, %s, %s, %s, %s)",
            passages,
        )
        cur.executemany(
            "insert into sentences (passage_id, spans, vectors) values (%s, %s, %s)", sentences
        )
        if parses:
            cur.executemany("insert into parses (passage_id, parse) values (%s, %s)", parses)
