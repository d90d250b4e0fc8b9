"""The PostgreSQL backend on its own: migrations, the writer lock, errors that name the fix and
never the password, statement timeouts, and a kill -9 in the middle of an index run. Against the
real server of TEST_POSTGRES_URL (``make test`` starts it), never a mock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from index.builder import IndexRun
from index.errors import IndexBusy, QuotebotError, StoreUnavailable
from index.settings import StoreSettings
from index.storage import open_storage
from retrieval.engine import Answerer
from retrieval.settings import RetrievalSettings
from tests.conftest import NO_PG, PG_URL, Backend

needs_pg = pytest.mark.skipif(not PG_URL, reason=NO_PG)  # all but the redaction tests


@pytest.fixture
def pg():
    chosen = Backend("postgresql")
    try:
        yield chosen
    finally:
        chosen.cleanup()


def _articles(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"a{i:03d}.txt").write_text(
            f"Story {i}\nThe council of town {i} voted on budget item {i}. It passed narrowly.\n",
            encoding="utf-8",
        )
    return folder


@pytest.mark.parametrize(
    "text, shown",
    [
        ("postgresql://bob:s3cret@db:5432/x", "postgresql://bob:***@db:5432/x"),
        ("postgres://bob:p@ss@w0rd@db/x failed", "postgres://bob:***@db/x failed"),
        ("host=db password=s3cret user=bob", "host=db password=*** user=bob"),
        ("postgresql://bob@db/x", "postgresql://bob@db/x"),
    ],
)
def test_passwords_are_redacted(text, shown):
    from index.pg import redact

    assert redact(text) == shown


@needs_pg
def test_an_unreachable_server_is_a_clear_error_without_the_password(tmp_path, pg):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://quotebot:hunter2secret@127.0.0.1:{port}/quotebot"
    storage = pg.storage(tmp_path, StoreSettings(url=url, connect_timeout_s=1.0))
    with pytest.raises(StoreUnavailable) as caught:
        storage.served().snapshot()
    message = str(caught.value)
    assert "unavailable" in message and "[store] url" in message
    assert "hunter2secret" not in message and "127.0.0.1" in message
    assert isinstance(caught.value, QuotebotError)
    report = storage.check()
    assert report.names == ["database_unreachable"]
    assert "hunter2secret" not in report.problems[0].detail


@needs_pg
def test_the_schema_is_migrated_once_to_the_latest_version(tmp_path, pg):
    from index.pg import MIGRATIONS, PgDatabase

    settings = pg.settings()
    first, second = PgDatabase(settings), PgDatabase(settings)
    try:
        first.prepare()
        second.prepare()  # a second process: nothing left to do
        with first.reading() as conn:
            assert conn.execute("select version from schema_version").fetchall() == [
                (len(MIGRATIONS),)
            ]
            tables = {r[0] for r in conn.execute(
                "select tablename from pg_tables where schemaname = %s", [settings.schema]
            )}
        assert {"meta", "articles", "passages", "sentences", "parses"} <= tables
    finally:
        first.close()
        second.close()


@needs_pg
def test_a_slow_query_is_cancelled_by_the_statement_timeout(tmp_path, pg):
    from index.pg import PgDatabase

    db = PgDatabase(StoreSettings(url=PG_URL, schema=pg.settings().schema,
                                  statement_timeout_s=0.2))
    try:
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable, match="statement timeout"), db.reading() as conn:
            conn.execute("select pg_sleep(5)")
        assert time.perf_counter() - started < 3
    finally:
        db.close()


@needs_pg
def test_one_index_run_at_a_time(tmp_path, pg, fake_embedder):
    import psycopg

    from index.pg_build import index_lock_name

    storage = pg.storage(tmp_path)
    storage.db.prepare()
    holder = psycopg.connect(PG_URL, autocommit=True)
    try:
        holder.execute("select pg_advisory_lock(hashtext(%s))", [index_lock_name(storage.db)])
        with pytest.raises(IndexBusy, match="another index update"):
            storage.update([_articles(tmp_path / "src", 2)], IndexRun(fake_embedder))
    finally:
        holder.close()  # the server releases the lock with the session
    assert len(storage.update([tmp_path / "src"], IndexRun(fake_embedder)).added) == 2


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from conftest import FakeEmbedder
    import index.pg_build
    from index.builder import IndexRun
    from index.settings import StoreSettings
    from index.storage import open_storage

    index.pg_build.BATCH_PASSAGES = 5

    class Slow(FakeEmbedder):
        def encode_passages(self, texts, spans, progress=None):
            time.sleep(0.3)
            return super().encode_passages(texts, spans, progress)

    def progress(stage, done, total):
        if stage == "saving":
            print("committed", done, flush=True)

    storage = open_storage({data!r}, StoreSettings(url={url!r}, schema={schema!r}))
    storage.update([Path({src!r})], IndexRun(Slow(), progress=progress))
    print("finished", flush=True)
    """
)


