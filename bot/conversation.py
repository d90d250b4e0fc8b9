"""What a chat message is before it is a question: small talk, an over-long message, a language.

Pure functions, so that the handlers stay about Telegram and each rule is tested on its own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from retrieval.answers import Result

# Whole messages made only of these words are small talk, not questions about the news.
_GREETINGS = frozenset(["hi", "hello", "hey", "hiya", "howdy", "yo", "morning", "evening",
                        "afternoon", "good", "hallo", "bonjour", "hola", "salut", "ciao"])
_THANKS = frozenset(["thanks", "thank", "thx", "ty", "cheers", "merci", "danke", "gracias",
                     "you", "u", "so", "much", "a", "lot", "very", "many"])
_ACKS = frozenset(["ok", "okay", "k", "kk", "cool", "great", "nice", "fine", "sure", "yes",
                   "no", "yep", "nope", "lol", "haha", "wow", "alright", "awesome", "perfect",
                   "got", "it", "i", "see", "bye", "goodbye", "later", "night", "thumbs", "up"])
_SMALL_TALK = _GREETINGS | _THANKS | _ACKS
_WORD = re.compile(r"[^\W\d_]+")
MAX_SMALL_TALK_WORDS = 6

# A message longer than this is not one question: the question is taken out of it.
MAX_QUESTION_CHARS = 300
# A sentence ending in "?", not across a blank line. It starts only where one can (the text's start,
# after . ! ?, or after a newline that opens a blank line): tried at every position instead, a long
# message without a "?" took quadratic time (3 s for 14,000 characters).
_QUESTION_SENTENCE = re.compile(
    r"(?:^|(?<=[.!?])|(?<=\n)(?=[^\S\n]*\n))(?:[^.!?\n]|\n(?![^\S\n]*\n))*\?"
)


def small_talk(text: str) -> str | None:
    """"greeting", "thanks" or "chat" when the message is only small talk, else None.

    Emoji and punctuation alone ("👍", "!!") are small talk too: they ask nothing.
    """
    words = [w.lower() for w in _WORD.findall(text)]
    if re.search(r"\d", text) or len(words) > MAX_SMALL_TALK_WORDS:
        return None
    if not all(w in _SMALL_TALK for w in words):
        return None
    if any(w in ("thanks", "thank", "thx", "ty", "cheers", "merci", "danke", "gracias")
           for w in words):
        return "thanks"
    if words and words[0] in _GREETINGS:
        return "greeting"
    return "chat"


def question_of(text: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, bool]:
    """The question inside a message, and whether only part of the message was used.

    A long message (a pasted article, a forwarded thread) answered as a whole matches
    everything a little: its first question sentence, else its first lines up to ``limit``,
    says what is asked.
    """
    text = text.strip()
    if len(text) <= limit:
        return text, False
    for match in _QUESTION_SENTENCE.finditer(text):
        asked = " ".join(match.group(0).split())
        if len(asked) > limit:
            break
        if re.search(r"\w{2}", asked):
            return asked, True
    head = " ".join(text[: limit + 1].split())
    if len(head) > limit:
        cut = head.rfind(" ", 0, limit)
        head = head[: cut if cut > limit // 2 else limit]
    return head.rstrip(" ,;:"), True


# ---- language ------------------------------------------------------------------------------

# "I answer in English about English articles", in the languages the detector tells apart.
ENGLISH_ONLY = {
    "GERMAN": "Ich beantworte Fragen zu englischsprachigen Nachrichtenartikeln, und zwar auf "
              "Englisch. Bitte stelle deine Frage auf Englisch.",
    "FRENCH": "Je réponds en anglais aux questions sur des articles de presse en anglais. "
              "Posez votre question en anglais, s'il vous plaît.",
    "SPANISH": "Respondo en inglés a preguntas sobre artículos de noticias en inglés. Por "
               "favor, haz tu pregunta en inglés.",
    "ITALIAN": "Rispondo in inglese a domande su articoli di notizie in inglese. Per favore, "
               "fai la tua domanda in inglese.",
    "PORTUGUESE": "Respondo em inglês a perguntas sobre artigos de notícias em inglês. Por "
                  "favor, faça a sua pergunta em inglês.",
    "DUTCH": "Ik beantwoord vragen over Engelstalige nieuwsartikelen, in het Engels. Stel je "
             "vraag alsjeblieft in het Engels.",
    "RUSSIAN": "Я отвечаю по-английски на вопросы об англоязычных новостных статьях. "
               "Пожалуйста, задайте вопрос на английском.",
    "UKRAINIAN": "Я відповідаю англійською на запитання про англомовні новинні статті. "
                 "Будь ласка, поставте запитання англійською.",
    "POLISH": "Odpowiadam po angielsku na pytania o anglojęzyczne artykuły prasowe. Zadaj "
              "pytanie po angielsku.",
    "TURKISH": "İngilizce haber makaleleri hakkındaki soruları İngilizce yanıtlıyorum. Lütfen "
               "sorunuzu İngilizce sorun.",
    "ARABIC": "أجيب بالإنجليزية عن الأسئلة حول مقالات إخبارية باللغة الإنجليزية. يرجى طرح "
              "سؤالك بالإنجليزية.",
    "CHINESE": "我用英语回答关于英文新闻文章的问题。请用英语提问。",
    "JAPANESE": "英語のニュース記事についての質問に英語で答えます。英語で質問してください。",
}
ENGLISH_ONLY_EN = "I answer in English, about English news articles: please ask in English."
# Detected with at least this confidence, a question is in that language. Short English questions
# score 0.68 to 0.98 as English; names alone ("Macron Scholz") stay below 0.3 for any language.
MIN_LANGUAGE_CONFIDENCE = 0.8


@functools.cache
def _language_detector() -> Any:
    """lingua ships its models in its package; only the languages we can reply in are loaded,
    on first use (about a second)."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.ENGLISH, *(getattr(Language, name) for name in ENGLISH_ONLY)
    ).build()


def foreign_language(text: str) -> str | None:
    """The name of the language the text is in (e.g. "GERMAN") when it is surely not English."""
    if not _WORD.search(text):
        return None
    best = _language_detector().compute_language_confidence_values(text)[0]
    name = best.language.name
    if name == "ENGLISH" or best.value < MIN_LANGUAGE_CONFIDENCE:
        return None
    return name


# ---- one turn ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """What to reply to one message: small talk, a "please ask in English", or a result."""

    question: str
    small_talk: str | None = None  # the kind of small talk, when that is all it was
    result: Result | None = None
    english_only: str | None = None  # the language to say "ask in English" in
    used_part: bool = False  # only part of an over-long message was asked


def take_turn(text: str, ask: Callable[[str], Result]) -> Turn:
    """Read one chat message and, when it asks something, ask it: the terminal chat and the
    Telegram handlers reply from the same turn. A question in another language is told that
    the articles are in English only when they hold no answer to it (a name may still match)."""
    question, cut = question_of(text)
    chatting = small_talk(question)
    if chatting is not None:
        return Turn(question, small_talk=chatting)
    result = ask(question)
    # Answered in its language already (multilingual vectors): no "please ask in English".
    language = foreign_language(question) if result.abstained and not result.language else None
    return Turn(question, result=result, english_only=language, used_part=cut)
