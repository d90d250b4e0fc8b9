"""quotebot side by side with txtai (hybrid) and bm25s: quality, speed, start-up and memory.

Same run, same machine, same corpora, same MiniLM model folder. Every system runs in its own
process per dataset (benchmarks/compare_worker.py), so peak RSS and model loading are its own.
Raw figures go to benchmarks/results/, the tables into docs/benchmarks.md between the
``compare:begin``/``compare:end`` markers.

    make bench-compare                                   # the full run (about 30-40 min here)
    .venv/bin/python benchmarks/compare.py --limit 30 --no-doc   # a quick smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "benchmarks" / "compare_worker.py"
NEWS_DEV = ROOT.parent / "shared" / "eval" / "news-dev.jsonl"
SYSTEMS = ("quotebot", "txtai", "bm25s")
LATENCY_SYSTEMS = ("quotebot", "txtai", "txtai-bf16", "bm25s")
DATASETS = ("news", "squad", "scifact")  # news first: the peers index quotebot's news passages
BEGIN, END = "<!-- compare:begin -->", "<!-- compare:end -->"
LATENCY_BEGIN, LATENCY_END = "<!-- compare-latency:begin -->", "<!-- compare-latency:end -->"
SECTION = "## Side by side with txtai and bm25s"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
TIMEOUT_S = 3600.0  # one worker; a full SciFact or SQuAD run takes minutes, not hours


def child_env() -> dict[str, str]:
    env = {**os.environ, **OFFLINE}
    env.pop("TELEGRAM_BOT_TOKEN", None)  # serve must chat in the terminal, never reach Telegram
    return env


def _watchdog(proc: subprocess.Popen[str], seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, proc.kill)
    timer.daemon = True
    timer.start()
    return timer


def _reap(proc: subprocess.Popen[str]) -> tuple[int, float]:
    """Exit code and peak RSS (MB) of this one child, from wait4's rusage."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, round(usage.ru_maxrss / 1024, 1)


