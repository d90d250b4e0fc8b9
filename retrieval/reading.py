"""Find the answer inside a quote: spans of the type the question asks for, scored.

A candidate is a named entity of an answering type, or for numbers a run of figures with its
unit ("1.50 dlrs", "34.4 pct", ".3322 shares"), that does not merely repeat the question; for a
"what" or "which" of no known type, any name, figure or noun phrase. It is
scored by a weighted sum of what tells an answer from a bystander in news text: its type, how
close it stands to the question's words, whether it is the subject of the question's verb, whether
its verb contradicts the question's ("the Kremlin dismissed the proposal" does not answer "who
proposed"), and whether it counts the asked noun. The weights live in ``reader_weights.json``,
one set for typed questions and one for open ones, each with what it was tuned on. A reader is anything with ``analyze`` and ``read``, so a trained
reading model can take this one's place.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from index.chunking import DATELINE
from index.parsing import Parsed, Parser
from index.text import content_terms, stem

from .questions import MONTHS, NAMING, Question, analyze

WEIGHTS = Path(__file__).with_name("reader_weights.json")

# Verbs that take a stand against something: their subject does not answer a question whose
# verb is not one of them ("who proposed X" is not "who rejected X").
OPPOSING = frozenset(
    [
        "dismiss",
        "reject",
        "deny",
        "oppose",
        "disavow",
        "criticize",
        "criticise",
        "refuse",
        "condemn",
        "doubt",
        "dispute",
        "question",
        "warn",
        "rule",
        "block",
        "veto",
        "deride",
        "mock",
        "scorn",
        "downplay",
        "counter",
        "resist",
        "decline",
    ]
)
# Who does the verb: "Y bought X", "X was bought by Y" (and "Y's offer for X", below); who it
# is done to, for a passive question ("who was elected"): "X was elected", "they elected X".
_DOER = ("nsubj", "agent")
_DONE_TO = ("nsubjpass", "nsubj", "dobj")
_PLACE_PREPOSITIONS = frozenset(["in", "at", "on", "near", "inside", "within", "into", "from"])
# A sentence that names the event of the one before by a demonstrative: "However, these
# decisions ...", "The deal is subject to ...".
_EVENT_BACK = re.compile(
    r"(?:(?:However|But|Yet|Still|And),?\s+)?(?:(?:These|This|That|Those|Such)\s+\w+|The\s+"
    r"(?:decisions?|moves?|plans?|deals?|offers?|proposals?|statements?|agreements?|"
    r"transactions?|sales?|acquisitions?|purchases?|mergers?|talks)\b)",
    re.I,
)
_PRONOUN_BACK = re.compile(r"(?:He|She|It|They)\b")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n[ \t]")
# Words of company names that do not make two names the same one.
_GENERIC = frozenset(
    [
        "inc",
        "corp",
        "co",
        "ltd",
        "plc",
        "company",
        "companies",
        "group",
        "holding",
        "llc",
        "lp",
        "sa",
        "ag",
        "nv",
    ]
)
_GROUPS = frozenset(
    [
        "officials",
        "leaders",
        "forces",
        "troops",
        "ministers",
        "allies",
        "members",
        "officers",
        "soldiers",
        "diplomats",
        "lawmakers",
        "capitals",
        "executives",
        "spokesmen",
        "analysts",
    ]
)
_REPORTING = frozenset(["say", "tell", "announce", "report", "add", "state", "confirm", "disclose"])
_FIGURES = ("CARDINAL", "QUANTITY", "MONEY", "PERCENT")
_FIGURE_LABELS = (*_FIGURES, "DATE", "TIME", "ORDINAL")
# What money is counted in, on the wire and elsewhere.
_CURRENCY = frozenset(
    [
        "dlrs",
        "dlr",
        "dollars",
        "dollar",
        "cts",
        "cents",
        "yen",
        "lire",
        "lira",
        "stg",
        "pounds",
        "pound",
        "sterling",
        "marks",
        "mark",
        "francs",
        "franc",
        "guilders",
        "guilder",
        "euros",
        "euro",
        "yuan",
        "rupees",
        "pesos",
        "riyals",
        "dinars",
        "dirhams",
        "rand",
        "kroner",
        "kronor",
        "crowns",
        "schillings",
        "pesetas",
        "escudos",
        "drachmas",
        "won",
        "rupiah",
        "ringgit",
        "baht",
        "shekels",
        "zlotys",
        "roubles",
        "rubles",
        "$",
        "£",
        "€",
        "¥",
    ]
)
_PERCENT = frozenset(["pct", "percent", "%"])
_TIME_UNITS = frozenset(
    ["second", "minute", "hour", "day", "week", "month", "year", "decade", "century"]
)
# What may stand between a time and a date that are one answer: "1630 EST/2130 gmt, March 30"
_TIME_GLUE = re.compile(r",|on|at|[A-Z]{2,4}|\S*/\S*|gmt|local|time")
_TICKER = re.compile(r"(?=\S*[A-Z])[A-Z0-9]{1,6}(?:\.[A-Z]{1,2})?")  # wire copy: "<NKKT.T>"
_PENCE = re.compile(r"\d[\d.,]*p")  # "700p a share": the tagger takes it for a name
# What the articles say they do not know: "for an undisclosed amount", "terms were not
# disclosed", "no figure was revealed", "declined to name the buyer". Such a phrase stands where
# the answer would: when it answers best, the reply is "I don't know" and says why.
_WITHHELD = re.compile(
    r"\b(?:undisclosed|unnamed|unidentified|unspecified|confidential)(?:\s+\w+){0,2}?"
    r"\s+(?:amount|sum|price|terms|fee|figure|buyer|buyers|investor|investors|company|group|"
    r"bidder|party|parties|location|date|time|number|value|stake|premium|cash|consideration)\b"
    r"|\b(?:terms|price|value|amount|details|figures?)\b[^.;]{0,40}?\b(?:was|were|is|are|has|have|"
    r"had|been)\s+not\s+(?:been\s+)?(?:disclosed|revealed|announced|released|given|specified|"
    r"made\s+public|set)\b"
    r"|\bno\s+(?:figures?|price|amount|terms|details|financial\s+details|date|timetable|value|"
    r"breakdown)\s+(?:was|were|has\s+been|have\s+been|had\s+been|is|are)\s+(?:given|disclosed|"
    r"revealed|announced|released|set|specified|available|made\s+public)\b"
    r"|\b(?:declined|refused)\s+to\s+(?:disclose|reveal|give|specify|say|name|identify)\b"
    r"|\b(?:did|does|would|will)\s+not\s+(?:disclose|reveal|specify|identify)\b",
    re.I,
)
# What a withheld phrase leaves unsaid, by the question kinds it would answer: "undisclosed
# terms" are a price, not an acreage; "declined to say" may be anything.
_WITHHELD_KINDS = [
    (re.compile(r"amount|sum|price|terms|fee|value|premium|cash|consideration|financial", re.I),
     {"money"}),
    (re.compile(r"figure|number|stake", re.I), {"money", "number", "percent"}),
    (re.compile(r"buyer|investor|company|group|bidder|part(?:y|ies)|name|identify", re.I),
     {"person", "organisation"}),
    (re.compile(r"location", re.I), {"place"}),
    (re.compile(r"date|time", re.I), {"date"}),
]
_SCALE = frozenset(
    [
        "mln",
        "million",
        "bln",
        "billion",
        "trillion",
        "thousand",
        "hundred",
        "pct",
        "percent",
        "%",
        "dlrs",
        "dollars",
    ]
)


@dataclass(frozen=True)
class Span:
    """A candidate answer inside a text: ``text[start:end]``, with its score."""

    start: int
    end: int
    score: float
    # False for a span that shows the quote is about the question but is not its answer:
    # "some, according to [Peskov], are hotheaded" names who says so, not who is
    bold: bool = True
    withheld: bool = False  # "for [an undisclosed amount]": the articles say they do not know


class Reader(Protocol):
    def analyze(self, question: str) -> Question: ...

    def read(self, question: Question, passages: Sequence[ReadPassage]) -> list[list[Span]]:
        """The candidate answer spans of each passage, best first."""
        ...


@dataclass(frozen=True)
class ReadPassage:
    """A passage to read: its text and title, and its parse when the index keeps one."""

    text: str
    title: str = ""
    parsed: Parsed | None = None
    # The rest of its story: a name the question mentions may be there ("EFP" spelt out in
    # the passage before), so the passage is not about something else.
    context: str = ""


class SpacyReader:
    """Spans from the packaged spaCy model's parse, scored by feature weights."""

    def __init__(
        self,
        parser: Parser,
        weights: dict[str, dict[str, float]] | None = None,
        embed: Callable[[list[str]], Any] | None = None,
    ) -> None:
        self.parser = parser
        # "typed" weights score spans of an asked type, "open" ones phrases for a bare "what"
        self.weights = weights if weights is not None else load_weights()
        self._embed = embed  # static word vectors, so that "acquired" answers "who bought"
        self._words: dict[str, Any] = {}
        self._cache: OrderedDict[str, Parsed] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, embed: Callable[[list[str]], Any] | None = None) -> SpacyReader:
        return cls(Parser.load(), embed=embed)

    def analyze(self, question: str) -> Question:
        return analyze(question, self.parser.nlp(question))

    def read(self, question: Question, passages: Sequence[ReadPassage]) -> list[list[Span]]:
        weights = self.weights["typed" if question.typed else "open"]
        found = self.featurize(question, passages)
        # A story that names none of what the question names answers something else ("Sale
        # is paying 3.6 mln dlrs" for "how much is the buyer paying for RMJ") once another
        # story names it all.
        named = any(c[2]["missing_names"] == 0 for cands in found for c in cands)
        return [
            sorted(
                (
                    Span(a, b, self._score(f, weights), not f["source"], bool(f["withheld"]))
                    for a, b, f in cands
                    if not (named and question.names and f["missing_names"] == 1)
                ),
                key=lambda s: -s.score,
            )
            for cands in found
        ]

    def featurize(
        self, question: Question, passages: Sequence[ReadPassage]
    ) -> list[list[tuple[int, int, dict[str, float]]]]:
        """Each passage's candidate spans with their features: what ``read`` scores, and what
        ``benchmarks/train_reader.py`` learns the weights from."""
        if not question.readable:
            return [[] for _ in passages]
        qterms = content_terms(question.text)
        parsed = self._parse([p.text for p in passages if p.parsed is None])
        in_story: dict[str, float] = {}
        out = []
        for passage in passages:
            doc = passage.parsed or parsed[passage.text]
            missing = _missing_names(question, passage.text + " " + passage.title)
            if missing and passage.context:  # the story holds the passage: read it once
                if passage.context not in in_story:
                    in_story[passage.context] = _missing_names(
                        question, passage.context + " " + passage.title
                    )
                missing = in_story[passage.context]
            cands = _candidates(question, qterms, doc, passage.context or passage.text)
            terms = [content_terms(w) & qterms for w in doc.words]  # once a passage
            sentences = _sentence_roots(doc)
            headings = _headings(doc, sentences)
            cands = [c for c in cands if sentences[_root(doc, c[2], c[3])] not in headings]
            feats = [features(question, qterms, doc, c, terms, sentences) for c in cands]
            verbs = self._similarity(question.verb, [f.pop("_verb") for f in feats])
            # "who proposed troops": "a proposal by X to send troops" proposes; "who wants to
            # buy": "an offer from X to purchase" buys
            offers = self._similarity(question.verb, [f.pop("_offer") for f in feats])
            verbs = [max(v, o) for v, o in zip(verbs, offers, strict=True)]
            roots = [f.pop("_root") for f in feats]
            units = [f.pop("_unit") for f in feats]
            same_unit = self._similarity(question.head if any(units) else None, units)
            # "what venue": is the phrase a venue? ("stadium" is close to it, "Denver" is not)
            kinds = self._similarity(question.head if question.kind == "thing" else None, roots)
            out.append(
                [
                    (
                        c[0],
                        c[1],
                        f
                        | {
                            "verb": v,
                            "kind": k,
                            "other_unit": float(bool(u)) * (1.0 - same),
                            "missing_names": missing,
                        },
                    )
                    for c, f, v, k, u, same in zip(
                        cands, feats, verbs, kinds, units, same_unit, strict=True
                    )
                ]
            )
        return out

    def _parse(self, texts: Sequence[str]) -> dict[str, Parsed]:
        """Parses of passages the index keeps none for; the last few hundred are kept."""
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        fresh = dict(zip(todo, self.parser.parse(todo), strict=True)) if todo else {}
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > 512:
                self._cache.popitem(last=False)
            return {t: fresh.get(t) or self._cache[t] for t in texts}

    def _similarity(self, word: str | None, words: list[str]) -> list[float]:
        """How close each word is to the question's (its verb, its asked noun): 1 for the same
        lemma."""
        if not word:
            return [0.0] * len(words)
        if self._embed is None:
            return [float(v == word) for v in words]
        with self._lock:
            if len(self._words) > 100_000:
                self._words.clear()  # a bound on memory; the vectors are cheap to recompute
            todo = [w for w in dict.fromkeys([word, *words]) if w and w not in self._words]
        if todo:
            vectors = self._embed(todo)
            with self._lock:
                self._words.update(zip(todo, vectors, strict=True))
        q = self._words[word]
        # MiniLM's word vectors put unrelated verbs below 0.2 ("buy", "say" 0.11) and synonyms
        # from 0.4 ("buy", "acquire" 0.39; "get", "receive" 0.41; "buy", "purchase" 0.75).
        return [
            min(1.0, max(0.0, (float(q @ self._words[w]) - 0.2) / 0.2)) if w else 0.0 for w in words
        ]

    @staticmethod
    def _score(feats: dict[str, float], weights: dict[str, float]) -> float:
        return weights.get("bias", 0.0) + sum(
            weights.get(name, 0.0) * value for name, value in feats.items()
        )


