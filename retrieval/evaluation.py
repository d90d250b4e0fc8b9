"""Quality figures through the same code path users hit: BEIR, SQuAD and QA jsonl files.

BEIR and SQuAD corpora are indexed into their own data directories (incrementally, so a second
run re-embeds nothing); QA files such as news-dev are asked against the served index. The
dataset readers, the SQuAD article split, the question sampling and the percentiles are public:
`quotebot eval` and the scripts under benchmarks/ pick and score questions through them alone.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import statistics
import string
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .answers import Result

T = TypeVar("T")

# SQuAD v1.1 dev articles (file order): the reader and the thresholds are fitted on the first 24;
# the figures reported in docs/benchmarks.md come from the other 24, never used for fitting.
SQUAD_TUNING_ARTICLES = range(0, 24)
SQUAD_REPORTED_ARTICLES = range(24, 48)


class Answering(Protocol):
    """What the evaluations call: quotebot's ``Answerer``, or a peer of benchmarks/compare.py."""

    def ask(self, question: str, k: int = 3) -> Result: ...

    def search_articles(self, question: str, limit: int = 100) -> list[tuple[str, float]]: ...


# -- metrics (pure) ------------------------------------------------------------------------------
def ndcg_at_k(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded relevance, as in BEIR (trec_eval's formula, log2 discount)."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    rel = set(relevant)
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    rel = set(relevant)
    for i, d in enumerate(ranked[:k], 1):
        if d in rel:
            return 1.0 / i
    return 0.0


def normalize_answer_text(text: str) -> str:
    """Case-folded with curly quotes straightened, as news-dev compares answers."""
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').lower()


def contains_answer(quote: str, answers: Iterable[str]) -> bool:
    q = normalize_answer_text(quote)
    return any(normalize_answer_text(a) in q for a in answers if a)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1): the smallest value with a share ``q`` at or
    below it. The one definition behind every latency figure."""
    if not values:
        raise ValueError("no values to take a percentile of")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {}
    return {
        "p50_ms": round(percentile(ms, 0.50), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def spread(items: Sequence[T], limit: int | None) -> list[T]:
    """At most ``limit`` items evenly spaced over ``items`` (all without a limit), so that a
    sample of questions reaches every article, not only the first ones."""
    if not limit:
        return list(items)
    return list(items[:: max(1, len(items) // limit)][:limit])


# -- dataset files -------------------------------------------------------------------------------
def open_text(path: Path) -> Any:
    """A text file, or its gzip-compressed form when the name ends in .gz."""
    return (
        gzip.open(path, "rt", encoding="utf-8")
        if path.suffix == ".gz"
        else path.open(encoding="utf-8")
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file (.gz too), blank lines left out."""
    with open_text(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder}: no {stem} or {stem}.gz")


# -- BEIR ----------------------------------------------------------------------------------------
def is_beir(path: Path) -> bool:
    return path.is_dir() and any((path / n).is_file() for n in ("corpus.jsonl", "corpus.jsonl.gz"))


def beir_corpus(folder: Path) -> Path:
    return _find(folder, "corpus.jsonl")


def beir_questions(
    folder: Path, split: str = "test", limit: int | None = None
) -> list[tuple[str, str, dict[str, int]]]:
    """(query id, query, graded relevant documents) of the queries ``qrels-<split>.tsv``
    judges, by query id; the first ``limit`` of them."""
    queries = {q["_id"]: q["text"] for q in read_jsonl(_find(folder, "queries.jsonl"))}
    qrels: dict[str, dict[str, int]] = {}
    with (folder / f"qrels-{split}.tsv").open(newline="") as fh:
        for row in list(csv.reader(fh, delimiter="\t"))[1:]:
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    ids = sorted(qrels)[:limit] if limit else sorted(qrels)
    return [(qid, queries[qid], qrels[qid]) for qid in ids]


def evaluate_beir(
    answerer: Answering, folder: Path, split: str = "test", limit: int | None = None
) -> dict[str, Any]:
    """nDCG@10 and Recall@100 of article ranking over ``qrels-<split>.tsv``."""
    items = beir_questions(folder, split, limit)
    ndcg, recall, times, ask_times = [], [], [], []
    for _qid, query, relevant in items:
        t = time.perf_counter()
        ranked = [doc for doc, _ in answerer.search_articles(query, limit=100)]
        times.append((time.perf_counter() - t) * 1000)
        ndcg.append(ndcg_at_k(ranked, relevant, 10))
        recall.append(recall_at_k(ranked, relevant, 100))
        t = time.perf_counter()
        answerer.ask(query)
        ask_times.append((time.perf_counter() - t) * 1000)
    return {
        "dataset": folder.name,
        "split": split,
        "queries": len(items),
        "ndcg@10": round(statistics.fmean(ndcg), 4),
        "recall@100": round(statistics.fmean(recall), 4),
        "search_latency": percentiles(times),
        "ask_latency": percentiles(ask_times),
    }


# -- SQuAD ---------------------------------------------------------------------------------------
def is_squad(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".json", ".json.gz"))


