"""Scale benchmark: how `ask` latency, memory and dense recall grow with the corpus, per index kind.

    flock /tmp/coord/heavy.lock .venv/bin/python benchmarks/scale.py --work /tmp/qbscale

1. Builds real quotebot indexes of SciFact and SQuAD dev (real model; once, then reused).
2. Builds indexes of 10k, 100k and 1M passages from them (real passages plus synthetic ones,
   see ``benchmarks/scale_corpus.py``), one database per size and one FAISS file per kind
   (flat, hnsw, ivf_sq8), each a served generation that `quotebot ask --data DIR` answers from.
3. Per size and kind, a fresh serving process (``benchmarks/scale_serve.py``) answers real
   questions (SciFact test claims and SQuAD dev questions) with the model loaded: latency
   p50/p95/p99 and per stage, and the process's peak RSS.
4. Dense recall@10/@100 of each approximate kind against flat on the same questions, with a
   sweep of its search parameter; SciFact test nDCG@10 with each kind on the real SciFact index.
5. Writes ``benchmarks/results/scale.json`` and the plot ``docs/scale.png``, and prints the
   tables for docs/benchmarks.md.

Builds are cached under --work (delete a size's folder to rebuild it); measurements always rerun.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scale_corpus as sc  # benchmarks/scale_corpus.py: this script's folder is on the path

from bot.config import load_config
from index.builder import IndexRun, update_index
from index.embedding import load_embedder
from index.settings import VectorSettings
from index.snapshot import (
    DB_FILE,
    VECTORS_FILE,
    current_generation,
    new_generation,
    publish,
)
from index.store import Store
from index.vectors import Vectors
from retrieval import evaluation as ev
from retrieval.engine import Answerer

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
SCIFACT = EVAL / "scifact"
SQUAD = EVAL / "squad" / "dev-v1.1.json.gz"
KINDS = ("flat", "hnsw", "ivf_sq8")
SWEEP = {
    "hnsw": ("hnsw_ef_search", (64, 128, 256, 512)),
    "ivf_sq8": ("ivf_nprobe", (8, 16, 32, 64, 128)),
}
TARGETS = {"p95_ms": {100_000: 50, 1_000_000: 150}, "peak_rss_mb": {1_000_000: 3072}}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- inputs --------------------------------------------------------------------------------------
def questions(n: int) -> list[dict]:
    """Real questions, alternating SciFact test claims and SQuAD dev questions, with the
    article ids (as in the scale indexes) that answer them."""
    scifact = [
        {"question": claim, "gold": [f"scifact-{doc}" for doc in relevant]}
        for _, claim, relevant in ev.beir_questions(SCIFACT, "test")
    ]
    squad = [
        {"question": question, "gold": [f"squad-{paragraph}"]}  # ids as in squad_paragraphs
        for paragraph, question, _ in ev.spread(ev.squad_questions(SQUAD), n)
    ]
    mixed = [q for pair in zip(scifact, squad, strict=False) for q in pair]
    return mixed[:n]


def real_indexes(work: Path, config: Any, embedder: Any) -> dict[str, Path]:
    """Real quotebot indexes of SciFact and SQuAD dev paragraphs (flat), built once."""
    out = {}
    corpora = {
        "scifact": ev.beir_corpus(SCIFACT),
        "squad": ev.squad_paragraphs(SQUAD, work / "real" / "squad-paragraphs.jsonl"),
    }
    for name, corpus in corpora.items():
        data = work / "real" / name
        summary = update_index(data, [corpus], IndexRun(embedder, chunking=config.chunking))
        if summary.passages_embedded:
            log(
                f"real index {name}: {summary.passages_embedded} passages in {summary.seconds:.0f}s"
            )
        out[name] = data
    return out


# -- building ------------------------------------------------------------------------------------
def build_size(work: Path, pool: sc.Pool, size: int, sigma: float, kinds: list[str]) -> dict:
    """The database and one served generation per kind for ``size`` passages (cached)."""
    folder = work / f"n{size}"
    done = folder / "build.json"
    stats = json.loads(done.read_text()) if done.is_file() else {}
    vec_file = folder / "vectors.npy"
    if "database" not in stats:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        log(f"{size}: writing the database")
        synth = sc.Synthesizer(pool, sigma, seed=1)
        vecs, timings = sc.write_database(
            folder / DB_FILE, sc.plan(pool, size, synth), pool.model, pool.dim, size
        )
        np.save(vec_file, vecs)
        stats = {
            "database": timings,
            "passages": len(vecs),
            "synthetic_sentences": synth.sentences,
            "sentences_without_a_real_vector": synth.unmatched_sentences,
            "db_bytes": (folder / DB_FILE).stat().st_size,
        }
        done.write_text(json.dumps(stats))
        log(f"{size}: database {timings}")
    vecs = None
    for kind in kinds:
        if kind in stats.get("kinds", {}):
            continue
        if vecs is None:
            vecs = np.load(vec_file)
        shutil.rmtree(folder / kind, ignore_errors=True)
        log(f"{size}: building the {kind} index")
        stats.setdefault("kinds", {})[kind] = sc.publish_kind(
            folder / kind, folder / DB_FILE, vecs, VectorSettings(kind=kind)
        )
        done.write_text(json.dumps(stats))
        log(f"{size}: {kind} {stats['kinds'][kind]}")
    return stats


# -- measuring -----------------------------------------------------------------------------------
def serve(
    data_dir: Path, questions_file: Path, highlight: bool = False, postings: int | None = None
) -> dict:
    """Latency and memory of a fresh serving process with the shipped config, or another
    full-text postings budget (0: none)."""
    env = dict(os.environ)
    if postings is not None:
        env["QUOTEBOT_RETRIEVAL__FTS_MAX_POSTINGS"] = str(postings)
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "scale_serve.py"),
        str(data_dir),
        str(questions_file),
    ]
    if highlight:
        cmd.append("--highlight")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def dense_recall(folder: Path, kinds: list[str], qvecs: np.ndarray) -> dict:
    """Recall@10/@100 of each approximate kind against flat, over a sweep of its search knob."""
    flat = Vectors.load(current_generation(folder / "flat") / VECTORS_FILE)
    _, truth = flat.index.search(qvecs, 100)
    flat_ms = _search_ms(flat, qvecs)
    del flat
    out: dict[str, Any] = {"flat": {"search_ms": flat_ms}}
    for kind in kinds:
        if kind == "flat":
            continue
        vecs = Vectors.load(current_generation(folder / kind) / VECTORS_FILE)
        knob, values = SWEEP[kind]
        rows = []
        for value in values:
            _set_knob(vecs, knob, value)
            _, got = vecs.index.search(qvecs, 100)
            rows.append(
                {
                    knob: value,
                    "recall@10": _recall(got, truth, 10),
                    "recall@100": _recall(got, truth, 100),
                    "search_ms": _search_ms(vecs, qvecs),
                }
            )
        out[kind] = {"default": getattr(VectorSettings(), knob), "sweep": rows}
    return out


def _set_knob(vecs: Vectors, knob: str, value: int) -> None:
    """Set a search parameter in place, as ``Vectors.fit`` does for the shipped settings."""
    settings = dataclasses.replace(VectorSettings(kind=vecs.kind), **{knob: value})
    if vecs.fit(settings) is not vecs:
        raise RuntimeError(f"{vecs.kind} index would be rebuilt to set {knob} = {value}")


def _recall(got: np.ndarray, truth: np.ndarray, k: int) -> float:
    hits = [len(set(g[:k]) & set(t[:k])) / k for g, t in zip(got, truth, strict=True)]
    return round(float(np.mean(hits)), 4)


def _search_ms(vecs: Vectors, qvecs: np.ndarray) -> dict[str, float]:
    """One question at a time, as `ask` searches."""
    times = []
    for q in qvecs:
        t = time.perf_counter()
        vecs.search(q, 100)
        times.append((time.perf_counter() - t) * 1000)
    return ev.percentiles(times)


def fts_budget(folder: Path, qs: list[str], budget: int) -> dict:
    """What the postings budget of full-text search costs and saves: top-100 overlap with the
    exact OR query, and the time of each, on the same questions (cached word counts warm)."""
    store = Store.open(current_generation(folder / "flat") / DB_FILE, readonly=True)
    exact_ms, budget_ms, overlap10, overlap100, sources10 = [], [], [], [], []
    for q in qs:
        store.fts_search(q, 100, budget)  # counts each word once, as a running server has
        t = time.perf_counter()
        fast = [p for p, _ in store.fts_search(q, 100, budget)]
        budget_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        exact = [p for p, _ in store.fts_search(q, 100)]
        exact_ms.append((time.perf_counter() - t) * 1000)
        if exact:
            overlap10.append(len(set(fast[:10]) & set(exact[:10])) / len(exact[:10]))
            overlap100.append(len(set(fast) & set(exact)) / len(exact))
            # Copies of one real passage are interchangeable: compare the real sources found.
            owner = store.passage_articles(fast[:10] + exact[:10])
            src = {p: re.sub(r"^syn\d+-", "", owner[p]) for p in owner}
            want = {src[p] for p in exact[:10]}
            sources10.append(len(want & {src[p] for p in fast[:10]}) / len(want))
    store.close()
    return {
        "max_postings": budget,
        "questions": len(qs),
        "recall@10_vs_exact": round(float(np.mean(overlap10)), 4),
        "recall@100_vs_exact": round(float(np.mean(overlap100)), 4),
        "source_recall@10_vs_exact": round(float(np.mean(sources10)), 4),
        "exact_ms": ev.percentiles(exact_ms),
        "budget_ms": ev.percentiles(budget_ms),
    }


QUALITY = [
    VectorSettings(kind="flat"),
    *(VectorSettings(kind="hnsw", hnsw_ef_search=ef) for ef in (64, 128, 256)),
    *(VectorSettings(kind="ivf_sq8", ivf_nprobe=n) for n in (16, 32, 64, 128)),
]


def scifact_quality(work: Path, real: Path, embedder: Any, config: Any, kinds: list[str]) -> list:
    """SciFact test nDCG@10 and Recall@100 on the real SciFact index with each kind and
    search setting (the index is converted from the flat one, as `quotebot index` would)."""
    settings = dataclasses.replace(config.retrieval, highlight=False)
    source = current_generation(real)
    flat = Vectors.load(source / VECTORS_FILE)
    out = []
    for vs in (v for v in QUALITY if v.kind in kinds):
        data = work / "quality" / f"{vs.kind}-{vs.hnsw_ef_search}-{vs.ivf_nprobe}"
        if current_generation(data) is None:
            data.mkdir(parents=True, exist_ok=True)
            gen = new_generation(data)
            os.link(source / DB_FILE, gen / DB_FILE)
            flat.fit(vs).save(gen / VECTORS_FILE)
            publish(data, gen)
        figures = ev.evaluate_beir(Answerer(data, embedder, settings), SCIFACT, "test")
        row = {
            "kind": vs.kind,
            "setting": {"flat": "exact", "hnsw": f"hnsw_ef_search = {vs.hnsw_ef_search}"}.get(
                vs.kind, f"ivf_nprobe = {vs.ivf_nprobe}"
            ),
            "default": vs == VectorSettings(kind=vs.kind),
            **{k: figures[k] for k in ("ndcg@10", "recall@100", "ask_latency")},
        }
        out.append(row)
        log(f"scifact quality {row}")
    return out


# -- reporting -----------------------------------------------------------------------------------
def _base(row: dict, results: dict) -> bool:
    """A serving run with the shipped retrieval settings, answer spans off."""
    return not row["highlight"] and row["fts_max_postings"] == results["config"]["fts_max_postings"]


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (lat, mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind in results["kinds"]:
        rows = [r for r in results["serving"] if r["kind"] == kind and _base(r, results)]
        xs = [r["passages"] for r in rows]
        line = lat.plot(xs, [r["latency"]["p95_ms"] for r in rows], marker="o", label=f"{kind} p95")
        lat.plot(
            xs,
            [r["latency"]["p50_ms"] for r in rows],
            marker=".",
            linestyle="--",
            color=line[0].get_color(),
            label=f"{kind} p50",
        )
        mem.plot(xs, [r["peak_rss_mb"] / 1024 for r in rows], marker="o", label=kind)
    exact = [r for r in results["serving"] if r["kind"] == "ivf_sq8" and r["fts_max_postings"] == 0]
    if exact:  # why full-text search has a postings budget
        lat.plot(
            [r["passages"] for r in exact],
            [r["latency"]["p95_ms"] for r in exact],
            marker="x",
            linestyle=":",
            color="gray",
            label="ivf_sq8 p95, no full-text budget",
        )
    for size, ms in TARGETS["p95_ms"].items():
        lat.scatter([size], [ms], marker="_", s=400, color="red", zorder=5)
    lat.scatter([], [], marker="_", s=200, color="red", label="p95 target")
    mem.axhline(3.0, color="red", linewidth=0.8, label="1M target (3 GB)")
    for ax, title, unit in (
        (lat, "ask latency, model loaded (answer spans off)", "ms"),
        (mem, "peak RSS of the serving process", "GB"),
    ):
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("passages")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("quotebot at scale: benchmarks/scale.py on 2 shared cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def tables(results: dict) -> str:
    """The Markdown tables of docs/benchmarks.md#scale."""
    stages = ("embed", "fts", "dense", "fusion", "quotes", "read", "format")
    lines = [
        "| passages | kind | variant | p50 / p95 / p99 ms | "
        + " | ".join(stages)
        + " | answer hit@1 / @3 | peak RSS | start-up |",
        "|---|---|---|---|" + "---|" * len(stages) + "---|---|---|",
    ]
    for r in results["serving"]:
        st, lat = r["stages"], r["latency"]
        variant = (
            "answer spans on"
            if r["highlight"]
            else ""
            if _base(r, results)
            else "exact full-text"
            if r["fts_max_postings"] == 0
            else f"full-text budget {r['fts_max_postings']:,}"
        )
        cells = [f"{st[s]['p95_ms']:.1f}" if s in st else "-" for s in stages]
        lines.append(
            f"| {r['passages']:,} | {r['kind']} | {variant} | {lat['p50_ms']:.1f} / "
            f"{lat['p95_ms']:.1f} / {lat['p99_ms']:.1f} | "
            + " | ".join(cells)
            + f" | {r['hit@1']:.3f} / {r['hit@3']:.3f} | {r['peak_rss_mb'] / 1024:.2f} GB"
            f" | {r['startup_s']:.1f} s |"
        )
    lines += [
        "",
        "| passages | kind | setting | recall@10 | recall@100 | dense search p50 / p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for size, rec in results["recall"].items():
        flat = rec["flat"]["search_ms"]
        lines.append(
            f"| {int(size):,} | flat | exact | 1 | 1 | {flat['p50_ms']:.2f} / {flat['p95_ms']:.2f} |"
        )
        for kind, data in rec.items():
            if kind == "flat":
                continue
            for row in data["sweep"]:
                knob = next(k for k in row if k not in ("recall@10", "recall@100", "search_ms"))
                mark = " (default)" if row[knob] == data["default"] else ""
                ms = row["search_ms"]
                lines.append(
                    f"| {int(size):,} | {kind} | {knob} = {row[knob]}{mark} | {row['recall@10']} | "
                    f"{row['recall@100']} | {ms['p50_ms']:.2f} / {ms['p95_ms']:.2f} |"
                )
    lines += [
        "",
        "| passages | words left out past | top-10 passages as exact | top-10 real sources as exact"
        " | exact p50 / p95 ms | with budget p50 / p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for size, f in results["fts"].items():
        ex, bu = f["exact_ms"], f["budget_ms"]
        lines.append(
            f"| {int(size):,} | {f['max_postings']:,} postings | {f['recall@10_vs_exact']} | "
            f"{f['source_recall@10_vs_exact']} | {ex['p50_ms']:.1f} / {ex['p95_ms']:.1f} | "
            f"{bu['p50_ms']:.1f} / {bu['p95_ms']:.1f} |"
        )
    if results.get("quality"):
        lines += [
            "",
            "| kind | setting | SciFact test nDCG@10 | Recall@100 | ask p50 / p95 ms |",
            "|---|---|---|---|---|",
        ]
        for q in results["quality"]:
            lat = q["ask_latency"]
            mark = " (default)" if q["default"] and q["kind"] != "flat" else ""
            lines.append(
                f"| {q['kind']} | {q['setting']}{mark} | {q['ndcg@10']} | {q['recall@100']} | "
                f"{lat['p50_ms']} / {lat['p95_ms']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/qbscale"), help="where indexes go")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--fts-questions", type=int, default=100, help="for the exact FTS baseline")
    parser.add_argument("--no-quality", action="store_true", help="skip SciFact nDCG per kind")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "scale.png")
    parser.add_argument(
        "--report", type=Path, help="only print the tables and draw the plot of this JSON file"
    )
    args = parser.parse_args()
    if args.report:
        results = json.loads(args.report.read_text())
        plot(results, args.plot)
        print(tables(results))
        return

    args.work.mkdir(parents=True, exist_ok=True)
    config = load_config(ROOT / "config.toml")
    embedder = load_embedder(config.embedding)
    real = real_indexes(args.work, config, embedder)
    pool = sc.Pool.load(real)
    log(f"pool: {len(pool.sources)} real articles, {pool.passages} passages")
    calib_file = args.work / "calibration.json"
    if not calib_file.is_file():
        calib_file.write_text(json.dumps(sc.calibrate(pool, embedder)))
    calibration = json.loads(calib_file.read_text())
    log(f"calibration: {calibration}")

    items = questions(args.questions)
    qs = [item["question"] for item in items]
    qfile = args.work / "questions.jsonl"
    qfile.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    qvecs = embedder.encode_queries(qs)

    results: dict[str, Any] = {
        "command": "flock /tmp/coord/heavy.lock .venv/bin/python benchmarks/scale.py "
        + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": os.getloadavg(),
        },
        "commit": subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "config": {
            "vectors": dataclasses.asdict(config.vectors),
            "embedding": dataclasses.asdict(config.embedding),
            "fts_max_postings": config.retrieval.fts_max_postings,
        },
        "questions": len(qs),
        "pool": {"articles": len(pool.sources), "passages": pool.passages},
        "calibration": calibration,
        "kinds": args.kinds,
        "builds": {},
        "serving": [],
        "recall": {},
        "fts": {},
    }
    for size in args.sizes:
        stats = build_size(args.work, pool, size, calibration["sigma"], args.kinds)
        results["builds"][str(size)] = stats
        variants: list[tuple[str, bool, int | None]] = [(k, False, None) for k in args.kinds]
        if "ivf_sq8" in args.kinds:  # what the answer span costs ...
            variants.append(("ivf_sq8", True, None))
            if size >= 100_000:  # ... and what other full-text budgets would cost and give
                variants += [("ivf_sq8", False, p) for p in (50_000, 100_000, 0)]
        for kind, highlight, postings in variants:
            log(f"{size}: serving with {kind} (highlight {highlight}, fts budget {postings})")
            row = serve(args.work / f"n{size}" / kind, qfile, highlight, postings)
            results["serving"].append(row)
            log(
                f"{size} {kind}: {row['latency']} hit@1 {row['hit@1']} peak {row['peak_rss_mb']} MB"
            )
        results["recall"][str(size)] = dense_recall(args.work / f"n{size}", args.kinds, qvecs)
        results["fts"][str(size)] = fts_budget(
            args.work / f"n{size}", qs[: args.fts_questions], config.retrieval.fts_max_postings
        )
        log(f"{size}: fts {results['fts'][str(size)]}")
        log(f"{size}: recall {json.dumps(results['recall'][str(size)])}")
    if not args.no_quality:
        results["quality"] = scifact_quality(
            args.work, real["scifact"], embedder, config, args.kinds
        )
    results["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    plot(results, args.plot)
    print(tables(results))


if __name__ == "__main__":
    main()