def run_worker(args: Sequence[str]) -> dict[str, Any]:
    print(f"== {' '.join(args)}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    timer = _watchdog(proc, TIMEOUT_S)
    assert proc.stdout is not None
    lines = proc.stdout.read().splitlines()
    code, _ = _reap(proc)
    timer.cancel()
    if code != 0 or not lines:
        raise SystemExit(f"worker {' '.join(args)} failed with exit code {code}")
    out: dict[str, Any] = json.loads(lines[-1])
    return out


def time_to_first_answer(cmd: Sequence[str], question: str, after_echo: bool) -> dict[str, float]:
    """Seconds from process start until the first answer line is printed, and peak RSS."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    timer = _watchdog(proc, 300)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(question + "\n")
    proc.stdin.flush()
    seconds, echoed = None, not after_echo
    for line in proc.stdout:
        if echoed and line.strip():
            seconds = time.perf_counter() - t0
            break
        # The terminal chat echoes a piped question; the next line is the start of the answer.
        echoed = echoed or line.rstrip().endswith(question)
    proc.stdin.close()
    proc.stdout.read()
    code, rss = _reap(proc)
    timer.cancel()
    if seconds is None or code != 0:
        raise SystemExit(f"{' '.join(cmd)} printed no answer (exit code {code})")
    return {"seconds": round(seconds, 2), "peak_rss_mb": rss}


def measure_startup(system: str, work: Path, question: str, runs: int) -> dict[str, Any]:
    if system == "quotebot":
        quotebot = Path(sys.executable).parent / "quotebot"
        cmd = [str(quotebot), "--data", str(work / "quotebot" / "news"), "serve"]
    else:
        cmd = [sys.executable, str(WORKER), "startup", system, "--work", str(work)]
        cmd += ["--question", question]
    samples = [time_to_first_answer(cmd, question, system == "quotebot") for _ in range(runs)]
    return {
        "command": shlex.join(os.path.relpath(c, ROOT) if c.startswith("/") else c for c in cmd),
        "seconds_median": round(statistics.median(s["seconds"] for s in samples), 2),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
        "samples": samples,
    }


def conditions(args: argparse.Namespace) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    # The tree is shared: name uncommitted changes to the code being measured.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "index", "retrieval", "bot"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.split("\n")
    versions = {}
    for dist in ("txtai", "bm25s", "torch", "sentence-transformers", "faiss-cpu"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "date": dt.datetime.now().isoformat(timespec="minutes"),
        "commit": commit,
        "uncommitted": [line[3:] for line in dirty if line.strip()],
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "limit": args.limit,
        "squad_limit": args.squad_limit or None,
        "versions": versions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "compare")
    parser.add_argument("--limit", type=int, help="queries per dataset (default: all)")
    parser.add_argument(
        "--squad-limit",
        type=int,
        default=2000,
        help="SQuAD questions, spread over all articles as `quotebot eval --limit` picks them "
        "(default 2000 of 10,570: a full run takes hours here; 0 = all)",
    )
    parser.add_argument("--systems", nargs="+", choices=LATENCY_SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="do not touch the doc")
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="answer latency again on the indexes a full run left in --work, systems one after "
        "another (txtai-bf16 allowed), into its own results file and doc block",
    )
    parser.add_argument(
        "--from-json", type=Path, help="render a saved results file again instead of running"
    )
    args = parser.parse_args()
    if "news" not in args.datasets and set(args.systems) - {"quotebot"}:
        args.datasets.insert(0, "news")  # the peers' start-up loads their news index

    doc = None if args.no_doc else args.doc
    if args.from_json:
        report = json.loads(args.from_json.read_text(encoding="utf-8"))
        if "latency" in report:
            publish_latency(report, args.from_json, doc)
        else:
            publish(report, args.from_json, doc)
        return
    if args.latency_only:
        latency_only(args, doc)
        return
    report = {"conditions": conditions(args), "runs": {}, "startup": {}}
    for dataset in [d for d in DATASETS if d in args.datasets]:
        limit = (args.squad_limit or None) if dataset == "squad" else args.limit
        for system in [s for s in SYSTEMS if s in args.systems]:
            cmd = ["run", system, dataset, "--work", str(args.work)]
            cmd += ["--limit", str(limit)] if limit and dataset != "news" else []
            report["runs"].setdefault(dataset, {})[system] = run_worker(cmd)
    question = json.loads(NEWS_DEV.read_text(encoding="utf-8").splitlines()[0])["question"]
    for system in args.systems:
        print(f"== start-up {system}", file=sys.stderr, flush=True)
        report["startup"][system] = measure_startup(system, args.work, question, args.startup_runs)
    report["conditions"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]

    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"compare-{dt.datetime.now():%Y%m%d-%H%M}.json"
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    publish(report, out, doc)


def latency_only(args: argparse.Namespace, doc: Path | None) -> None:
    report: dict[str, Any] = {"conditions": conditions(args), "latency": {}}
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"compare-latency-{dt.datetime.now():%Y%m%d-%H%M}.json"
    for dataset in [d for d in ("squad", "scifact") if d in args.datasets]:
        limit = (args.squad_limit or None) if dataset == "squad" else args.limit
        for system in args.systems:
            cmd = ["latency", system, dataset, "--work", str(args.work)]
            cmd += ["--limit", str(limit)] if limit else []
            report["latency"].setdefault(dataset, {})[system] = run_worker(cmd)
            report["conditions"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
            out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")  # so far
    publish_latency(report, out, doc)


def publish_latency(report: dict[str, Any], raw: Path, doc: Path | None) -> None:
    from compare_report import render_latency

    markdown = render_latency(report, os.path.relpath(raw, ROOT))
    print(markdown)
    if doc is not None:
        splice(doc, markdown, LATENCY_BEGIN, LATENCY_END)


def publish(report: dict[str, Any], raw: Path, doc: Path | None) -> None:
    """Print the tables; write them into ``doc`` when given."""
    from compare_report import render

    where = os.path.relpath(raw, ROOT)
    print(f"raw figures: {where}", file=sys.stderr)
    markdown = render(report, where)
    print(markdown)
    if doc is not None:
        splice(doc, markdown)


def splice(doc: Path, markdown: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace what lies between the markers; add them at the end of the section when missing."""
    text = doc.read_text(encoding="utf-8")
    block = f"{begin}\n{markdown.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    elif SECTION in text:  # our section is the last one: append the block to it
        text = text.rstrip() + f"\n\n{block}\n"
    else:
        text = text.rstrip() + f"\n\n{SECTION}\n\n{block}\n"
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
