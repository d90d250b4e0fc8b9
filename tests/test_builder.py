"""Incremental indexing, atomic publication and crash safety (fake embedder: fast and exact)."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest

from index.builder import IndexRun, update_index, writer_lock
from index.errors import IndexBusy, IndexCorrupt, IndexNotBuilt, ModelMismatch
from index.snapshot import current_generation, generations, open_snapshot
from retrieval.engine import Answerer
from retrieval.settings import RetrievalSettings
from tests.conftest import write_file

SETTINGS = RetrievalSettings(highlight=False, min_quote_similarity=0.0)


def test_first_run_adds_everything_and_second_run_embeds_nothing(
    backend, tmp_path, corpus, fake_embedder
):
    storage = backend.storage(tmp_path / "data")
    assert not storage.built()
    first = storage.update([corpus], IndexRun(fake_embedder))
    assert sorted(first.added) == ["a", "b", "one", "two"] and first.passages_embedded == 4
    assert storage.built()
    before = fake_embedder.documents
    gen = storage.served().stats()["generation"]
    second = storage.update([corpus], IndexRun(fake_embedder))
    assert sorted(second.unchanged) == ["a", "b", "one", "two"]
    assert not (second.added or second.updated or second.removed)
    assert fake_embedder.documents == before  # nothing re-embedded
    assert storage.served().stats()["generation"] == gen  # SQLite: no new generation


def test_changed_new_and_removed_articles(backend, tmp_path, corpus, fake_embedder):
    storage = backend.storage(tmp_path / "data")
    storage.update([corpus], IndexRun(fake_embedder))
    write_file(corpus, "one.txt", "Troop talks\nFrance and the UK agreed on training missions.")
    write_file(corpus, "three.txt", "New\nA brand new article about ceasefires.")
    (corpus / "two.md").unlink()
    (corpus / "feed.jsonl").write_text(
        json.dumps({"id": "a", "title": "Feed a", "text": "Feed item a about tanks."})
    )
    summary = storage.update([corpus], IndexRun(fake_embedder))
    assert summary.updated == ["one"] and summary.added == ["three"]
    assert sorted(summary.removed) == ["b", "two"] and summary.unchanged == ["a"]
    served = storage.served()
    assert [s.id for s in served.sources()] == ["a", "one", "three"]
    snap = served.snapshot()
    assert len(snap.vectors) == served.catalog().passages == 3  # a vector per passage
    # check: on SQLite the FAISS ids are the passage ids, no orphans; on PostgreSQL the
    # vector is the passage row's own column
    report = storage.check(model=fake_embedder.name, dim=fake_embedder.dim)
    assert report.ok, report.problems
    assert report.counts["passages"] == report.counts["vectors"] == 3
    assert snap.store.fts_search("ceasefires", 5)
    assert not snap.store.fts_search("Storm Shadow", 5)


def test_unreadable_file_is_skipped_and_named_and_the_rest_indexed(tmp_path, corpus, fake_embedder):
    (corpus / "broken.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    summary = update_index(tmp_path / "data", [corpus], IndexRun(fake_embedder))
    assert [s.source.endswith("broken.txt") for s in summary.skipped] == [True]
    assert len(summary.added) == 4


def test_crash_during_indexing_leaves_the_served_index_intact(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    update_index(data, [corpus], IndexRun(fake_embedder))
    answerer = Answerer(data, fake_embedder, SETTINGS)
    before = answerer.ask("Storm Shadow missiles").to_json()
    served = current_generation(data)

    class Exploding(type(fake_embedder)):
        def encode_documents(self, texts, progress=None):
            raise RuntimeError("power cut")

    write_file(corpus, "three.txt", "New\nSomething else entirely.")
    with pytest.raises(RuntimeError, match="power cut"):
        update_index(data, [corpus], IndexRun(Exploding()))
    assert current_generation(data) == served
    assert generations(data) == [served]  # the half-built generation is gone
    assert answerer.ask("Storm Shadow missiles").to_json() == before
    # A generation left behind by a killed process is cleaned up by the next run.
    (data / "gen-999999").mkdir()
    summary = update_index(data, [corpus], IndexRun(fake_embedder))
    assert summary.added == ["three"] and not (data / "gen-999999").exists()


def test_answers_pick_up_a_newly_published_index(backend, tmp_path, corpus, fake_embedder):
    storage = backend.storage(tmp_path / "data")
    storage.update([corpus], IndexRun(fake_embedder))
    served = storage.served(fake_embedder.name, fake_embedder.dim)
    answerer = Answerer(storage.data_dir, fake_embedder, SETTINGS, served=served)
    assert all("easefire" not in a.quote for a in answerer.ask("ceasefire agreement").answers)
    write_file(corpus, "three.txt", "Ceasefire\nA ceasefire agreement was signed.")
    storage.update([corpus], IndexRun(fake_embedder))
    result = answerer.ask("ceasefire agreement")
    assert "ceasefire agreement was signed" in result.answers[0].quote
    assert result.answers[0].sources[0].id == "three"


def test_model_mismatch_is_a_clear_error(backend, tmp_path, corpus, fake_embedder):
    storage = backend.storage(tmp_path / "data")
    storage.update([corpus], IndexRun(fake_embedder))

    class Other(type(fake_embedder)):
        name, dim = "other-model", 32

    answering = storage.served(fake_embedder.name, fake_embedder.dim)
    assert answering.snapshot().model == "fake-hash"
    served = storage.served(Other.name, Other.dim)
    with pytest.raises(ModelMismatch, match="rebuild"):
        Answerer(storage.data_dir, Other(), SETTINGS, served=served).ask("troops")
    with pytest.raises(ModelMismatch, match="128-d"):
        storage.served(fake_embedder.name, 128).snapshot()
    with pytest.raises(ModelMismatch, match="--rebuild"):
        storage.update([corpus], IndexRun(Other()))
    assert storage.check(model=Other.name).names == ["model_mismatch"]
    summary = storage.update([corpus], IndexRun(Other(), rebuild=True))
    assert len(summary.added) == 4
    snap = storage.served(Other.name, Other.dim).snapshot()
    assert (snap.model, snap.dim, len(snap.vectors)) == ("other-model", 32, 4)
    with pytest.raises(ModelMismatch, match="other-model"):  # served from before the rebuild
        answering.snapshot()


def test_no_index_and_corrupt_index_are_clear_errors(tmp_path, corpus, fake_embedder):
    with pytest.raises(IndexNotBuilt, match="quotebot index"):
        open_snapshot(tmp_path / "empty")
    data = tmp_path / "data"
    update_index(data, [corpus], IndexRun(fake_embedder))
    faiss_file = current_generation(data) / "vectors.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:50])
    with pytest.raises(IndexCorrupt, match="vector index"):
        open_snapshot(data)
    db = current_generation(data) / "index.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(IndexCorrupt):
        open_snapshot(data)


def test_one_writer_at_a_time(tmp_path):
    with writer_lock(tmp_path), pytest.raises(IndexBusy), writer_lock(tmp_path):
        pass


def test_offsets_point_into_the_stored_article(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    update_index(data, [corpus], IndexRun(fake_embedder))
    conn = sqlite3.connect(current_generation(data) / "index.db")
    rows = conn.execute(
        "select p.text, p.start, p.end, a.text from passages p join articles a on a.id = p.article_id"
    ).fetchall()
    assert rows and all(text == article[s:e] for text, s, e, article in rows)
    vec_rows = conn.execute("select spans, vectors from sentences").fetchall()
    for spans, blob in vec_rows:
        assert len(np.frombuffer(blob, dtype=np.float16)) == len(json.loads(spans)) * 64


def test_publish_is_a_symlink_swap(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    update_index(data, [corpus], IndexRun(fake_embedder))
    assert os.path.islink(data / "current")
