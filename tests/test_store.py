"""The store: its schema and upgrades, rows written in bulk as the builder writes them, and
full-text search on large indexes, where the commonest words are left out beyond a postings
budget."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
import sqlite_utils

from index.builder import IndexRun, update_index
from index.migrations import migrate
from index.records import Article, Passage
from index.snapshot import open_snapshot
from index.store import MIGRATIONS, REQUIRED_TABLES, ArticleRows, Store


def _harbour(tmp_path):
    """30 articles say "harbour", 3 of them "lighthouse", 1 "keeper"; all are one passage."""
    rows = [
        {
            "id": f"a{i}",
            "title": f"Note {i}",
            "text": "The harbour was busy."
            + (" A lighthouse stood there." if i % 10 == 0 else "")
            + (" Its keeper waved." if i == 0 else ""),
        }
        for i in range(30)
    ]
    src = tmp_path / "src"
    src.mkdir()
    (src / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return src


@pytest.fixture
def store(tmp_path, fake_embedder):
    """The harbour articles in SQLite (the postings budget is the SQLite backend's)."""
    update_index(tmp_path / "data", [_harbour(tmp_path)], IndexRun(fake_embedder))
    snap = open_snapshot(tmp_path / "data")
    yield snap.store
    snap.close()


@pytest.fixture
def any_store(tmp_path, fake_embedder, backend):
    """The harbour articles on each backend."""
    storage = backend.storage(tmp_path / "data")
    storage.update([_harbour(tmp_path)], IndexRun(fake_embedder))
    return storage.served().snapshot().store


def _articles(store, hits):
    rows = store.passages(p for p, _ in hits)
    return {rows[p].article_id for p, _ in hits}


def test_full_text_matches_any_word_stemmed_and_ranks_the_fullest_first(any_store):
    assert _articles(any_store, any_store.fts_search("keeper", 10)) == {"a0"}
    assert _articles(any_store, any_store.fts_search("lighthouses", 10)) == {"a0", "a10", "a20"}
    hits = any_store.fts_search("harbour lighthouse keeper", 40)
    assert len(hits) == 30  # any of the words, as FTS5's OR query
    assert any_store.passages([hits[0][0]])[hits[0][0]].article_id == "a0"  # all three words
    assert _articles(any_store, hits[1:3]) == {"a10", "a20"}  # then two of them
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    assert len(any_store.fts_search("harbour", 5)) == 5  # the limit
    assert any_store.fts_search("absent words", 10) == []


def test_postings_count_the_passages_holding_a_word(store):
    assert [store.postings(w) for w in ("harbour", "lighthouse", "keeper", "absent")] == [
        30,
        3,
        1,
        0,
    ]
    assert store.postings("harbours") == 30  # the same stem as FTS5 matches it


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (0, 30),  # no budget: every passage with any of the words
        (100, 30),  # 34 postings fit
        (10, 3),  # "harbour" (30 more) would pass 10: left out
        (4, 3),  # "keeper" (1) and "lighthouse" (3) just fit
        (3, 1),  # "lighthouse" would pass 3: only the rarest word, "keeper", stays
    ],
)
def test_the_commonest_words_are_left_out_beyond_the_budget(store, budget, expected):
    hits = store.fts_search("harbour lighthouse keeper", 100, max_postings=budget)
    assert len(_articles(store, hits)) == expected
    assert "a0" in _articles(store, hits)  # the passage with every word is always found


def test_the_rarest_word_stays_even_when_it_alone_passes_the_budget(store):
    hits = store.fts_search("harbour lighthouse", 100, max_postings=1)
    assert _articles(store, hits) == {"a0", "a10", "a20"}


def test_a_budget_changes_nothing_when_the_words_fit(store):
    question = "Where did the lighthouse keeper wave?"
    assert store.fts_search(question, 100, max_postings=1000) == store.fts_search(question, 100)


def _tables(path) -> set[str]:
    return set(sqlite_utils.Database(path).table_names())


def _version(path) -> int:
    return sqlite3.connect(path).execute("pragma user_version").fetchone()[0]


def test_a_new_store_gets_the_whole_schema(tmp_path):
    Store.open(tmp_path / "index.db").close()
    assert _tables(tmp_path / "index.db") >= REQUIRED_TABLES | {"parses"}
    assert _version(tmp_path / "index.db") == len(MIGRATIONS)


