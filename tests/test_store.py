"""Full-text search on large indexes: the commonest words are left out beyond a postings budget."""

from __future__ import annotations

import json

import pytest

from index.builder import update_index
from index.snapshot import open_snapshot


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
    update_index(tmp_path / "data", [src], fake_embedder)
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
