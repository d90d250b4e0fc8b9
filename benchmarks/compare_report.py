"""Markdown tables from one ``compare.py`` report: absolute figures and quotebot / peer ratios."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

SYSTEMS = ("quotebot", "txtai", "bm25s")
PEERS = ("txtai", "bm25s")
STAGES = ("embed", "fts", "dense", "fusion", "quotes", "read", "format", "render")

NOTES = [
    "¹ A peer's quote is the whole text it returns (a SQuAD paragraph, or one of the ~110-word "
    "passages quotebot cut from the news articles); it is a hit when it contains a gold answer. "
    "quotebot's quote is one to three sentences, so the same test is stricter for quotebot.",
    '² txtai and bm25s have no "I don\'t know": as shipped they always answer. The tuned row '
    "abstains below a top-score cut chosen on news-dev itself (one unanswerable question), as "
    "quotebot's bars in `config.toml` were: it shows what a cut can do, not how it generalises.",
    "³ quotebot: `ask` (hybrid search, quote selection, answers; span marking off, as `quotebot "
    "eval` runs it). Peers: one `search` returning their top texts (1 on SQuAD, 3 on SciFact).",
    "⁴ quotebot only: the answer span marked with spaCy NER, as the bot shows it (the first 300 "
    "of the same questions).",
    "⁵ The same documents for every system. quotebot cuts them into passages and also embeds each "
    "passage's sentences; txtai embeds each document once (MiniLM reads its first 256 tokens); "
    "bm25s embeds nothing. Warm: the indexing call alone, model loaded and warmed up. Cold: from "
    "process start (interpreter, imports, model load) until the index is saved.",
    "⁶ quotebot: `quotebot serve` without a token (the terminal chat), from process start until "
    "the first answer line is printed. Peers: a process that loads its saved news index and the "
    "model, then prints its first answer. Median of the runs in the raw figures.",
]

Get = Callable[[str], Any]  # system name -> figure (None when it does not apply)


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def fmt(value: Any, digits: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, int | float) else str(value)


def ratio(ours: Any, theirs: Any) -> str:
    """quotebot / peer; "–" when either is missing or the peer's figure is zero."""
    if not isinstance(ours, int | float) or not isinstance(theirs, int | float) or theirs == 0:
        return "–"
    r = ours / theirs
    return f"{r:.0f}" if r >= 100 else f"{r:.3g}"