def squad_articles(path: Path) -> list[dict[str, Any]]:
    """The articles of a SQuAD v1.1 file (.json or .json.gz), in file order."""
    with open_text(path) as fh:
        data: list[dict[str, Any]] = json.load(fh)["data"]
    return data


def squad_paragraphs(path: Path, out: Path) -> Path:
    """Write SQuAD paragraphs as a JSONL corpus (id = paragraph position, title = article)."""
    data = squad_articles(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        n = 0
        for article in data:
            for para in article["paragraphs"]:
                fh.write(
                    json.dumps(
                        {
                            "id": f"p{n}",
                            "title": article["title"].replace("_", " "),
                            "text": para["context"],
                        }
                    )
                    + "\n"
                )
                n += 1
    tmp.replace(out)
    return out


def squad_f1(prediction: str, gold: str) -> float:
    """Token F1 after the official SQuAD v1.1 normalisation."""
    pred, ref = squad_normalize(prediction).split(), squad_normalize(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the official evaluation script)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


_PUNCTUATION = frozenset(string.punctuation)


def squad_questions(path: Path, articles: range | None = None) -> list[tuple[str, str, list[str]]]:
    """(paragraph id, question, gold answers) of the chosen articles, in file order.

    Paragraph ids count over the whole file, as ``squad_paragraphs`` writes them, so that a
    subset of questions is asked against every paragraph.
    """
    items = []
    n = 0
    for number, article in enumerate(squad_articles(path)):
        for para in article["paragraphs"]:
            if articles is None or number in articles:
                items.extend(
                    (f"p{n}", qa["question"], [a["text"] for a in qa["answers"]])
                    for qa in para["qas"]
                )
            n += 1
    return items


def evaluate_squad(
    answerer: Answering, path: Path, limit: int | None = None, articles: range | None = None
) -> dict[str, Any]:
    """Paragraph Recall@1/@5 and MRR@10, how often the top quote holds a gold answer, and the
    exact match and F1 of its bold span against the gold answers."""
    items = spread(squad_questions(path, articles), limit)
    r1, r5, mrr, hit, em, f1, times = [], [], [], [], [], [], []
    for gold, question, answers in items:
        t = time.perf_counter()
        result = answerer.ask(question, k=10)  # what ``search_articles`` ranks by, asked once
        times.append((time.perf_counter() - t) * 1000)
        ranked = list(dict.fromkeys(s.id for a in result.answers for s in a.sources))
        r1.append(recall_at_k(ranked, [gold], 1))
        r5.append(recall_at_k(ranked, [gold], 5))
        mrr.append(reciprocal_rank(ranked, [gold], 10))
        hit.append(bool(result.answers) and contains_answer(result.answers[0].quote, answers))
        span = result.answers[0].highlight_text if result.answers else None
        em.append(any(squad_normalize(span) == squad_normalize(a) for a in answers) if span else 0)
        f1.append(max(squad_f1(span, a) for a in answers) if span else 0.0)
    return {
        "dataset": "squad-dev",
        "articles": f"{articles.start}-{articles.stop - 1}" if articles else "all",
        "questions": len(items),
        "recall@1": round(statistics.fmean(r1), 4),
        "recall@5": round(statistics.fmean(r5), 4),
        "mrr@10": round(statistics.fmean(mrr), 4),
        "top_quote_answer_hit": round(statistics.fmean(hit), 4),
        "span_exact_match": round(statistics.fmean(em), 4),
        "span_f1": round(statistics.fmean(f1), 4),
        "ask_latency": percentiles(times),
    }


# -- QA jsonl (news-dev) -------------------------------------------------------------------------
def evaluate_qa(answerer: Answering, path: Path, k: int = 3, pages: int = 3) -> dict[str, Any]:
    """Top-1/top-k answer hits, source hits and abstention on a news-dev style file.

    The bot shows ``k`` answers a page over ``pages`` pages: answers past the first page are
    asked for as the bot does, and counted on topic when they hold a gold answer or come from a
    gold source (a reply whose later pages are unrelated disappoints).
    """
    rows = read_jsonl(path)
    top1 = topk = src = answerable = abstain_ok = unanswerable = 0
    span_ok = span_wrong = false_idk = later = later_on_topic = 0
    misses, times = [], []
    if rows:
        answerer.ask(rows[0]["question"], k=k)  # loads the NER model: not a question's latency
    for row in rows:
        t = time.perf_counter()
        result = answerer.ask(row["question"], k=k)
        times.append((time.perf_counter() - t) * 1000)
        if row.get("unanswerable"):
            unanswerable += 1
            abstain_ok += result.abstained
            if not result.abstained:
                misses.append(row["question"])
            continue
        answerable += 1
        false_idk += result.abstained
        quotes = [a.quote for a in result.answers]
        first = bool(quotes) and contains_answer(quotes[0], row["answers"])
        anywhere = any(contains_answer(q, row["answers"]) for q in quotes[:k])
        top1 += first
        topk += anywhere
        if first and result.answers[0].highlight_text:
            if contains_answer(result.answers[0].highlight_text, row["answers"]):
                span_ok += 1
            else:
                span_wrong += 1
        gold = tuple(row.get("sources", []))
        src += bool(gold) and any(is_source(s, gold) for a in result.answers[:k] for s in a.sources)
        if pages > 1:
            for a in answerer.ask(row["question"], k=k * pages).answers[k:]:
                later += 1
                later_on_topic += contains_answer(a.quote, row["answers"]) or any(
                    is_source(s, gold) for s in a.sources
                )
        if not anywhere:
            misses.append(row["question"])
    return {
        "dataset": path.name,
        "questions": len(rows),
        "top1_hit": round(top1 / answerable, 4) if answerable else None,
        f"top{k}_hit": round(topk / answerable, 4) if answerable else None,
        "source_hit": round(src / answerable, 4) if answerable else None,
        # of the top-1 hits: the bold span holds a gold answer / a bold span that does not
        "span_hit": round(span_ok / top1, 4) if top1 else None,
        "wrong_spans": span_wrong,
        "abstention": round(abstain_ok / unanswerable, 4) if unanswerable else None,
        "false_idk": false_idk,
        "later_answers": later,  # answers on pages 2+ over all answerable questions ...
        "later_on_topic": round(later_on_topic / later, 4) if later else None,  # ... on topic
        "misses": misses,
        "ask_latency": percentiles(times),
    }


def is_source(source: Any, gold: tuple[str, ...]) -> bool:
    """A gold source is an article id (JSONL corpora) or a file name prefix (news-dev)."""
    return source.id in gold or Path(source.path or source.id).name.startswith(gold)
