"""A consistency check of the served index: the facts ``quotebot check`` reports.

Every passage must have one vector, one full-text row and its sentence vectors, with nothing
left over; the files must be what the builder wrote (manifest checksums); the model and
dimension recorded in the index must match the configured model and the FAISS index; the
multilingual vectors, when the generation has them, must cover every passage too; every feed
entry read must be in the index. No model is loaded: the caller passes the configured model's
name (and its dimension when it knows it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IndexCorrupt
from .feeds import check_feeds
from .multilingual import check_vectors as check_multilingual
from .snapshot import (
    CURRENT,
    DB_FILE,
    VECTORS_FILE,
    current_generation,
    read_manifest,
    verify_file,
)
from .store import Store
from .vectors import Vectors


@dataclass(frozen=True)
class Problem:
    name: str  # a stable identifier, e.g. "passage_without_vector"
    detail: str


@dataclass(frozen=True)
class CheckReport:
    data_dir: Path
    generation: str | None
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = ()  # worth knowing, but not wrong (e.g. no checksums to verify)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.problems]


def _few(ids: Iterable[int], limit: int = 5) -> str:
    items = sorted(ids)
    shown = ", ".join(str(i) for i in items[:limit])
    return f"{len(items)} ({shown}{', ...' if len(items) > limit else ''})"


def _match(
    report: Callable[[str, str], None],
    passages: set[int],
    rows: set[int],
    what: str,
    missing: str,
    orphan: str,
) -> None:
    """Every passage has one of ``rows`` and every row belongs to a passage."""
    if gone := passages - rows:
        report(missing, f"passages without {what}: {_few(gone)}")
    if extra := rows - passages:
        report(orphan, f"{what} of no passage: {_few(extra)}")


def _span_count(spans: str) -> int:
    try:
        return len(json.loads(spans))
    except (ValueError, TypeError):
        return -1  # unreadable spans: never the right size


def check_index(data_dir: Path, model: str | None = None, dim: int | None = None) -> CheckReport:
    """Check the generation ``data_dir/current`` points at, and the feeds; never raises for a
    damaged index."""
    data_dir = Path(data_dir)
    report = _check_generation(data_dir, model, dim)
    problems, notes, counts = check_feeds(data_dir)
    if not (problems or notes or counts):
        return report
    return dataclasses.replace(
        report,
        problems=report.problems + tuple(Problem(name, detail) for name, detail in problems),
        notes=report.notes + tuple(notes),
        counts=report.counts | counts,
    )


def _check_generation(data_dir: Path, model: str | None, dim: int | None) -> CheckReport:
    gen = current_generation(data_dir)
    if gen is None:
        link = data_dir / CURRENT
        if link.is_symlink():
            target = os.readlink(link)
            problem = Problem("current_dangling", f"{link} points at {target}, which is missing")
        else:
            problem = Problem("no_index", f"no index in {data_dir}")
        return CheckReport(data_dir, None, (problem,))

    problems: list[Problem] = []
    notes: list[str] = []
    counts: dict[str, int] = {}

    def add(name: str, detail: str) -> None:
        problems.append(Problem(name, detail))

    digests: dict[str, str | None] = {DB_FILE: None, VECTORS_FILE: None}
    try:
        manifest = read_manifest(gen)
    except IndexCorrupt as exc:
        manifest = None
        add("manifest_unreadable", str(exc))
    else:
        if manifest is None:
            notes.append(f"{gen.name} has no checksums (built by an older quotebot)")
    if manifest is not None:
        for name in digests:
            try:
                verify_file(gen, name, manifest)
                digests[name] = str(manifest[name]["sha256"])
            except IndexCorrupt as exc:
                add("checksum_mismatch", str(exc))

    try:
        store = Store.open(gen / DB_FILE, readonly=True)
    except IndexCorrupt as exc:
        add("database_unreadable", str(exc))
        return CheckReport(data_dir, gen.name, tuple(problems), tuple(notes), counts)
    try:
        built_dim, passage_ids = _check_database(store, model, dim, counts, add)
    except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: unreadable metadata
        add("database_unreadable", f"{gen / DB_FILE}: {exc}")
        return CheckReport(data_dir, gen.name, tuple(problems), tuple(notes), counts)
    finally:
        store.close()
    _check_multilingual(gen, passage_ids, counts, add)

    if manifest is not None and digests[VECTORS_FILE] is None:
        return CheckReport(data_dir, gen.name, tuple(problems), tuple(notes), counts)
    try:
        vectors = Vectors.load(gen / VECTORS_FILE, digests[VECTORS_FILE])
    except IndexCorrupt as exc:
        add("vectors_unreadable", str(exc))
        return CheckReport(data_dir, gen.name, tuple(problems), tuple(notes), counts)
    counts["vectors"] = len(vectors)
    if built_dim and vectors.dim != built_dim:
        add("dim_mismatch", f"the index records {built_dim}-d but the vectors are {vectors.dim}-d")
    ids = [int(i) for i in vectors.ids()]
    if len(ids) != len(set(ids)):
        add("duplicate_vectors", f"{len(ids) - len(set(ids))} passage ids have several vectors")
    _match(add, passage_ids, set(ids), "vectors", "passage_without_vector", "orphan_vector")
    if len(ids) != len(passage_ids):
        add("vector_count_mismatch", f"{len(ids)} vectors for {len(passage_ids)} passages")
    return CheckReport(data_dir, gen.name, tuple(problems), tuple(notes), counts)


def _check_multilingual(
    gen: Path, passages: set[int], counts: dict[str, int], report: Callable[[str, str], None]
) -> None:
    """The multilingual vectors, when the generation has them: one per passage, intact."""
    store = Store.open(gen / DB_FILE, readonly=True)
    try:
        found = check_multilingual(gen, store, passages, report)
    finally:
        store.close()
    if found is not None:
        counts["multilingual_vectors"] = found


def _check_database(
    store: Store,
    model: str | None,
    dim: int | None,
    counts: dict[str, int],
    report: Callable[[str, str], None],
) -> tuple[int, set[int]]:
    """The checks SQLite can answer; returns the recorded dimension and the passage ids."""
    conn = store.conn
    integrity = [r[0] for r in conn.execute("pragma integrity_check(5)")]
    if integrity != ["ok"]:
        report("database_damaged", "; ".join(integrity))

    built_model = store.get_meta("model")
    built_dim = int(store.get_meta("dim") or 0)
    wrong = store.mismatch(model, dim)
    if built_model is None or not built_dim:
        report("meta_missing", "the index does not record its model and dimension")
    elif wrong is not None:
        report(*wrong)

    (counts["articles"],) = conn.execute("select count(*) from articles").fetchone()

    def ids(sql: str) -> set[int]:
        return {r[0] for r in conn.execute(sql)}

    passages = ids("select id from passages")
    counts["passages"] = len(passages)
    if orphans := ids(
        "select p.id from passages p left join articles a on a.id = p.article_id where a.id is null"
    ):
        report("passage_without_article", f"passages whose article is gone: {_few(orphans)}")
    if shifted := ids(
        "select p.id from passages p join articles a on a.id = p.article_id "
        "where substr(a.text, p.start + 1, p.end - p.start) is not p.text"
    ):
        report(
            "passage_not_verbatim", f"passages that are not their article's text: {_few(shifted)}"
        )

    # The FTS5 table reads its text from ``passages``; its docsize table has one row per
    # passage it has actually indexed.
    fts = ids("select id from passages_fts_docsize")
    counts["fts_rows"] = len(fts)
    _match(report, passages, fts, "full-text rows", "passage_without_fts", "orphan_fts_row")
    memory = sqlite3.connect(":memory:")
    try:
        conn.backup(memory)  # FTS5's own check writes, and the served file is read-only
        memory.execute("insert into passages_fts(passages_fts) values ('integrity-check')")
    except sqlite3.DatabaseError as exc:
        report("fts_damaged", f"the full-text index is damaged ({exc})")
    finally:
        memory.close()

    sentences = ids("select passage_id from sentences")
    counts["sentence_rows"] = len(sentences)
    _match(
        report,
        passages,
        sentences,
        "sentence vectors",
        "passage_without_sentences",
        "orphan_sentences",
    )
    if built_dim:
        bad = [
            pid
            for pid, spans, size in conn.execute(
                "select passage_id, spans, length(vectors) from sentences"
            )
            if size != _span_count(spans) * built_dim * 2  # fp16
        ]
        if bad:
            report("sentence_vectors_wrong_size", f"passages: {_few(bad)}")

    last = int(store.get_meta("last_passage_id") or 0)
    if passages and last < max(passages):
        report("passage_id_counter_behind", f"last_passage_id {last} < {max(passages)}")
    return built_dim, passages