def table(rows: list[tuple[str, Get, int]], peers: tuple[str, ...]) -> list[str]:
    head = ["figure", *SYSTEMS, *(f"quotebot / {p}" for p in peers)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, get, digits in rows:
        values = {s: get(s) for s in SYSTEMS}
        cells = [label, *(fmt(values[s], digits) for s in SYSTEMS)]
        cells += [ratio(values["quotebot"], values[p]) for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(report: dict[str, Any], json_path: str) -> str:
    runs, startup, cond = report["runs"], report["startup"], report["conditions"]

    def run(dataset: str, *keys: str) -> Get:
        return lambda system: dig(runs, dataset, system, *keys)

    def tuned(*keys: str) -> Get:
        # quotebot's own "I don't know" bars were calibrated on news-dev too (config.toml).
        return lambda s: dig(
            runs, "news", s, "quality" if s == "quotebot" else "quality_tuned", *keys
        )

    n_sci = dig(runs, "scifact", "quotebot", "quality", "queries")
    n_squad = dig(runs, "squad", "quotebot", "quality", "questions")
    quality: list[tuple[str, Get, int]] = [
        (f"SciFact test nDCG@10 ({n_sci} queries)", run("scifact", "quality", "ndcg@10"), 4),
        ("SciFact test Recall@100", run("scifact", "quality", "recall@100"), 4),
        (
            f"SQuAD dev paragraph Recall@1 ({n_squad} questions)",
            run("squad", "quality", "recall@1"),
            4,
        ),
        ("SQuAD dev paragraph Recall@5", run("squad", "quality", "recall@5"), 4),
        (
            "SQuAD dev top quote holds a gold answer¹",
            run("squad", "quality", "top_quote_answer_hit"),
            4,
        ),
        ("news-dev top-1 answer hit¹", run("news", "quality", "top1_hit"), 2),
        ("news-dev top-3 answer hit¹", run("news", "quality", "top3_hit"), 2),
        ("news-dev source hit (top 3)", run("news", "quality", "source_hit"), 2),
        ("news-dev abstention, as shipped²", run("news", "quality", "abstention"), 2),
        ("news-dev abstention, threshold tuned on news-dev²", tuned("abstention"), 2),
        ("news-dev top-1 hit with that threshold", tuned("top1_hit"), 2),
    ]
    speed: list[tuple[str, Get, int]] = []
    for dataset, name, key in (
        ("squad", "SQuAD", "ask_latency"),
        ("scifact", "SciFact", "ask_latency"),
    ):
        for p in ("p50", "p95", "p99"):
            speed.append(
                (f"{name} answer latency {p} (ms)³", run(dataset, "quality", key, f"{p}_ms"), 1)
            )
    for p in ("p50", "p95"):
        speed.append(
            (
                f"SciFact top-100 ranking {p} (ms)",
                run("scifact", "quality", "search_latency", f"{p}_ms"),
                1,
            )
        )
    for p in ("p50", "p95"):
        speed.append(
            (
                f"SQuAD answer with span marked (NER) {p} (ms)⁴",
                run("squad", "ask_latency_highlight", f"{p}_ms"),
                1,
            )
        )
    for dataset, name in (("scifact", "SciFact"), ("squad", "SQuAD")):
        n = dig(runs, dataset, "quotebot", "docs")
        speed += [
            (
                f"{name} indexing, documents/s, warm model ({n} docs)⁵",
                run(dataset, "docs_per_s_warm"),
                1,
            ),
            (
                f"{name} indexing, documents/s, cold (from process start)⁵",
                run(dataset, "docs_per_s_cold"),
                1,
            ),
            (f"{name} indexing, own passages/s, warm⁵", run(dataset, "passages_per_s_warm"), 1),
        ]
    speed += [
        ("model load, from process start (s)", run("squad", "model_loaded_s"), 1),
        (
            "start-up until the first answer, median (s)⁶",
            lambda s: dig(startup, s, "seconds_median"),
            2,
        ),
    ]
    memory: list[tuple[str, Get, int]] = [
        (f"{name}: index + all queries", run(dataset, "peak_rss_mb"), 0)
        for dataset, name in (("scifact", "SciFact"), ("squad", "SQuAD"), ("news", "news"))
    ]
    memory.append(
        (
            "start-up process (load, answer one question)⁶",
            lambda s: dig(startup, s, "peak_rss_mb"),
            0,
        )
    )

    out = [
        f"Run {cond['date']} at commit `{cond['commit']}`, {cond['cpu']} ({cond['cores']} cores, "
        f"shared with other jobs: load average {cond['load_average_start']} at the start, "
        f"{cond.get('load_average_end')} at the end). Raw figures: `{json_path}`. "
        f"Versions: {', '.join(f'{k} {v}' for k, v in cond['versions'].items())}."
        + (
            f" Uncommitted changes in the tree then: {', '.join(cond['uncommitted'])}."
            if cond.get("uncommitted")
            else ""
        ),
        "",
        "**Quality**",
        "",
        *table(quality, PEERS),
        "",
        "**Speed** (model loaded, one question at a time; latencies are noisy on this shared machine, "
        "the ratios from the same run are the figures to trust)",
        "",
        *table(speed, PEERS),
        "",
        "**Peak RSS (MB)**, each system in its own process",
        "",
        *table(memory, PEERS),
        "",
        "**quotebot's answer latency by stage** (ms; `Result.timings_ms`, render = Telegram HTML)",
        "",
        *stage_table(runs),
        "",
        *NOTES,
    ]
    return "\n".join(out) + "\n"


def stage_table(runs: dict[str, Any]) -> list[str]:
    sets = [
        (d, n)
        for d, n in (("squad", "SQuAD"), ("scifact", "SciFact"), ("news", "news"))
        if dig(runs, d, "quotebot", "stages")
    ]
    head = ["stage", *(f"{n} {p}" for _, n in sets for p in ("p50", "p95"))]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for stage in STAGES:
        cells = [stage]
        for dataset, _ in sets:
            figures = dig(runs, dataset, "quotebot", "stages", stage) or {}
            cells += [fmt(figures.get("p50_ms"), 2), fmt(figures.get("p95_ms"), 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_latency(report: dict[str, Any], json_path: str) -> str:
    """Answer latency per system from a ``--latency-only`` run, with quotebot / peer ratios."""
    cond, runs = report["conditions"], report["latency"]
    systems = [
        s
        for s in ("quotebot", "txtai", "txtai-bf16", "bm25s")
        if any(s in r for r in runs.values())
    ]
    peers = [s for s in systems if s != "quotebot"]
    head = ["figure", *systems, *(f"quotebot / {p}" for p in peers)]
    lines = [
        f"Latency-only run {cond['date']} at commit `{cond['commit']}` on the indexes of the run "
        f"above, one system after another (load average {cond['load_average_start']} at the "
        f"start, {cond.get('load_average_end')} at the end). Raw figures: `{json_path}`.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for dataset, name in (("squad", "SQuAD"), ("scifact", "SciFact")):
        if dataset not in runs:
            continue
        n = dig(runs, dataset, "quotebot", "questions")
        for p in ("p50", "p95", "p99"):
            values = {s: dig(runs, dataset, s, "ask_latency", f"{p}_ms") for s in systems}
            cells = [f"{name} answer latency {p} (ms, {n} questions)"]
            cells += [fmt(values[s], 1) for s in systems]
            cells += [ratio(values["quotebot"], values[s]) for s in peers]
            lines.append("| " + " | ".join(cells) + " |")
    if any(dig(runs, d, "quotebot", "stages") for d in runs):
        lines += ["", "quotebot by stage (ms):", "", *stage_table(runs)]
    return "\n".join(lines) + "\n"
