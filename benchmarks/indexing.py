"""Indexing throughput on passages of about 100 words: passages per second, warm and cold.

The articles are SQuAD dev's 48 Wikipedia articles, each written as one .txt file (its
paragraphs joined), so quotebot's chunker cuts them into passages near its 110-word cap, as it
would a news article. Every configuration indexes the same files from scratch:

- **warm**: ``update_index`` in this process with the model already loaded and run once, timed
  from the call to the published index (reading, cleaning, chunking, embedding, SQLite, FAISS);
- **cold**: ``quotebot index`` in a fresh process, from process start (imports, model load).

    .venv/bin/python benchmarks/indexing.py                    # writes the doc block
    .venv/bin/python benchmarks/indexing.py --batch-sizes 8 32 --precisions bf16 --no-doc
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from retrieval.evaluation import squad_articles

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "eval" / "squad" / "dev-v1.1.json.gz"
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "benchmarks" / "results" / "indexing.json"
BEGIN, END = "<!-- indexing:begin -->", "<!-- indexing:end -->"


def write_articles(folder: Path) -> int:
    """SQuAD dev's articles as .txt files: the title, then the paragraphs."""
    data = squad_articles(SQUAD)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for n, article in enumerate(data):
        title = article["title"].replace("_", " ")
        body = "\n\n".join(p["context"] for p in article["paragraphs"])
        (folder / f"{n:02d}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return len(data)


def passage_sizes(data_dir: Path, tokenizer: Any) -> dict[str, float]:
    from index.snapshot import open_snapshot

    store = open_snapshot(data_dir).store
    texts = [row.text for row in store.passages(range(1, store.max_passage_id() + 1)).values()]
    store.close()
    return {
        "passages": len(texts),
        "words_mean": round(statistics.fmean(len(t.split()) for t in texts), 1),
        "tokens_mean": round(statistics.fmean(len(tokenizer(t)["input_ids"]) for t in texts), 1),
    }


def warm(articles: Path, work: Path, precision: str, batch_size: int) -> dict[str, Any]:
    from bot.config import load_config
    from index.builder import IndexRun, update_index
    from index.embedding import load_embedder

    config = load_config(ROOT / "config.toml", data_dir=work / "warm")
    settings = dataclasses.replace(config.embedding, precision=precision, batch_size=batch_size)
    embedder = load_embedder(settings)
    first = sorted(articles.glob("*.txt"))[0].read_text(encoding="utf-8")[:3000]
    embedder.encode_passages([first], [[(0, 100)]])  # the first call builds kernels
    shutil.rmtree(config.data_dir, ignore_errors=True)
    start = time.perf_counter()
    run = IndexRun(embedder, config.chunking, config.vectors, config.ingest)
    summary = update_index(config.data_dir, [articles], run)
    seconds = time.perf_counter() - start
    sizes = passage_sizes(config.data_dir, embedder.model.tokenizer)
    return {
        "precision": embedder.precision,
        "batch_size": batch_size,
        "threads": config.embedding.threads,
        **sizes,
        "warm_s": round(seconds, 2),
        "passages_per_s_warm": round(summary.passages_embedded / seconds, 1),
    }


def cold(articles: Path, work: Path, precision: str, batch_size: int) -> dict[str, float]:
    data = work / "cold"
    shutil.rmtree(data, ignore_errors=True)
    env = {
        **os.environ,
        "QUOTEBOT_EMBEDDING__PRECISION": precision,
        "QUOTEBOT_EMBEDDING__BATCH_SIZE": str(batch_size),
    }
    cmd = [str(ROOT / ".venv" / "bin" / "quotebot"), "--data", str(data), "index", str(articles)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    return {"cold_s": round(time.perf_counter() - start, 2)}


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Run {report['date']} at commit `{report['commit']}`, {report['cores']} cores (load "
        f"average {report['load_average_start']} at the start, {report['load_average_end']} at "
        f"the end). {report['articles']} SQuAD dev articles as .txt files. Raw figures: "
        "`benchmarks/results/indexing.json`.",
        "",
        "| precision | batch | passages | words / passage | tokens / passage | warm passages/s "
        "| cold: whole `quotebot index` (s) | cold passages/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        lines.append(
            f"| {r['precision']} | {r['batch_size']} | {r['passages']} | {r['words_mean']} | "
            f"{r['tokens_mean']} | **{r['passages_per_s_warm']}** | {r['cold_s']} | "
            f"{round(r['passages'] / r['cold_s'], 1)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "indexing")
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32])
    parser.add_argument(
        "--no-doc", action="store_true", help="print only: leave the doc and the results file alone"
    )
    args = parser.parse_args()

    articles = args.work / "articles"
    report: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="minutes"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "articles": write_articles(articles),
        "runs": [],
    }
    for precision in args.precisions:
        for batch_size in args.batch_sizes:
            run = warm(articles, args.work, precision, batch_size)
            run.update(cold(articles, args.work, precision, batch_size))
            print(json.dumps(run), flush=True)
            report["runs"].append(run)
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    markdown = render(report)
    print(markdown)
    if not args.no_doc:
        from compare import splice  # benchmarks/compare.py: this script's folder is on the path

        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        splice(DOC, markdown, BEGIN, END)


if __name__ == "__main__":
    main()
