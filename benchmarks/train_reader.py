"""Fit the reader's span weights on SQuAD v1.1 dev articles 0-23, as users' questions meet them.

Each question of the training articles is asked against the whole SQuAD index (every paragraph,
as `quotebot eval` builds it), exactly as `quotebot ask` answers it. The candidates the reader
finds inside the top quote are featurized by the reader itself, each with its SQuAD F1 against
the gold answers. Coordinate ascent then moves one weight at a time, starting from the current
ones, to raise the mean F1 of the candidate that scores best: the figure users see in bold, and
what a per-candidate classifier does not optimise. The threshold that decides whether a span is
shown at all is calibrated apart (config.toml).

    .venv/bin/quotebot --data /tmp/evs eval ../shared/eval/squad/dev-v1.1.json.gz --articles 24-47
    .venv/bin/python benchmarks/train_reader.py --data /tmp/evs ../shared/eval/squad/dev-v1.1.json.gz --open

The first command builds the index under /tmp/evs/eval/squad (and reports the held-out figures).
Articles 24-47 are never used here. ``--open`` fits the weights of "what"/"which" questions of
no known type; without it, those of typed questions (which the shipped file keeps hand-set,
checked on the news and wire dev files, since SQuAD's typed questions are not news questions).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np

from bot.config import load_config
from bot.services import Services
from retrieval.engine import Answerer, read_passages
from retrieval.evaluation import SQUAD_TUNING_ARTICLES, squad_f1, squad_questions
from retrieval.reading import WEIGHTS

STEPS = (-0.4, -0.2, -0.1, 0.1, 0.2, 0.4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("squad", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="data dir of `quotebot eval`")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--limit", type=int, help="train on this many questions only")
    ap.add_argument(
        "--open",
        action="store_true",
        help='fit the weights of "what"/"which" questions of no known type (any noun phrase)',
    )
    args = ap.parse_args()
    key = "open" if args.open else "typed"

    services = Services(load_config(data_dir=args.data))
    reader = services.answerer.reader
    assert reader is not None, "[retrieval] highlight must be on"
    answerer = Answerer(
        args.data / "eval" / "squad", services.embedder, services.config.retrieval, reader
    )
    snap = answerer.snapshot()
    items = squad_questions(args.squad, SQUAD_TUNING_ARTICLES)[: args.limit]

    questions: list[tuple[list[dict[str, float]], np.ndarray]] = []
    for number, (_gold, question, answers) in enumerate(items):
        asked = reader.analyze(question)
        if asked.kind != "thing" if args.open else not asked.typed:
            continue
        result = answerer.ask(question, k=1)
        if not result.answers or not result.answers[0].passage_ids:
            continue
        top, source = result.answers[0], result.answers[0].sources[0]
        row = snap.store.passages([top.passage_ids[0]])[top.passage_ids[0]]
        (cands,) = reader.featurize(asked, read_passages(snap, [row]))
        inside = [
            (feats, row.text[a:b])
            for a, b, feats in cands
            if source.start <= row.start + a and row.start + b <= source.end
        ]
        if inside:
            f1 = np.array([max(squad_f1(span, g) for g in answers) for _, span in inside])
            questions.append(([feats for feats, _ in inside], f1))
        if number % 500 == 0:
            print(f"{number}/{len(items)} questions, {len(questions)} kept", flush=True)

    start = json.loads(args.out.read_text())[key]["weights"]
    names = sorted({k for feats, _ in questions for f in feats for k in f} | set(start) - {"bias"})
    matrices = [
        (np.array([[f.get(k, 0.0) for k in names] for f in feats]), f1) for feats, f1 in questions
    ]

    def mean_f1(w: np.ndarray) -> float:
        return statistics.fmean(float(f1[int(np.argmax(x @ w))]) for x, f1 in matrices)

    w = np.array([start.get(k, 0.0) for k in names])
    best = before = mean_f1(w)
    for sweep in range(6):
        improved = False
        for i in range(len(names)):
            for step in STEPS:
                trial = w.copy()
                trial[i] += step
                score = mean_f1(trial)
                if score > best + 1e-4:
                    w, best, improved = trial, score, True
        print(f"sweep {sweep}: top-candidate F1 {best:.4f}", flush=True)
        if not improved:
            break
    weights = {"bias": start.get("bias", 0.0)} | {
        k: round(float(v), 3) for k, v in zip(names, w, strict=True)
    }
    kind = '"what"/"which" questions of no known type' if args.open else "typed questions"
    about = (
        "Coordinate ascent over SpacyReader's feature weights (retrieval/reading.py) by "
        f"benchmarks/train_reader.py on SQuAD v1.1 dev articles 0-23: {len(matrices)} {kind} "
        "with candidates in the top quote. Mean SQuAD F1 of the best-scoring candidate: "
        f"{before:.3f} with the starting weights, {best:.3f} with these."
    )
    saved = json.loads(args.out.read_text())
    saved[key] = {"about": about, "weights": weights}
    args.out.write_text(json.dumps(saved, indent=2) + "\n")
    print(about)
    print(json.dumps(weights, indent=2))


if __name__ == "__main__":
    main()
