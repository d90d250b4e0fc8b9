"""The side-by-side benchmark's own logic: stage timings, peers' abstention cut, report, splice."""

from __future__ import annotations

import pytest

from benchmarks.compare import BEGIN, END, SECTION, splice
from benchmarks.compare_report import ratio, render, render_latency
from benchmarks.peers import Doc, PeerAnswerer, tune_threshold
from index.builder import IndexRun, update_index
from retrieval.engine import Answerer
from retrieval.settings import RetrievalSettings
from tests.conftest import NEWS


def test_every_answer_stage_is_timed(tmp_path, fake_embedder):
    update_index(tmp_path, [NEWS], IndexRun(fake_embedder))
    answerer = Answerer(tmp_path, fake_embedder, RetrievalSettings(highlight=False))
    result = answerer.ask("Who disavowed Macron's statement about ground troops?")
    assert not result.abstained
    assert list(result.timings_ms) == ["embed", "fts", "dense", "fusion", "quotes", "read", "format"]
    assert all(ms >= 0 for ms in result.timings_ms.values())


@pytest.mark.parametrize(
    ("answerable", "unanswerable", "cut"),
    [
        ([0.8, 0.6, 0.7], [0.2], 0.4),  # separable: the middle of the gap
        ([0.8, 0.3], [0.5], None),  # no cut gets more decisions right than always answering
        ([0.9, 0.8, 0.4], [0.5, 0.6], 0.7),  # the cut that gets most of them right
        ([0.5], [], None),
    ],
)
def test_abstention_cut_for_peers(answerable, unanswerable, cut):
    found = tune_threshold(answerable, unanswerable)
    assert found == (pytest.approx(cut) if cut is not None else None)


class _Fixed(PeerAnswerer):
    def search(self, question, limit):
        return [("b", 0.9), ("a", 0.3)][:limit]


def test_peer_answers_with_whole_documents_and_abstains_below_its_cut():
    peer = _Fixed([Doc("a", "A", "first text", "a.txt"), Doc("b", "B", "second text", "b.txt")])
    result = peer.ask("q", k=2)
    assert [a.quote for a in result.answers] == ["second text", "first text"]
    assert result.answers[0].sources[0].path == "b.txt"
    peer.min_score = 0.95
    assert peer.ask("q").abstained
    assert peer.top_scores["q"] == 0.9


def test_bm25s_peer_ranks_by_words_and_finds_nothing_for_stopwords(tmp_path):
    pytest.importorskip("bm25s")
    pytest.importorskip("Stemmer")
    from benchmarks.peers import Bm25sPeer

    docs = [Doc("1", "", "Paris is the capital of France."), Doc("2", "", "Cats sleep a lot.")]
    peer = Bm25sPeer(docs)
    peer.build(tmp_path / "idx")
    assert [doc for doc, _ in peer.search("sleeping cats", 5)] == ["2"]  # stemmed: sleep
    assert [doc for doc, _ in peer.search("What is France's capital?", 5)] == ["1"]
    assert peer.search("the of a", 5) == []


def test_ratio_is_quotebot_over_peer():
    assert ratio(0.5, 1.0) == "0.5"
    assert ratio(1.0, 0) == "–"
    assert ratio(None, 1.0) == "–"


def test_report_and_splice_touch_only_the_marked_block(tmp_path):
    report = {
        "conditions": {
            "date": "d",
            "commit": "c",
            "cpu": "cpu",
            "cores": 2,
            "load_average_start": [1],
            "versions": {},
        },
        "runs": {
            "squad": {
                "quotebot": {
                    "quality": {"recall@1": 0.8, "questions": 5, "ask_latency": {"p95_ms": 10.0}}
                },
                "txtai": {"quality": {"recall@1": 0.4, "ask_latency": {"p95_ms": 40.0}}},
            }
        },
        "startup": {},
    }
    markdown = render(report, "results.json")
    assert (
        "| SQuAD dev paragraph Recall@1 (5 questions) | 0.8000 | 0.4000 | – | 2 | – |" in markdown
    )
    assert "| SQuAD answer latency p95 (ms)³ | 10.0 | 40.0 | – | 0.25 | – |" in markdown

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\n## Other\n\nkeep\n", encoding="utf-8")
    splice(doc, "first")
    splice(doc, "second")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# B\n\n## Other\n\nkeep\n")
    assert text.count(SECTION) == 1 and text.count(BEGIN) == 1 and text.count(END) == 1
    assert "second" in text and "first" not in text


def test_latency_report_has_a_ratio_per_peer():
    report = {
        "conditions": {"date": "d", "commit": "c", "load_average_start": [1]},
        "latency": {
            "squad": {
                "quotebot": {
                    "questions": 3,
                    "ask_latency": {"p50_ms": 10.0},
                    "stages": {"embed": {"p50_ms": 4.0, "p95_ms": 6.0}},
                },
                "txtai-bf16": {"ask_latency": {"p50_ms": 20.0}},
            }
        },
    }
    markdown = render_latency(report, "r.json")
    assert "| SQuAD answer latency p50 (ms, 3 questions) | 10.0 | 20.0 | 0.5 |" in markdown
    assert "| embed | 4.00 | 6.00 |" in markdown


def test_indexing_benchmark_writes_whole_articles_and_reports_each_run(tmp_path):
    from benchmarks.indexing import SQUAD, render, write_articles

    if not SQUAD.is_file():
        pytest.skip("needs ../shared/eval/squad")
    assert write_articles(tmp_path / "articles") == 48
    files = sorted((tmp_path / "articles").glob("*.txt"))
    assert len(files) == 48
    first = files[0].read_text(encoding="utf-8")
    assert first.count("\n\n") > 10  # the title, then one paragraph after another
    run = {
        "precision": "bf16",
        "batch_size": 32,
        "passages": 3000,
        "words_mean": 94.0,
        "tokens_mean": 124.0,
        "passages_per_s_warm": 101.5,
        "cold_s": 40.0,
    }
    report = {
        "date": "2026-11-21T21:00",
        "commit": "abc1234",
        "cores": 2,
        "load_average_start": [1.0, 1.0, 1.0],
        "load_average_end": [2.0, 2.0, 2.0],
        "articles": 48,
        "runs": [run, {**run, "precision": "fp32", "passages_per_s_warm": 45.0}],
    }
    rows = [
        line
        for line in render(report).splitlines()
        if line.startswith("| bf16") or line.startswith("| fp32")
    ]
    assert rows[0].split("|")[6].strip() == "**101.5**" and rows[0].endswith("| 75.0 |")
    assert rows[1].startswith("| fp32 | 32 |")
