"""Articles, passages, a full-text table and metadata in one SQLite file, through sqlite-utils."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from . import migrations
from .errors import IndexCorrupt
from .records import Article, Passage
from .text import fts_query, fts_words

REQUIRED_TABLES = frozenset(["meta", "articles", "passages", "sentences", "passages_fts"])


def _create(db: sqlite_utils.Database) -> None:
    """Version 1: articles, passages, their sentence vectors, full text and metadata."""
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["articles"].create(
        {
            "id": str,
            "key": str,
            "title": str,
            "path": str,
            "url": str,
            "published": str,
            "text": str,
            "content_hash": str,
            "comments_start": int,
        },
        pk="id",
        if_not_exists=True,
    )
    db["articles"].create_index(["key"], unique=True, if_not_exists=True)
    db["passages"].create(
        {
            "id": int,
            "article_id": str,
            "start": int,
            "end": int,
            "kind": str,
            "text": str,
            "title": str,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
        if_not_exists=True,
    )
    db["passages"].create_index(["article_id"], if_not_exists=True)
    # Sentence spans (article offsets) and their vectors, fp16, computed at index time so
    # that choosing the sentences to quote costs no model call at question time.
    db["sentences"].create(
        {"passage_id": int, "spans": str, "vectors": bytes},
        pk="passage_id",
        foreign_keys=[("passage_id", "passages", "id")],
        if_not_exists=True,
    )
    db["passages"].enable_fts(
        ["text", "title"],
        tokenize="porter unicode61 remove_diacritics 2",
        create_triggers=True,
        replace=True,
    )


def _add_parses(db: sqlite_utils.Database) -> None:
    """Version 2: each passage's spaCy parse (index/parsing.py), so that finding the answer span
    costs no parsing at question time. Optional: a passage without one is parsed then."""
    db["parses"].create(
        {"passage_id": int, "parse": str},
        pk="passage_id",
        foreign_keys=[("passage_id", "passages", "id")],
        if_not_exists=True,
    )


MIGRATIONS: list[migrations.Step] = [_create, _add_parses]


@dataclass(frozen=True)
class ArticleInfo:
    id: str
    title: str
    path: str | None
    url: str | None
    published: str | None
    passages: int


# Publication days (ISO "1987-02-26", inclusive) from and to; None leaves that end open.
Dated = tuple[str | None, str | None]


@dataclass(frozen=True)
class Catalog:
    articles: int
    passages: int
    first_published: str | None
    last_published: str | None


@dataclass(frozen=True)
class PassageRow:
    id: int
    article_id: str
    start: int
    end: int
    kind: str
    text: str
    title: str
    path: str | None
    url: str | None
    published: str | None


@dataclass(frozen=True)
class SentenceVectors:
    spans: list[tuple[int, int]]
    vectors: np.ndarray


@dataclass(frozen=True)
class ArticleRows:
    """An article as ``Store.add_articles`` writes it: its passages, each passage's sentence
    spans (article offsets) with their vectors, and each passage's parse (JSON) when parsed."""

    article: Article
    passages: Sequence[Passage]
    sentences: Sequence[tuple[Sequence[tuple[int, int]], np.ndarray]]
    parses: Sequence[str] | None = None


# The columns ``add_articles`` fills, in the order of its rows (quoted: "key" and "end" are SQL).
_COLUMNS = {
    "articles": (
        "id",
        "key",
        "title",
        "path",
        "url",
        "published",
        "text",
        "content_hash",
        "comments_start",
    ),
    "passages": ("id", "article_id", "start", "end", "kind", "text", "title"),
    "sentences": ("passage_id", "spans", "vectors"),
    "parses": ("passage_id", "parse"),
}
_BATCH = 20_000  # passages per executemany: a million-passage load stays in bounded memory


