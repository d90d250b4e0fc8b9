"""The storage interface on both backends (the ``backend`` fixture: SQLite + FAISS generations,
and PostgreSQL + pgvector on the real server): the reads answering makes, the catalogue and an
index not built yet. (Incremental runs, removals and the model check are in test_builder.py,
on both backends too.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.builder import IndexRun
from index.errors import IndexNotBuilt
from index.settings import StoreSettings
from index.storage import FileStorage, open_storage


@pytest.fixture
def dated(corpus):
    """The corpus with its feed items published on 1 and 9 March 2024."""
    (corpus / "feed.jsonl").write_text(
        "\n".join(
            json.dumps({"id": i, "title": f"Feed {i}", "text": f"Feed item {i} about tanks.",
                        "published": day})
            for i, day in (("a", "2024-03-01"), ("b", "2024-03-09"))
        ),
        encoding="utf-8",
    )
    return corpus


def test_sqlite_is_the_default_and_a_url_chooses_postgresql(tmp_path):
    assert isinstance(open_storage(tmp_path), FileStorage)
    assert isinstance(open_storage(tmp_path, StoreSettings()), FileStorage)
    with pytest.raises(ValueError, match="postgresql://"):
        StoreSettings(url="mysql://x")


def test_reads_answering_makes(backend, tmp_path, dated, fake_embedder):
    storage = backend.storage(tmp_path / "data")
    storage.update([dated], IndexRun(fake_embedder))
    snap = storage.served().snapshot()
    store = snap.store
    hits = store.fts_search("Storm Shadow missiles", 5)
    assert [pid for pid, _ in hits][:1] == list(store.passages([hits[0][0]]))
    row = store.passages([hits[0][0]])[hits[0][0]]
    assert row.article_id == "two" and row.title == "Missiles"
    assert store.article_text("two")[row.start : row.end] == row.text  # offsets are exact
    assert store.fts_search("", 5) == [] and store.fts_search('"or -"', 5) == []
    # dates: the feed items are of 1 and 9 March
    assert store.dated_articles(("2024-03-01", "2024-03-05")) == 1
    march = store.dated_passages(("2024-03-01", None))
    assert sorted(store.passage_articles(march).values()) == ["a", "b"]
    assert [r.article_id for r in store.leads(("2024-03-01", None), 5)] == ["b", "a"]
    assert store.newest_published() == "2024-03-09"
    dated = store.fts_search("tanks", 5, dated=("2024-03-05", None))
    assert [store.passage_articles([p])[p] for p, _ in dated] == ["b"]
    sentences = store.sentences([row.id], snap.dim)[row.id]
    assert sentences.vectors.shape == (len(sentences.spans), snap.dim)
    # dense: the passage's own text is its nearest; ``within`` restricts exactly
    query = fake_embedder.encode_queries([f"{row.title}\n{row.text}"])[0]
    nearest = snap.vectors.search(query, 2)
    assert nearest[0][0] == row.id and nearest[0][1] == pytest.approx(1.0, abs=1e-5)
    assert nearest[0][1] >= nearest[1][1]
    rows = store.passages(march)
    exact = {
        pid: float(np.dot(query, fake_embedder.encode_queries([f"{r.title}\n{r.text}"])[0]))
        for pid, r in rows.items()
    }
    within = snap.vectors.search(query, 5, within=march)
    assert [pid for pid, _ in within] == sorted(march, key=lambda p: -exact[p])
    assert [score for _, score in within] == pytest.approx(sorted(exact.values(), reverse=True))


def test_no_index_yet(backend, tmp_path, fake_embedder):
    storage = backend.storage(tmp_path / "data")
    with pytest.raises(IndexNotBuilt, match="quotebot index"):
        storage.served().snapshot()
    assert storage.check().names == ["no_index"]


def test_catalogue_and_stats(backend, tmp_path, dated, fake_embedder):
    storage = backend.storage(tmp_path / "data")
    storage.update([dated], IndexRun(fake_embedder))
    served = storage.served()
    cat = served.catalog()
    assert (cat.articles, cat.passages) == (4, 4)
    assert (cat.first_published, cat.last_published) == ("2024-03-01", "2024-03-09")
    stats = served.stats()
    assert stats["articles"] == 4 and stats["vectors"] == 4 and stats["dim"] == 64
    assert stats["model"] == "fake-hash" and stats["bytes"] > 0


def test_a_rare_word_outranks_a_common_one(backend, tmp_path, fake_embedder):
    """bm25 on SQLite, ts_rank times idf on PostgreSQL: "keeper" (one article) weighs more than
    "harbour" (twelve), though a short passage of the common word has the higher ts_rank."""
    src = tmp_path / "src"
    src.mkdir()
    rows = [{"id": f"h{i}", "title": f"Port {i}", "text": "The harbour was busy."}
            for i in range(12)]
    rows.append({"id": "k", "title": "Shore", "text": "A keeper waved from the rocks."})
    (src / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    storage = backend.storage(tmp_path / "data")
    storage.update([src], IndexRun(fake_embedder))
    served = storage.served()
    store = served.snapshot().store
    hits = store.fts_search("harbour keeper", 20)
    assert len(hits) == 13
    assert store.passage_articles([hits[0][0]]) == {hits[0][0]: "k"}
    # a word counted while absent is counted again once the index changes
    assert store.fts_search("lighthouse", 5) == []
    rows.append({"id": "l", "title": "Cape", "text": "The lighthouse was lit."})
    (src / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    storage.update([src], IndexRun(fake_embedder))
    store = served.snapshot().store  # PostgreSQL: the same store, its counts cached
    assert [store.passage_articles([p])[p] for p, _ in store.fts_search("lighthouse", 5)] == ["l"]