def load_weights(path: Path = WEIGHTS) -> dict[str, dict[str, float]]:
    """The weights of each question kind, ``{"typed": {...}, "open": {...}}``."""
    return {
        kind: {k: float(v) for k, v in entry["weights"].items()}
        for kind, entry in json.loads(path.read_text()).items()
    }


def _missing_names(question: Question, text: str) -> float:
    """The share of names the question mentions that the passage and its title lack: a span
    there answers about something else ("chief executive of U.S. Courier")."""
    if not question.names:
        return 0.0
    present = content_terms(text)
    present |= {t[:-1] for t in present if t[:-1].isdigit()}  # "F-16s" names the "F-16"
    # "United States" is there as "U.S.", "European Union" as "EU"
    shorts = {re.sub(r"\W", "", w).lower() for w in text.split()}
    acronyms = {a.lower() for w in text.split() if (a := re.sub(r"\W", "", w)).isupper()}
    for words in question.name_runs:
        initials = "".join(w[0] for w in words).lower()
        # "NYMEX" for "New York Mercantile Exchange": the acronym may add a letter
        if (
            initials in shorts
            or len(initials) > 2
            and any(len(s) == len(initials) + 1 and s.startswith(initials) for s in acronyms)
        ):
            present |= {t for w in words for t in content_terms(w)}
    # ... and the other way: "US" is there as "U.S." or "United States"
    runs = re.findall(r"\b[A-Z]\w*(?:\s+(?:of\s+)?[A-Z]\w*)+", text)
    present |= shorts & question.names
    present |= {_initials(run) for run in runs} & question.names
    missing = {
        name
        for name in question.names - present
        # "Australian" is there as "Australia", "Canadian" as "Canada"
        if not any(_same_stem(name, term) for term in present)
    }
    return len(missing) / len(question.names)


