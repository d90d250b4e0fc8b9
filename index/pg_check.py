"""What ``quotebot check`` reports about an index in PostgreSQL, with the problem names of the
SQLite check (``check.py``). Foreign keys keep passages, sentences and parses with their
articles, and the vector and full-text columns are the passage's own, so what can still go wrong
is fewer things: the model, a passage that is not its article's text, a sentence row of the
wrong size, the extension or the server."""

from __future__ import annotations

from pathlib import Path

from .check import CheckReport, Problem, _few, _span_count
from .errors import QuotebotError, VectorExtensionMissing
from .pg import PgDatabase, meta_mismatch


def check_postgres(
    db: PgDatabase, data_dir: Path, model: str | None, dim: int | None
) -> CheckReport:
    """Check the index in ``db``; never raises for a damaged or unreachable one."""
    problems: list[Problem] = []
    counts: dict[str, int] = {}

    def add(name: str, detail: str) -> None:
        problems.append(Problem(name, detail))

    try:
        meta = db.meta()
        if "model" not in meta:
            return CheckReport(data_dir, None, (Problem("no_index", f"no index in {db.where}"),))
        wrong = meta_mismatch(meta, model, dim)
        if wrong is not None:
            add(*wrong)
        built_dim = int(meta.get("dim") or 0)
        with db.reading() as conn:

            def count(sql: str) -> int:
                row = conn.execute(sql).fetchone()
                return int(row[0]) if row else 0

            counts["articles"] = count("select count(*) from articles")
            counts["passages"] = count("select count(*) from passages")
            counts["vectors"] = count("select count(embedding) from passages")
            counts["sentence_rows"] = count("select count(*) from sentences")
            counts["fts_rows"] = count("select count(*) from passages where tsv is not null")
            shifted = [r[0] for r in conn.execute(
                'select p.id from passages p join articles a on a.id = p.article_id '
                'where substr(a.text, p.start + 1, p."end" - p.start) is distinct from p.text'
            )]
            if shifted:
                add("passage_not_verbatim",
                    f"passages that are not their article's text: {_few(shifted)}")
            missing = [r[0] for r in conn.execute(
                "select p.id from passages p left join sentences s on s.passage_id = p.id "
                "where s.passage_id is null"
            )]
            if missing:
                add("passage_without_sentences", f"passages without sentence vectors: "
                    f"{_few(missing)}")
            if built_dim:
                bad = [
                    pid for pid, spans, size in conn.execute(
                        "select passage_id, spans, length(vectors) from sentences"
                    )
                    if size != _span_count(spans) * built_dim * 2  # fp16
                ]
                if bad:
                    add("sentence_vectors_wrong_size", f"passages: {_few(bad)}")
    except VectorExtensionMissing as exc:
        add("vector_extension_missing", str(exc))
    except QuotebotError as exc:  # unreachable, or a statement timed out
        add("database_unreachable", str(exc))
    return CheckReport(data_dir, db.where, tuple(problems), (), counts)
