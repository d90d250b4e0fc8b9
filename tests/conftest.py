"""Shared fixtures: the real corpus, a deterministic fake embedder, the real packaged model, and
a loopback web site."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NEWS = SHARED / "corpus" / "news"
NEWS_DEV = SHARED / "eval" / "news-dev.jsonl"
REUTERS = SHARED / "corpus" / "reuters" / "acq.jsonl"


class FakeEmbedder:
    """Bag of hashed words: deterministic, instant, and texts sharing words are similar."""

    name = "fake-hash"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.documents = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def encode_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.documents += len(texts)
        if progress:
            progress(len(texts))
        return self.encode_queries(texts).astype(np.float32)

    def encode_passages(self, texts, spans, progress=None):
        """Sentences are encoded on their own: the fake has no context to pool."""
        sentences = [
            self.encode_documents([t[a:b] for a, b in s]) for t, s in zip(texts, spans, strict=True)
        ]
        return self.encode_documents(texts, progress), [
            v.reshape(len(s), self.dim) for v, s in zip(sentences, spans, strict=True)
        ]


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def write_file(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def corpus(tmp_path) -> Path:
    """Four small articles: a .txt, a .md and two JSONL feed items ("a" and "b")."""
    src = tmp_path / "articles"
    write_file(src, "one.txt", "Troop talks\nFrance and the UK discussed troops. Le Monde reported it.")
    write_file(src, "two.md", "# Missiles\nStorm Shadow missiles were supplied by Britain.")
    write_file(
        src,
        "feed.jsonl",
        "\n".join(
            json.dumps({"id": i, "title": f"Feed {i}", "text": f"Feed item {i} about tanks."})
            for i in ("a", "b")
        ),
    )
    return src


@pytest.fixture(scope="session")
def real_embedder():
    from index.embedding import load_embedder
    from index.settings import EmbeddingSettings

    return load_embedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def news_data(tmp_path_factory, real_embedder) -> Path:
    """A data directory indexed from the real news corpus with the real model."""
    from index.builder import IndexRun, update_index

    data = tmp_path_factory.mktemp("news-data")
    update_index(data, [NEWS], IndexRun(real_embedder))
    return data


@pytest.fixture(scope="session")
def reuters_answerer(tmp_path_factory, real_embedder):
    """An answerer over the 50 dated Reuters stories, indexed with the real model."""
    from index.builder import IndexRun, update_index
    from retrieval.engine import Answerer
    from retrieval.settings import RetrievalSettings

    data = tmp_path_factory.mktemp("reuters-data")
    update_index(data, [REUTERS], IndexRun(real_embedder))
    return Answerer(data, real_embedder, RetrievalSettings())


@pytest.fixture(scope="session")
def news_answerer(news_data, real_embedder):
    from retrieval.engine import Answerer
    from retrieval.settings import RetrievalSettings

    return Answerer(news_data, real_embedder, RetrievalSettings())


@dataclass
class Site:
    """A loopback web server whose pages a test sets; it answers ETags with 304."""

    pages: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)  # seconds before a path answers
    base: str = ""

    def put(self, path: str, body: str, kind: str = "text/html", status: int = 200) -> str:
        self.pages[path] = (status, kind, body.encode())
        return self.base + path

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


@contextmanager
def running_site() -> Iterator[Site]:
    """A ``Site`` served on 127.0.0.1 (a free port) in a thread, for as long as the block runs."""
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            state.requests.append((self.path, dict(self.headers)))
            status, kind, body = state.pages.get(self.path, (404, "text/plain", b"not found"))
            if self.path in state.delays:
                time.sleep(state.delays[self.path])
            if 300 <= status < 400:  # a redirect: the body is where to
                self.send_response(status)
                self.send_header("Location", body.decode())
                self.end_headers()
                return
            etag = f'"{hash(body) & 0xFFFF:x}"'
            if status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            # A fetcher that stops reading (a size limit, a timeout) closes the connection
            # under the write: expected, and its traceback would land in a CLI test's output.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    # serve_forever checks for shutdown every poll_interval: 0.5 s by default, paid by every test
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# -- storage backends ------------------------------------------------------------------------------
# The PostgreSQL server comes from TEST_POSTGRES_URL: `make test` and `make test-fast` start the
# project's throwaway server (tools/pg.py) and set it, so CI always runs these. Only a bare
# `pytest` without it skips the PostgreSQL half, and says why.
PG_URL = os.environ.get("TEST_POSTGRES_URL", "")
NO_PG = "no PostgreSQL: set TEST_POSTGRES_URL (`make test` starts one with tools/pg.py)"


@dataclass
class Backend:
    """One storage backend for a test: ``storage(data_dir)`` opens its index, in a schema of
    its own on PostgreSQL that is dropped after the test."""

    kind: str
    schemas: list[str] = field(default_factory=list)
    opened: list[object] = field(default_factory=list)

    @property
    def url(self) -> str:
        return PG_URL if self.kind == "postgresql" else ""

    def settings(self, name: str = "main"):
        from index.settings import StoreSettings

        if self.kind == "sqlite":
            return StoreSettings()
        schema = f"test_{os.getpid()}_{len(self.schemas)}_{name}"
        self.schemas.append(schema)
        return StoreSettings(url=PG_URL, schema=schema, connect_timeout_s=5.0)

    def storage(self, data_dir: Path, settings=None):
        from index.storage import open_storage

        storage = open_storage(data_dir, settings or self.settings())
        self.opened.append(storage)
        return storage

    def env(self, settings) -> dict[str, str]:
        """The QUOTEBOT_* variables that point the CLI at ``settings``' index."""
        if self.kind == "sqlite":
            return {}
        return {"QUOTEBOT_STORE__URL": settings.url, "QUOTEBOT_STORE__SCHEMA": settings.schema}

    def cleanup(self) -> None:
        for storage in self.opened:
            storage.close()  # type: ignore[attr-defined]
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                for schema in self.schemas:
                    conn.execute(f'drop schema if exists "{schema}" cascade')


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=NO_PG))]
)
def backend(request) -> Iterator[Backend]:
    """Each storage-touching test runs on both backends: SQLite + FAISS and PostgreSQL."""
    chosen = Backend(request.param)
    try:
        yield chosen
    finally:
        chosen.cleanup()


@pytest.fixture(scope="session")
def pg_news_answerer(tmp_path_factory, real_embedder):
    """The news corpus indexed in PostgreSQL with the real model (a schema of its own)."""
    if not PG_URL:
        pytest.skip(NO_PG)
    from index.builder import IndexRun
    from retrieval.engine import Answerer
    from retrieval.settings import RetrievalSettings

    chosen = Backend("postgresql")
    storage = chosen.storage(tmp_path_factory.mktemp("pg-news-data"), chosen.settings("news"))
    try:
        storage.update([NEWS], IndexRun(real_embedder))
        yield Answerer(
            storage.data_dir, real_embedder, RetrievalSettings(),
            served=storage.served(real_embedder.name, real_embedder.dim),
        )
    finally:
        chosen.cleanup()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=NO_PG))]
)
def any_news_answerer(request):
    """The news answerer on each backend: the same questions get the same kind of answers."""
    name = "news_answerer" if request.param == "sqlite" else "pg_news_answerer"
    return request.getfixturevalue(name)