def _same_stem(a: str, b: str) -> bool:
    n = len(os.path.commonprefix([a, b]))
    return n >= 5 and n >= min(len(a), len(b)) - 2


# A candidate: character start and end, its first and last token + 1, and its entity label.
_Cand = tuple[int, int, int, int, str]
_SENTENCE_END = frozenset([".", "!", "?", '"', "”", "-", ":", ";"])
WITHHELD = "WITHHELD"  # the label of a phrase saying the answer was not disclosed
NAMED = "NAMED"  # ... of the name a naming verb gives


def _candidates(
    question: Question, qterms: set[str], doc: Parsed, story: str = ""
) -> list[_Cand]:
    dateline = DATELINE.match(doc.text)
    skip_before = dateline.end() if dateline else 0
    n = len(doc)
    found: dict[tuple[int, int], _Cand] = {}
    ents = doc.ents
    open_ = question.kind == "thing"  # any name, figure or noun phrase may answer
    durations = question.kind == "date"  # "how long", "how old": "10 years" answers
    lists = _lists(doc)
    listed = {k for a, b in lists for k in range(a, b)}
    for i, (start, stop, label) in enumerate(ents):
        if (
            label == "DATE"
            and question.kind == "number"
            and doc.pos[stop - 1] == "NOUN"
            and any(doc.num[start:stop])
        ):
            label = "QUANTITY"  # a duration counts days or weeks: "at least 4 weeks"
        if durations:
            label = _as_duration(doc, label, stop)  # the small model calls "4.6 billion years" money
        if label not in question.labels and not open_:
            continue
        # "LaPorte, Indiana": a place and the place it is in are one answer (but "the United
        # Kingdom, Spain, and Poland" are three).
        j = i
        while (
            label == "GPE"
            and start not in listed
            and j + 1 < len(ents)
            and ents[j + 1][2] == "GPE"
            and ents[j + 1][0] == ents[j][1] + 1
            and doc.words[ents[j][1]] == ","
        ):
            j += 1
        # "at 1630 EST/2130 gmt, March 30, 1987", "on March 3 at 5 pm": one moment
        while (
            label in ("DATE", "TIME")
            and j + 1 < len(ents)
            and ents[j + 1][2] in ("DATE", "TIME")
            and 0 < ents[j + 1][0] - ents[j][1] <= 4
            and all(_TIME_GLUE.fullmatch(w) for w in doc.words[ents[j][1] : ents[j + 1][0]])
        ):
            j += 1
        stop = ents[j][1]
        if stop < n and doc.words[stop].lower() in _GROUPS:
            stop += 1  # "NATO officials": the people of the organisation, not the organisation
        found[(start, stop)] = (doc.idx[start], doc.end(stop - 1), start, stop, label)
    if question.plural:  # "which countries": all of them
        for a, b in lists:
            label = next(e[2] for e in ents if e[0] == a)
            if label in question.labels or open_:
                found[(a, b)] = (doc.idx[a], doc.end(b - 1), a, b, label)
    covered = {i for a, b, _ in ents for i in range(a, b)}
    if "PERSON" in question.labels or "ORG" in question.labels or open_:
        # The small NER model misses names ("with Trump poised to"): runs of proper nouns that
        # no entity covers stand in for them, as a weaker type match.
        i = 0
        while i < n:
            j = i
            while j < n and doc.pos[j] == "PROPN" and j not in covered:
                j += 1
            # A run right beside an entity is its title ("Ukrainian President" Zelensky).
            if j > i and j not in covered and i - 1 not in covered:
                found[(i, j)] = (doc.idx[i], doc.end(j - 1), i, j, "PROPN")
            i = max(j, i + 1)
    if set(question.labels) & set(_FIGURES) or open_:
        # A figure inside a name or a date ("Mirage 2000", "in 1985") counts nothing.
        named = {
            i
            for a, b, label in ents
            if label not in (*_FIGURES, "NORP")  # "64 Canadian cts" is money, not a name
            for i in range(a, b)
            # "700p", "cts": the tagger takes a unit of money for a name
            if not (_PENCE.fullmatch(doc.words[i]) or doc.words[i].lower() in _CURRENCY)
        }
        for a, b in _figures(doc):
            if named & set(range(a, b)):
                continue
            if a > 0 and doc.pos[a - 1] == "PROPN" and doc.head[a] == a - 1:
                continue  # a model number: "Mirage 2000", "Boeing 747"
            # A figure and an entity it overlaps are one answer: "about 3.5 billion" + "dlrs".
            for key in [k for k in found if k[0] < b and a < k[1]]:
                del found[key]
                a, b = min(a, key[0]), max(b, key[1])
            label = _figure_label(doc, a, b)
            if durations:
                label = _as_duration(doc, label, b)  # "about 515 million years"
            found[(a, b)] = (doc.idx[a], doc.end(b - 1), a, b, label)
    # "Where ...?" is also answered by a common noun after a preposition of place ("in his notes")
    places = question.kind == "place" and question.head is None  # "where", not "which country"
    if open_ or places:
        for a, b in _phrases(doc):
            if places and not (
                doc.dep[b - 1] == "pobj" and doc.lemma[doc.head[b - 1]] in _PLACE_PREPOSITIONS
            ):
                continue
            # "diatomic oxygen gas" answers "which gas" as "diatomic oxygen"
            while b - 1 > a and content_terms(doc.words[b - 1]) & qterms:
                b -= 1
            # "from the city of Avdiivka": the name is the place
            if places and b + 1 < n and doc.words[b] == "of" and doc.pos[b + 1] == "PROPN":
                b += 1
                while b < n and doc.pos[b] == "PROPN":
                    b += 1
            found.setdefault((a, b), (doc.idx[a], doc.end(b - 1), a, b, "NP"))
    if question.typed:
        for match in _WITHHELD.finditer(doc.text, skip_before):
            kinds = next((k for p, k in _WITHHELD_KINDS if p.search(match.group())), None)
            if kinds is not None and question.kind not in kinds:
                continue
            a, b = _tokens(doc, match.start(), match.end())
            found.setdefault((a, b), (doc.idx[a], doc.end(b - 1), a, b, WITHHELD))
    # "What will the hotel be called?": the name a naming verb gives ("rename it [the Four
    # Seasons Biltmore at Santa Barbara]", "known as [Warszawa]"); it may repeat the question.
    if open_ and (question.verb in NAMING or question.verb == "know"):
        for a, b in _given_names(doc, question.verb == "know"):
            for key in [k for k in found if k[0] < b and a < k[1]]:
                del found[key]  # the name given, not an entity inside or around it
            found[(a, b)] = (doc.idx[a], doc.end(b - 1), a, b, NAMED)
    initials = {_letters("".join(w[0] for w in run)) for run in question.name_runs}
    # The asked noun may be part of the answer's name: "which bank" - "First National Bank".
    echoes = qterms - {stem(question.head)} if question.head and question.typed else qterms
    out = []
    for c in found.values():
        if c[3] - c[2] > 1 and doc.tag[c[3] - 1] == "POS":  # "Waste Management's": the company
            c = (c[0], doc.end(c[3] - 2), c[2], c[3] - 1, c[4])
        # Wire copy marks names as <Gulfex Inc>: the marks are not part of the answer.
        a, b = c[0], c[1]
        while a < b and doc.text[a] in "<([\"'“‘":
            a += 1
        mark = doc.text.find(" <", a, b)  # "Toshin Steel Co Ltd <TOSS.T>": the name, not its symbol
        b = mark if mark > a else b
        while b > a and doc.text[b - 1] in ">)]\"'”’,.":
            b -= 1
        text = doc.text[a:b]
        if _TICKER.fullmatch(text) and doc.text[a - 1 : a] == "<" and doc.text[b : b + 1] == ">":
            continue  # "Nippon Kokan KK <NKKT.T>": the stock symbol beside a name
        # A name may wrap onto the next line ("Waste\nManagement Inc"), not into a paragraph.
        if not text or a < skip_before or _PARAGRAPH_BREAK.search(text):
            continue
        terms = content_terms(text) - _GENERIC
        # A figure may count the asked noun (".3322 shares"); a name may not repeat the question.
        repeated = question.names if c[4] in _FIGURE_LABELS else echoes | question.names
        if c[4] not in (WITHHELD, NAMED) and (
            terms
            and terms <= qterms
            or terms & repeated
            or _letters(text) in initials
            or c[4] not in _FIGURE_LABELS
            and _initials(text) in question.names
        ):
            continue  # it repeats the question, or names what it names ("DRS", "United States")
        if (
            c[3] - c[2] == 1
            and c[4] not in _FIGURE_LABELS
            and _opens_sentence(doc, c[2])
            and re.search(rf"\b{re.escape(text.lower())}\b", story or doc.text)
        ):
            # "Arbitrageurs pointed out ...": a capital opening a sentence makes no name of a
            # word its story also writes in lower case ("one of the arbitrageurs said")
            continue
        if all(doc.pos[i] == "PRON" for i in range(c[2], c[3])):
            continue
        out.append((a, b, *c[2:]))
    # Of overlapping candidates keep the longest: "79 mln dlrs" over "79".
    out.sort(key=lambda c: c[0] - c[1])
    kept: list[_Cand] = []
    for c in out:
        if all(c[1] <= k[0] or k[1] <= c[0] for k in kept):
            kept.append(c)
    return kept


