"""The index in PostgreSQL with pgvector: schema, connection pool, and the reads answering makes.

One schema holds one index: articles, passages (with a generated, weighted ``tsvector`` and a
``vector`` column under an HNSW index), sentence vectors, parses and metadata. There are no
generations: an index run commits one transaction per batch of articles (``pg_build.py``), so a
reader sees an article whole or not at all, and a crash loses at most the batch in flight.

psycopg, psycopg_pool and pgvector are imported here only: the SQLite backend needs none of them
(they are the ``pg`` extra).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .errors import IndexNotBuilt, ModelMismatch, StoreUnavailable, VectorExtensionMissing
from .migrations import migrate_postgres
from .settings import StoreSettings
from .snapshot import Catalogued, Snapshot, snapshot_stats
from .store import (
    ArticleInfo,
    Catalog,
    Dated,
    PassageRow,
    SentenceVectors,
    dated_sql,
    mismatch,
)
from .text import fts_words

try:
    import psycopg
    import psycopg_pool
    from pgvector.psycopg import register_vector
except ImportError as exc:  # pragma: no cover - the pg extra is part of `make install`
    raise StoreUnavailable(
        f"the PostgreSQL backend needs the pg extra ({exc.name} is missing): "
        "pip install -e '.[pg]'"
    ) from None

log = logging.getLogger(__name__)

GENERATION = "postgresql"  # what ``Snapshot.generation`` and ``stats`` say instead of gen-NNNNNN
REBUILD = "rebuild it with `quotebot index --rebuild PATH...`"
# The text search configuration: Snowball's English stemmer, like FTS5's porter tokenizer.
TS_CONFIG = "english"
# Title weight B = 0.3, text weight A = 1.0: FTS5's bm25(passages_fts, 1.0, 0.3).
TS_WEIGHTS = "{0.0, 0.0, 0.3, 1.0}"
_PASSWORD = re.compile(r"(://[^:/@\s]*:)\S*@")  # greedy: up to the host's @
_PASSWORD_KV = re.compile(r"(password\s*=\s*)(\S+)", re.I)


def redact(text: str) -> str:
    """``text`` without any password a connection URL or keyword string in it carries."""
    return _PASSWORD_KV.sub(r"\1***", _PASSWORD.sub(r"\1***@", text))


def _schema_v1(conn: psycopg.Connection[Any]) -> None:
    """Version 1: metadata, articles, passages with full text, sentence vectors and parses. The
    passages' vector column is added by the first index run, when the dimension is known."""
    conn.execute("create table meta (key text primary key, value text not null)")
    conn.execute(
        "create table articles (id text primary key, key text not null unique, title text, "
        "path text, url text, published text, text text not null, content_hash text not null, "
        "comments_start integer)"
    )
    conn.execute(
        "create table passages (id bigint primary key, "
        "article_id text not null references articles (id) on delete cascade, "
        'start integer not null, "end" integer not null, kind text not null, '
        "text text not null, title text, "
        f"tsv tsvector generated always as (setweight(to_tsvector('{TS_CONFIG}', "
        f"coalesce(title, '')), 'B') || setweight(to_tsvector('{TS_CONFIG}', text), 'A')) stored)"
    )
    conn.execute("create index passages_article on passages (article_id)")
    conn.execute("create index passages_tsv on passages using gin (tsv)")
    conn.execute(
        "create table sentences (passage_id bigint primary key references passages (id) "
        "on delete cascade, spans text not null, vectors bytea not null)"
    )
    conn.execute(
        "create table parses (passage_id bigint primary key references passages (id) "
        "on delete cascade, parse text not null)"
    )
    conn.execute("create sequence passage_ids")


MIGRATIONS: list[Callable[[psycopg.Connection[Any]], None]] = [_schema_v1]


