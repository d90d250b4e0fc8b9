"""Words as search and quoting see them: stop words, tokens, a light stemmer, idf weights.

Full-text search (the store), quote selection and the reader all split text into words the same
way; this module is the one place that says how.
"""

from __future__ import annotations

import math
import re
import unicodedata

# Question words and glue that would only add noise to an OR query.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "s",
        "t",
        "don",
    ]
)
WORD = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("s", ""), ("ly", ""))


def fts_words(question: str) -> list[str]:
    """The question's distinct words for full-text search, without stopwords when it has others."""
    words = [w.lower() for w in WORD.findall(question)]
    content = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(content))[:64]


def fts_query(question: str | list[str]) -> str | None:
    """An FTS5 MATCH expression that cannot raise: every word quoted, joined with OR.

    Quoting makes FTS syntax in the question (``AND``, ``*``, ``:``, ``NEAR``, quotes) plain words.
    """
    words = fts_words(question) if isinstance(question, str) else question
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match "troops"/"troop", "disavowed"/"disavow".

    Accents are dropped, as full-text search drops them: "Gospić" is "Gospic".
    """
    w = word.lower()
    if not w.isascii():
        w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    for suffix, replacement in _SUFFIXES:
        if len(w) > len(suffix) + 3 and w.endswith(suffix) and not w.endswith("ss"):
            w = w[: -len(suffix)] + replacement
            break
    # A final "e" goes too, so that "share" is "shares" and "propose" is "proposed".
    return w[:-1] if len(w) > 3 and w.endswith("e") else w


def content_terms(text: str) -> set[str]:
    return {stem(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS}


def idf(qterms: set[str], sentence_terms: list[set[str]]) -> dict[str, float]:
    """How rare each question term is among the sentences searched (smoothed log idf)."""
    n = len(sentence_terms)
    return {t: math.log(1 + n / (1 + sum(t in s for s in sentence_terms))) for t in qterms}