def _given_names(doc: Parsed, known: bool) -> list[tuple[int, int]]:
    """Token ranges of the names naming verbs give: the object complement of "called",
    "renamed", "dubbed" (or the second object: "rename it [X]"), or what is "known as"."""
    out = []
    for i in range(len(doc)):
        verb = doc.head[i]
        if doc.dep[i] == "appos" and doc.dep[verb] == "dobj":
            verb = doc.head[verb]  # "rename [the hotel] [the Four Seasons Biltmore]"
        if known:
            to = verb
            if not (doc.dep[i] == "pobj" and doc.lemma[to] == "as"
                    and doc.lemma[doc.head[to]] == "know"):
                continue
        elif doc.lemma[verb] not in NAMING or verb == i or not (
            doc.dep[i] in ("oprd", "appos")
            or doc.dep[i] == "dobj" and any(
                doc.head[j] == verb and doc.dep[j] in ("dative", "dobj") and j < i
                for j in range(len(doc))
            )
        ):
            continue
        a, b = _subtree(doc, i)
        while a < i and doc.pos[a] == "DET":
            a += 1
        if b - a <= 12:
            out.append((a, b))
    return out


def _subtree(doc: Parsed, i: int) -> tuple[int, int]:
    """The contiguous token range of ``i`` and all that hangs on it."""
    inside = {i}
    for j in range(len(doc)):
        k, path = j, []
        for _ in range(32):
            if k in inside or doc.head[k] == k:
                break
            path.append(k)
            k = doc.head[k]
        if k in inside:
            inside.update(path)
    a, b = min(inside), max(inside) + 1
    while b - 1 > a and doc.pos[b - 1] == "PUNCT":
        b -= 1
    return a, b


