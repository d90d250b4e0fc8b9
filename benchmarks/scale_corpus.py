"""Large quotebot indexes for the scale benchmark: real passages plus cheap synthetic ones.

Embedding a million passages here takes hours, so a large index is made of:

- **real articles**: every SciFact abstract and SQuAD dev paragraph, copied from real quotebot
  indexes built with the real model (texts, passages, sentence vectors and passage vectors as
  the builder wrote them);
- **synthetic articles**: a real article whose sentences are shuffled and joined by newlines (a
  newline always ends a sentence, so the sentences stay exactly the real ones), chunked by
  ``index.chunking.chunk`` like any article. Each sentence keeps its real stored vector (same
  text, same embedding). Each passage vector is the real vector of the source passage that
  shares most sentences with it, plus Gaussian noise, renormalised; the noise is calibrated so
  that a synthetic vector is as close to its source as the true embedding of the synthetic
  passage is (measured with the model on a sample, see ``calibrate``).

The writer reuses the index layer: ``Store.open`` creates the schema (tables, FTS5, triggers),
``Store.add_articles`` writes the rows as the builder does, ``Vectors.build`` makes the FAISS file
and ``snapshot.publish`` the generation. It is fast because rows go in with ``executemany`` in one
transaction, and the FTS5 index is built once at the end instead of by a trigger per row
(``Store.full_text_deferred``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.builder import document_text
from index.chunking import chunk, sentence_spans
from index.embedding import Embedder
from index.records import Article, Passage
from index.settings import ChunkSettings, VectorSettings
from index.snapshot import DB_FILE, VECTORS_FILE, new_generation, open_snapshot, publish
from index.store import ArticleRows, Store
from index.vectors import Vectors


@dataclass(frozen=True)
class Source:
    """One real article with everything the builder stored for it."""

    article: Article
    passages: list[Passage]
    spans: list[list[tuple[int, int]]]  # sentence spans (article offsets) of each passage
    sentence_vectors: list[np.ndarray]  # fp16, one row per span, as stored
    passage_vectors: np.ndarray  # float32, one row per passage


@dataclass(frozen=True)
class Entry:
    """One article to write, with its vectors."""

    article: Article
    passages: list[Passage]
    spans: list[list[tuple[int, int]]]
    sentence_vectors: list[np.ndarray]
    passage_vectors: np.ndarray


class Pool:
    """The real articles of one or more real quotebot indexes, and their sentences' vectors."""

    def __init__(self, sources: list[Source], model: str, dim: int) -> None:
        self.sources = sources
        self.model = model
        self.dim = dim
        self.sentence_vector: dict[str, np.ndarray] = {}
        for src in sources:
            for spans, vecs in zip(src.spans, src.sentence_vectors, strict=True):
                for (a, b), vec in zip(spans, vecs, strict=True):
                    self.sentence_vector.setdefault(src.article.text[a:b], vec)

    @classmethod
    def load(cls, data_dirs: dict[str, Path]) -> Pool:
        """Read every article of the served index in each data directory (prefix -> directory)."""
        sources: list[Source] = []
        model, dim = "", 0
        for prefix, data_dir in data_dirs.items():
            snap = open_snapshot(data_dir)
            model, dim = snap.model, snap.dim
            ids, vecs = snap.vectors.items()
            row_of = {int(i): r for r, i in enumerate(ids)}
            conn = snap.store.conn
            by_article: dict[str, list[tuple]] = {}
            sql = (
                "select p.id, p.article_id, p.start, p.end, p.kind, p.text, s.spans, s.vectors "
                "from passages p join sentences s on s.passage_id = p.id order by p.id"
            )
            for row in conn.execute(sql):
                by_article.setdefault(row[1], []).append(row)
            cols = "id, key, title, text, content_hash, url, published, path, comments_start"
            for ident, key, title, text, h, url, published, path, cstart in conn.execute(
                f"select {cols} from articles order by id"
            ):
                rows = by_article.get(ident, [])
                if not rows:
                    continue
                new_id = f"{prefix}-{ident}"
                article = Article(
                    new_id, f"{prefix}#{key}", title, text, h, url, published, path, cstart
                )
                sources.append(
                    Source(
                        article,
                        [Passage(new_id, r[2], r[3], r[5], r[4]) for r in rows],
                        [[(a, b) for a, b in json.loads(r[6])] for r in rows],
                        [np.frombuffer(r[7], dtype=np.float16).reshape(-1, dim) for r in rows],
                        np.stack([vecs[row_of[r[0]]] for r in rows]),
                    )
                )
            snap.close()
        return cls(sources, model, dim)

    @property
    def passages(self) -> int:
        return sum(len(s.passages) for s in self.sources)


