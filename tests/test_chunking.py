"""Sentence spans and passages keep exact offsets into the cleaned text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.chunking import chunk, sentence_spans
from index.records import ARTICLE, COMMENT
from index.settings import ChunkSettings


def _sentences(text):
    return [text[a:b] for a, b in sentence_spans(text)]


def test_abbreviations_and_initials_do_not_end_sentences():
    text = "Support from the U.S. military grew on Feb. 23, 2024 in Klietz. Mr. J. Smith agreed."
    assert _sentences(text) == [
        "Support from the U.S. military grew on Feb. 23, 2024 in Klietz.",
        "Mr. J. Smith agreed.",
    ]


def test_quotes_and_newlines_end_sentences():
    text = "He said “we will win.” Then he left!\nNew line here"
    assert _sentences(text) == ["He said “we will win.”", "Then he left!", "New line here"]


@pytest.mark.parametrize(
    ("text", "dateline"),
    [
        ("NEW YORK, FEB 26 - Diamond Shamrock Corp said so.", "NEW YORK, FEB 26 -"),
        ("GARDEN CITY, N.Y., March 2 - Esselte said so.", "GARDEN CITY, N.Y., March 2 -"),
        ("OAKLAND , N.J., March 2 - DRS said so.", "OAKLAND , N.J., March 2 -"),
        ("LONDON (Reuters) - The bank said so.", "LONDON (Reuters) -"),
    ],
)
def test_a_wire_dateline_is_a_span_of_its_own(text, dateline):
    assert _sentences(text) == [dateline, text[len(dateline) + 1 :]]


def test_a_sentence_that_merely_opens_with_a_name_is_not_a_dateline():
    text = "Paris, France and Berlin agreed on March 2 - a first."
    assert _sentences(text) == [text]


def test_passages_overlap_and_respect_the_comment_boundary():
    body = " ".join(f"Sentence number {i} is here." for i in range(12))
    text = body + "\n" + "I think so. Me too."
    start = len(body) + 1
    passages = chunk("a", text, start, ChunkSettings(max_words=20, overlap_sentences=1))
    assert [p.kind for p in passages][-1] == COMMENT
    assert all(p.end <= start for p in passages if p.kind == ARTICLE)
    assert all(p.start >= start for p in passages if p.kind == COMMENT)
    articles = [p for p in passages if p.kind == ARTICLE]
    for a, b in zip(articles, articles[1:], strict=False):
        assert b.start < a.end  # one sentence of overlap


@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=600),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=0, max_value=2),
)
def test_every_passage_is_an_exact_slice(text, max_words, overlap):
    passages = chunk("x", text, None, ChunkSettings(max_words=max_words, overlap_sentences=overlap))
    for p in passages:
        assert p.text == text[p.start : p.end]
        assert p.text.strip() == p.text and p.text
    covered = {i for p in passages for i in range(p.start, p.end)}
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())  # nothing lost


def test_a_dateline_is_a_span_of_its_own_that_says_nothing():
    from index.chunking import is_dateline

    assert is_dateline("NEW YORK, Feb 26 -")
    assert is_dateline("LONDON (Reuters) -")
    assert not is_dateline("NEW YORK, Feb 26 - Lumen Inc said it agreed to merge.")
    assert not is_dateline("Lumen Inc said it agreed to merge.")
