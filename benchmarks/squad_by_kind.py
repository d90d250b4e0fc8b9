"""SQuAD figures by question kind, on the tuning articles 0-23: where the reader helps or hurts.

For each kind the reader gives a question (person, date, thing...): how many there are, paragraph
Recall@1 of the top answer, "I don't know" answers, the mean bold-span F1, and of the top quotes
that hold a gold answer, how often the bold span matches one (F1 >= 0.5): the precision users
see. Questions are spread over the articles as `quotebot eval --limit` spreads them.

    .venv/bin/quotebot --data /tmp/evs eval ../shared/eval/squad/dev-v1.1.json.gz --articles 24-47
    .venv/bin/python benchmarks/squad_by_kind.py --data /tmp/evs ../shared/eval/squad/dev-v1.1.json.gz --limit 400

The first command builds the index under /tmp/evs/eval/squad. Articles 24-47 are never used here.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

from bot.config import load_config
from bot.services import Services
from retrieval.engine import Answerer
from retrieval.evaluation import (
    SQUAD_TUNING_ARTICLES,
    contains_answer,
    spread,
    squad_f1,
    squad_questions,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("squad", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="data dir of `quotebot eval`")
    ap.add_argument("--limit", type=int, default=400)
    args = ap.parse_args()

    services = Services(load_config(data_dir=args.data))
    reader = services.answerer.reader
    assert reader is not None, "[retrieval] highlight must be on"
    answerer = Answerer(
        args.data / "eval" / "squad", services.embedder, services.config.retrieval, reader
    )
    items = spread(squad_questions(args.squad, SQUAD_TUNING_ARTICLES), args.limit)
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for gold, question, answers in items:
        result = answerer.ask(question, k=1)
        top = result.answers[0] if result.answers else None
        span = top.highlight_text if top else None
        f1 = max(squad_f1(span, a) for a in answers) if span else 0.0
        hit = top is not None and contains_answer(top.quote, answers)
        rows[reader.analyze(question).kind].append(
            {
                "r1": float(top is not None and top.sources[0].id == gold),
                "idk": float(result.abstained),
                "f1": f1,
                "hit": float(hit),
                "bold_ok": float(hit and bool(span) and f1 >= 0.5),
                "bold": float(hit and bool(span)),
            }
        )
    print("kind          questions  recall@1  idk  span_f1  bold precision (of top-quote hits)")
    everything = [r for kind in rows.values() for r in kind]
    for kind, got in sorted(rows.items(), key=lambda kv: -len(kv[1])) + [("all", everything)]:
        bold = sum(r["bold"] for r in got)
        precision = f"{sum(r['bold_ok'] for r in got) / bold:.2f} of {bold:.0f}" if bold else "-"
        print(
            f"{kind:12} {len(got):10} {statistics.fmean(r['r1'] for r in got):9.3f} "
            f"{sum(r['idk'] for r in got):4.0f} {statistics.fmean(r['f1'] for r in got):8.3f}  "
            f"{precision}"
        )


if __name__ == "__main__":
    main()
