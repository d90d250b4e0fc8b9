"""The scale benchmark's fast writer makes real quotebot indexes (fake embedder: fast)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from benchmarks import scale_corpus as sc
from index.builder import IndexRun, update_index
from index.chunking import sentence_spans
from index.settings import VectorSettings
from index.snapshot import DB_FILE, current_generation, open_snapshot
from retrieval.engine import Answerer
from retrieval.settings import RetrievalSettings

SETTINGS = RetrievalSettings(highlight=False)


def _corpus(folder: Path, n: int) -> None:
    """Articles of random words (no ties in any ranking); "city<i>" names article i."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(3000)]
    rows = []
    for i in range(n):
        sentences = [
            f"Officials in city{i} " + " ".join(rng.choice(vocab, 14)) + "." for _ in range(12)
        ]
        rows.append({"id": f"a{i}", "title": f"Report {i}", "text": " ".join(sentences)})
    (folder / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows))


@pytest.fixture
def real(tmp_path, fake_embedder) -> Path:
    src, data = tmp_path / "src", tmp_path / "real"
    _corpus(src, 40)
    update_index(data, [src], IndexRun(fake_embedder))
    return data


def _schema(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in conn.execute("select sql from sqlite_master") if r[0])
    finally:
        conn.close()


def test_a_copy_of_real_articles_is_the_index_the_builder_wrote(tmp_path, real, fake_embedder):
    pool = sc.Pool.load({"x": real})
    n = pool.passages
    vecs, _ = sc.write_database(
        tmp_path / "db", sc.plan(pool, n, sc.Synthesizer(pool, 0.0)), pool.model, pool.dim, n
    )
    sc.publish_kind(tmp_path / "copy", tmp_path / "db", vecs, VectorSettings())
    built = current_generation(real) / DB_FILE
    assert _schema(tmp_path / "db") == _schema(built)  # same tables, FTS5 and triggers

    ours, theirs = open_snapshot(tmp_path / "copy"), open_snapshot(real)
    assert ours.model == theirs.model and len(ours.vectors) == len(theirs.vectors) == n
    text = ours.store.conn.execute("select text from articles where id = 'x-a7'").fetchone()[0]
    question = "What did officials in city7 say? " + " ".join(text.split()[3:9])

    def ranked(snap):  # every match with its bm25 score; ties may come in any order
        hits = snap.store.fts_search(question, 1000)
        rows = snap.store.passages(p for p, _ in hits)
        return sorted((round(score, 6), rows[p].text) for p, score in hits)

    assert ranked(ours) == ranked(theirs) and len(ranked(ours)) > 5
    mine = Answerer(tmp_path / "copy", fake_embedder, SETTINGS).ask(question)
    built_answer = Answerer(real, fake_embedder, SETTINGS).ask(question)
    assert [a.quote for a in mine.answers] == [a.quote for a in built_answer.answers]
    assert mine.answers[0].sources[0].id == "x-a7"


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf_sq8"])
def test_synthetic_articles_are_shuffled_real_sentences_with_their_vectors(tmp_path, real, kind):
    pool = sc.Pool.load({"x": real})
    synth = sc.Synthesizer(pool, sigma=sc.noise_for_cosine(0.9, pool.dim), seed=3)
    entry = synth.shuffled(pool.sources[5], copy=1)
    source = pool.sources[5].article
    real_sentences = [source.text[a:b] for a, b in sentence_spans(source.text)]
    assert sorted(entry.article.text.split("\n")) == sorted(real_sentences)
    assert entry.article.text != source.text and synth.unmatched_sentences == 0
    for p, spans, sv in zip(entry.passages, entry.spans, entry.sentence_vectors, strict=True):
        assert p.text == entry.article.text[p.start : p.end]
        assert len(spans) == len(sv)
    cos = np.sum(entry.passage_vectors * pool.sources[5].passage_vectors[0], axis=1)
    assert np.allclose(np.linalg.norm(entry.passage_vectors, axis=1), 1, atol=1e-5)
    assert 0.8 < cos.max() < 0.97  # a perturbed copy of a real vector, not the vector itself

    size = pool.passages * 3
    vecs, _ = sc.write_database(
        tmp_path / "db", sc.plan(pool, size, synth), pool.model, pool.dim, size
    )
    sc.publish_kind(tmp_path / kind, tmp_path / "db", vecs, VectorSettings(kind=kind))
    snap = open_snapshot(tmp_path / kind)
    (count,) = snap.store.conn.execute("select count(*) from passages").fetchone()
    assert count == len(snap.vectors) >= size and snap.vectors.kind == kind
    (fts,) = snap.store.conn.execute(
        "select count(*) from passages_fts where passages_fts match 'city7'"
    ).fetchone()
    (city7,) = snap.store.conn.execute(
        "select count(*) from passages where article_id like '%x-a7'"
    ).fetchone()
    assert fts == city7 > 0  # the full-text index holds every passage, copies included