class PgDatabase:
    """One schema of one PostgreSQL database: its connection pool, created on first use."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.schema = settings.schema
        self.where = f"{redact(settings.url)} (schema {self.schema})"
        self._pool: psycopg_pool.ConnectionPool[Any] | None = None
        self._opening = threading.Lock()
        self._extension_schema = "public"

    # -- connections -----------------------------------------------------------------------------
    def _options(self) -> dict[str, Any]:
        timeout_ms = int(self.settings.statement_timeout_s * 1000)
        return {
            "connect_timeout": max(1, math.ceil(self.settings.connect_timeout_s)),
            "options": f"-c search_path={self.schema},{self._extension_schema} "
            f"-c statement_timeout={timeout_ms}",
            "application_name": "quotebot",
        }

    def unavailable(self, exc: BaseException) -> StoreUnavailable:
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return StoreUnavailable(
            f"the index database {self.where} is unavailable ({reason}); "
            "check that the server runs and [store] url, then try again"
        )

    def connect(self, autocommit: bool = False) -> psycopg.Connection[Any]:
        """A connection of its own (the index run's, which holds the writer lock)."""
        self.prepare()
        try:
            conn = psycopg.connect(self.settings.url, autocommit=autocommit, **self._options())
        except psycopg.Error as exc:
            raise self.unavailable(exc) from None
        register_vector(conn)
        return conn

    def prepare(self) -> None:
        """Create the extension and the schema, migrated, and the pool, once per process (the
        full-text thread and the question's thread may both be first)."""
        if self._pool is not None:
            return
        with self._opening:
            if self._pool is None:
                self._open()

    def _open(self) -> None:
        try:
            with psycopg.connect(
                self.settings.url, autocommit=True,
                connect_timeout=max(1, math.ceil(self.settings.connect_timeout_s)),
            ) as conn:
                with conn.transaction():  # "if not exists" still races another process
                    conn.execute("select pg_advisory_xact_lock(hashtext('quotebot-prepare'))")
                    self._extension_schema = self._ensure_extension(conn)
                    conn.execute(f'create schema if not exists "{self.schema}"')
                conn.execute(f"set search_path = {self.schema}, {self._extension_schema}")
                migrate_postgres(conn, MIGRATIONS, lock=f"quotebot-migrate:{self.schema}")
        except psycopg.OperationalError as exc:
            raise self.unavailable(exc) from None
        pool = psycopg_pool.ConnectionPool(
            self.settings.url,
            min_size=1,
            max_size=self.settings.pool_size,
            kwargs={**self._options(), "autocommit": True},
            configure=register_vector,
            # a connection the server dropped (a restart, a failover) is replaced before use, so
            # the first question after an outage is answered rather than refused
            check=psycopg_pool.ConnectionPool.check_connection,
            timeout=self.settings.connect_timeout_s,
            open=False,
            name=f"quotebot-{self.schema}",
        )
        try:
            pool.open(wait=True, timeout=self.settings.connect_timeout_s)
        except psycopg_pool.PoolTimeout as exc:
            pool.close()
            raise self.unavailable(exc) from None
        self._pool = pool

    def _ensure_extension(self, conn: psycopg.Connection[Any]) -> str:
        """The schema pgvector lives in; created in ``public`` when it is not installed yet."""
        row = conn.execute(
            "select extnamespace::regnamespace::text from pg_extension where extname = 'vector'"
        ).fetchone()
        if row is not None:
            return str(row[0])
        try:
            conn.execute("create extension if not exists vector schema public")
        except psycopg.Error as exc:
            raise VectorExtensionMissing(
                f"{self.where} has no pgvector extension and it cannot be created there "
                f"({redact(str(exc).strip().splitlines()[0])}): install pgvector on the server "
                "and run `create extension vector;` as a database owner"
            ) from None
        return "public"

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit: each statement sees the batches committed so far)."""
        self.prepare()
        assert self._pool is not None
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            # QueryCanceled (the statement timeout) is an OperationalError too
            raise self.unavailable(exc) from None

    def meta(self) -> dict[str, str]:
        with self.reading() as conn:
            return dict(conn.execute("select key, value from meta").fetchall())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def drop(self) -> None:
        """Remove the schema and everything in it (tests, and eval indexes)."""
        self.close()
        try:
            with psycopg.connect(self.settings.url, autocommit=True) as conn:
                conn.execute(f'drop schema if exists "{self.schema}" cascade')
        except psycopg.OperationalError as exc:
            raise self.unavailable(exc) from None


def meta_mismatch(
    meta: dict[str, str], model: str | None, dim: int | None
) -> tuple[str, str] | None:
    """``store.mismatch`` for the ``meta`` table's rows."""
    return mismatch(meta.get("model"), int(meta.get("dim") or 0), model, dim)


_ROW = (
    'select p.id, p.article_id, p.start, p."end", p.kind, p.text, a.title, a.path, a.url, '
    "a.published from passages p join articles a on a.id = p.article_id"
)


def ts_query(question: str) -> str | None:
    """A ``websearch_to_tsquery`` text: each of the question's words quoted, joined by ``or``,
    as FTS5 is asked (``text.fts_query``); quoting makes ``-`` and ``or`` in a question words."""
    words = [w.replace('"', " ") for w in fts_words(question)]
    words = [w for w in words if w.strip()]
    return " or ".join(f'"{w}"' for w in words) if words else None


_NOT_COUNTED = object()  # what no ``meta.changes`` value equals, not even a missing one