def test_a_version_1_file_is_upgraded_and_keeps_its_articles(tmp_path):
    # as quotebot wrote it before parses: its version in meta, user_version 0
    db = sqlite_utils.Database(tmp_path / "index.db")
    MIGRATIONS[0](db)
    db["meta"].insert({"key": "schema_version", "value": "1"})
    db["articles"].insert({"id": "a1", "key": "k1", "title": "Harbour", "text": "Busy."})
    db.close()
    assert "parses" not in _tables(tmp_path / "index.db")
    store = Store.open(tmp_path / "index.db")
    assert store.article_ids() == {"a1"}
    store.close()
    assert "parses" in _tables(tmp_path / "index.db")
    assert _version(tmp_path / "index.db") == 2


def test_creating_the_schema_rolls_back_whole_even_after_the_full_text_table(tmp_path):
    # enable_fts runs SQL scripts; a script must not commit the step half done
    def create_then_fail(db):
        MIGRATIONS[0](db)
        raise RuntimeError("disk gone")

    db = sqlite_utils.Database(tmp_path / "index.db")
    with pytest.raises(RuntimeError):
        migrate(db, [create_then_fail])
    assert db.execute("select count(*) from sqlite_master").fetchone()[0] == 0
    assert _version(tmp_path / "index.db") == 0


def _rows(ident: str, sentences: list[str], parsed: bool = False) -> ArticleRows:
    """One article of one passage per sentence, each sentence its own span and vector."""
    text = " ".join(sentences)
    article = Article(ident, f"k-{ident}", f"Title {ident}", text, f"hash-{ident}", path="a.txt")
    passages, at = [], 0
    for sentence in sentences:
        passages.append(Passage(ident, at, at + len(sentence), sentence))
        at += len(sentence) + 1
    vectors = [np.full((1, 4), i + 0.5, dtype=np.float32) for i in range(len(passages))]
    return ArticleRows(
        article,
        passages,
        [([(p.start, p.end)], v) for p, v in zip(passages, vectors, strict=True)],
        [f'{{"n": {i}}}' for i in range(len(passages))] if parsed else None,
    )


def test_articles_written_in_bulk_read_back_as_written(tmp_path):
    store = Store.open(tmp_path / "index.db")
    ids = store.add_articles(
        [_rows("a", ["Ships docked.", "Gulls cried."], parsed=True), _rows("b", ["Rain fell."])],
        first_id=7,
    )
    assert ids == range(7, 10)
    rows = store.passages(ids)
    assert [(rows[i].article_id, rows[i].text, rows[i].title) for i in ids] == [
        ("a", "Ships docked.", "Title a"),
        ("a", "Gulls cried.", "Title a"),
        ("b", "Rain fell.", "Title b"),
    ]
    vectors = store.sentences(ids, 4)
    assert vectors[8].spans == [(14, 26)] and np.allclose(vectors[8].vectors, 1.5)
    assert store.parses(ids) == {7: '{"n": 0}', 8: '{"n": 1}'}  # b was not parsed
    assert store.articles_by_key()["k-b"] == ("b", "hash-b", "a.txt")
    assert [p for p, _ in store.fts_search("gulls", 10)] == [8]  # the triggers index them
    store.close()


def test_a_passage_without_its_sentences_is_refused(tmp_path):
    rows = _rows("a", ["Ships docked.", "Gulls cried."])
    store = Store.open(tmp_path / "index.db")
    with pytest.raises(ValueError):
        store.add_articles([ArticleRows(rows.article, rows.passages, rows.sentences[:1])], 1)
    store.close()


def test_full_text_deferred_indexes_the_bulk_once_and_keeps_the_triggers(tmp_path):
    store = Store.open(tmp_path / "index.db")

    def triggers() -> list[str]:
        sql = "select sql from sqlite_master where type = 'trigger' order by name"
        return [r[0] for r in store.conn.execute(sql)]

    before = triggers()
    with store.full_text_deferred():
        store.add_articles([_rows("a", ["Ships docked.", "Gulls cried."])], 1)
        assert store.fts_search("gulls", 10) == [] and triggers() == []
    assert [p for p, _ in store.fts_search("gulls", 10)] == [2]
    assert triggers() == before and before
    store.add_articles([_rows("b", ["Gulls slept."])], 3)  # triggers again, row by row
    assert sorted(p for p, _ in store.fts_search("gulls", 10)) == [2, 3]
    store.close()