@needs_pg
@pytest.mark.slow
def test_kill_9_mid_run_leaves_whole_articles_and_the_rerun_finishes(
    tmp_path, pg, fake_embedder
):
    src = _articles(tmp_path / "src", 40)  # one passage each: 8 batches of 5
    settings = pg.settings()
    script = CHILD.format(
        tests=str(Path(__file__).parent), data=str(tmp_path / "data"), url=PG_URL,
        schema=settings.schema, src=str(src),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).parents[1], env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("committed") and int(line.split()[1]) >= 2:
                break
        else:
            pytest.fail(f"the index run ended before it could be killed: {child.wait()}")
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()

    storage = pg.storage(tmp_path / "data", settings)
    report = storage.check(model=fake_embedder.name, dim=fake_embedder.dim)
    assert report.ok, report.problems
    kept = report.counts["articles"]
    assert 10 <= kept < 40  # two batches or more committed, not all
    assert report.counts["passages"] == report.counts["vectors"] == kept  # whole articles only
    with storage.db.reading() as conn:
        assert conn.execute(
            "select count(*) from articles a where not exists "
            "(select 1 from passages p where p.article_id = a.id)"
        ).fetchone() == (0,)

    summary = storage.update([src], IndexRun(fake_embedder))  # the lock died with the child
    assert len(summary.unchanged) == kept and len(summary.added) == 40 - kept
    assert summary.passages_embedded == 40 - kept
    final = storage.check(model=fake_embedder.name, dim=fake_embedder.dim)
    assert final.ok and final.counts["articles"] == final.counts["vectors"] == 40


@needs_pg
@pytest.mark.slow
def test_answers_resume_after_the_server_restarts(tmp_path, corpus, fake_embedder):
    """A server of its own (tools/pg.py in a directory of the test's): stopped, questions get
    StoreUnavailable (the bot's "try again"); started again, the pool reconnects by itself."""
    root = Path(__file__).parents[1]
    state = Path(tempfile.mkdtemp(prefix="quotebot-pg-restart-", dir="/tmp"))
    env = {**os.environ, "PGSERVER_DIR": str(state)}

    def tool(*args: str) -> str:
        done = subprocess.run([sys.executable, str(root / "tools" / "pg.py"), *args], env=env,
                              check=True, capture_output=True, text=True)
        return done.stdout.strip()

    storage = None
    try:
        url = tool("start").splitlines()[-1]
        assert url.startswith("postgresql://") and "@127.0.0.1:" in url
        assert tool("start").splitlines()[-1] == url  # running: the same server
        storage = open_storage(
            tmp_path / "data", StoreSettings(url=url, schema="restart", connect_timeout_s=2.0)
        )
        storage.update([corpus], IndexRun(fake_embedder))
        answerer = Answerer(
            storage.data_dir, fake_embedder, RetrievalSettings(highlight=False),
            served=storage.served(fake_embedder.name, fake_embedder.dim),
        )
        before = answerer.ask("Storm Shadow missiles").to_json()
        assert "Storm Shadow" in before["answers"][0]["quote"]
        tool("stop", "--keep")
        with pytest.raises(StoreUnavailable, match="unavailable") as caught:
            answerer.ask("Storm Shadow missiles")
        assert url.split("@")[0].split(":")[-1] not in str(caught.value)  # no password
        assert tool("start").splitlines()[-1] == url  # same port and password
        assert answerer.ask("Storm Shadow missiles").to_json() == before
    finally:
        if storage is not None:
            storage.close()
        tool("stop")
    assert not state.exists()  # stop removes the server's files


@needs_pg
def test_a_reader_never_sees_half_an_article_while_a_run_writes(tmp_path, pg, fake_embedder):
    import threading

    import index.pg_build

    src = _articles(tmp_path / "src", 30)
    storage = pg.storage(tmp_path / "data")
    storage.update([src], IndexRun(fake_embedder))
    for i in range(30):  # every article changes and grows a second paragraph of passages
        (src / f"a{i:03d}.txt").write_text(
            f"Story {i}\n" + " ".join(f"Town {i} voted on item {j}." for j in range(40)) + "\n",
            encoding="utf-8",
        )
    seen: list[tuple[int, int]] = []  # (articles, articles without passages) per read
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            with storage.db.reading() as conn:
                seen.append(conn.execute(
                    "select count(*), count(*) filter (where not exists (select 1 from passages "
                    "p where p.article_id = a.id)) from articles a"
                ).fetchone())

    reader = threading.Thread(target=read)
    old = index.pg_build.BATCH_PASSAGES
    index.pg_build.BATCH_PASSAGES = 4  # many small transactions for the reader to fall between
    reader.start()
    try:
        summary = storage.update([src], IndexRun(fake_embedder))
    finally:
        index.pg_build.BATCH_PASSAGES = old
        stop.set()
        reader.join()
    assert len(summary.updated) == 30
    assert len(seen) > 5
    assert {total for total, _ in seen} == {30}  # an article replaced is never missing
    assert {empty for _, empty in seen} == {0}  # nor there without its passages


@needs_pg
def test_a_database_without_pgvector_says_how_to_get_it(tmp_path):
    """A database of its own, owned by a role that may not create extensions (pgvector is not
    a trusted extension): the error says to install it, and shows no password."""
    import secrets
    from urllib.parse import urlsplit

    import psycopg

    from index.errors import VectorExtensionMissing

    name, password = f"qb_noext_{os.getpid()}", secrets.token_urlsafe(12)
    server = urlsplit(PG_URL)
    admin = psycopg.connect(PG_URL, autocommit=True)
    storage = None
    try:
        admin.execute(f"create role {name} login password '{password}'")
        admin.execute(f"create database {name} owner {name}")
        url = f"postgresql://{name}:{password}@{server.hostname}:{server.port}/{name}"
        storage = open_storage(tmp_path, StoreSettings(url=url))
        with pytest.raises(VectorExtensionMissing, match="create extension vector") as caught:
            storage.served().snapshot()
        assert password not in str(caught.value) and name in str(caught.value)
        assert storage.check().names == ["vector_extension_missing"]
    finally:
        if storage is not None:
            storage.close()
        admin.execute(f"drop database if exists {name}")
        admin.execute(f"drop role if exists {name}")
        admin.close()
