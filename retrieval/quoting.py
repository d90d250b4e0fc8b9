"""Choose the sentences to quote from the best passages, and merge quotes that say the same thing.

Each candidate passage is split into sentences; every sentence is scored by its cosine to the
question plus how many of the question's content words it contains. The quote is the best
sentence, widened to one or two neighbours when the best one leans on them ("The statement was
disavowed...") or when they score nearly as well. Everything quoted is a slice of the article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.chunking import is_dateline
from index.store import PassageRow, SentenceVectors
from index.text import content_terms, idf

# Openers that refer back to the sentence before: quote that one too.
_LEANS_BACK = re.compile(
    r"^(?:He|She|It|They|This|That|These|Those|His|Her|Its|Their|But|However|Still|Yet|Such|"
    r"Both|Meanwhile|Instead|The (?:statement|idea|plan|move|decision|remarks?|comments?|"
    r"proposal|report|talks|discussions|latter|former))\b"
)
# What introduces a reason or a purpose, for "why" questions. "After" and "since" are left out:
# they tell a time more often than a cause; "reflects" a description ("this reflects a broad
# awareness") more often than a cause.
_REASON = re.compile(
    r"\b(?:because|due to|owing to|thanks to|as a (?:result|consequence) of|in (?:the )?light of|"
    r"in response to|in order to|so as to|so that|as part of|aimed at|with the aim of|citing|"
    r"blam(?:ed|ing)|attribut(?:ed|ing)|amid|the reasons? (?:for|was|is)|in an? (?:effort|bid|attempt) "
    r"to|(?:designed|intended|meant) to)\b",
    re.I,
)
# A use and what it is for: "use satellite analysis to determine", "used the funds to repay".
_PURPOSE = re.compile(r"\bus(?:e|es|ed|ing)\s+(?:[\w'-]+\s+){1,5}?(to\s+(?:better\s+)?[a-z]+)")
# Where such a clause ends: the sentence's end, or the attribution after it (", the company said").
_CLAUSE_END = re.compile(r"[;:\"\u201d]|\.(?:\s|$)|,\s+(?:\w+\s+){0,3}(?:said|says|told|added)\b")

LEXICAL_WEIGHT = 0.4  # a quote with every question word gains this much over its cosine
PRIOR_WEIGHT = 0.1  # the passage's fused retrieval score, scaled to [0, 1], adds up to this
LENGTH_PENALTY = 0.04  # each extra sentence must earn its place
CONTINUATION_BONUS = 0.01  # ... except one that continues the sentence before it
# A yes-no question is answered by what it asks about ("take control"), not by who it is about
# (the article's names): those words count this much of their weight.
TOPIC_WEIGHT = 0.25  # set by hand: 0.25 and 0.5 both fix reuters-acq-dev's two, 0.25 better
REASON_BONUS = 0.1  # for a "why" question, a window that gives a reason ("because ...")


@dataclass(frozen=True)
class Quote:
    """A candidate answer: ``text == article_text[start:end]`` of the passage's article."""

    row: PassageRow
    start: int
    end: int
    text: str
    score: float
    similarity: float  # best sentence cosine to the question
    coverage: float  # share of the question's (idf-weighted) words that the quote contains
    vector: np.ndarray  # mean of its sentence vectors, normalised; used to merge same facts
    answer: tuple[int, int] | None = None  # the answer span inside ``text``, once read


