"""Reciprocal rank fusion against a brute-force reference, and the FTS query sanitiser."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.text import fts_query
from retrieval.evaluation import ndcg_at_k, recall_at_k, reciprocal_rank
from retrieval.fusion import rrf


def _reference(lists, weights, k):
    ids = {i for lst in lists for i in lst}
    return {
        i: sum(
            w / (k + lst.index(i) + 1) for lst, w in zip(lists, weights, strict=True) if i in lst
        )
        for i in ids
    }


@given(
    st.lists(st.lists(st.integers(0, 30), unique=True, max_size=15), min_size=1, max_size=3),
    st.integers(0, 100),
)
def test_rrf_matches_the_formula(lists, k):
    weights = [1.0 + i for i in range(len(lists))]
    fused = rrf(lists, weights, k)
    ref = _reference(lists, weights, k)
    assert {i for i, _ in fused} == set(ref)
    for i, score in fused:
        assert score == pytest.approx(ref[i])
    assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)


def test_rrf_rejects_bad_arguments():
    with pytest.raises(ValueError, match="weights"):
        rrf([[1]], [1.0, 2.0])
    with pytest.raises(ValueError, match="k must be"):
        rrf([[1]], k=-1)


@given(st.text(max_size=120))
def test_fts_query_never_raises_in_sqlite(question):
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table t using fts5(text, tokenize='porter unicode61')")
    conn.execute("insert into t values ('troops and missiles AND near col')")
    match = fts_query(question)
    if match is not None:
        conn.execute("select rowid from t where t match ?", [match]).fetchall()


def test_metrics_by_hand():
    assert ndcg_at_k(["a", "b"], {"b": 1}) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert ndcg_at_k(["x"], {"b": 1}) == 0.0
    assert recall_at_k(["a", "b", "c"], ["c", "d"], 2) == 0.0
    assert recall_at_k(["a", "b", "c"], ["c", "d"], 3) == 0.5
    assert reciprocal_rank(["a", "b"], ["b"]) == 0.5
