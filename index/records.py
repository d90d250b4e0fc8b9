"""Plain records shared by ingestion, storage and retrieval."""

from __future__ import annotations

from dataclasses import dataclass, field

ARTICLE = "article"
COMMENT = "comment"


@dataclass(frozen=True)
class Document:
    """An article as read from its source, before cleaning.

    ``key`` identifies the source stably across runs (a file path, ``path#id`` for a JSONL line,
    or a URL); re-indexing the same key replaces the article.
    """

    key: str
    text: str
    title: str = ""
    url: str | None = None
    published: str | None = None
    path: str | None = None
    fmt: str = "txt"  # "txt", "md", "html", "jsonl": decides how title and boilerplate are found
    comments: str = ""  # a comment thread the HTML extractor found apart from the text
    ident: str | None = None  # the id a JSONL line gave itself


@dataclass(frozen=True)
class Article:
    """A cleaned article. ``text`` is what every passage offset points into."""

    id: str
    key: str
    title: str
    text: str
    content_hash: str
    url: str | None = None
    published: str | None = None
    path: str | None = None
    comments_start: int | None = None  # offset in ``text`` where reader comments begin


@dataclass(frozen=True)
class Passage:
    """A few consecutive sentences of one article; ``text == article.text[start:end]``."""

    article_id: str
    start: int
    end: int
    text: str
    kind: str = ARTICLE  # ARTICLE or COMMENT
    id: int | None = None


@dataclass(frozen=True)
class Skipped:
    """A source that was not indexed, and why."""

    source: str
    reason: str


@dataclass
class IndexSummary:
    """What one ``index`` run changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    passages_embedded: int = 0
    passages_multilingual: int = 0  # embedded for the multilingual vectors (index/multilingual.py)
    seconds: float = 0.0