def select_quotes(
    question: str,
    qvec: np.ndarray,
    rows: Sequence[tuple[PassageRow, float]],
    sentences: dict[int, SentenceVectors],
    max_sentences: int = 3,
    answers: dict[int, list[tuple[int, int, float]]] | None = None,
    answer_weight: float = 0.0,
    reasons: bool = False,
    topic: frozenset[str] = frozenset(),
) -> list[Quote]:
    """The best window of 1..``max_sentences`` sentences of each passage, best first.

    A window scores its best sentence's cosine plus how much of the question it covers, with
    words weighted by how rare they are among the candidate sentences: "disavowed" tells more
    than "troops" in an article about troops. With ``answers`` (answer spans per passage id,
    as article offsets with their scores) a window must hold one, and its best span adds
    ``answer_weight`` times its score: the quote is then the sentences around the answer.
    With ``reasons`` (a "why" question) a sentence that gives a reason is worth quoting, and
    the ``topic`` words (a yes-no question's names) count less than the rest.
    """
    rows = [(r, f) for r, f in rows if r.id in sentences and sentences[r.id].spans]
    if not rows:
        return []
    qterms = content_terms(question)
    texts = {
        r.id: [r.text[a - r.start : b - r.start] for a, b in sentences[r.id].spans] for r, _ in rows
    }
    terms = {pid: [content_terms(t) & qterms for t in ts] for pid, ts in texts.items()}
    # Leaning back only counts inside a paragraph: a new paragraph starts a new thought.
    leans = {
        r.id: [
            i > 0
            and bool(_LEANS_BACK.match(t))
            and "\n"
            not in r.text[
                sentences[r.id].spans[i - 1][1] - r.start : sentences[r.id].spans[i][0] - r.start
            ]
            for i, t in enumerate(texts[r.id])
        ]
        for r, _ in rows
    }
    datelines = {pid: [is_dateline(t) for t in ts] for pid, ts in texts.items()}
    causes = {
        pid: [reasons and reason_clause(t) is not None for t in ts] for pid, ts in texts.items()
    }
    weights = idf(qterms, [t for ts in terms.values() for t in ts])
    for t in topic & weights.keys():
        weights[t] *= TOPIC_WEIGHT
    total = sum(weights.values()) or 1.0
    top_fused = max(f for _, f in rows) or 1.0

    quotes: list[Quote] = []
    for row, fused in rows:
        sv = sentences[row.id]
        cos = sv.vectors @ qvec.reshape(-1)
        best: tuple[float, int, int, float, float, tuple[int, int, float] | None] | None = None
        n = len(sv.spans)
        single = [
            float(cos[i]) + LEXICAL_WEIGHT * _coverage(terms[row.id][i], weights, total)
            for i in range(n)
        ]
        for lo in range(n):
            for hi in range(lo, min(n, lo + max_sentences)):
                if datelines[row.id][hi]:
                    break  # "NEW YORK, Feb 26 -" is where the story is from, not what it says
                # The window is as good as its best sentence, plus the question words only its
                # other sentences cover ("The statement was disavowed by ..." after "Macron
                # declared ..."): bundling unrelated sentences earns nothing.
                top = max(range(lo, hi + 1), key=single.__getitem__)
                coverage = _coverage(set().union(*terms[row.id][lo : hi + 1]), weights, total)
                gained = coverage - _coverage(terms[row.id][top], weights, total)
                # A sentence that leans back on the one before continues it ("They'll use
                # satellite analysis..."): it costs nothing and often holds the answer.
                follow = sum(leans[row.id][i] for i in range(lo + 1, hi + 1))
                because = causes[row.id][lo : hi + 1]
                extra = hi - lo - follow - (any(because) and not because[top - lo])
                score = (
                    single[top]
                    + LEXICAL_WEIGHT * gained
                    - LENGTH_PENALTY * extra
                    + CONTINUATION_BONUS * follow
                    + REASON_BONUS * any(because)
                )
                if lo > 0 and leans[row.id][lo]:
                    score -= LENGTH_PENALTY  # it starts mid-thought: what it refers to is missing
                answer = None
                if answers is not None:
                    a, b = sv.spans[lo][0], sv.spans[hi][1]
                    inside = [c for c in answers.get(row.id, ()) if a <= c[0] and c[1] <= b]
                    if not inside:
                        continue
                    answer = max(inside, key=lambda c: c[2])
                    score += answer_weight * answer[2]
                if best is None or score > best[0]:
                    best = (score, lo, hi, float(cos[lo : hi + 1].max()), coverage, answer)
        if best is None:
            continue
        score, lo, hi, sim, coverage, answer = best
        start, end = sv.spans[lo][0], sv.spans[hi][1]
        vec = sv.vectors[lo : hi + 1].mean(axis=0)
        vec /= np.linalg.norm(vec) or 1.0
        quotes.append(
            Quote(
                row=row,
                start=start,
                end=end,
                text=row.text[start - row.start : end - row.start],
                score=score + PRIOR_WEIGHT * fused / top_fused,
                similarity=sim,
                coverage=coverage,
                vector=vec,
                answer=None if answer is None else (answer[0] - start, answer[1] - start),
            )
        )
    quotes.sort(key=lambda q: -q.score)
    return _drop_overlaps(quotes)


