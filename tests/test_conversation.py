"""Small talk, over-long messages and other languages, before anything is asked."""

from __future__ import annotations

import pytest

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