def _headings(doc: Parsed, sentences: Sequence[int]) -> set[int]:
    """Sentences written in Title Case, a heading or a line of a list of sources ("Leveraging
    Trump's Support for Ukraine Troop Plan: Bloomberg.com"): they name things, they say
    nothing about them, so nothing in them answers."""
    words: dict[int, list[str]] = {}
    for i, w in enumerate(doc.words):
        if len(w) >= 4 and w[0].isalpha():
            words.setdefault(sentences[i], []).append(w)
    return {
        root
        for root, ws in words.items()
        # every longer word capitalised: "The Denver Broncos defeated ..." is no heading
        if len(ws) >= 4 and all(w[0].isupper() and not w.isupper() for w in ws)
    }


def _opens_sentence(doc: Parsed, i: int) -> bool:
    """Token ``i`` is the first word of a sentence (after any line breaks)."""
    j = i - 1
    while j >= 0 and not doc.words[j].strip():
        j -= 1
    return j < 0 or doc.words[j] in _SENTENCE_END


def _tokens(doc: Parsed, start: int, end: int) -> tuple[int, int]:
    """The tokens covering the characters ``start:end``."""
    a = max(0, bisect.bisect_right(doc.idx, start) - 1)
    b = max(a + 1, bisect.bisect_left(doc.idx, end))
    return a, b


