"""What an answer is: verbatim quotes with the span that answers and every source saying it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceRef:
    """Where a quote comes from; ``start``/``end`` locate it in the cleaned article text."""

    id: str
    title: str
    path: str | None
    url: str | None
    published: str | None
    start: int
    end: int
    kind: str = "article"  # "comment" when the quote is from a reader comment under the article


@dataclass(frozen=True)
class Answer:
    """One distinct fact: a verbatim quote, the answering span inside it, and all its sources."""

    quote: str
    highlight: tuple[int, int] | None  # span of the answer inside ``quote``
    score: float
    sources: tuple[SourceRef, ...]
    passage_ids: tuple[int, ...] = ()

    @property
    def highlight_text(self) -> str | None:
        if self.highlight is None:
            return None
        return self.quote[self.highlight[0] : self.highlight[1]]

    def to_json(self) -> dict[str, Any]:
        return {
            "quote": self.quote,
            "highlight": self.highlight_text,
            "score": round(self.score, 4),
            "sources": [asdict(s) for s in self.sources],
        }


@dataclass(frozen=True)
class Result:
    """The reply to one question; ``abstained`` means "I don't know"."""

    question: str
    abstained: bool
    answers: tuple[Answer, ...] = ()
    message: str | None = None  # why there is no answer (empty question, nothing found, ...)
    related: tuple[str, ...] = field(default=())  # closest article titles when abstaining
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)
    period: str | None = None  # the time answered from: "Articles from 23 Feb to 1 Mar 1987"
    # The question's language ("GERMAN") when the multilingual vectors answered it
    # (retrieval/multilingual.py); None for the English path.
    language: str | None = None

    def to_record(self) -> dict[str, Any]:
        """Everything but the timings, for ``from_record`` (the bot keeps results to page)."""
        data = asdict(self)
        data.pop("timings_ms", None)
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Result:
        """The ``Result`` that ``to_record`` wrote."""
        answers = tuple(
            Answer(
                quote=a["quote"],
                highlight=tuple(a["highlight"]) if a["highlight"] is not None else None,  # type: ignore[arg-type]
                score=a["score"],
                sources=tuple(SourceRef(**s) for s in a["sources"]),
                passage_ids=tuple(a.get("passage_ids", ())),
            )
            for a in data["answers"]
        )
        return cls(question=data["question"], abstained=data["abstained"], answers=answers,
                   message=data.get("message"), related=tuple(data.get("related", ())),
                   period=data.get("period"), language=data.get("language"))

    def to_json(self) -> dict[str, Any]:
        """What ``ask --json`` prints: the interface measured from outside."""
        out: dict[str, Any] = {
            "question": self.question,
            "abstained": self.abstained,
            "answers": [a.to_json() for a in self.answers],
        }
        if self.message:
            out["message"] = self.message
        if self.related:
            out["related"] = list(self.related)
        if self.period:
            out["period"] = self.period
        if self.language:
            out["language"] = self.language
        return out
