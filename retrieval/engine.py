"""Answer a question with quotes: hybrid search, quote selection, merging, abstention."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from index.chunking import is_dateline, sentence_spans
from index.embedding import Embedder
from index.parsing import Parsed
from index.snapshot import ServedIndex, Snapshot
from index.storage import Served
from index.store import PassageRow, SentenceVectors
from index.text import STOPWORDS, content_terms, fts_words

from .answers import Answer, Result, SourceRef
from .dates import Period, find_period, parse_day, wants_latest
from .questions import Question, recase
from .quoting import (
    Quote,
    action_clause,
    merge_same_facts,
    predicate_clause,
    reason_clause,
    select_quotes,
)
from .reading import Reader, ReadPassage, SpacyReader
from .search import Candidate, full_text, hybrid_search
from .settings import RetrievalSettings

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
T = TypeVar("T")
NO_WORDS = "Please ask a question in words, for example: who proposed sending troops?"
NOT_FOUND = "I don't know: nothing in the articles answers that."
NONE_THEN = "I don't know: no article is from that time."
WITHHELD = "I don't know: the articles say it was not disclosed:"


def normalize_question(question: str, max_chars: int) -> str:
    """Drop control and direction-override characters, collapse spaces, cap the length."""
    text = " ".join(_CONTROL.sub(" ", question).split())
    return text[:max_chars]


_ASKS = re.compile(
    r"(?:(?:by|in|on|at|to|from|for|with|of|since|until|during|after|before|under|into|"
    r"through|about|over)\s+(?:who|whom|whose|what|which|when|where|how)"  # "by what percentage"
    r"|who|whom|whose|what|which|when|where|why|how|is|are|was|were|am|do|does|did|can|could|"
    r"shall|should|will|would|may|might|must|has|have|had)\b",
    re.I,
)


def read_passages(snap: Snapshot, rows: list[PassageRow]) -> list[ReadPassage]:
    """Passages for the reader, with the parses the index keeps."""
    stored = snap.store.parses(r.id for r in rows)
    # a reader's comment is not the story: only an article's passages read in its whole text
    stories = {r.article_id: snap.store.article_text(r.article_id)
               for r in rows if r.kind == "article"}
    return [
        ReadPassage(
            r.text,
            r.title,
            Parsed.from_json(r.text, stored[r.id]) if r.id in stored else None,
            stories.get(r.article_id, "") if r.kind == "article" else "",
        )
        for r in rows
    ]


def is_question(text: str) -> bool:
    """A question (ends with "?" or opens like one), not a claim or a bare topic."""
    text = text.strip()
    return text.endswith("?") or bool(_ASKS.match(text))


class Stopwatch:
    """Milliseconds per answering stage, for ``Result.timings_ms`` and the benchmarks."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def record(self, stage: str, seconds: float) -> None:
        self.timings[stage] = round(seconds * 1000, 2)

    def restart(self) -> None:
        self._clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Time ``stage`` as everything since the last lap or restart."""
        now = time.perf_counter()
        self.record(stage, now - self._clock)
        self._clock = now


class Answerer:
    """Answers from the served index; picks up a newly published index on the next question."""

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        settings: RetrievalSettings,
        reader: Reader | None = None,
        served: Served | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.embedder = embedder
        self.settings = settings
        self._reader = reader
        # ``served``: the index of another backend (index/storage.py); else the data directory's
        self.served = served or ServedIndex(self.data_dir, embedder.name, embedder.dim)
        # Full-text search runs here while the question is embedded: SQLite and torch both
        # release the GIL, so on two cores a question costs the longer of the two, not the sum.
        self._fts_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="quotebot-fts")

    # -- snapshot --------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The served snapshot, reopened when ``current`` has moved to a new generation."""
        return self.served.snapshot()

    def refresh(self) -> None:
        self.snapshot()

    @property
    def reader(self) -> Reader | None:
        if self._reader is None and self.settings.highlight:
            # Word vectors tell a synonym of the question's verb ("acquired" for "bought").
            self._reader = SpacyReader.load(getattr(self.embedder, "encode_words", None))
        return self._reader

    # -- answering -------------------------------------------------------------------------------
    def ask(
        self, question: str, k: int = 3, since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Result:
        """Quotes answering ``question``; only from articles published from ``since`` to
        ``until`` when given, or of the time the question names ("in February")."""
        clean = normalize_question(question, self.settings.max_question_chars)
        if not re.search(r"\w", clean):
            return Result(question=question, abstained=True, message=NO_WORDS)
        watch = Stopwatch()
        snap = self.snapshot()
        period = self._period(snap, clean, since, until)
        explicit = since is not None or until is not None
        if period is not None:
            if _only_time(clean, period):  # "what happened last week?": its headlines
                return self._headlines(snap, question, k, period)
            within = snap.store.dated_passages(period.published())
            if within:
                result = self._ask(snap, question, clean, k, watch, period, within)
                if not result.abstained or explicit:
                    return result
            elif explicit:
                return Result(question=question, abstained=True, message=NONE_THEN,
                              period=period.label())
            # The time named may be one the articles tell of ("earnings in 1986"), not when
            # they came out: with no answer from that time, the whole collection answers.
        return self._ask(snap, question, clean, k, watch)

    def _ask(
        self,
        snap: Snapshot,
        question: str,
        clean: str,
        k: int,
        watch: Stopwatch,
        period: Period | None = None,
        within: Sequence[int] | None = None,
    ) -> Result:
        # The question is parsed for what it asks while it is embedded (spaCy and torch both
        # release the GIL): the parse costs no time of its own on two cores.
        reader = self.reader
        asking = self._fts_pool.submit(reader.analyze, clean) if reader is not None else None
        qvec, candidates = self._candidates(snap, clean, watch, period, within)
        asked = asking.result() if asking is not None else None
        ranked, sentences = self._passages(snap, candidates, max(k, self.settings.quote_passages))
        if asked is not None and reader is not None:
            # "who wants to buy the japan fund": its names as the articles capitalise them
            recased = recase(clean, [row.text for row, _ in ranked])
            if recased != clean:
                asked = reader.analyze(recased)
        why = asked is not None and asked.kind == "reason"
        yes_no = asked is not None and asked.kind == "yes-no"
        asks, topic = _yes_no_terms(clean, asked) if yes_no else (set(), frozenset())
        quotes = select_quotes(
            clean, qvec, ranked, sentences, self.settings.max_quote_sentences, reasons=why,
            topic=topic,
        )
        statement = not is_question(clean)
        if statement:
            # A claim or a topic has no answer sentence to look for: once the best quote is
            # about it, its passages keep the order search gave them (SciFact train nDCG@10
            # 0.7185 with only the quotes that pass the bar, 0.7200 with all).
            rank = {row.id: i for i, (row, _) in enumerate(ranked)}
            quotes = (
                sorted(quotes, key=lambda q: rank[q.row.id])
                if any(map(self._answers, quotes))
                else []
            )
        else:
            quotes = [q for q in quotes if self._answers(q)]
        watch.lap("quotes")
        withheld = None
        if asked is not None and asked.readable and not statement:
            quotes, withheld = self._read(snap, asked, qvec, quotes, ranked, sentences)
        elif why:
            quotes = [_bold_reason(q) for q in quotes]
        elif yes_no and asks and not statement:
            quotes = self._yes_no(clean, qvec, asks, topic, quotes, ranked, sentences)
        elif asked is not None and asked.kind == "other" and _DOING.search(clean):
            quotes = [_bold_action(q, _acting_words(clean, asked.verb)) for q in quotes]
        watch.lap("read")
        label = period.label() if period is not None else None
        if not quotes:
            return Result(
                question=question,
                abstained=True,
                message=_withheld_message(withheld) if withheld else NOT_FOUND,
                related=self._related(snap, candidates),
                timings_ms=watch.timings,
                period=label,
            )
        # Merge before cutting weak answers, so that a second source of the best fact is kept.
        # A statement's quotes keep search's order one by one: merging pulled a similar
        # article up beside the first (SciFact train nDCG@10 0.7198 merged, 0.7228 not).
        groups = (
            [[q] for q in quotes]
            if statement
            else merge_same_facts(quotes, self.settings.merge_similarity)
        )
        if not statement:
            floor = quotes[0].score - self.settings.max_score_gap
            groups = [g for g in groups if g[0].score >= floor]
            groups = _by_date(groups, self.settings.recency_weight, wants_latest(clean))
        groups = groups[:k]
        answers = tuple(self._answer(group) for group in groups)
        watch.lap("format")
        return Result(question=question, abstained=False, answers=answers,
                      timings_ms=watch.timings, period=label)

    def _headlines(self, snap: Snapshot, question: str, k: int, period: Period) -> Result:
        """ "What happened last week?": the opening sentence of each article of that time,
        newest first (a wire story's lead says what happened)."""
        exact = dataclasses.replace(period, lag_days=0)  # the news of that time itself first
        rows = snap.store.leads(exact.published(), k)
        if rows:
            period = exact
        else:
            rows = snap.store.leads(period.published(), k)
        answers = []
        for row in rows:
            spans = [(a, b) for a, b in sentence_spans(row.text)
                     if not is_dateline(row.text[a:b])]
            if not spans:
                continue
            a, b = spans[0]
            if b - a < 80 and len(spans) > 1:  # a short first sentence says too little
                b = spans[1][1]
            source = SourceRef(row.article_id, row.title, row.path, row.url, row.published,
                               row.start + a, row.start + b, row.kind)
            answers.append(Answer(row.text[a:b], None, 1.0, (source,), (row.id,)))
        if not answers:
            return Result(question=question, abstained=True, message=NONE_THEN,
                          period=period.label())
        return Result(question=question, abstained=False, answers=tuple(answers),
                      period=period.label())

    def _period(
        self, snap: Snapshot, question: str, since: dt.date | None, until: dt.date | None
    ) -> Period | None:
        """The publication dates to answer from: ``since``/``until``, else the question's."""
        if since is not None or until is not None:
            return Period(since, until)
        today = dt.date.today()
        newest: list[dt.date | None] = []

        def newest_day() -> dt.date | None:
            if not newest:
                last = snap.store.newest_published()
                newest.append(parse_day(last) if last else None)
            return newest[0]

        def rebase(period: Period) -> dt.date | None:
            # a collection older than the phrase: resolve it against its newest article
            if snap.store.dated_articles(period.published()):
                return None
            day = newest_day()
            return day if day is not None and day < today else None

        period = find_period(question, today, self.settings.report_lag_days, rebase)
        if period is not None and newest_day() is None:
            return None  # no article has a date: a time can only be what they tell of
        if period is not None and period.lag_days and period.end is not None:
            # no article is newer than the newest: the lag stops there, and so does the label
            day = newest_day()
            if day is not None:
                period = dataclasses.replace(
                    period, lag_days=max(0, min(period.lag_days, (day - period.end).days))
                )
        return period

    def _read(
        self,
        snap: Snapshot,
        asked: Question,
        qvec: Any,
        quotes: list[Quote],
        ranked: list[tuple[PassageRow, float]],
        sentences: dict[int, SentenceVectors],
    ) -> tuple[list[Quote], Quote | None]:
        """Find the answer spans in the best quotes' passages; quote around them, ranked by them.

        A question that asks for a type (a person, a number, a date...) is answered only by
        quotes holding a span of that type that stands in the right relation to its words:
        with none, the reply is "I don't know" even when the topic is in the articles. So it is
        when the best answer says it was not disclosed: no quotes, and that quote to say why.
        An open "what" question only gets its best phrase bolded.
        """
        reader = self.reader
        assert reader is not None  # ``asked`` came from it
        if not quotes:
            return quotes, None
        # The best passages of the articles quoted, not only the quotes' own: a passage whose
        # best sentence an overlapping passage quoted may hold the answer in another sentence.
        quoted = {q.row.article_id for q in quotes}
        rows = [row for row, _ in ranked[: self.settings.read_quotes] if row.article_id in quoted]
        found = reader.read(asked, read_passages(snap, rows))
        spans = {
            row.id: [
                (row.start + s.start, row.start + s.end, s.score)
                for s in row_spans
                if s.score >= self.settings.min_span_score
            ]
            for row, row_spans in zip(rows, found, strict=True)
        }
        quiet: set[tuple[int, int]] = set()  # spans shown but not bolded ...
        withheld: set[tuple[int, int]] = set()  # ... and those saying it was not disclosed
        for row, row_spans in zip(rows, found, strict=True):
            for s in row_spans:
                where = (row.start + s.start, row.start + s.end)
                if not s.bold:
                    quiet.add(where)
                if s.withheld:
                    withheld.add(where)
        if not asked.typed:
            # "What ...?" of no known type: the quotes stay as retrieval chose them, and the
            # best phrase inside one is bolded when it stands out.
            return [_unbold(_bold(q, spans.get(q.row.id, ())), quiet) for q in quotes], None
        answered = select_quotes(
            asked.text,
            qvec,
            [(r, f) for r, f in ranked if spans.get(r.id)],
            sentences,
            self.settings.max_quote_sentences,
            answers=spans,
            answer_weight=self.settings.span_weight,
        )
        if not answered:
            return [], None  # a typed question with no span of its type: "I don't know"
        # A quote the reader found no span in may still answer (the span was missed, or is not
        # a name): it keeps its place less a penalty, so that reading does not undo retrieval.
        penalty = self.settings.spanless_penalty
        spanless = [
            dataclasses.replace(q, score=q.score - penalty)
            for q in quotes
            if not spans.get(q.row.id)
        ]
        best = max(answered + spanless, key=lambda q: q.score)
        if best.answer is not None and (best.start + best.answer[0],
                                        best.start + best.answer[1]) in withheld:
            return [], best
        quiet |= withheld  # a later answer's "undisclosed terms" is not what was asked
        return sorted([_unbold(q, quiet) for q in answered] + spanless, key=lambda q: -q.score), None

    def _yes_no(
        self,
        question: str,
        qvec: Any,
        asks: set[str],
        topic: frozenset[str],
        quotes: list[Quote],
        ranked: list[tuple[PassageRow, float]],
        sentences: dict[int, SentenceVectors],
    ) -> list[Quote]:
        """A yes-no question is answered by the sentences of the quoted articles that say what
        it asks ("but have no plans to seek control"), bolded; with none, "I don't know" ("was
        anyone hurt?" where no quote speaks of hurt)."""
        quoted = {q.row.article_id for q in quotes}
        spans: dict[int, list[tuple[int, int, float]]] = {}
        whole: set[tuple[int, int]] = set()  # a sentence that is all clause: nothing to bold
        for row, _ in ranked:
            if row.article_id not in quoted or row.id not in sentences:
                continue
            for a, b in sentences[row.id].spans:
                text = row.text[a - row.start : b - row.start]
                found = content_terms(text) & asks
                if not found:
                    continue
                clause = predicate_clause(text, asks)
                start, end = (a + clause[0], a + clause[1]) if clause else (a, b)
                if clause is None:
                    whole.add((start, end))
                spans.setdefault(row.id, []).append((start, end, len(found) / len(asks)))
        answered = select_quotes(
            question,
            qvec,
            [(r, f) for r, f in ranked if r.id in spans],
            sentences,
            self.settings.max_quote_sentences,
            answers=spans,
            answer_weight=self.settings.span_weight,
            topic=topic,
        )
        return [_unbold(q, whole) for q in answered if self._answers(q)]

    def _answers(self, quote: Quote) -> bool:
        """Calibrated on news-dev: close in meaning, or sharing most of the question's words."""
        return (
            quote.similarity >= self.settings.min_quote_similarity
            or quote.coverage >= self.settings.min_quote_coverage
        )

    def _answer(self, group: list[Quote]) -> Answer:
        lead = group[0]
        sources = tuple(
            SourceRef(
                id=q.row.article_id,
                title=q.row.title,
                path=q.row.path,
                url=q.row.url,
                published=q.row.published,
                start=q.start,
                end=q.end,
                kind=q.row.kind,
            )
            for q in group
        )
        return Answer(
            quote=lead.text,
            highlight=lead.answer,
            score=lead.score,
            sources=sources,
            passage_ids=tuple(q.row.id for q in group),
        )

    def _related(self, snap: Snapshot, candidates: list[Candidate]) -> tuple[str, ...]:
        """Titles of the articles nearest the question: topics the user could ask about."""
        rows = snap.store.passages(c.passage_id for c in candidates[:10])
        titles = dict.fromkeys(
            rows[c.passage_id].title for c in candidates[:10] if c.passage_id in rows
        )
        return tuple(titles)[:3]

    def search_articles(self, question: str, limit: int = 100) -> list[tuple[str, float]]:
        """Articles in the order ``ask`` quotes them: document ranking for BEIR and SQuAD
        figures that are what users get, not a path of their own."""
        result = self.ask(question, k=limit)
        ranked = list(dict.fromkeys(s.id for a in result.answers for s in a.sources))[:limit]
        return [(art, 1.0 / (i + 1)) for i, art in enumerate(ranked)]

    def _candidates(
        self,
        snap: Snapshot,
        question: str,
        watch: Stopwatch | None = None,
        period: Period | None = None,
        within: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, list[Candidate]]:
        """The question's vector and its fused candidates; full text is searched meanwhile.

        "embed" and "fts" are timed each on its own (they overlap), the later stages from
        when both are done.
        """

        def timed(work: Callable[[], T]) -> tuple[T, float]:
            start = time.perf_counter()
            return work(), time.perf_counter() - start

        dated = period.published() if period is not None else None
        pending = self._fts_pool.submit(
            timed, lambda: full_text(snap, question, self.settings, dated)
        )
        qvec, embed_s = timed(lambda: self.embedder.encode_queries([question])[0])
        fts, fts_s = pending.result()
        if watch is not None:
            watch.record("embed", embed_s)
            watch.record("fts", fts_s)
            watch.restart()
        lap = watch.lap if watch is not None else None
        return qvec, hybrid_search(snap, fts, qvec, self.settings, lap=lap, within=within)

    def _passages(
        self, snap: Snapshot, candidates: list[Candidate], limit: int | None = None
    ) -> tuple[list[tuple[PassageRow, float]], dict[int, SentenceVectors]]:
        """The best passages with their fused scores, and their sentences."""
        top = candidates[: limit or self.settings.quote_passages]
        rows = snap.store.passages(c.passage_id for c in top)
        ranked = [(rows[c.passage_id], c.fused) for c in top if c.passage_id in rows]
        return ranked, snap.store.sentences(rows, snap.dim)


def _withheld_message(quote: Quote) -> str:
    """ "I don't know", and the sentence of the articles that says it was not disclosed."""
    a, b = quote.answer or (0, len(quote.text))
    sentence = next(
        (quote.text[s:e] for s, e in sentence_spans(quote.text) if s <= a and b <= e),
        quote.text,
    )
    return f"{WITHHELD} “{' '.join(sentence.split())}” ({quote.row.title or quote.row.article_id})"


def _bold(quote: Quote, spans: Sequence[tuple[int, int, float]]) -> Quote:
    """The quote with its best span inside it marked as the answer."""
    inside = [c for c in spans if quote.start <= c[0] and c[1] <= quote.end]
    if not inside:
        return quote
    a, b, _ = max(inside, key=lambda c: c[2])
    return dataclasses.replace(quote, answer=(a - quote.start, b - quote.start))


def _unbold(quote: Quote, quiet: set[tuple[int, int]]) -> Quote:
    """The quote without its bold span when that span only shows what the quote is about."""
    if quote.answer is None:
        return quote
    a, b = quote.answer
    if (quote.start + a, quote.start + b) in quiet:
        return dataclasses.replace(quote, answer=None)
    return quote


# "What did the lack of ammunition force Ukrainian forces to do?": the act the verb led to.
_DOING = re.compile(r"^what\b.*\bto\s+do\W*$", re.I)


def _acting_words(question: str, verb: str | None) -> list[str]:
    """The verb that leads to the act ("force"); when the parse has none (it may read "force"
    as a noun), the question's words, nearest "to do" first."""
    if verb is not None:
        return [verb] if verb != "do" else []
    return [w for w in reversed(fts_words(question)) if w not in STOPWORDS and w != "do"]


def _bold_action(quote: Quote, verbs: Sequence[str]) -> Quote:
    """A "what did X force Y to do" answer bolds what was done, when the quote says it."""
    for verb in verbs:
        clause = action_clause(quote.text, verb)
        if clause is not None:
            return dataclasses.replace(quote, answer=clause)
    return quote


_SUBORDINATE = re.compile(r"\s(?:when|after|before|while|since|because|if|once|as)\s", re.I)


def _yes_no_terms(question: str, asked: Question) -> tuple[set[str], frozenset[str]]:
    """What a yes-no question asks ("was there an [oil spill]"), and what only sets its scene:
    its names and a clause of time or cause ("when the tanker hit the tower")."""
    cut = _SUBORDINATE.search(question)
    main = question[: cut.start()] if cut else question
    asks = content_terms(main) - asked.names - {asked.verb or ""}
    scene = content_terms(question[cut.start() :]) - asks if cut else set()
    return asks, frozenset(asked.names | scene)


def _bold_reason(quote: Quote) -> Quote:
    """A "why" answer bolds the clause that gives the reason, when the quote has one."""
    clause = reason_clause(quote.text)
    return quote if clause is None else dataclasses.replace(quote, answer=clause)


def _by_date(groups: list[list[Quote]], weight: float, latest: bool) -> list[list[Quote]]:
    """Newest first for "the latest ..."; otherwise the newer of two answers of about the same
    score first: up to ``weight`` is added for being the newest of the answers."""
    days = [parse_day(g[0].row.published) if g[0].row.published else None for g in groups]
    known = [d for d in days if d is not None]
    if not known:
        return groups
    if latest:  # by the whole timestamp: the stories of one day have their hours
        return sorted(groups, key=lambda g: g[0].row.published or "", reverse=True)
    first, span = min(known), (max(known) - min(known)).days
    if not span or not weight:
        return groups

    def score(i: int) -> float:
        day = days[i]
        fresh = (day - first).days / span if day is not None else 0.0
        return groups[i][0].score + weight * fresh

    return [groups[i] for i in sorted(range(len(groups)), key=lambda i: -score(i))]


# Words that ask for news in general: with only these and a time ("what happened last week?",
# "any news since Monday?") the answer is the headlines of that time.
_GENERAL = frozenset(
    ["happen", "happened", "happening", "happens", "news", "new", "latest", "newest", "recent", "anything", "everything", "going", "go", "went", "on", "say", "said", "tell", "me", "us", "headlines", "stories", "story", "there", "any", "were", "was", "is", "are"]
)


def _only_time(question: str, period: Period) -> bool:
    """True when the question asks for nothing but the news of a time."""
    if not period.phrase:
        return False
    rest = question.replace(period.phrase, " ")
    return not [w for w in fts_words(rest) if w not in STOPWORDS and w not in _GENERAL]
