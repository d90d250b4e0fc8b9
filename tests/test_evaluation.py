"""Evaluation: sources matched as QA files name them, and SQuAD scoring as the official script."""

from __future__ import annotations

import gzip
import json

import pytest

from retrieval.answers import Answer, Result, SourceRef
from retrieval.evaluation import (
    SQUAD_REPORTED_ARTICLES,
    SQUAD_TUNING_ARTICLES,
    beir_questions,
    evaluate_qa,
    is_source,
    percentile,
    percentiles,
    read_jsonl,
    spread,
    squad_f1,
    squad_normalize,
    squad_questions,
)


def _ref(ident: str, path: str | None) -> SourceRef:
    return SourceRef(id=ident, title="t", path=path, url=None, published=None, start=0, end=1)


def test_a_jsonl_source_is_matched_by_its_article_id_not_its_file_name():
    ref = _ref("reuters-68", "/corpus/reuters/acq.jsonl")
    assert is_source(ref, ("reuters-68",))
    assert not is_source(ref, ("reuters-6",))


def test_a_news_dev_source_is_a_file_name_prefix():
    assert is_source(_ref("abc123", "/corpus/news/000_4f09.txt"), ("000",))
    assert not is_source(_ref("abc123", "/corpus/news/001_26cc.txt"), ("000",))


@pytest.mark.parametrize(
    ("limit", "picked"),
    [
        (None, list(range(10))),
        (0, list(range(10))),
        (3, [0, 3, 6]),
        (4, [0, 2, 4, 6]),
        (20, list(range(10))),
    ],
)
def test_a_limited_sample_is_spread_over_all_items(limit, picked):
    assert spread(range(10), limit) == picked


def test_percentiles_are_nearest_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert [percentile(values, q) for q in (0.0, 0.2, 0.5, 0.95, 1.0)] == [1.0, 1.0, 3.0, 5.0, 5.0]
    assert percentiles(values) == {"p50_ms": 3.0, "p95_ms": 5.0, "p99_ms": 5.0, "mean_ms": 3.0}
    assert percentiles([]) == {}
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_the_squad_tuning_and_reported_articles_do_not_overlap():
    assert set(SQUAD_TUNING_ARTICLES).isdisjoint(SQUAD_REPORTED_ARTICLES)
    assert (SQUAD_TUNING_ARTICLES.start, SQUAD_REPORTED_ARTICLES.stop) == (0, 48)


def test_beir_questions_are_the_judged_queries_by_id_with_graded_relevance(tmp_path):
    with gzip.open(tmp_path / "queries.jsonl.gz", "wt", encoding="utf-8") as fh:
        for qid, text in (("2", "second?"), ("1", "first?"), ("3", "unjudged?")):
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n\n")
    (tmp_path / "qrels-test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n2\td9\t1\n1\td4\t2\n1\td5\t1\n"
    )
    assert beir_questions(tmp_path) == [
        ("1", "first?", {"d4": 2, "d5": 1}),
        ("2", "second?", {"d9": 1}),
    ]
    assert beir_questions(tmp_path, limit=1) == [("1", "first?", {"d4": 2, "d5": 1})]
    assert len(read_jsonl(tmp_path / "queries.jsonl.gz")) == 3  # blank lines left out


def test_squad_normalisation_and_f1_follow_the_official_script():
    assert squad_normalize("The  Denver Broncos!") == "denver broncos"
    assert squad_f1("Denver Broncos", "the Denver Broncos") == 1.0
    assert squad_f1("Broncos of Denver", "Denver Broncos") == 0.8  # 2 of 3 and 2 of 2 tokens
    assert squad_f1("Carolina", "Denver Broncos") == 0.0


def test_squad_questions_of_some_articles_keep_paragraph_ids_over_the_whole_file(tmp_path):
    data = {
        "data": [
            {
                "title": "A",
                "paragraphs": [
                    {
                        "context": "x",
                        "qas": [
                            {
                                "question": "qa?",
                                "id": "1",
                                "answers": [{"text": "x", "answer_start": 0}],
                            }
                        ],
                    }
                ],
            },
            {
                "title": "B",
                "paragraphs": [
                    {
                        "context": "y",
                        "qas": [
                            {
                                "question": "qb?",
                                "id": "2",
                                "answers": [{"text": "y", "answer_start": 0}],
                            }
                        ],
                    }
                ],
            },
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    assert squad_questions(path, range(1, 2)) == [("p1", "qb?", ["y"])]
    assert len(squad_questions(path)) == 2


class _PagedAnswerer:
    """Five answers per question: the first holds the gold answer, the rest come from articles
    'a' (the gold source) and 'b'."""

    def ask(self, question: str, k: int = 3) -> Result:
        arts = ["a", "a", "b", "a", "b"][:k]
        answers = tuple(
            Answer(quote="Smith said." if i == 0 else f"other {i}", highlight=None, score=1.0,
                   sources=(_ref(art, None),))
            for i, art in enumerate(arts)
        )
        return Result(question=question, abstained=False, answers=answers)


def test_answers_past_the_first_page_are_counted_on_topic_by_gold_answer_or_source(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "Who?", "answers": ["Smith"], "sources": ["a"]}) + "\n")
    figures = evaluate_qa(_PagedAnswerer(), qa, k=2, pages=3)  # type: ignore[arg-type]
    assert figures["top1_hit"] == 1.0
    assert figures["later_answers"] == 3  # answers 3-5
    assert figures["later_on_topic"] == round(1 / 3, 4)  # only answer 4 is from 'a'
    assert evaluate_qa(_PagedAnswerer(), qa, k=2, pages=1)["later_answers"] == 0  # type: ignore[arg-type]
