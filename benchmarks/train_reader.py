"""Learn the reader's span weights on SQuAD v1.1 dev articles 0-23, as users' questions meet them.

Each question of the training articles is asked against the whole SQuAD index (every paragraph,
as `quotebot eval` builds it), and the passages the answerer would read are featurized by the
reader itself. A candidate is positive when it matches a gold answer (SQuAD F1 >= 0.6), so
candidates in passages that do not answer teach what an unrelated span looks like. A logistic
regression over those features gives the weights; the threshold that turns a span score into
"I don't know" is calibrated apart, on the dev files (config.toml).

    .venv/bin/quotebot --data /tmp/evs eval ../shared/eval/squad/dev-v1.1.json.gz --articles 24-47
    .venv/bin/python benchmarks/train_reader.py --data /tmp/evs ../shared/eval/squad/dev-v1.1.json.gz

The first command builds the index under /tmp/evs/eval/squad (and reports the held-out figures).
Articles 24-47 are never used here.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from bot.config import load_config
from bot.services import Services
from retrieval.engine import Answerer, read_passages
from retrieval.evaluation import squad_f1, squad_questions
from retrieval.quoting import select_quotes
from retrieval.reading import WEIGHTS

TRAIN_ARTICLES = range(0, 24)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("squad", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="data dir of `quotebot eval`")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--limit", type=int, help="train on this many questions only")
    args = ap.parse_args()

    services = Services(load_config(data_dir=args.data))
    settings = services.config.retrieval
    reader = services.answerer.reader
    assert reader is not None, "[retrieval] highlight must be on"
    answerer = Answerer(args.data / "eval" / "squad", services.embedder, settings, reader)
    snap = answerer.snapshot()
    items = squad_questions(args.squad, TRAIN_ARTICLES)[: args.limit]

    names: list[str] = []
    rows: list[dict[str, float]] = []
    labels: list[int] = []
    groups: list[int] = []
    for number, (_gold, question, answers) in enumerate(items):
        asked = reader.analyze(question)
        if not asked.typed:
            continue
        qvec, candidates = answerer._candidates(snap, question)
        ranked, sentences = answerer._passages(snap, candidates)
        quotes = select_quotes(question, qvec, ranked, sentences, settings.max_quote_sentences)
        passages = [q.row for q in quotes[: settings.read_quotes]]
        for passage, cands in zip(
            passages, reader.featurize(asked, read_passages(snap, passages)), strict=True
        ):
            for a, b, feats in cands:
                span = passage.text[a:b]
                rows.append(feats)
                labels.append(int(max(squad_f1(span, g) for g in answers) >= 0.6))
                groups.append(number)
        if number % 500 == 0:
            print(f"{number}/{len(items)} questions, {len(rows)} candidates", flush=True)
    names = sorted({k for r in rows for k in r})
    x = np.array([[r.get(k, 0.0) for k in names] for r in rows], dtype=np.float64)
    y = np.array(labels)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    scores = model.decision_function(x)

    # Of the typed questions with a positive candidate, how often the best one is positive.
    best: dict[int, tuple[float, int]] = {}
    for g, s, label in zip(groups, scores, y, strict=True):
        if g not in best or s > best[g][0]:
            best[g] = (s, label)
    reachable = {g for g, label in zip(groups, y, strict=True) if label}
    top1 = statistics.fmean(best[g][1] for g in reachable) if reachable else 0.0
    weights = {"bias": round(float(model.intercept_[0]), 4)}
    weights |= {k: round(float(w), 4) for k, w in zip(names, model.coef_[0], strict=True)}
    typed = len({g for g in groups})
    about = (
        "Logistic regression over SpacyReader's features (retrieval/reading.py), learned by "
        f"benchmarks/train_reader.py on SQuAD v1.1 dev articles 0-23: {typed} typed questions, "
        f"{len(rows)} candidates in the passages the answerer reads, {int(y.sum())} matching a "
        f"gold answer (F1 >= 0.6). The best candidate matches for {top1:.3f} of the questions "
        "that have a matching one. The span score is the logit."
    )
    args.out.write_text(json.dumps({"about": about, "weights": weights}, indent=2) + "\n")
    print(about)
    print(json.dumps(weights, indent=2))


if __name__ == "__main__":
    main()
