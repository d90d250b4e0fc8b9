"""Answer a question in another language from the English articles, with the multilingual vectors.

The English path cannot: MiniLM and the English full text match a German question by its names
only, and the reader parses English. So, for a question the language check takes for another
language (the caller decides, in ``bot/services.py``):

- search: the question's multilingual (e5) vector against the passages' (index/multilingual.py),
  fused by reciprocal rank with full text, which still matches names and figures;
- quote: the sentences of the best few passages are embedded by the same model, and the best
  window of whole sentences is chosen as for English questions (``select_quotes``), verbatim with
  its exact offsets;
- no bold span: the question's type and the answer span come from an English parse, which a
  German or French question does not have;
- "I don't know" when the best sentence is not close enough (on e5's scale, which is squeezed
  into about 0.75-0.95: its own threshold, calibrated as config.toml says).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.multilingual import MODEL_KEY, MultilingualEmbedder, load_vectors
from index.parsing import Parsed
from index.settings import MultilingualSettings
from index.snapshot import Snapshot
from index.store import Dated, PassageRow, SentenceVectors
from index.vectors import Vectors

from .answers import Result
from .dates import Period
from .engine import NONE_THEN, NOT_FOUND, Answerer, Stopwatch, normalize_question
from .fusion import rrf
from .quoting import Quote, merge_same_facts, select_quotes
from .search import Candidate, full_text

log = logging.getLogger(__name__)


class CrossLingual:
    """Questions in other languages, answered from the index ``answerer`` serves."""

    def __init__(
        self, answerer: Answerer, embedder: MultilingualEmbedder, settings: MultilingualSettings
    ) -> None:
        self.answerer = answerer
        self.embedder = embedder
        self.settings = settings
        self._loaded: tuple[str, Vectors | None] | None = None  # (generation, its vectors)
        self._lock = threading.Lock()

    def vectors(self, snap: Snapshot) -> Vectors | None:
        """The served generation's multilingual vectors; None when it has none of this model
        (built before it was enabled: `quotebot index` adds them)."""
        with self._lock:
            if self._loaded is None or self._loaded[0] != snap.generation:
                gen = Path(self.answerer.data_dir) / snap.generation
                vecs = load_vectors(gen)
                built = snap.store.get_meta(MODEL_KEY)
                if vecs is not None and built != self.embedder.name:
                    log.warning("%s: multilingual vectors of %s, not %s: run `quotebot index`",
                                gen, built, self.embedder.name)
                    vecs = None
                self._loaded = (snap.generation, vecs)
            return self._loaded[1]

    def ask(
        self,
        question: str,
        language: str,
        k: int = 3,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Result | None:
        """Quotes answering ``question`` (in ``language``); None when the served index has no
        multilingual vectors, so that the English path answers instead."""
        clean = normalize_question(question, self.answerer.settings.max_question_chars)
        snap = self.answerer.snapshot()
        vecs = self.vectors(snap)
        if vecs is None or not clean:
            return None
        watch = Stopwatch()
        within = None
        dated = None
        period = None
        if since is not None or until is not None:
            period = Period(since, until)
            dated = period.published()
            within = snap.store.dated_passages(dated)
            if not within:
                return Result(question=question, abstained=True, message=NONE_THEN,
                              period=period.label(), language=language)
        quotes, candidates = self.quotes(snap, clean, watch, dated, within)
        quotes = [q for q in quotes if q.similarity >= self.settings.min_similarity]
        label = period.label() if period is not None else None
        if not quotes:
            return Result(
                question=question, abstained=True, message=NOT_FOUND,
                related=self.answerer._related(snap, candidates), timings_ms=watch.timings,
                period=label, language=language,
            )
        groups = merge_same_facts(quotes, self.answerer.settings.merge_similarity)
        floor = quotes[0].score - self.settings.max_score_gap
        groups = [g for g in groups if g[0].score >= floor][:k]
        answers = tuple(self.answerer._answer(group) for group in groups)
        watch.lap("format")
        return Result(question=question, abstained=False, answers=answers,
                      timings_ms=watch.timings, period=label, language=language)

    def quotes(
        self,
        snap: Snapshot,
        question: str,
        watch: Stopwatch | None = None,
        dated: Dated | None = None,
        within: Sequence[int] | None = None,
    ) -> tuple[list[Quote], list[Candidate]]:
        """Every candidate quote, best first, before the threshold (which
        benchmarks/cross_lingual.py calibrates on them), and the fused candidates."""
        watch = watch or Stopwatch()
        vecs = self.vectors(snap)
        if vecs is None:
            return [], []
        qvec = self.embedder.encode_queries([question])[0]
        watch.lap("embed")
        fts = full_text(snap, question, self.answerer.settings, dated)
        watch.lap("fts")
        dense = vecs.search(qvec, self.settings.candidates, [pid for pid, _ in fts], within)
        fused = rrf(
            [[pid for pid, _ in fts], [pid for pid, _ in dense]],
            weights=[self.settings.fts_weight, 1.0],
            k=self.answerer.settings.rrf_k,
        )
        candidates = [Candidate(pid, score) for pid, score in fused]
        watch.lap("dense")
        top = candidates[: self.settings.quote_passages]
        rows = snap.store.passages(c.passage_id for c in top)
        ranked = [(rows[c.passage_id], c.fused) for c in top if c.passage_id in rows]
        english = snap.store.sentences(rows, snap.dim)
        sentences = self._sentences(ranked, english)
        limit = self.answerer.settings.max_quote_sentences
        quotes = select_quotes(question, qvec, ranked, sentences, limit)
        spans = _typed_spans(snap, question, ranked)
        if spans and self.settings.type_weight:
            # A window holding a name or figure of the asked type wins over one without in the
            # same passage; passages with none keep their quotes as they are. Never bolded.
            typed = select_quotes(
                question, qvec, [(r, f) for r, f in ranked if spans.get(r.id)], sentences,
                limit, answers=spans, answer_weight=self.settings.type_weight,
            )
            quotes = sorted(
                [dataclasses.replace(q, answer=None) for q in typed]
                + [q for q in quotes if not spans.get(q.row.id)],
                key=lambda q: -q.score,
            )
        # Same facts are merged on the English sentence vectors, whose threshold is MiniLM's.
        quotes = [_english_vector(q, english) for q in quotes]
        watch.lap("quotes")
        return quotes, candidates

    def _sentences(
        self, ranked: list[tuple[PassageRow, float]], english: dict[int, SentenceVectors]
    ) -> dict[int, SentenceVectors]:
        """The best passages' sentences (spans as the index keeps them) with multilingual
        vectors, embedded now: a sentence two passages share is embedded once."""
        spans = {row.id: english[row.id].spans for row, _ in ranked if row.id in english}
        texts = {
            (a, b, row.article_id): row.text[a - row.start : b - row.start]
            for row, _ in ranked
            for a, b in spans.get(row.id, ())
        }
        keys = list(texts)
        matrix = (
            self.embedder.encode_documents([texts[key] for key in keys], query_time=True)
            if keys
            else None
        )
        where = {key: i for i, key in enumerate(keys)}
        out = {}
        for row, _ in ranked:
            if row.id not in spans:
                continue
            index = [where[(a, b, row.article_id)] for a, b in spans[row.id]]
            assert matrix is not None
            out[row.id] = SentenceVectors(spans[row.id], matrix[index])
        return out


# What a German or French question asks for, by its first words: the entity labels (spaCy's,
# in the English passages' stored parses) that an answer holds. Set by hand from the two
# languages' question words, not from the dev questions; other questions get no type.
_ASKED = [
    (re.compile(r"(?:wer|wem|wen|qui)\b", re.I), frozenset({"PERSON", "ORG", "NORP"})),
    (re.compile(r"(?:wann|bis wann|an welchem tag|quand|jusqu'à quand|à quelle date)\b", re.I),
     frozenset({"DATE", "TIME"})),
    (re.compile(r"(?:wo|woher|wohin|où|d'où)\b", re.I), frozenset({"GPE", "LOC", "FAC"})),
    (re.compile(r"(?:wie ?viele?|combien|zu welchem (?:kurs|preis)|à quel (?:prix|cours)|"
                r"quel prix)\b", re.I),
     frozenset({"MONEY", "CARDINAL", "PERCENT", "QUANTITY"})),
    (re.compile(r"(?:welche[mnrs]? (?:unternehmen|firma|firmen|bank|banken|konzern)|"
                r"quelles? (?:société|entreprise|banque)s?)\b", re.I), frozenset({"ORG"})),
]


def asked_labels(question: str) -> frozenset[str]:
    """The entity labels a German or French question asks for ("Wer ...?": a person or an
    organisation); empty when its first words ask for no type."""
    text = question.strip()
    for pattern, labels in _ASKED:
        if pattern.match(text):
            return labels
    return frozenset()


def _typed_spans(
    snap: Snapshot, question: str, ranked: list[tuple[PassageRow, float]]
) -> dict[int, list[tuple[int, int, float]]]:
    """Entities of the asked type in the passages' stored parses, as article offsets."""
    labels = asked_labels(question)
    if not labels:
        return {}
    stored = snap.store.parses(row.id for row, _ in ranked)
    spans: dict[int, list[tuple[int, int, float]]] = {}
    for row, _ in ranked:
        if row.id not in stored:
            continue  # parsed only at question time in the English path: none here
        parsed = Parsed.from_json(row.text, stored[row.id])
        found = [
            (row.start + parsed.idx[a], row.start + parsed.end(b - 1), 1.0)
            for a, b, label in parsed.ents
            if label in labels
        ]
        if found:
            spans[row.id] = found
    return spans


def _english_vector(quote: Quote, english: dict[int, SentenceVectors]) -> Quote:
    """The quote with the mean English (MiniLM) vector of its sentences, for merging."""
    sv = english.get(quote.row.id)
    if sv is None:
        return quote
    inside = [i for i, (a, b) in enumerate(sv.spans) if quote.start <= a and b <= quote.end]
    if not inside:
        return quote
    vec = sv.vectors[inside].mean(axis=0)
    norm = float(np.linalg.norm(vec)) or 1.0
    return dataclasses.replace(quote, vector=vec / norm)
