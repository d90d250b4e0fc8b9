"""Boilerplate removal and comment labelling, on the real captured articles."""

from __future__ import annotations

import re
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.chunking import sentence_spans
from index.cleaning import _BULLET, clean, normalize, paragraphs
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
def test_cleaning_keeps_text_verbatim_but_for_white_space(raw):
    cleaned = clean(raw)
    source = re.sub(r"\s", "", "".join(_BULLET.sub("", ln) for ln in normalize(raw).split("\n")))
    for line in cleaned.text.split("\n"):
        assert re.sub(r"\s", "", line) in source
    if cleaned.comments_start is not None:
        assert 0 <= cleaned.comments_start <= len(cleaned.text)


WIRE = """NEW YORK, FEB 26 - Diamond Shamrock Corp said that
effective today it had cut its contract prices for crude oil by
1.50 dlrs a barrel.
    The reduction brings its posted price for West Texas
Intermediate to 16.00 dlrs a barrel, the company said.
    The price cut follows a well-
known pattern set by other firms.
 Reuter"""


def test_hard_wrapped_wire_copy_becomes_one_paragraph_a_line():
    cleaned = clean(WIRE, title="DIAMOND SHAMROCK CUTS CRUDE PRICES", title_from_first_line=False)
    assert cleaned.text.split("\n") == [
        "NEW YORK, FEB 26 - Diamond Shamrock Corp said that effective today it had cut its "
        "contract prices for crude oil by 1.50 dlrs a barrel.",
        "The reduction brings its posted price for West Texas Intermediate to 16.00 dlrs a "
        "barrel, the company said.",
        "The price cut follows a well-known pattern set by other firms.",
    ]  # the sign-off is gone


def test_blank_lines_short_lines_and_list_items_end_paragraphs():
    wrapped = (
        "The board met on Monday and agreed to sell the unit to a\n"
        "group of investors for a sum.\n"
        "It said so.\n"
        "\n"
        "- first item of a list that is long enough to wrap here\n"
        "- second item of the list that is also long enough here\n"
    )
    assert paragraphs(wrapped) == [
        "The board met on Monday and agreed to sell the unit to a group of investors for a sum.",
        "It said so.",
        "first item of a list that is long enough to wrap here",
        "second item of the list that is also long enough here",
    ]


def test_a_web_capture_keeps_a_paragraph_a_line_and_joins_a_broken_sentence():
    text = "Headline\nA long paragraph that the page broke in\nthe middle of a sentence.\nNext one."
    assert paragraphs(text) == [
        "Headline",
        "A long paragraph that the page broke in the middle of a sentence.",
        "Next one.",
    ]


def test_entities_and_soft_hyphens_are_decoded_but_a_bare_ampersand_stays():
    assert (
        normalize("AT&amp;T bought Mc\u00adCaw &amp; Co &#8212; R&D")
        == "AT&T bought McCaw & Co — R&D"
    )


_WORDS = st.lists(
    st.sampled_from(
        ["the", "board", "said", "it", "would", "sell", "shares", "of", "units", "to", "buyers"]
    ),
    min_size=2,
    max_size=14,
)


@given(
    st.lists(st.lists(_WORDS, min_size=1, max_size=4), min_size=1, max_size=5),
    st.integers(min_value=30, max_value=80),
    st.sampled_from(["    ", "\n", "  "]),
)
def test_hard_wrapped_text_splits_into_whole_sentences(paras, width, opener):
    """Whatever the wrap width and paragraph style, each sentence comes back whole and exact."""
    sentences = [[" ".join(["Company", *words]) + "." for words in para] for para in paras]
    raw_paras = [
        textwrap.fill(" ".join(para), width, initial_indent=opener if opener != "\n" else "")
        for para in sentences
    ]
    raw = ("\n\n" if opener == "\n" else "\n").join(raw_paras)
    text = clean(raw, title="T", title_from_first_line=False).text
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == [s for para in sentences for s in para]
