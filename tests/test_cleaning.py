"""Boilerplate removal and comment labelling, on the real captured articles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.cleaning import clean, normalize
from tests.conftest import NEWS


def _clean(prefix: str):
    (path,) = NEWS.glob(prefix + "_*.txt")
    return clean(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("prefix", "gone"),
    [
        (
            "002",
            [
                "Leave a Reply",
                "Leave a Comment",
                "Your email address will not be published",
                "9 Min Read",
                "Share This Article",
                "S Haynes",
            ],
        ),
        ("003", ["LEAVE A RESPONSE", "Required fields are marked"]),
        (
            "004",
            [
                "Keep reading for free",
                "Already a subscriber",
                "Subscribe for an All-Access",
                "Immediate and instant access",
            ],
        ),
    ],
)
def test_boilerplate_is_removed_from_real_articles(prefix, gone):
    text = _clean(prefix).text
    for phrase in gone:
        assert phrase not in text


def test_article_text_survives_cleaning():
    assert "forced Ukrainian forces to retreat" in _clean("004").text
    assert "United Kingdom, Spain, and Poland" in _clean("003").text


def test_repeated_title_line_is_dropped_once_taken_as_title():
    cleaned = _clean("004")
    assert cleaned.title == "European Leaders Should Send Troops to Ukraine"
    assert cleaned.title not in cleaned.text


def test_lede_paragraph_first_line_stays_searchable():
    cleaned = _clean("001")
    assert cleaned.text.startswith("France and the UK have reignited discussions")
    assert len(cleaned.title) <= 91


def test_reader_comments_are_labelled_not_dropped():
    cleaned = _clean("000")
    assert cleaned.comments_start is not None
    assert cleaned.text[cleaned.comments_start :].startswith("I imagine the US has told them")
    assert "Russian air defense systems" in cleaned.text[cleaned.comments_start :]
    assert "NATO officials" in cleaned.text[: cleaned.comments_start]


@pytest.mark.parametrize("prefix", ["001", "002", "003", "004"])
def test_articles_without_a_thread_have_no_comments(prefix):
    assert _clean(prefix).comments_start is None


def test_comment_heading_starts_the_thread():
    text = "Title\nBody one.\nBody two.\n3 Comments\nGreat piece, thanks."
    cleaned = clean(text)
    assert cleaned.text[cleaned.comments_start :] == "Great piece, thanks."


def test_quoted_first_person_is_not_a_comment():
    text = "Title\n" + "\n".join(f'The minister said, "I will act," on day {i}.' for i in range(6))
    assert clean(text).comments_start is None


@given(st.text(max_size=400))
def test_cleaning_keeps_lines_verbatim(raw):
    cleaned = clean(raw)
    source_lines = {ln.strip() for ln in normalize(raw).split("\n")}
    for line in cleaned.text.split("\n"):
        if line:
            assert any(line in s for s in source_lines)
    if cleaned.comments_start is not None:
        assert 0 <= cleaned.comments_start <= len(cleaned.text)
