"""Typed settings of retrieval and answering."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetrievalSettings:
    fts_candidates: int = 100
    # Full-text search leaves out the question's commonest words while the passages holding
    # its words add up to more than this (0 = never): bm25 costs time per matching passage.
    fts_max_postings: int = 20_000
    dense_candidates: int = 100
    rrf_k: int = 60
    fts_weight: float = 1.0
    dense_weight: float = 1.0
    quote_passages: int = 8  # best passages searched for the sentences to quote
    max_quote_sentences: int = 3
    max_question_chars: int = 1000  # longer questions are cut, not rejected
    # A quote answers when its best sentence is this close to the question (cosine) or covers
    # this share of the question's idf-weighted words; when the best quote does neither, the
    # reply is "I don't know". Calibrated on news-dev (see docs/benchmarks.md).
    min_quote_similarity: float = 0.35
    min_quote_coverage: float = 0.6
    max_score_gap: float = 0.25  # answers scoring this far below the best one are not shown
    merge_similarity: float = 0.7  # quotes this similar are the same fact from several sources
    highlight: bool = True  # find and mark the answer span (spaCy: parser and NER)
    # Typed questions (who, when, how many...): the best quotes read for an answer span, the
    # span score a quote needs to answer (and a "what" phrase to be bolded), how much that
    # score counts in the ranking, and what a quote without one loses.
    read_quotes: int = 8
    min_span_score: float = 0.5
    span_weight: float = 0.1
    spanless_penalty: float = 0.2  # subtracted from a quote the reader found no span in
    # Time: a question about a day, week or month is also answered from articles published up
    # to this many days after it; the newest answer gains up to recency_weight over older ones.
    report_lag_days: int = 3
    recency_weight: float = 0.01
