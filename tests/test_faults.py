"""Faults, really done: kill -9 mid-index, damaged files, a full disk, a read-only data directory,
and questions asked while a reindex swaps the index in.

Every fault runs in a real subprocess (the quotebot CLI, with the fake embedder swapped in so that
runs take a second, not a model load), on real files, so that a crash or a segfault shows up as a
failed exit status instead of taking pytest down with it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from index.builder import IndexRun, update_index, writer_lock
from index.check import check_index
from index.snapshot import (
    DB_FILE,
    MANIFEST_FILE,
    VECTORS_FILE,
    current_generation,
    generations,
    write_manifest,
)
from index.vectors import Vectors
from retrieval.engine import Answerer
from retrieval.settings import RetrievalSettings
from tests.conftest import FakeEmbedder

REPO = Path(__file__).resolve().parents[1]
QUOTEBOT = Path(sys.executable).with_name("quotebot")
SETTINGS = RetrievalSettings(highlight=False, min_quote_similarity=0.0)
MODEL = FakeEmbedder.name

# The real CLI with the fake embedder swapped in; "ready" marks the end of the imports, so that a
# kill can be aimed at the work rather than at Python starting up.
FAKE_CLI = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from tests.conftest import FakeEmbedder
import bot.cli, bot.services
bot.services.load_embedder = lambda settings: FakeEmbedder()
bot.cli.model_path_for = lambda settings: ("", FakeEmbedder.name)
sys.stderr.write("ready\\n")
sys.stderr.flush()
bot.cli.main()
"""

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gu", "ri", "so"]
TAGS = ("alpha", "bravo")


def _words(seed: int, n: int) -> list[str]:
    r = random.Random(seed)
    return ["".join(r.choice(_SYLLABLES) for _ in range(r.randint(2, 3))) for _ in range(n)]


def article_text(i: int, version: int = 0, tag: bool = False) -> str:
    """A made-up article: its words depend on (i, version); with ``tag``, only the tag word
    of ``version`` differs, in every sentence."""
    words = _words(i * 100 + (0 if tag else version), 80)
    mark = f" {TAGS[version]}" if tag else ""
    sentences = [" ".join(words[k : k + 10]).capitalize() + mark + "." for k in range(0, 80, 10)]
    return f"Report {i}{mark}\n" + " ".join(sentences[:4]) + "\n\n" + " ".join(sentences[4:])


def question(i: int, version: int = 0) -> str:
    return " ".join(_words(i * 100 + version, 80)[10:16])


def write_corpus(folder: Path, versions: dict[int, int], tag: bool = False) -> None:
    """Make ``folder`` hold exactly articles ``i`` at ``versions[i]``."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        if int(old.stem.split("-")[1]) not in versions:
            old.unlink()
    for i, version in versions.items():
        (folder / f"report-{i:03d}.txt").write_text(article_text(i, version, tag))


V1 = dict.fromkeys(range(40), 0)
# The update: 10 changed, 10 added, 6 removed.
V2 = {
    **{i: 1 for i in range(10)},
    **{i: 0 for i in range(10, 34)},
    **dict.fromkeys(range(40, 50), 0),
}
QUESTIONS = [question(i, V2.get(i, 0)) for i in (0, 3, 12, 20, 36, 38, 41, 45)] + [
    "completely unrelated words"
]


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("QUOTEBOT_")}
    out.pop("TELEGRAM_BOT_TOKEN", None)
    out.update(QUOTEBOT_RETRIEVAL__HIGHLIGHT="false", QUOTEBOT_RETRIEVAL__MIN_QUOTE_SIMILARITY="0")
    return out


def fake_cli(
    *args: str | Path, cwd: Path, timeout: float = 60, **kw
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", FAKE_CLI, *map(str, args)],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def start_fake_cli(*args: str | Path, cwd: Path) -> subprocess.Popen:
    """``fake_cli`` without waiting, to run several side by side."""
    return subprocess.Popen(
        [sys.executable, "-c", FAKE_CLI, *map(str, args)],
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def real_check(data: Path) -> subprocess.CompletedProcess:
    """The installed `quotebot check`, configured with a model folder named like the fake one:
    no patching and no model loaded."""
    model_dir = data.parent / MODEL
    model_dir.mkdir(exist_ok=True)
    (model_dir / "config.json").write_text("{}")
    return subprocess.run(
        [str(QUOTEBOT), "--data", str(data), "check"],
        cwd=data.parent,
        env={**env(), "QUOTEBOT_EMBEDDING__MODEL_PATH": str(model_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def build(data: Path, corpus: Path) -> None:
    update_index(data, [corpus], IndexRun(FakeEmbedder()))


def answers(data: Path, questions: list[str] = QUESTIONS) -> list[dict]:
    """What the served index answers, with article paths reduced to file names."""
    answerer = Answerer(data, FakeEmbedder(), SETTINGS)
    out = [answerer.ask(q).to_json() for q in questions]
    for result in out:
        for answer in result["answers"]:
            for src in answer["sources"]:
                src["path"] = Path(src["path"]).name
    return out


def assert_clean_failure(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    """Exit status 1 with a one-line reason: not a crash (negative status), not a traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for phrase in phrases:
        assert phrase in proc.stderr + proc.stdout, (phrase, proc.stderr, proc.stdout)