class PgStore:
    """The reads of ``index.backend.ReadStore``, one pooled connection per statement."""

    def __init__(self, db: PgDatabase) -> None:
        self.db = db
        # word -> passages holding it, and the passages counted, as of ``_counted_at``
        self._df: dict[str, int] = {}
        self._n = 0
        self._counted_at: object = _NOT_COUNTED
        self._counting = threading.Lock()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.db.reading() as conn:
            return conn.execute(sql, args).fetchall()

    def fts_search(
        self, question: str, limit: int, max_postings: int = 0, dated: Dated | None = None
    ) -> list[tuple[int, float]]:
        """(passage id, score, higher is better) for the question's words: the passages holding
        any of them (GIN), ranked by each word's ``ts_rank`` times its idf. ts_rank alone weighs
        every word alike, so a common word would rank as high as a rare one; bm25 (the SQLite
        backend's) weighs them by idf too. ``max_postings`` is the SQLite backend's bm25 cost
        cap; the GIN index needs none."""
        words = [w for w in (w.replace('"', " ").strip() for w in fts_words(question)) if w]
        if not words:
            return []
        weights = self._idf(words)
        if not weights:
            return []
        where, args = "", []
        if dated is not None:
            cond, args = dated_sql(dated, "%s")
            where = f" and p.article_id in (select a.id from articles a where {cond})"
        terms = [f'"{w}"' for w in weights]
        rank = " + ".join(
            f"ts_rank('{TS_WEIGHTS}', p.tsv, websearch_to_tsquery('{TS_CONFIG}', %s), 1) * %s"
            for _ in terms
        )
        sql = (
            f"select p.id, {rank} as rank from passages p "
            f"where p.tsv @@ websearch_to_tsquery('{TS_CONFIG}', %s){where} "
            "order by rank desc, p.id limit %s"
        )
        ranked = [x for term in terms for x in (term, weights[term[1:-1]])]
        rows = self._all(sql, [*ranked, " or ".join(terms), *args, limit])
        return [(int(i), float(r)) for i, r in rows]

    def _idf(self, words: list[str]) -> dict[str, float]:
        """bm25's idf of each word that matches any passage, from counts cached until the index
        changes (``meta.changes``, counted up by every committed batch)."""
        with self._counting, self.db.reading() as conn:  # questions run in several threads
            (changed,) = conn.execute(
                "select value from meta where key = 'changes'"
            ).fetchone() or (None,)
            if changed != self._counted_at:
                self._df.clear()
                (self._n,) = conn.execute("select count(*) from passages").fetchone()  # type: ignore[misc]
                self._counted_at = changed
            for word in words:
                if word not in self._df:
                    (self._df[word],) = conn.execute(  # type: ignore[misc]
                        "select count(*) from passages "
                        f"where tsv @@ websearch_to_tsquery('{TS_CONFIG}', %s)",
                        [f'"{word}"'],
                    ).fetchone()
            n, df = self._n, {w: self._df[w] for w in words}
        return {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items() if d}

    def dated_passages(self, dated: Dated) -> list[int]:
        cond, args = dated_sql(dated, "%s")
        sql = f"select p.id from passages p join articles a on a.id = p.article_id where {cond}"
        return [r[0] for r in self._all(sql, args)]

    def leads(self, dated: Dated, limit: int) -> list[PassageRow]:
        """The first passage of each article published in ``dated``, newest first."""
        cond, args = dated_sql(dated, "%s")
        sql = (
            f"{_ROW} where {cond} and p.kind = 'article' and p.start = (select min(q.start) "
            "from passages q where q.article_id = p.article_id and q.kind = 'article') "
            "order by a.published desc, a.id limit %s"
        )
        return [PassageRow(*r) for r in self._all(sql, [*args, limit])]

    def dated_articles(self, dated: Dated) -> int:
        cond, args = dated_sql(dated, "%s")
        return int(self._all(f"select count(*) from articles a where {cond}", args)[0][0])

    def newest_published(self) -> str | None:
        return self._all("select max(published) from articles")[0][0]

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRow]:
        ids = list(ids)
        if not ids:
            return {}
        return {r[0]: PassageRow(*r) for r in self._all(f"{_ROW} where p.id = any(%s)", [ids])}

    def sentences(self, ids: Iterable[int], dim: int) -> dict[int, SentenceVectors]:
        ids = list(ids)
        if not ids:
            return {}
        rows = self._all(
            "select passage_id, spans, vectors from sentences where passage_id = any(%s)", [ids]
        )
        return {
            pid: SentenceVectors(
                [tuple(s) for s in json.loads(spans)],
                np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(-1, dim),
            )
            for pid, spans, blob in rows
        }

    def parses(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        if not ids:
            return {}
        sql = "select passage_id, parse from parses where passage_id = any(%s)"
        return dict(self._all(sql, [ids]))  # type: ignore[arg-type]

    def passage_articles(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        if not ids:
            return {}
        sql = "select id, article_id from passages where id = any(%s)"
        return dict(self._all(sql, [ids]))  # type: ignore[arg-type]

    def article_text(self, article_id: str) -> str:
        rows = self._all("select text from articles where id = %s", [article_id])
        return rows[0][0] if rows else ""

    def sources(self) -> list[ArticleInfo]:
        sql = (
            "select a.id, a.title, a.path, a.url, a.published, count(p.id) from articles a "
            "left join passages p on p.article_id = a.id group by a.id order by a.id"
        )
        return [ArticleInfo(*r) for r in self._all(sql)]

    def catalog(self) -> Catalog:
        with self.db.reading() as conn, conn.transaction():  # both counts of one moment
            conn.execute("set transaction isolation level repeatable read")
            arts, first, last = conn.execute(
                "select count(*), min(published), max(published) from articles"
            ).fetchone()  # type: ignore[misc]
            (passages,) = conn.execute("select count(*) from passages").fetchone()  # type: ignore[misc]
        return Catalog(arts, passages, first, last)

    def counts(self) -> dict[str, Any]:
        cat = self.catalog()
        (comments,) = self._all("select count(*) from passages where kind = 'comment'")[0]
        return {"articles": cat.articles, "passages": cat.passages, "comment_passages": comments}

    def close(self) -> None:
        """Nothing of its own: the pool belongs to the database."""


class PgVectors:
    """pgvector's HNSW cosine search over ``passages.embedding``."""

    def __init__(self, db: PgDatabase, dim: int, ef_search: int) -> None:
        self.db = db
        self._dim = dim
        self.ef_search = ef_search

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        with self.db.reading() as conn:
            row = conn.execute("select count(embedding) from passages").fetchone()
        return int(row[0]) if row else 0

    def search(
        self,
        query: np.ndarray,
        k: int,
        candidates: Sequence[int] = (),
        within: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` passages nearest ``query`` (cosine, higher is better), as
        ``Vectors.search``: exact within ``within``; ``candidates`` the graph missed placed by
        their exact score."""
        if k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
        with self.db.reading() as conn, conn.transaction():
            if within is not None:
                # materialised: the filter runs first and the distances are exact, not the
                # graph's first k filtered afterwards
                rows = conn.execute(
                    "with w as materialized (select id, embedding from passages "
                    "where id = any(%s)) select id, 1 - (embedding <=> %s) from w "
                    "order by embedding <=> %s, id limit %s",
                    [list(within), q, q, k],
                ).fetchall()
                return [(int(i), float(s)) for i, s in rows]
            # ef_search below k would return fewer than k passages
            conn.execute(
                "select set_config('hnsw.ef_search', %s, true)", [str(max(self.ef_search, k))]
            )
            rows = conn.execute(
                "select id, 1 - (embedding <=> %s) from passages "
                "order by embedding <=> %s limit %s",
                [q, q, k],
            ).fetchall()
            hits = [(int(i), float(s)) for i, s in rows]
            found = {i for i, _ in hits}
            missed = [c for c in dict.fromkeys(candidates) if c not in found]
            if not missed:
                return hits
            extra = conn.execute(
                "select id, 1 - (embedding <=> %s) from passages where id = any(%s)",
                [q, missed],
            ).fetchall()
        floor = hits[-1][1] if len(hits) >= k else -math.inf
        more = [(int(i), float(s)) for i, s in extra if s > floor]
        return sorted(hits + more, key=lambda hit: -hit[1])[:k]


class PgServed(Catalogued):
    """The served index in PostgreSQL: always the one database, so one snapshot serves every
    question; what changes under it changes a committed batch at a time."""

    def __init__(
        self, db: PgDatabase, model: str | None = None, dim: int | None = None,
        ef_search: int = 128,
    ) -> None:
        self.db, self.model, self.dim, self.ef_search = db, model, dim, ef_search
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        """The snapshot, after reading the model it was built with (one small query): an index
        rebuilt meanwhile by another process, with another model, is a clear error here."""
        meta = self.db.meta()
        if "model" not in meta:
            raise IndexNotBuilt(
                f"no index in {self.db.where}: build one with `quotebot index PATH...`"
            )
        wrong = meta_mismatch(meta, self.model, self.dim)
        if wrong is not None:
            raise ModelMismatch(f"{self.db.where}: {wrong[1]}: {REBUILD}")
        built = (meta["model"], int(meta["dim"]))
        if self._snapshot is None or (self._snapshot.model, self._snapshot.dim) != built:
            self._snapshot = Snapshot(
                GENERATION, PgStore(self.db), PgVectors(self.db, built[1], self.ef_search),
                *built,
            )
        return self._snapshot

    def stats(self) -> dict[str, Any]:
        snap = self.snapshot()
        with self.db.reading() as conn:
            sizes = dict(
                conn.execute(
                    "select c.relname, pg_total_relation_size(c.oid) from pg_class c "
                    "join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = %s and c.relkind = 'r' order by c.relname",
                    [self.db.schema],
                ).fetchall()
            )
        return snapshot_stats(snap, sizes)  # "files" are the tables here, with their indexes
