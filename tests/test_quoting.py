"""Quote selection and the word matching it rests on, on passages of our own."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunking import sentence_spans
from index.store import PassageRow, SentenceVectors
from index.text import stem
from retrieval.quoting import action_clause, predicate_clause, reason_clause, select_quotes


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("share", "shares"),
        ("price", "prices"),
        ("propose", "proposed"),
        ("troop", "troops"),
        ("class", "classes"),
        ("company", "companies"),
        ("raise", "raising"),
        ("Gospić", "Gospic"),
    ],
)
def test_a_word_and_its_inflections_stem_alike(a, b):
    assert stem(a) == stem(b)


def test_words_ending_in_double_s_keep_it():
    assert stem("business") != stem("busines")
    assert stem("class") == "class"


def test_a_dateline_is_never_quoted_even_when_it_scores_best():
    text = "OSLO, March 3 - Lumen Inc said it agreed to be bought.\n    The price was not given."
    spans = sentence_spans(text)
    assert text[slice(*spans[0])] == "OSLO, March 3 -"
    row = PassageRow(1, "a", 0, len(text), "article", text, "t", None, None, None)
    qvec = np.array([1.0, 0.0], dtype=np.float32)
    # the dateline's vector is the question's own: it would win on similarity alone
    vectors = np.array([[1.0, 0.0], [0.6, 0.8], [0.5, 0.866]], dtype=np.float32)
    quotes = select_quotes(
        "Who bought Lumen?", qvec, [(row, 1.0)], {1: SentenceVectors(spans, vectors)}
    )
    assert quotes and all("OSLO" not in q.text for q in quotes)
    assert quotes[0].text.startswith("Lumen Inc said")


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        (
            '"The cut was made in the light of weak markets," a spokeswoman said.',
            "in the light of weak markets",
        ),
        (
            "It sold the unit as part of a plan to cut debt, the company said.",
            "as part of a plan to cut debt",
        ),
        ("It sold the unit because of its debt.", "because of its debt"),
        ("It sold the unit after talks.", None),  # "after" tells a time
        (  # a use and its purpose
            "They'll use satellite analysis to better map Lumen's air defenses, he said.",
            "to better map Lumen's air defenses",
        ),
        ("It cut prices in a bid to win market share.", "in a bid to win market share"),
        ("Orchard uses it every day.", None),  # a use with no purpose
        ("This sentiment reflects a broad awareness of the risks.", None),  # a description
    ],
)
def test_the_clause_that_gives_a_reason_is_found(sentence, reason):
    found = reason_clause(sentence)
    assert (sentence[slice(*found)] if found else None) == reason


@pytest.mark.parametrize(
    "sentence,verb,act",
    [
        ("A lack of ammunition forced Ukrainian forces to retreat from the city, despite it.",
         "force", "retreat from the city"),
        ("It agreed recently to sell its Canadian unit to Onex for 170 mln dlrs, and sold more.",
         "agree", "sell its Canadian unit to Onex for 170 mln dlrs"),
        ("The board plans to seek a buyer and close the plant.", "plan", "seek a buyer"),
        ("It agreed on a price.", "agree", None),  # no act: nothing to bold
        ("The firm was forced out.", "force", None),
    ],
)
def test_the_act_a_verb_led_to_is_found(sentence, verb, act):
    found = action_clause(sentence, verb)
    assert (sentence[slice(*found)] if found else None) == act


def test_a_why_question_quotes_the_sentence_that_gives_the_reason():
    text = (
        "Lumen Corp said it cut its prices by 2 dlrs.\n    The cut brings its price to 16 dlrs."
        '\n    "The cut was made because of weak markets," a spokeswoman said.'
    )
    spans = sentence_spans(text)
    row = PassageRow(1, "a", 0, len(text), "article", text, "t", None, None, None)
    qvec = np.array([1.0, 0.0], dtype=np.float32)
    vectors = np.array([[0.9, 0.436], [0.5, 0.866], [0.6, 0.8]], dtype=np.float32)
    sentences = {1: SentenceVectors(spans, vectors)}
    question = "Why did Lumen cut its prices?"
    plain = select_quotes(question, qvec, [(row, 1.0)], sentences)
    why = select_quotes(question, qvec, [(row, 1.0)], sentences, reasons=True)
    assert "because" not in plain[0].text
    assert "because of weak markets" in why[0].text


@pytest.mark.parametrize(
    ("sentence", "terms", "clause"),
    [
        (
            "They said they may sell some of it, but have no plans to seek control of Lumen.",
            {"control", "tak"},
            "have no plans to seek control of Lumen",
        ),
        (
            "Orchard will keep 10 pct and these stakes will be bought over the next six years.",
            {"stak", "sold", "eventually"},
            "these stakes will be bought over the next six years",
        ),
        ("He said there was no oil spill, a spokesman said.", {"oil", "spill"}, "there was no oil spill"),
        ("There was no oil spill at Lumen.", {"oil", "spill"}, None),
        (  # "and" inside a noun phrase does not start a clause
            "The UK and France have reactivated talks on sending troops, Le Monde reported.",
            {"troop"},
            "The UK and France have reactivated talks on sending troops",
        ),
    ],
)
def test_the_clause_that_answers_a_yes_no_question_is_found(sentence, terms, clause):
    """The clause holding what is asked; none when that is the whole sentence anyway."""
    found = predicate_clause(sentence, {stem(t) for t in terms})
    assert (sentence[found[0] : found[1]] if found else None) == clause