class Store:
    """One generation's SQLite file. Writers use ``create``; readers open it read-only."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        # word -> passages holding it; a generation never changes once written
        self._postings: dict[str, int] = {}

    @classmethod
    def open(
        cls, path: Path, readonly: bool = False, quick_check: bool = False, scratch: bool = False
    ) -> Store:
        """Open a generation's database; a damaged or foreign file raises IndexCorrupt.

        ``quick_check`` runs SQLite's structural check (it reads every page, so it costs time in
        proportion to the file): for files that no checksum vouches for. ``scratch`` is a file
        being built: no fsync per commit, since until it is published and fsynced a crash
        discards it with its generation, and per-article durability would only cost time.
        """
        if readonly:
            if not path.is_file():
                raise IndexCorrupt(f"{path} is missing")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), check_same_thread=False)
        store = cls(conn)
        if scratch and not readonly:
            conn.execute("pragma synchronous = off")
        try:
            store.check_readable(required=readonly)
            if quick_check:
                problems = [r[0] for r in conn.execute("pragma quick_check(5)")]
                if problems != ["ok"]:
                    raise IndexCorrupt(f"{path}: damaged database ({'; '.join(problems)})")
            if not readonly:
                store.migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            if not readonly:
                raise  # a write that failed (full disk, read-only directory): the builder says so
            raise IndexCorrupt(f"{path}: not a readable quotebot database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        return store

    def check_readable(self, required: bool = False) -> None:
        """Read the schema; with ``required``, the tables of a built index must all be there."""
        names = {r[0] for r in self.conn.execute("select name from sqlite_master")}
        missing = sorted(REQUIRED_TABLES - names) if required else []
        if missing:
            raise IndexCorrupt(f"not a quotebot index: no table {', '.join(missing)}")

    def migrate(self) -> None:
        """Create the schema, or upgrade an older file's, one numbered step at a time."""
        # files written before the version moved to user_version kept it in meta
        migrations.migrate(self.db, MIGRATIONS, legacy=int(self.get_meta("schema_version") or 0))

    # -- metadata --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        if "meta" not in self.db.table_names():
            return None
        row = self.conn.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else None


    def mismatch(self, model: str | None, dim: int | None) -> tuple[str, str] | None:
        """(problem, why) when the index was not built for ``model`` with ``dim``-d vectors
        (None compares nothing): the one check ``open_snapshot``, the builder and ``check``
        share."""
        return mismatch(self.get_meta("model"), int(self.get_meta("dim") or 0), model, dim)
    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    # -- writing ---------------------------------------------------------------------------------
    def articles_by_key(self) -> dict[str, tuple[str, str, str | None]]:
        """key -> (id, content_hash, path) of every stored article."""
        rows = self.conn.execute("select key, id, content_hash, path from articles")
        return {key: (ident, h, path) for key, ident, h, path in rows}

    def article_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("select id from articles")}

    def passage_ids_of(self, article_id: str) -> list[int]:
        rows = self.conn.execute("select id from passages where article_id = ?", [article_id])
        return [r[0] for r in rows]

    def delete_article(self, article_id: str) -> list[int]:
        """Remove an article and its passages; returns the passage ids whose vectors must go."""
        ids = self.passage_ids_of(article_id)
        for table in ("sentences", "parses"):
            self.conn.execute(
                f"delete from {table} where passage_id in "
                "(select id from passages where article_id = ?)",
                [article_id],
            )
        self.conn.execute("delete from passages where article_id = ?", [article_id])
        self.conn.execute("delete from articles where id = ?", [article_id])
        return ids

    def add_articles(self, rows: Iterable[ArticleRows], first_id: int) -> range:
        """Write articles with their passages, sentence vectors and parses; passage ids count
        up from ``first_id``. Returns the ids given. The one writer of these rows: the builder
        and bulk loads (benchmarks/scale_corpus.py) encode them alike through it."""
        batch: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _COLUMNS}
        next_id = first_id
        for item in rows:
            a = item.article
            batch["articles"].append(
                (
                    a.id,
                    a.key,
                    a.title,
                    a.path,
                    a.url,
                    a.published,
                    a.text,
                    a.content_hash,
                    a.comments_start,
                )
            )
            ids = range(next_id, next_id + len(item.passages))
            for pid, p, (spans, vecs) in zip(ids, item.passages, item.sentences, strict=True):
                batch["passages"].append((pid, a.id, p.start, p.end, p.kind, p.text, a.title))
                batch["sentences"].append(
                    (pid, json.dumps(spans), np.asarray(vecs, dtype=np.float16).tobytes())
                )
            if item.parses is not None:
                batch["parses"].extend(zip(ids, item.parses, strict=True))
            next_id = ids.stop
            if len(batch["passages"]) >= _BATCH:
                self._insert(batch)
        self._insert(batch)
        return range(first_id, next_id)

    def _insert(self, batch: dict[str, list[tuple[Any, ...]]]) -> None:
        for table, rows in batch.items():  # articles first: passages point at them
            if rows:
                columns = ", ".join(f'"{c}"' for c in _COLUMNS[table])
                marks = ", ".join("?" * len(_COLUMNS[table]))
                self.conn.executemany(f"insert into {table} ({columns}) values ({marks})", rows)
                rows.clear()

    @contextmanager
    def full_text_deferred(self) -> Iterator[None]:
        """Passages written inside are indexed for full text once, on leaving, not by a trigger
        per row: much faster for a bulk load into a new file, but the rebuild reads every
        passage, so not for a few articles added to a large index."""
        triggers = self.conn.execute(
            "select name, sql from sqlite_master where type = 'trigger' and tbl_name = 'passages'"
        ).fetchall()
        for name, _sql in triggers:
            self.conn.execute(f'drop trigger "{name}"')
        try:
            yield
            self.conn.execute("insert into passages_fts(passages_fts) values ('rebuild')")
        finally:
            for _name, sql in triggers:
                self.conn.execute(sql)

    def max_passage_id(self) -> int:
        row = self.conn.execute("select max(id) from passages").fetchone()
        stored = int(self.get_meta("last_passage_id") or 0)
        return max(stored, row[0] or 0)

    def commit(self) -> None:
        self.conn.commit()

    # -- reading ---------------------------------------------------------------------------------
    def fts_search(
        self, question: str, limit: int, max_postings: int = 0, dated: Dated | None = None
    ) -> list[tuple[int, float]]:
        """(passage id, bm25 score, higher is better) for the question's words.

        SQLite computes bm25 for every passage that matches, so on a large index a common word
        costs time in proportion to the passages holding it. With ``max_postings``, the commonest
        words are left out while the passages holding the words add up to more than that; the
        rarest word always stays. Common words weigh little in bm25 (low idf) anyway.
        """
        words = fts_words(question)
        if max_postings and len(words) > 1:
            by_count = sorted(words, key=self.postings)
            total, keep = 0, []
            for word in by_count:
                total += self.postings(word)
                if keep and total > max_postings:
                    break
                keep.append(word)
            words = keep
        match = fts_query(words)
        if match is None:
            return []
        where, args = "", []
        if dated is not None:  # only passages of articles published then
            cond, args = dated_sql(dated)
            where = (" and rowid in (select p.id from passages p join articles a on "
                     f"a.id = p.article_id where {cond})")
        sql = (
            "select rowid, -bm25(passages_fts, 1.0, 0.3) from passages_fts "
            f"where passages_fts match ?{where} order by bm25(passages_fts, 1.0, 0.3) limit ?"
        )
        return [(int(r[0]), float(r[1])) for r in self.conn.execute(sql, [match, *args, limit])]

    def dated_passages(self, dated: Dated) -> list[int]:
        """The passages of the articles published from ``dated[0]`` to ``dated[1]``."""
        cond, args = dated_sql(dated)
        sql = f"select p.id from passages p join articles a on a.id = p.article_id where {cond}"
        return [r[0] for r in self.conn.execute(sql, args)]

    def leads(self, dated: Dated, limit: int) -> list[PassageRow]:
        """The first passage of each article published in ``dated``, newest first."""
        cond, args = dated_sql(dated)
        sql = (
            "select p.id, p.article_id, p.start, p.end, p.kind, p.text, a.title, a.path, a.url, "
            "a.published from passages p join articles a on a.id = p.article_id "
            f"where {cond} and p.kind = 'article' and p.start = (select min(q.start) from "
            "passages q where q.article_id = p.article_id and q.kind = 'article') "
            "order by a.published desc, a.id limit ?"
        )
        return [PassageRow(*r) for r in self.conn.execute(sql, [*args, limit])]

    def dated_articles(self, dated: Dated) -> int:
        """How many articles were published from ``dated[0]`` to ``dated[1]``."""
        cond, args = dated_sql(dated)
        (n,) = self.conn.execute(f"select count(*) from articles a where {cond}", args).fetchone()
        return int(n)

    def postings(self, word: str) -> int:
        """How many passages hold ``word``; cached, since counting reads the word's whole list."""
        count = self._postings.get(word)
        if count is None:
            match = fts_query([word])
            (count,) = self.conn.execute(
                "select count(*) from passages_fts where passages_fts match ?", [match]
            ).fetchone()
            self._postings[word] = count
        return count

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRow]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        sql = (
            "select p.id, p.article_id, p.start, p.end, p.kind, p.text, a.title, a.path, a.url, "
            f"a.published from passages p join articles a on a.id = p.article_id "
            f"where p.id in ({marks})"
        )
        return {r[0]: PassageRow(*r) for r in self.conn.execute(sql, ids)}

    def sentences(self, ids: Iterable[int], dim: int) -> dict[int, SentenceVectors]:
        """passage id -> its sentence spans (article offsets) and float32 vectors."""
        ids = list(ids)
        if not ids:
            return {}
        sql = f"select passage_id, spans, vectors from sentences where passage_id in ({','.join('?' * len(ids))})"
        out = {}
        for pid, spans, blob in self.conn.execute(sql, ids):
            vecs = np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(-1, dim)
            out[pid] = SentenceVectors([tuple(s) for s in json.loads(spans)], vecs)
        return out

    def parses(self, ids: Iterable[int]) -> dict[int, str]:
        """passage id -> its stored parse (JSON), for the passages that have one."""
        ids = list(ids)
        if not ids or not self.db["parses"].exists():
            return {}
        sql = (
            f"select passage_id, parse from parses where passage_id in ({','.join('?' * len(ids))})"
        )
        return dict(self.conn.execute(sql, ids).fetchall())

    def passage_articles(self, ids: Iterable[int]) -> dict[int, str]:
        """passage id -> article id, for ranking whole articles."""
        ids = list(ids)
        out: dict[int, str] = {}
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            sql = f"select id, article_id from passages where id in ({','.join('?' * len(part))})"
            out.update(self.conn.execute(sql, part).fetchall())
        return out

    def article_text(self, article_id: str) -> str:
        row = self.conn.execute("select text from articles where id = ?", [article_id]).fetchone()
        return row[0] if row else ""

    def sources(self) -> list[ArticleInfo]:
        sql = (
            "select a.id, a.title, a.path, a.url, a.published, count(p.id) from articles a "
            "left join passages p on p.article_id = a.id group by a.id order by a.id"
        )
        return [ArticleInfo(*r) for r in self.conn.execute(sql)]

    def catalog(self) -> Catalog:
        arts, first, last = self.conn.execute(
            "select count(*), min(published), max(published) from articles"
        ).fetchone()
        (passages,) = self.conn.execute("select count(*) from passages").fetchone()
        return Catalog(arts, passages, first, last)

    def newest_published(self) -> str | None:
        """The newest article's date: what a question's time is resolved against, without
        counting every passage as ``catalog`` does."""
        (last,) = self.conn.execute("select max(published) from articles").fetchone()
        return last

    def counts(self) -> dict[str, Any]:
        cat = self.catalog()
        (comments,) = self.conn.execute(
            "select count(*) from passages where kind = 'comment'"
        ).fetchone()
        return {"articles": cat.articles, "passages": cat.passages, "comment_passages": comments}

    def close(self) -> None:
        self.conn.close()


def mismatch(
    built_model: str | None, built_dim: int, model: str | None, dim: int | None
) -> tuple[str, str] | None:
    """(problem, why) when an index built with ``built_model`` and ``built_dim`` is not one for
    ``model`` with ``dim``-d vectors (None compares nothing); both backends say it alike."""
    if model is not None and model != built_model:
        return "model_mismatch", (
            f"the index was built with {built_model} ({built_dim}-d) but {model} is configured"
        )
    if dim is not None and dim != built_dim:
        return "dim_mismatch", (
            f"the index was built with {built_dim}-d vectors but the model gives {dim}-d"
        )
    return None


def dated_sql(dated: Dated, mark: str = "?") -> tuple[str, list[str]]:
    """SQL for "article ``a`` was published on a day in ``dated``" (ISO days; None = open);
    ``mark`` is the parameter placeholder ("%s" for PostgreSQL)."""
    cond, args = ["a.published is not null"], []
    start, end = dated
    if start is not None:
        cond.append(f"substr(a.published, 1, 10) >= {mark}")
        args.append(start)
    if end is not None:
        cond.append(f"substr(a.published, 1, 10) <= {mark}")
        args.append(end)
    return " and ".join(cond), args