def reason_clause(text: str) -> tuple[int, int] | None:
    """Where ``text`` gives a reason: from "because", "in the light of"... to the clause's end,
    or the purpose of a use ("they'll use satellite analysis [to better determine how ...]")."""
    m = _REASON.search(text)
    if m is not None:
        start = m.start()
    elif (m := _PURPOSE.search(text)) is not None:
        start = m.start(1)  # the purpose, not the use
    else:
        return None
    end = _CLAUSE_END.search(text, m.end())
    stop = start + len(text[start : end.start() if end else None].rstrip(" \n,."))
    return (start, stop) if stop - m.end() > 1 else None


_ACT_END = re.compile(r"[,;:()\"\u201c\u201d]|\.(?:\s|$)|\s(?:and|but|while|after|before)\s")


def action_clause(text: str, verb: str, max_words: int = 12) -> tuple[int, int] | None:
    """What ``text`` says was done, for "what did X force / agree / plan ... to do?": the
    infinitive after a form of ``verb`` ("forced Ukrainian forces to [retreat from the city]"),
    to the clause's end."""
    stem = verb[:-1] if verb.endswith("e") else verb
    m = re.search(rf"\b{re.escape(stem)}\w*(?:\s+[^\s,.;:]+){{0,5}}?\s+to\s+(?=\w)", text, re.I)
    if m is None:
        return None
    end = _ACT_END.search(text, m.end())
    stop = end.start() if end else len(text)
    words = list(re.finditer(r"\S+", text[m.end() : stop]))[:max_words]
    return (m.end(), m.end() + words[-1].end()) if words else None


# Where a clause of a sentence ends: a comma or a conjunction that starts another one.
_CLAUSE = re.compile(
    r"[,;:()]|\.(?:\s|$)|\s(?:but|while|although|though|whereas)\s"
    # "and" starts a clause before a new subject ("and these stakes will be bought"), not
    # inside a noun phrase ("the UK and France")
    r"|\sand\s(?=(?:the|these|this|those|it|its|they|their|he|she|we|there)\b)"
)
_OPENERS = re.compile(
    r"(?:(?:he|she|it|they)\s+)?(?:said|says|added)\s+(?:that\s+)?|(?:that|which|who)\s+", re.I
)


def predicate_clause(text: str, terms: set[str]) -> tuple[int, int] | None:
    """The clause of ``text`` that holds most of a yes-no question's ``terms`` (what it asks,
    less its names): "..., but [have no plans to seek control of the company]"."""
    cuts = [0, *(x for m in _CLAUSE.finditer(text) for x in (m.start(), m.end())), len(text)]
    best, where = 0, None
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        while a < b and text[a].isspace():
            a += 1
        if (m := _OPENERS.match(text, a)) is not None and m.end() < b:
            a = m.end()
        b = a + len(text[a:b].rstrip())
        found = len(content_terms(text[a:b]) & terms)
        if found > best and b - a < 0.8 * len(text.strip()):
            best, where = found, (a, b)
    return where


def _coverage(covered: set[str], weights: dict[str, float], total: float) -> float:
    return sum(weights[t] for t in covered) / total


def _drop_overlaps(quotes: list[Quote]) -> list[Quote]:
    """Overlapping passages of one article often pick the same sentences: keep the best copy."""
    kept: list[Quote] = []
    for q in quotes:
        if any(
            k.row.article_id == q.row.article_id and q.start < k.end and k.start < q.end
            for k in kept
        ):
            continue
        kept.append(q)
    return kept


def merge_same_facts(quotes: list[Quote], threshold: float) -> list[list[Quote]]:
    """Group quotes whose meaning is this close (cosine): one answer, several sources."""
    groups: list[list[Quote]] = []
    for q in quotes:
        for group in groups:
            if float(group[0].vector @ q.vector) >= threshold and all(
                g.row.article_id != q.row.article_id for g in group
            ):
                group.append(q)
                break
        else:
            groups.append([q])
    return groups
