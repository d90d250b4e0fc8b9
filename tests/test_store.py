"""The store: its schema and upgrades, and full-text search on large indexes (the commonest
words are left out beyond a postings budget)."""

from __future__ import annotations

import json
import sqlite3

import pytest
import sqlite_utils

from index.builder import IndexRun, update_index
from index.migrations import migrate
from index.snapshot import open_snapshot
from index.store import MIGRATIONS, REQUIRED_TABLES, Store


@pytest.fixture
def store(tmp_path, fake_embedder):
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
    update_index(tmp_path / "data", [src], IndexRun(fake_embedder))
    snap = open_snapshot(tmp_path / "data")
    yield snap.store
    snap.close()


def _articles(store, hits):
    rows = store.passages(p for p, _ in hits)
    return {rows[p].article_id for p, _ in hits}


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