def _lists(doc: Parsed) -> list[tuple[int, int]]:
    """Token ranges of entities of one label listed with commas and a last "and" or "or":
    "the United Kingdom, Spain, and Poland", "First National Bank and Salomon Inc"."""
    ents, out, i = doc.ents, [], 0
    while i < len(ents):
        j, joined = i, False
        while j + 1 < len(ents) and ents[j + 1][2] == ents[i][2]:
            glue = [w.lower() for w in doc.words[ents[j][1] : ents[j + 1][0]]]
            if glue not in ([","], ["and"], ["or"], [",", "and"], [",", "or"]):
                break
            joined = joined or glue[-1] in ("and", "or")
            j += 1
        if j > i and joined:
            out.append((ents[i][0], ents[j][1]))
        i = j + 1
    return out


_NOMINAL = frozenset(
    ["nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj", "oprd", "dative", "ROOT"]
)
_LEFT = frozenset(["det", "amod", "compound", "nummod", "poss", "quantmod", "nmod", "case"])


def _phrases(doc: Parsed) -> list[tuple[int, int]]:
    """Token ranges of noun phrases: a noun in a clause role with the words it is qualified by
    on its left ("Levi's Stadium", "the 50th gold anniversary"), leading articles left out."""
    spans = []
    for i in range(len(doc)):
        if doc.pos[i] not in ("NOUN", "PROPN") or doc.dep[i] not in _NOMINAL:
            continue
        a = i
        while a > 0 and a > i - 8 and _qualifies(doc, a - 1, i):
            a -= 1
        while a < i and doc.dep[a] in ("det", "poss") and doc.pos[a] in ("DET", "PRON"):
            a += 1
        b = i + 1
        # a word is not cut where the tokenizer split it: "air-launched", "U.S.-made"
        while a > 0 and doc.idx[a] == doc.end(a - 1):
            a -= 1
        while b < len(doc) and doc.idx[b] == doc.end(b - 1) and doc.words[b] not in ",.;:)'\"":
            b += 1
        spans.append((a, b))
    return spans


def _qualifies(doc: Parsed, j: int, i: int) -> bool:
    """Token ``j`` hangs on token ``i`` through left-hand qualifiers only."""
    for _ in range(8):
        if doc.dep[j] not in _LEFT or doc.head[j] == j or doc.head[j] > i:
            return False
        j = doc.head[j]
        if j == i:
            return True
    return False


def _initials(text: str) -> str:
    """ "the United States" -> "us": how a question may write a name of several words."""
    words = [w for w in re.findall(r"[A-Z]\w*", text)]
    return "".join(w[0] for w in words).lower() if len(words) > 1 else ""


def _letters(text: str) -> str:
    return re.sub(r"[\W_]", "", text).lower()


def _figure_label(doc: Parsed, a: int, b: int) -> str:
    """The entity label a figure would have: by its unit, money, a percentage or a count."""
    words = {w.lower() for w in doc.words[a:b]}
    if words & _CURRENCY or any(_PENCE.fullmatch(w) for w in words):
        return "MONEY"
    if words & _PERCENT:
        return "PERCENT"
    return "QUANTITY" if doc.pos[b - 1] in ("NOUN", "PROPN") else "CARDINAL"


def _as_duration(doc: Parsed, label: str, stop: int) -> str:
    """A figure that counts units of time answers "how long" and "how old" as a date would."""
    if label in ("MONEY", "QUANTITY") and doc.lemma[stop - 1] in _TIME_UNITS:
        return "DATE"
    return label


