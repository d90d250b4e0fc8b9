"""The systems quotebot is compared with, behind the interface ``retrieval.evaluation`` measures
(``Answering``).

Each peer indexes plain documents (id, title, text) and answers with whole documents: its "quote"
is the top passage or paragraph it returns. That lets the very same metric code
(``evaluate_beir``, ``evaluate_squad``, ``evaluate_qa``) score quotebot and its peers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.builder import document_text
from index.records import Passage
from index.snapshot import DB_FILE, current_generation
from index.store import Store
from retrieval.answers import Answer, Result, SourceRef
from retrieval.evaluation import read_jsonl


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    text: str
    path: str | None = None

    @property
    def indexed_text(self) -> str:
        """What is indexed: title and text, as quotebot embeds a passage (the whole document)."""
        return document_text(self.title, Passage(self.id, 0, len(self.text), self.text))


# -- corpora -------------------------------------------------------------------------------------
def read_jsonl_docs(path: Path) -> list[Doc]:
    """BEIR corpus.jsonl(.gz) or quotebot's SQuAD paragraphs file: ``_id``/``id``, title, text."""
    rows = read_jsonl(path)
    return [Doc(str(r.get("_id", r.get("id"))), r.get("title") or "", r["text"]) for r in rows]


def read_quotebot_passages(data_dir: Path) -> list[Doc]:
    """The passages quotebot's chunker made from a corpus, so that peers index the same units."""
    gen = current_generation(data_dir)
    if gen is None:
        raise SystemExit(f"no quotebot index in {data_dir}: run quotebot on that dataset first")
    store = Store.open(gen / DB_FILE, readonly=True)
    try:
        rows = store.passages(range(1, store.max_passage_id() + 1))
    finally:
        store.close()
    return [Doc(str(pid), r.title or "", r.text, r.path) for pid, r in sorted(rows.items())]


# -- the interface evaluation.py calls (retrieval.evaluation.Answering) ----------------------------
class PeerAnswerer:
    """Answers with the top documents; ``min_score`` (tuned on news-dev) turns on abstention."""

    name = "peer"

    def __init__(self, docs: Sequence[Doc]) -> None:
        self.docs = {d.id: d for d in docs}
        self.min_score: float | None = None
        self.top_scores: dict[str, float] = {}  # question -> best score, for threshold tuning

    def search(self, question: str, limit: int) -> list[tuple[str, float]]:
        raise NotImplementedError

    def search_articles(self, question: str, limit: int = 100) -> list[tuple[str, float]]:
        return self.search(question, limit)

    def ask(self, question: str, k: int = 3) -> Result:
        hits = self.search(question, k)
        self.top_scores[question] = hits[0][1] if hits else float("-inf")
        if not hits or (self.min_score is not None and hits[0][1] < self.min_score):
            return Result(question=question, abstained=True)
        answers = tuple(self._answer(doc_id, score) for doc_id, score in hits)
        return Result(question=question, abstained=False, answers=answers)

    def _answer(self, doc_id: str, score: float) -> Answer:
        doc = self.docs[doc_id]
        # The path names the source file for news-dev's source hit, as quotebot's answers do.
        source = SourceRef(doc.id, doc.title, doc.path, None, None, 0, len(doc.text))
        return Answer(quote=doc.text, highlight=None, score=score, sources=(source,))


class TxtaiPeer(PeerAnswerer):
    """txtai's hybrid ``Embeddings`` (bm25 + dense, content stored) on the same MiniLM folder.

    The FAISS index is pinned to exact search ("IDMap,Flat"), as quotebot's default is: txtai would
    otherwise switch to an IVF index above 5,000 documents and trade recall for speed.
    """

    name = "txtai"

    def __init__(self, docs: Sequence[Doc], model_path: str) -> None:
        super().__init__(docs)
        from txtai import Embeddings

        self.embeddings = Embeddings(
            path=str(model_path),
            method="sentence-transformers",
            content=True,
            hybrid=True,
            faiss={"components": "IDMap,Flat"},
        )

    def build(self, save_to: Path) -> None:
        self.embeddings.index((d.id, d.indexed_text, None) for d in self.docs.values())
        _clear(save_to)
        self.embeddings.save(str(save_to))

    def load(self, path: Path) -> None:
        self.embeddings.load(str(path))

    def search(self, question: str, limit: int) -> list[tuple[str, float]]:
        return [(r["id"], float(r["score"])) for r in self.embeddings.search(question, limit)]


class Bm25sPeer(PeerAnswerer):
    """bm25s with English stopwords and the Snowball stemmer: full text alone, no model."""

    name = "bm25s"

    def __init__(self, docs: Sequence[Doc]) -> None:
        super().__init__(docs)
        import Stemmer

        self.stemmer = Stemmer.Stemmer("english")
        self.ids = list(self.docs)
        self.retriever: Any = None

    def _tokens(self, texts: Iterable[str], ids: bool) -> Any:
        import bm25s

        return bm25s.tokenize(
            list(texts), stopwords="en", stemmer=self.stemmer, show_progress=False, return_ids=ids
        )

    def build(self, save_to: Path) -> None:
        import bm25s

        self.retriever = bm25s.BM25()
        self.retriever.index(
            self._tokens((self.docs[i].indexed_text for i in self.ids), True), show_progress=False
        )
        _clear(save_to)
        self.retriever.save(str(save_to))

    def load(self, path: Path) -> None:
        import bm25s

        self.retriever = bm25s.BM25.load(str(path))

    def search(self, question: str, limit: int) -> list[tuple[str, float]]:
        tokens = self._tokens([question], False)
        if not tokens[0]:
            return []
        docs, scores = self.retriever.retrieve(
            tokens, k=min(limit, len(self.ids)), show_progress=False
        )
        # A zero score means no query word occurs: not a hit.
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def _clear(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)


# -- abstention for systems that have none ---------------------------------------------------------
def tune_threshold(answerable: Sequence[float], unanswerable: Sequence[float]) -> float | None:
    """The top-score cut that gets most answer/abstain decisions right (midpoint of the gap).

    Returns None when no cut beats never abstaining.
    """
    scores = sorted(set(answerable) | set(unanswerable))
    best, best_right = None, len(answerable)  # never abstaining gets every answerable one
    for lo, hi in zip(scores, scores[1:], strict=False):
        cut = (lo + hi) / 2
        right = sum(s >= cut for s in answerable) + sum(s < cut for s in unanswerable)
        if right > best_right:
            best, best_right = cut, right
    return best