@pytest.fixture
def served(tmp_path) -> tuple[Path, Path]:
    """(data, corpus): an index of V1 built and served."""
    corpus, data = tmp_path / "articles", tmp_path / "data"
    write_corpus(corpus, V1)
    build(data, corpus)
    return data, corpus


# -- quotebot check -------------------------------------------------------------------------------


@pytest.mark.slow
def test_check_passes_on_a_sound_index_through_the_real_cli(served):
    data, _ = served
    report = check_index(data, MODEL, FakeEmbedder.dim)
    assert report.ok and report.problems == () and report.notes == ()
    assert report.counts["articles"] == 40
    n = report.counts["passages"]
    assert (
        n == report.counts["vectors"] == report.counts["fts_rows"] == report.counts["sentence_rows"]
    )
    proc = real_check(data)
    assert proc.returncode == 0 and proc.stdout.startswith("ok: "), proc.stdout + proc.stderr
    assert f"{n} passages" in proc.stdout


@pytest.mark.slow
def test_check_help():
    proc = subprocess.run([str(QUOTEBOT), "check", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Check the served index" in proc.stdout


@pytest.mark.model
def test_check_passes_on_a_real_model_index_as_configured(news_data):
    """No patching: the name the builder records is the one the configuration gives."""
    for extra in ([], ["--model"]):  # --model loads the model to compare its dimension too
        proc = subprocess.run(
            [str(QUOTEBOT), "--data", str(news_data), "check", *extra],
            cwd=news_data.parent,
            env=env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0 and proc.stdout.startswith("ok: "), proc.stdout + proc.stderr


def _first_passage(db: sqlite3.Connection) -> tuple[int, str, str]:
    return db.execute("select id, text, title from passages order by id limit 1").fetchone()


def _vectors(gen: Path, change: Callable[[Vectors], None]) -> None:
    vecs = Vectors.load(gen / VECTORS_FILE)
    change(vecs)
    vecs.save(gen / VECTORS_FILE)


def _sql(*statements: str) -> Callable[[Path], None]:
    def run(gen: Path) -> None:
        db = sqlite3.connect(gen / DB_FILE)
        pid, text, title = _first_passage(db)
        for sql in statements:
            db.execute(sql.format(pid=pid), {"text": text, "title": title} if ":" in sql else ())
        db.commit()
        db.close()

    return run


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


def _no_fts_row(gen: Path) -> None:
    _sql(
        "insert into passages_fts(passages_fts, rowid, text, title) "
        "values ('delete', {pid}, :text, :title)"
    )(gen)


# (problem name, damage done to the served generation, whether the manifest is rewritten after
# it so that the deeper checks, not the checksums, must find it)
INJECTIONS: list[tuple[str, Callable[[Path], None], bool]] = [
    (
        "passage_without_vector",
        lambda g: _vectors(g, lambda v: v.remove([int(v.ids()[0])])),
        True,
    ),
    ("orphan_vector", lambda g: _vectors(g, lambda v: v.add([999_999], np.ones((1, 64)))), True),
    ("passage_without_fts", _no_fts_row, True),
    (
        "orphan_fts_row",
        _sql(
            "drop trigger passages_ad",
            "delete from sentences where passage_id = {pid}",
            "delete from passages where id = {pid}",
        ),
        True,
    ),
    ("fts_damaged", _sql("update passages_fts_data set block = x'0000' where id > 10"), True),
    ("orphan_sentences", _sql("insert into sentences values (999999, '[]', x'')"), True),
    ("passage_without_sentences", _sql("delete from sentences where passage_id = {pid}"), True),
    ("passage_not_verbatim", _sql("update passages set start = start + 1 where id = {pid}"), True),
    (
        "passage_without_article",
        _sql("delete from articles where id = (select article_id from passages where id = {pid})"),
        True,
    ),
    ("model_mismatch", _sql("update meta set value = 'other-model' where key = 'model'"), True),
    ("dim_mismatch", _sql("update meta set value = '32' where key = 'dim'"), True),
    (
        "passage_id_counter_behind",
        _sql("update meta set value = '1' where key = 'last_passage_id'"),
        True,
    ),
    ("checksum_mismatch", lambda g: _append(g / VECTORS_FILE, b"\0"), False),
    ("vectors_unreadable", lambda g: (g / VECTORS_FILE).write_bytes(b"not faiss" * 10), True),
    ("database_unreadable", lambda g: (g / DB_FILE).write_bytes(b""), True),
    ("manifest_unreadable", lambda g: (g / MANIFEST_FILE).write_text("{"), False),
    ("current_dangling", lambda g: shutil.rmtree(g), False),
]


@pytest.mark.parametrize(
    ("problem", "damage", "rewrite_manifest"), INJECTIONS, ids=[i[0] for i in INJECTIONS]
)
def test_check_names_each_injected_problem(served, problem, damage, rewrite_manifest):
    data, _ = served
    gen = current_generation(data)
    assert gen is not None and check_index(data, MODEL, 64).ok
    damage(gen)
    if rewrite_manifest:
        write_manifest(gen)
    report = check_index(data, MODEL, 64)
    assert problem in report.names, report.problems
    assert not report.ok


@pytest.mark.slow
def test_check_on_a_damaged_index_exits_1_with_the_fix(served):
    data, _ = served
    _no_fts_row(current_generation(data))
    proc = real_check(data)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "checksum_mismatch" in proc.stdout  # the files changed after they were written ...
    assert "passage_without_fts" in proc.stdout  # ... and what exactly is wrong
    assert (
        "Fix: rebuild it from the articles with `quotebot index --rebuild PATH...`" in proc.stdout
    )
    empty = real_check(data.parent / "nothing")
    assert empty.returncode == 1 and "no_index" in empty.stdout
    assert "quotebot index PATH" in empty.stdout


# -- kill -9 while indexing -------------------------------------------------------------------------

KILL_SEEDS = int(os.environ.get("KILL_SEEDS", "5"))  # more for a longer run


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """The V1 -> V2 update run to the end through the CLI: how long it works until it swaps the
    new generation in, what the index answers afterwards, and how many bytes that generation
    needs."""
    root = tmp_path_factory.mktemp("uninterrupted")
    corpus, data = root / "articles", root / "data"
    write_corpus(corpus, V1)
    build(data, corpus)
    old = current_generation(data)
    write_corpus(corpus, V2)
    proc = subprocess.Popen(
        [sys.executable, "-c", FAKE_CLI, "--data", str(data), "index", str(corpus)],
        cwd=root,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stderr.readline() == "ready\n"
    ready = time.perf_counter()
    while current_generation(data) == old and proc.poll() is None:
        time.sleep(0.002)
    work = time.perf_counter() - ready
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith("added 10, updated 10, unchanged 24, removed 6"), out
    gen = current_generation(data)
    assert gen is not None
    return {
        "work_s": work,
        "answers": answers(data),
        "gen_bytes": sum(p.stat().st_size for p in gen.iterdir()),
        "db_bytes": (gen / DB_FILE).stat().st_size,
    }


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(KILL_SEEDS))
def test_kill_9_while_indexing_loses_nothing(served, uninterrupted, seed):
    data, corpus = served
    before = answers(data)
    old = current_generation(data)
    write_corpus(corpus, V2)

    # Seed k kills at a random moment within the k-th slice of the time an update works before
    # its swap, extended by half (stratified, so that the seeds together cover reading,
    # copying, embedding, saving, publishing and the clean-up just after the swap).
    rng = random.Random(seed)
    delay = uninterrupted["work_s"] * 1.5 * (seed + rng.random()) / KILL_SEEDS
    proc = subprocess.Popen(
        [sys.executable, "-c", FAKE_CLI, "--data", str(data), "index", str(corpus)],
        cwd=data.parent,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stderr.readline() == "ready\n"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    status = proc.wait(timeout=60)
    proc.stderr.close()
    assert status in (-signal.SIGKILL, 0)  # 0: it had already finished

    with writer_lock(data):  # the dead writer's lock went with it
        pass
    now = current_generation(data)
    if now == old:
        assert answers(data) == before  # the previous index answers exactly as before
    else:  # killed after the swap: the new generation is whole
        assert answers(data) == uninterrupted["answers"]
    assert check_index(data, MODEL, 64).ok

    rerun = fake_cli("--data", data, "index", corpus, cwd=data.parent)
    assert rerun.returncode == 0, rerun.stderr
    if now == old:
        assert rerun.stdout.startswith("added 10, updated 10, unchanged 24, removed 6")
    assert answers(data) == uninterrupted["answers"]  # the job is finished
    gens = generations(data)
    assert current_generation(data) in gens and len(gens) <= 2  # half-built ones are gone
    assert not list(data.glob("*.tmp")) and not list(data.glob("gen-*/*.tmp"))
    assert check_index(data, MODEL, 64).ok


# -- damaged files --------------------------------------------------------------------------------


def _flip_bytes(path: Path, seed: int, count: int = 3) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for _ in range(count):
        pos = rng.randrange(len(data))
        data[pos] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def _flip_text(path: Path, seed: int) -> None:
    """Change one letter of an article's text inside the SQLite file: a valid database that
    would quote words the article never had."""
    data = bytearray(path.read_bytes())
    needle = question(seed % 40).split()[0].encode()
    pos = data.find(needle)
    assert pos > 0
    data[pos] = ord("x") if data[pos] != ord("x") else ord("y")
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path, int], None]] = {
    "truncated": lambda p, s: p.write_bytes(p.read_bytes()[: p.stat().st_size // (2 + s % 3)]),
    "zero-length": lambda p, s: p.write_bytes(b""),
    "flipped-bytes": _flip_bytes,
    "flipped-text": _flip_text,
}
CORRUPTIONS = [
    (file, damage, legacy)
    for file in (DB_FILE, VECTORS_FILE)
    for damage in DAMAGE
    for legacy in (False, True)
    # Without a manifest (a generation from before checksums), only structural damage can be
    # told from real content; docs/hostile.md says so.
    if not (legacy and damage.startswith("flipped"))
    and not (file == VECTORS_FILE and damage == "flipped-text")
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("file", "damage", "legacy"),
    CORRUPTIONS,
    ids=[f"{f}-{d}{'-no-manifest' if legacy else ''}" for f, d, legacy in CORRUPTIONS],
)
def test_damaged_file_is_refused_at_start_up_with_the_way_out(served, file, damage, legacy):
    data, corpus = served
    gen = current_generation(data)
    if legacy:
        (gen / MANIFEST_FILE).unlink()
    DAMAGE[damage](gen / file, len(damage))
    # Each in its own process, side by side: a segfault would be a negative exit status.
    write_corpus(corpus, V2)
    asking = start_fake_cli("--data", data, "ask", "--json", QUESTIONS[0], cwd=data.parent)
    updating = start_fake_cli("--data", data, "index", corpus, cwd=data.parent)
    check = real_check(data)
    ask, update = finish(asking), finish(updating)
    assert_clean_failure(ask, "The served index is damaged", "quotebot index --rebuild PATH")
    assert ask.stdout == ""  # no answer rather than a wrong one
    assert check.returncode == 1 and "PROBLEMS" in check.stdout, check.stdout + check.stderr
    assert "quotebot index --rebuild" in check.stdout and "Traceback" not in check.stderr
    # An incremental update refuses to build on the damage ...
    assert_clean_failure(update, "damaged", "--rebuild")

    if damage == "truncated" and not legacy:  # ... and the rebuild is the way out
        rebuilt = fake_cli("--data", data, "index", "--rebuild", corpus, cwd=data.parent)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert rebuilt.stdout.startswith("added 44, updated 0, unchanged 0, removed 0")
        assert check_index(data, MODEL, 64).ok
        assert not answers(data)[0]["abstained"]


# -- full disk and read-only data directory -------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: int) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        pytest.skip(f"mounting a size-limited tmpfs is not permitted here ({mount.stderr.strip()})")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """Fill the file system, then free ``leave`` bytes."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))
    return filler


# (how the disk runs out, how much room is left: a share of what the new generation needs on
# a file system, of the old database's size under a file size limit)
DISK_FULL = [("tmpfs", 0.0), ("tmpfs", 0.5), ("rlimit", 0.5), ("rlimit", 1.05)]


@pytest.mark.slow
@pytest.mark.parametrize(("how", "room"), DISK_FULL, ids=[f"{h}-{r}" for h, r in DISK_FULL])
def test_disk_full_while_indexing_is_a_clear_error_and_the_index_is_untouched(
    tmp_path, uninterrupted, how, room
):
    corpus, disk = tmp_path / "articles", tmp_path / "disk"
    data = disk / "data"
    write_corpus(corpus, V1)
    with contextlib.ExitStack() as stack:
        limit = None
        if how == "tmpfs":
            stack.enter_context(tmpfs(disk, 4 * 1024 * 1024))
            build(data, corpus)
            filler = _fill(disk, int(room * uninterrupted["gen_bytes"]))
        else:
            # A file size limit in the child: writes past it fail with EFBIG, as on a full disk.
            build(data, corpus)
            limit = int(room * (current_generation(data) / DB_FILE).stat().st_size)

        old, before = current_generation(data), answers(data)
        write_corpus(corpus, V2)
        full = fake_cli(
            "--data",
            data,
            "index",
            corpus,
            cwd=tmp_path,
            preexec_fn=None if limit is None else lambda: _limit_file_size(limit),
        )
        assert_clean_failure(full, f"write the index in {data}", "the served index is unchanged")
        reasons = ("No space left", "database or disk is full", "File too large", "disk I/O error")
        assert any(reason in full.stderr for reason in reasons), full.stderr
        assert current_generation(data) == old and generations(data) == [old]
        assert answers(data) == before
        assert check_index(data, MODEL, 64).ok

        if how == "tmpfs":
            filler.unlink()
        update_index(data, [corpus], IndexRun(FakeEmbedder()))  # with room again, nothing was lost
        assert answers(data) == uninterrupted["answers"]
        assert check_index(data, MODEL, 64).ok


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _read_only_prefix(data: Path) -> list[str]:
    """A command prefix under which ``data`` cannot be written, by a means that binds root too."""
    if os.geteuid() != 0:
        for path in [data, *data.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return []
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, text=True
    )
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip(
            "running as root without mount namespaces: no way to make a directory read-only"
        )
    # A read-only bind mount seen only by the child: nothing to clean up, even if pytest dies.
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(data)]


@pytest.mark.slow
def test_read_only_data_dir_is_a_clear_error_and_still_answers(served):
    data, corpus = served
    old, before = current_generation(data), answers(data)
    write_corpus(corpus, V2)
    prefix = _read_only_prefix(data)
    try:
        update = subprocess.run(
            [*prefix, sys.executable, "-c", FAKE_CLI, "--data", str(data), "index", str(corpus)],
            cwd=data.parent,
            env=env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        asked = subprocess.run(
            [*prefix, sys.executable, "-c", FAKE_CLI, "--data", str(data), "ask", "--json", "-"],
            input="\n".join(QUESTIONS) + "\n",
            cwd=data.parent,
            env=env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        for path in [data, *data.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert_clean_failure(
        update, f"cannot write the index in {data}", "the served index is unchanged"
    )
    assert "Read-only file system" in update.stderr or "Permission denied" in update.stderr
    assert current_generation(data) == old and generations(data) == [old]
    assert asked.returncode == 0, asked.stderr  # a read-only index still answers
    served_answers = [json.loads(line) for line in asked.stdout.splitlines()]
    for result in served_answers:
        for answer in result["answers"]:
            for src in answer["sources"]:
                src["path"] = Path(src["path"]).name
    assert served_answers == before == answers(data)
    assert check_index(data, MODEL, 64).ok


# -- questions during a reindex --------------------------------------------------------------------

SWAPS = 3
SWAP_ARTICLES = 12


@pytest.mark.slow
def test_questions_during_a_reindex_come_from_one_whole_generation(tmp_path):
    corpus, data = tmp_path / "articles", tmp_path / "data"
    # Each version's cleaned article texts, from a clean build of that version alone.
    texts = []
    for version in (0, 1):
        scratch = tmp_path / f"v{version}"
        write_corpus(scratch / "articles", dict.fromkeys(range(SWAP_ARTICLES), version), tag=True)
        build(scratch / "data", scratch / "articles")
        db = sqlite3.connect(current_generation(scratch / "data") / DB_FILE)
        texts.append(dict(db.execute("select id, text from articles")))
        db.close()
    write_corpus(corpus, dict.fromkeys(range(SWAP_ARTICLES), 0), tag=True)
    build(data, corpus)

    answerer = Answerer(data, FakeEmbedder(), SETTINGS)
    questions = [question(i) for i in range(SWAP_ARTICLES)]
    results: list[dict] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def ask_until_done(offset: int) -> None:
        k = offset
        while not done.is_set():
            try:
                results.append(answerer.ask(questions[k % len(questions)]).to_json())
            except BaseException as exc:  # noqa: BLE001 - any error is a test failure
                errors.append(exc)
                return
            k += 1

    askers = [threading.Thread(target=ask_until_done, args=(n,)) for n in range(2)]
    for t in askers:
        t.start()
    statuses = []
    try:
        for swap in range(SWAPS):
            write_corpus(corpus, dict.fromkeys(range(SWAP_ARTICLES), (swap + 1) % 2), tag=True)
            statuses.append(fake_cli("--data", data, "index", corpus, cwd=tmp_path))
    finally:
        done.set()
        for t in askers:
            t.join(timeout=60)
    assert not errors, errors
    assert all(s.returncode == 0 and s.stdout.startswith("added 0, updated 12") for s in statuses)

    def versions_of(result: dict) -> set[int]:
        """The versions every quote of ``result`` is a verbatim slice of."""
        fits = set()
        for version in (0, 1):
            ok = True
            for answer in result["answers"]:
                lead = answer["sources"][0]
                article = texts[version].get(lead["id"], "")
                ok = ok and article[lead["start"] : lead["end"]] == answer["quote"]
                for src in answer["sources"]:
                    piece = texts[version].get(src["id"], "")[src["start"] : src["end"]]
                    ok = ok and TAGS[version] in piece
            if ok:
                fits.add(version)
        return fits

    answered = [r for r in results if r["answers"]]
    assert len(answered) >= 20 and len(answered) == len(results)
    seen = [versions_of(r) for r in answered]
    assert all(len(v) == 1 for v in seen), [
        r for r, v in zip(answered, seen, strict=True) if len(v) != 1
    ][:2]
    assert {next(iter(v)) for v in seen} == {0, 1}  # questions really straddled the swaps