def _figures(doc: Parsed) -> list[tuple[int, int]]:
    """Token ranges of figures with their scale and unit: "3.5 billion dlrs", "228-room"."""
    n, words, pos = len(doc), doc.words, doc.pos
    spans = []
    i = 0
    while i < n:
        # "one" is a figure only when it counts something: "one mln shares", not "one of them"
        if (
            not (doc.num[i] or _PENCE.fullmatch(words[i]))
            or words[i].lower() == "one"
            and i + 1 < n
            and pos[i + 1] != "NOUN"
        ):
            i += 1
            continue
        j = i + 1
        while j < n and (
            doc.num[j]
            or words[j].lower() in _SCALE
            or words[j] in ("-", "/")
            and j + 1 < n
            and doc.num[j + 1]
        ):
            j += 1
        if j + 1 < n and words[j] == "-" and pos[j + 1] == "NOUN":
            j += 2  # "228-room"
        elif j < n and (
            pos[j] in ("NOUN", "PROPN")
            and doc.dep[j] != "compound"
            or words[j].lower() in _CURRENCY  # "5.6 mln stg", whatever the tagger took it for
        ):
            j += 1  # the unit: "shares", "rooms", "yen"
        elif (
            money := next(
                (k for k in range(j + 1, min(n, j + 3)) if words[k].lower() in _CURRENCY), 0
            )
        ) and all(pos[k] in ("ADJ", "PROPN") for k in range(j, money)):
            j = money + 1  # "64 Canadian cts", "12 Hong Kong dlrs": the country is the currency's
        elif j + 1 < n and pos[j] == "ADJ" and pos[j + 1] == "NOUN":
            j += 2  # "0.523 common share"
        spans.append((i, j))
        i = j
    return spans


def features(
    question: Question,
    qterms: set[str],
    doc: Parsed,
    cand: _Cand,
    terms: Sequence[set[str]] | None = None,
    sentences: Sequence[int] | None = None,
) -> dict[str, Any]:
    """What tells an answer from a bystander, each in [0, 1] (the verb as a lemma, to compare).

    ``terms`` holds each token's question terms and ``sentences`` each token's sentence root,
    computed once for all spans of the doc.
    """
    if terms is None:
        terms = [content_terms(w) & qterms for w in doc.words]
    if sentences is None:
        sentences = _sentence_roots(doc)
    _, _, a, b, label = cand
    root = _root(doc, a, b)
    # The question's words count in the candidate's own sentence: "holders of record February
    # 18. Hazleton shareholders will vote" does not make February 18 the vote's date.
    lo = hi = root
    while lo > 0 and sentences[lo - 1] == sentences[root]:
        lo -= 1
    while hi < len(doc) and sentences[hi] == sentences[root]:
        hi += 1
    anchors = [i for i in range(lo, hi) if terms[i] and not a <= i < b]
    distance = min((min(abs(i - a), abs(i - (b - 1))) for i in anchors), default=len(doc))
    near_terms = set().union(*terms[max(lo, a - 10) : min(hi, b + 10)])
    opener = doc.text[doc.idx[lo] : doc.idx[lo] + 40] if lo > 0 else ""
    event = bool(opener) and _EVENT_BACK.match(opener) is not None
    if event or opener and _PRONOUN_BACK.match(opener):
        # "However, these decisions came only after lobbying by Spain": the sentence before
        # says what "these decisions" are; "He said the offer will expire": who "he" is
        before = lo - 1
        while before > 0 and sentences[before - 1] == sentences[lo - 1]:
            before -= 1
        carried = set().union(*terms[before:lo])
        near_terms |= carried if event else carried & question.names
    # Names weigh double: "Waste Management" near a person matters more than "chief".
    weight = {t: 2.0 if t in question.names else 1.0 for t in qterms}
    # The asked noun is compared by stem: "shares" counts "share", "executives" names "executive".
    asked = stem(question.head) if question.head else ""
    beside = {stem(w) for w in doc.lemma[max(0, a - 3) : b + 3]}
    verb = _governing_verb(doc, root)
    reported = question.verb in _REPORTING  # "who reported the drop": the one who says so
    if verb is not None and doc.lemma[verb] in _REPORTING and not reported:
        # "CoFAB Inc said it acquired Gulfex": what it did is the reported verb
        verb = next(
            (
                i
                for i in range(len(doc))
                if doc.head[i] == verb and doc.dep[i] == "ccomp" and i != verb
            ),
            verb,
        )
    verb_lemma = doc.lemma[verb] if verb is not None else ""
    if reported and verb_lemma in _REPORTING:
        verb_lemma = question.verb or ""  # "said" reports as much as "reported"
    role = _role(doc, root)
    offer = _offer_of(doc, root)
    if offer is not None:
        # "an offer from [Sterling Grace] to purchase the assets": the one who offers to do it
        role = "agent"
        verb_lemma = doc.lemma[_offered_act(doc, offer, root)]
    labels = question.labels
    figure = label in _FIGURES
    counted = question.kind == "number" and bool(question.head)
    money = question.kind == "money"
    # What a figure counts: its last noun ("1.50 dlrs"), or the noun it modifies ("two units").
    unit = ""
    head_of_root = doc.head[root]
    if doc.pos[b - 1] in ("NOUN", "PROPN"):
        unit = doc.lemma[b - 1]
    elif doc.dep[root] in ("nummod", "quantmod", "compound") and doc.pos[head_of_root] in (
        "NOUN",
        "PROPN",
    ):
        unit = doc.lemma[head_of_root]
    # the noun the figure qualifies, not one it is listed beside ("47,000 soldiers and 360 tanks")
    qualified = doc.lemma[head_of_root] if doc.dep[root] not in ("conj", "appos") else ""
    heads = {qualified, unit, *doc.lemma[a:b]}
    head_stems = {stem(w) for w in heads if w}
    return {
        "label": 1.0 - labels.index(label) / len(labels)
        if label in labels
        else 1.0
        if label == WITHHELD
        else 0.5
        if labels or label != "NP"
        else 0.25,  # a name or a figure answers "what" more often than a common noun
        "_root": doc.lemma[root],  # scored by the reader against the asked noun
        "near": math.exp(-distance / 4),
        "local": sum(weight[t] for t in near_terms) / sum(weight.values()) if qterms else 0.0,
        "subject": float(
            question.subject
            and (
                role in _DONE_TO
                if question.passive
                else role in _DOER
                # "Waste Management's tender offer" made the offer the question asks about
                or (role == "poss" and bool(content_terms(doc.words[doc.head[root]]) & qterms))
            )
        ),
        "object": float(not question.subject and role in ("dobj", "attr", "oprd")),
        "_verb": verb_lemma,  # scored by the reader against the question's verb ...
        "_offer": doc.lemma[offer] if offer is not None else "",  # ... as is "proposal"
        "opposing": float(verb_lemma in OPPOSING and question.verb not in OPPOSING),
        "source": float(_source(doc, root) and not reported),  # not scored: not bolded
        "withheld": float(label == WITHHELD),  # the articles say there is no answer
        "named": float(label == NAMED),
        # a figure counts the asked noun; a name stands beside it ("Exco Chairman Richard Lacy")
        "head": float(asked in head_stems if counted else asked in beside),
        # a bare figure ("43") may count anything; one with another unit ("5 sacks") does not:
        # the reader scores how far that unit is from the asked noun ("astronauts", "people")
        "_unit": unit if counted and figure and unit and asked not in head_stems else "",
        # "How much" is answered in money or a share, not in people or years
        "currency": float(money and (label in ("MONEY", WITHHELD) or bool(heads & _CURRENCY))),
        "other_unit_money": float(
            money
            and figure
            and label != "MONEY"
            and bool(unit)
            and not heads & (_CURRENCY | _PERCENT if "PERCENT" in labels else _CURRENCY)
        ),
        # "who is the chief executive of X" is answered by a name beside "chief executive"
        "role_missing": float(
            question.labels == ("PERSON",) and bool(asked) and asked not in beside
        ),
        # "March 25" says more than "today", "316 mln dlrs" more than "some"
        "vague": float(
            (figure or label in ("DATE", "TIME"))
            and not any(ch.isdigit() for ch in doc.text[cand[0] : cand[1]])
            and not any(doc.num[a:b])  # "three" is as exact as "3"
            # "in February" says when; "on Friday" only beside the story's own date
            and not MONTHS & set(doc.lemma[a:b])
        ),
    }


