"""Small talk, over-long messages and other languages, before anything is asked."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import conversation
from bot.conversation import MAX_QUESTION_CHARS, foreign_language, question_of, small_talk


@pytest.mark.parametrize("text,kind", [
    ("hi", "greeting"), ("hello", "greeting"), ("good morning", "greeting"),
    ("thanks!", "thanks"), ("Thank you so much", "thanks"), ("ok", "chat"), ("👍", "chat"),
    ("lol", "chat"), ("bye", "chat"),
])
def test_small_talk_is_recognised(text: str, kind: str) -> None:
    assert small_talk(text) == kind


@pytest.mark.parametrize("text", [
    "who proposed troops?", "hi, who proposed troops?", "thanks, and what did Scholz say?",
    "ok 2024", "what is ok", "NATO",
])
def test_questions_are_not_small_talk(text: str) -> None:
    assert small_talk(text) is None


def test_a_short_message_is_the_question() -> None:
    assert question_of("  who proposed troops?  ") == ("who proposed troops?", False)


def test_a_long_message_gives_its_first_question_sentence() -> None:
    text = "I read this today. " * 30 + "Who proposed\nsending troops? And why? " + "x " * 300
    assert question_of(text) == ("Who proposed sending troops?", True)


def test_a_long_message_without_a_question_gives_its_first_words() -> None:
    text = "Macron troops Ukraine statement " * 40
    asked, cut = question_of(text)
    assert cut and len(asked) <= MAX_QUESTION_CHARS and text.startswith(asked)
    assert asked.endswith("statement") or asked.split()[-1] in text.split()


# The question-sentence rule written plainly: the reference, but tried at every position.
PLAIN_QUESTION_SENTENCE = re.compile(r"(?:[^.!?\n]|\n(?!\s*\n))*\?")


# Pieces that make blank lines (with white space in them too) and sentence ends common.
PIECES = ["ab", " ", "\t", "\u2028", "\n", "\n \n", ".", "!", "?"]


@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_question_sentences_are_those_of_the_plain_rule(text: str) -> None:
    found = [m.span() for m in conversation._QUESTION_SENTENCE.finditer(text)]
    assert found == [m.span() for m in PLAIN_QUESTION_SENTENCE.finditer(text)]


@pytest.mark.parametrize("text", ["troops " * 20_000, "x" * 140_000, "a\n" * 70_000])
def test_a_long_message_without_a_question_is_read_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    asked, cut = question_of(text)
    assert cut and len(asked) <= MAX_QUESTION_CHARS
    assert time.perf_counter() - started < 1.0  # quadratic, 140,000 characters took minutes


@pytest.mark.parametrize("text,language", [
    ("Wer hat Truppen vorgeschlagen?", "GERMAN"),
    ("qui a proposé d'envoyer des troupes ?", "FRENCH"),
    ("¿Quién propuso enviar tropas?", "SPANISH"),
    ("Кто предложил отправить войска?", "RUSSIAN"),
])
def test_other_languages_are_detected(text: str, language: str) -> None:
    assert foreign_language(text) == language


@pytest.mark.parametrize("text", [
    "who proposed troops?", "How much is the buyer paying for RMJ?", "Macron Scholz", "NATO",
    "what did Scholz say", "", "?!",
])
def test_english_and_bare_names_are_not_foreign(text: str) -> None:
    assert foreign_language(text) is None