def _unit(vecs: np.ndarray) -> np.ndarray:
    return (vecs / np.linalg.norm(vecs, axis=-1, keepdims=True)).astype(np.float32)


def noise_for_cosine(cosine: float, dim: int) -> float:
    """Per-dimension sigma of Gaussian noise that leaves a unit vector at ``cosine`` to itself.

    |v + n|^2 is about 1 + dim * sigma^2, and v . (v + n) about 1.
    """
    return math.sqrt((1 / cosine**2 - 1) / dim)


class Synthesizer:
    """Makes synthetic articles from a pool's real ones (deterministic for a seed)."""

    def __init__(self, pool: Pool, sigma: float, seed: int = 0) -> None:
        self.pool = pool
        self.sigma = sigma
        self.rng = np.random.default_rng(seed)
        self.chunking = ChunkSettings()
        self.unmatched_sentences = 0  # sentences whose text has no stored vector (should be 0)
        self.sentences = 0

    def shuffled(self, src: Source, copy: int) -> Entry:
        text = src.article.text
        sentences = [text[a:b] for a, b in sentence_spans(text)]
        order = self.rng.permutation(len(sentences))
        new_text = "\n".join(sentences[i] for i in order)
        ident = f"syn{copy}-{src.article.id}"
        article = Article(
            id=ident,
            key=f"synthetic#{ident}",
            title=src.article.title,
            text=new_text,
            content_hash=hashlib.sha256(new_text.encode()).hexdigest(),
        )
        passages = chunk(ident, new_text, None, self.chunking)
        spans = [sentence_spans(new_text, p.start, p.end) for p in passages]
        # The sentences of each real passage, to find the one a synthetic passage copies most.
        source_sets = [{text[a:b] for a, b in real_spans} for real_spans in src.spans]
        sentence_vectors, passage_vectors = [], []
        for p_spans in spans:
            texts = [new_text[a:b] for a, b in p_spans]
            rows = []
            for t in texts:
                vec = self.pool.sentence_vector.get(t)
                if vec is None:  # a split that differs from the real one: nearest stand-in
                    self.unmatched_sentences += 1
                    vec = src.passage_vectors[0].astype(np.float16)
                rows.append(vec)
            self.sentences += len(texts)
            sentence_vectors.append(np.stack(rows))
            shared = [len(s.intersection(texts)) for s in source_sets]
            base = src.passage_vectors[int(np.argmax(shared))]
            passage_vectors.append(base + self.sigma * self.rng.standard_normal(len(base)))
        return Entry(article, passages, spans, sentence_vectors, _unit(np.stack(passage_vectors)))


def real_entry(src: Source) -> Entry:
    return Entry(src.article, src.passages, src.spans, src.sentence_vectors, src.passage_vectors)


def plan(pool: Pool, passages: int, synth: Synthesizer, seed: int = 0) -> Iterator[Entry]:
    """Articles holding about ``passages`` passages: real ones first (in a seeded random order,
    mixing the datasets), then ``synth``'s shuffles of them, round after round."""
    rng = np.random.default_rng(seed)
    order = [pool.sources[i] for i in rng.permutation(len(pool.sources))]
    total = 0
    copy = 0
    while total < passages:
        for src in order:
            entry = real_entry(src) if copy == 0 else synth.shuffled(src, copy)
            yield entry
            total += len(entry.passages)
            if total >= passages:
                return
        copy += 1


