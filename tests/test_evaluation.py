"""Evaluation: sources matched as QA files name them, and SQuAD scoring as the official script."""

from __future__ import annotations

import json

from retrieval.answers import Answer, Result, SourceRef
from retrieval.evaluation import (
    _is_source,
    evaluate_qa,
    squad_f1,
    squad_normalize,
    squad_questions,
)


def _ref(ident: str, path: str | None) -> SourceRef:
    return SourceRef(id=ident, title="t", path=path, url=None, published=None, start=0, end=1)


def test_a_jsonl_source_is_matched_by_its_article_id_not_its_file_name():
    ref = _ref("reuters-68", "/corpus/reuters/acq.jsonl")
    assert _is_source(ref, ("reuters-68",))
    assert not _is_source(ref, ("reuters-6",))


def test_a_news_dev_source_is_a_file_name_prefix():
    assert _is_source(_ref("abc123", "/corpus/news/000_4f09.txt"), ("000",))
    assert not _is_source(_ref("abc123", "/corpus/news/001_26cc.txt"), ("000",))


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