def _source(doc: Parsed, i: int) -> bool:
    """The token names whom a claim is attributed to: "according to [Peskov]"."""
    to = doc.head[i]
    return (
        doc.dep[i] == "pobj"
        and doc.words[to].lower() == "to"
        and doc.words[doc.head[to]].lower() == "according"
    )


def _sentence_roots(doc: Parsed) -> list[int]:
    """Each token's sentence, named by the sentence's root token."""

    def top(j: int) -> int:
        for _ in range(64):
            if doc.head[j] == j:
                break
            j = doc.head[j]
        return j

    return [top(i) for i in range(len(doc))]


def _root(doc: Parsed, a: int, b: int) -> int:
    """The token of ``a:b`` whose head lies outside it (spaCy's ``Span.root``)."""
    for i in range(a, b):
        if not a <= doc.head[i] < b or doc.head[i] == i:
            return i
    return a


def _role(doc: Parsed, i: int) -> str:
    """The token's clause role, seen through names and appositions ("President Macron")."""
    for _ in range(12):
        if doc.dep[i] not in ("compound", "appos", "conj", "flat") or doc.head[i] == i:
            break
        i = doc.head[i]
    if doc.dep[i] == "pobj" and doc.dep[doc.head[i]] == "agent":
        return "agent"  # "offered by Waste Management": the one who offers
    return doc.dep[i]


# Nouns of an act someone proposes: "a bid by X", "the offer from X", "X's proposal".
_OFFERS = frozenset(
    ["offer", "bid", "proposal", "plan", "request", "call", "demand", "pledge", "suggestion",
     "attempt", "move", "approach", "tender", "invitation", "threat", "attack"]
)


def _offer_of(doc: Parsed, i: int) -> int | None:
    """The noun of an act the token makes through "by"/"from" ("an offer [from] X", also
    parsed as "received [a bid] from X"), if any."""
    if doc.dep[i] != "pobj" or doc.lemma[doc.head[i]] not in ("by", "from"):
        return None
    prep = doc.head[i]
    noun = doc.head[prep]
    if noun != prep and doc.lemma[noun] in _OFFERS:
        return noun
    if doc.pos[noun] == "VERB":  # the prepositional phrase hung on the verb, not its object
        return next(
            (j for j in range(noun + 1, prep) if doc.head[j] == noun and doc.dep[j] == "dobj"
             and doc.lemma[j] in _OFFERS),
            None,
        )
    return None


def _offered_act(doc: Parsed, offer: int, who: int) -> int:
    """What the offer is to do: "a bid ... [to acquire] the unit" (the noun's clause, or a
    "to" clause right after the one who offers), else the offer itself."""
    for j in range(len(doc)):
        if doc.pos[j] != "VERB" or j <= who or j - who > 4 or doc.words[j - 1].lower() != "to":
            continue
        if doc.head[j] in (offer, doc.head[offer]):
            return j
    return offer


def _governing_verb(doc: Parsed, i: int) -> int | None:
    """The verb whose clause the token is in."""
    for _ in range(12):
        if doc.pos[i] in ("VERB", "AUX") or doc.head[i] == i:
            break
        i = doc.head[i]
    return i if doc.pos[i] in ("VERB", "AUX") else None