def calibrate(pool: Pool, embedder: Embedder, sample: int = 300, seed: int = 7) -> dict:
    """How close the true embedding of a synthetic passage is to the real vector it copies.

    Returns the mean cosine (the noise is set to reproduce it) and, for the noisy copies made
    with that noise, their mean cosine to the true embeddings.
    """
    rng = np.random.default_rng(seed)
    synth = Synthesizer(pool, 0.0, seed)
    picks = rng.choice(len(pool.sources), size=min(sample, len(pool.sources)), replace=False)
    texts, copies = [], []
    for i in picks:
        entry = synth.shuffled(pool.sources[int(i)], 1)
        texts += [document_text(entry.article.title, p) for p in entry.passages]
        copies.append(entry.passage_vectors)
    truth = embedder.encode_documents(texts)
    copied = np.concatenate(copies)
    to_source = float(np.mean(np.sum(truth * copied, axis=1)))
    sigma = noise_for_cosine(to_source, pool.dim)
    noisy = _unit(copied + sigma * rng.standard_normal(copied.shape))
    return {
        "passages": len(texts),
        "cosine_true_to_source": round(to_source, 4),
        "sigma": round(sigma, 5),
        "cosine_noisy_copy_to_source": round(float(np.mean(np.sum(noisy * copied, axis=1))), 4),
        "cosine_noisy_copy_to_true": round(float(np.mean(np.sum(noisy * truth, axis=1))), 4),
    }


def write_database(
    path: Path, entries: Iterator[Entry], model: str, dim: int, passages: int
) -> tuple[np.ndarray, dict]:
    """Write ``entries`` into a new database at ``path``; returns the passage vectors (row i is
    passage id i + 1) and timings."""
    if path.exists():
        path.unlink()
    started = time.perf_counter()
    store = Store.open(path, scratch=True)  # the builder's schema: tables, FTS5 and its triggers
    store.conn.execute("pragma journal_mode = off")  # a failed build is simply deleted
    store.conn.execute("pragma cache_size = -262144")  # 256 MB
    vectors = np.empty((passages + 64, dim), dtype=np.float32)
    count = 0

    def rows() -> Iterator[ArticleRows]:
        nonlocal vectors, count
        for entry in entries:
            n = len(entry.passages)
            if count + n > len(vectors):
                vectors = np.concatenate([vectors, np.empty_like(vectors[: n + 64])])
            vectors[count : count + n] = entry.passage_vectors
            count += n
            sentences = list(zip(entry.spans, entry.sentence_vectors, strict=True))
            yield ArticleRows(entry.article, entry.passages, sentences)

    try:
        with store.full_text_deferred():
            ids = store.add_articles(rows(), first_id=1)
            rows_s = time.perf_counter() - started
        fts_s = time.perf_counter() - started - rows_s
        store.set_meta("model", model)
        store.set_meta("dim", str(dim))
        store.set_meta("last_passage_id", str(ids.stop - 1))
        store.set_meta("updated_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        store.set_meta("synthetic", "benchmarks/scale_corpus.py")
        store.commit()
    finally:
        store.close()
    timings = {
        "fts_s": round(fts_s, 1),
        "rows_s": round(rows_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }
    return vectors[:count], timings


def publish_kind(
    data_dir: Path, database: Path, vectors: np.ndarray, settings: VectorSettings
) -> dict[str, float]:
    """A served generation in ``data_dir``: the shared database (hard-linked) plus a FAISS file
    of ``settings.kind``. Returns seconds taken and the file size."""
    data_dir.mkdir(parents=True, exist_ok=True)
    gen = new_generation(data_dir)
    os.link(database, gen / DB_FILE)
    started = time.perf_counter()
    index = Vectors.build(np.arange(1, len(vectors) + 1), vectors, settings)
    build_s = time.perf_counter() - started
    index.save(gen / VECTORS_FILE)
    publish(data_dir, gen)
    return {
        "vector_build_s": round(build_s, 1),
        "vector_bytes": (gen / VECTORS_FILE).stat().st_size,
        "publish_s": round(time.perf_counter() - started - build_s, 1),
    }
