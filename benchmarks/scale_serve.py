"""One serving process of the scale benchmark: answer questions, report latency and peak RSS.

Run by ``benchmarks/scale.py`` once per corpus size and index kind, so that each figure of peak
memory belongs to one index only. It answers through ``Services.ask``, the call behind
``quotebot ask`` and the bot, with the shipped ``config.toml`` (the index kind is whatever the
index file holds). Prints one JSON object.

    .venv/bin/python benchmarks/scale_serve.py DATA_DIR QUESTIONS.jsonl [--warmup 20] [--highlight]

Each line of QUESTIONS.jsonl is ``{"question": ..., "gold": [article ids]}``. An answer hits when
its first source is a gold article or a synthetic copy of one (``syn<n>-<id>``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import time
from pathlib import Path

from bot.config import load_config
from bot.services import Services
from retrieval.evaluation import percentiles

ROOT = Path(__file__).resolve().parents[1]


def memory_mb() -> dict[str, float]:
    """Resident set size now and at its peak (VmRSS, VmHWM) of this process, in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}


_COPY = re.compile(r"^syn\d+-")


def hits(answers: list, gold: set[str], k: int) -> bool:
    """Whether one of the first ``k`` answers quotes a gold article (or a copy of one) first."""
    return any(_COPY.sub("", a.sources[0].id) in gold for a in answers[:k])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--highlight", action="store_true", help="mark answer spans (spaCy NER)")
    args = parser.parse_args()

    items = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines()]
    questions = [item["question"] for item in items]
    config = load_config(ROOT / "config.toml", data_dir=args.data)
    config = dataclasses.replace(
        config, retrieval=dataclasses.replace(config.retrieval, highlight=args.highlight)
    )
    started = time.perf_counter()
    services = Services(config)
    services.ask(questions[0])  # loads the model and opens the index
    startup_s = time.perf_counter() - started
    loaded = memory_mb()
    for q in questions[: args.warmup]:
        services.ask(q)

    total: list[float] = []
    stages: dict[str, list[float]] = {}
    answered = hit1 = hit3 = 0
    for item in items:
        t = time.perf_counter()
        result = services.ask(item["question"])
        total.append((time.perf_counter() - t) * 1000)
        answered += not result.abstained
        hit1 += hits(list(result.answers), set(item["gold"]), 1)
        hit3 += hits(list(result.answers), set(item["gold"]), 3)
        for stage, ms in result.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    snap = services.answerer.snapshot()
    out = {
        "passages": len(snap.vectors),
        "kind": snap.vectors.kind,
        "questions": len(questions),
        "answered": answered,
        "hit@1": round(hit1 / len(items), 4),
        "hit@3": round(hit3 / len(items), 4),
        "fts_max_postings": config.retrieval.fts_max_postings,
        "highlight": args.highlight,
        "startup_s": round(startup_s, 2),
        "latency": percentiles(total),
        "stages": {
            k: {**percentiles(v), "mean_ms": round(statistics.fmean(v), 2)}
            for k, v in stages.items()
        },
        "rss_after_load_mb": loaded["rss_mb"],
        **memory_mb(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
