"""What a question asks for: the answer's type, the noun it names or counts, and its role.

"Who proposed troops?" wants a person or organisation that is the subject of "propose";
"how many shares ..." a number of shares; "which newspaper" an organisation; "why" a reason.
The type decides which spans can answer, and a typed question with no span of its type in the
sentences about it gets "I don't know".
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from index.text import STOPWORDS, content_terms

PEOPLE = ("PERSON", "ORG", "NORP", "GPE")
ORGS = ("ORG", "NORP", "GPE")
PLACES = ("GPE", "LOC", "FAC")
TIMES = ("DATE", "TIME")
MONEY = ("MONEY", "QUANTITY", "CARDINAL", "PERCENT")
CASH = ("MONEY", "QUANTITY", "CARDINAL")
NUMBERS = ("CARDINAL", "QUANTITY", "MONEY", "PERCENT")
PERCENTS = ("PERCENT", "CARDINAL", "QUANTITY")
AMOUNTS = ("QUANTITY", "CARDINAL", "MONEY", "PERCENT")

_MONEY_HEADS = (
    r"price|cost|value|amount|sum|fee|valuation|bid|offer|premium|revenue|sale|earning|income|"
    r"profit|loss|debt|proceed|dividend|salary|budget|damage|fine|payment|loan|mortgage|"
    r"financing|turnover|worth|capitali[sz]ation|deficit|shortfall|surplus"
)
# The noun after "which"/"what" decides the type: "which company" is an organisation.
_HEADS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        r"countr|nation|state|capital|cit(?:y|ies)|region|territor|place|town|province",
        "place",
        PLACES + ("NORP",),
    ),
    (
        r"outlet|newspaper|agency|organi[sz]ation|compan|firm|bank|alliance|group|media|"
        r"broadcaster|unit|subsidiar|division|maker|buyer|bidder|investor|party|network|exchange|"
        r"team|club|league|universit|college|school|church|army|court|council|committee|"
        r"ministry|government|airline|magazine|journal|label|band|studio|publisher|institut",
        "organisation",
        ORGS,
    ),
    (
        r"leader|president|minister|chancellor|person|people|official|politician|ambassador|"
        r"spokes|secretary|general|chairman|executive|analyst|man|woman|director|head|manager",
        "person",
        PEOPLE,
    ),
    (r"year|date|day|month|week|time|period", "date", TIMES),
    (_MONEY_HEADS, "money", MONEY),
    (r"percent|percentage|share of|stake|proportion|rate", "percent", PERCENTS),
    (r"number|total|count", "number", NUMBERS),
]
_WH = re.compile(
    r"\b(who|whom|whose|where|when|why|which|what|how(?: many| much| long| old| far| big| large)?)\b",
    re.I,
)
_YES_NO = re.compile(
    r"^(?:is|are|was|were|am|do|does|did|can|could|shall|should|will|would|may|might|must|has|"
    r"have|had)\b",
    re.I,
)


# "What did X say": what is said is a clause, not a phrase to bold.
_SAYING = frozenset(
    [
        "say",
        "tell",
        "think",
        "believe",
        "claim",
        "announce",
        "argue",
        "warn",
        "write",
        "mean",
        "report",
    ]
)
# Verbs of wanting and trying: "who wants to buy X" asks who buys, "who is going to run it" who
# runs it. The verb compared with the passage's is the one they govern.
_CATENATIVE = frozenset(
    ["want", "wish", "plan", "seek", "try", "attempt", "intend", "hope", "aim", "go", "expect"]
)
# Verbs that give a name: "what will the hotel be called" asks for the name given.
NAMING = frozenset(["call", "name", "rename", "dub", "nickname", "term", "title", "christen"])
# Capitalised, but dates, not names: a story of "Feb 26" says "today", not "February".
MONTHS = frozenset(
    name.lower() for name in [*calendar.month_name, *calendar.month_abbr, "Sept"] if name
)
_CALENDAR = MONTHS | {name.lower() for name in calendar.day_name}


@dataclass(frozen=True)
class Question:
    """A question read for its answer: what type, about which words, in which role."""

    text: str
    # person, place, date, money, number, percent, organisation, thing (what/which of no known
    # type), reason, yes-no, other
    kind: str
    labels: tuple[str, ...]  # entity labels that can answer it, likeliest first; () = untyped
    head: str | None = None  # the noun it counts or names ("shares" in "how many shares")
    verb: str | None = None  # lemma of its main verb ("propose")
    subject: bool = False  # the question word is the verb's subject: the answer does the verb
    passive: bool = False  # ... of a passive ("who was acquired"): the verb is done to the answer
    names: frozenset[str] = frozenset()  # terms of the names it mentions ("gulfex", "chemlawn")
    name_runs: tuple[tuple[str, ...], ...] = ()  # its names of several words ("United States")
    plural: bool = False  # the asked noun is plural ("which countries"): a list may answer

    @property
    def typed(self) -> bool:
        return bool(self.labels)

    @property
    def readable(self) -> bool:
        """Answered by a span: one of its type, or for a "what"/"which" of no known type any
        noun phrase (which is bolded when one stands out, but need not exist)."""
        return self.typed or self.kind == "thing"


def analyze(question: str, doc: Any = None) -> Question:
    """Read the question's type from its question word and the noun after it.

    ``doc`` is the question parsed by spaCy, when a parser is loaded: it gives the main verb
    and whether the question word is its subject.
    """
    verb, subject, passive, parsed_head = _parse(doc)
    names = _names(question, doc)
    runs = tuple(
        tuple(m.group().split()) for m in re.finditer(r"\b[A-Z]\w+(?: [A-Z]\w+)+", question)
    ) or _proper_runs(doc)
    asked = _classify(question, verb, subject, parsed_head, doc is not None)
    plural = doc is not None and any(
        t.tag_ in ("NNS", "NNPS") and t.lemma_.lower() == asked.head for t in doc
    )
    return dataclasses.replace(
        asked,
        passive=passive and asked.subject,
        names=names,
        name_runs=runs,
        plural=plural,
    )


def _classify(
    question: str, verb: str | None, subject: bool, parsed_head: str | None, parsed: bool
) -> Question:
    if _YES_NO.match(question.strip()):
        return Question(question, "yes-no", (), verb=verb)
    # "When the companies rolled out their cars, which policy ended?": the question is the
    # clause after the comma.
    found = list(_WH.finditer(question))
    after_comma = [w for w in found if "," in question[: w.start()]]
    m = after_comma[-1] if after_comma and found[0].start() < 5 else (found[0] if found else None)
    if not m:
        return Question(question, "other", (), verb=verb)
    wh = " ".join(m.group(1).lower().split())
    after = question[m.end() : m.end() + 60].lower()
    # "how long would the invasion last" counts no noun; "which gas" names one
    head = parsed_head or (None if wh in ("how long", "how old") else _first_content_word(after))
    if wh in ("who", "whom", "whose"):
        # "Who is the chief executive of X": a person, named beside the role.
        role = re.match(r"\s+(?:is|was|are|were)\s+(?:the\s+|a\s+)?(\w+)(?:\s+(\w+))?", after)
        # "the chief executive of X", "the president of X"
        for word in role.groups()[::-1] if role else ():
            if word and _names_kind(word, _HEADS[2][0]):
                return Question(question, "person", ("PERSON",), head=word, verb=verb)
        return Question(question, "person", PEOPLE, verb=verb, subject=subject)
    if wh == "where":
        if re.search(
            r"\b(?:stock|shares?|index|price|dollar|currency)\b.*\b(?:close|end|finish|"
            r"open|trade|stand|settle)",
            after,
        ):
            return Question(question, "money", MONEY, verb=verb)  # "where did the stock close"
        return Question(question, "place", PLACES, verb=verb)
    if wh == "when":
        return Question(question, "date", TIMES, verb=verb)
    if wh == "why":
        return Question(question, "reason", (), verb=verb)
    if wh == "how many":
        return Question(question, "number", NUMBERS, head=head, verb=verb)
    if wh == "how much":  # "how much is the buyer paying": the noun after is not what is counted
        if parsed_head in ("time", "longer"):
            return Question(question, "date", (*TIMES, "QUANTITY", "CARDINAL"), verb=verb)
        # "how much of the company does it own": a share; "how much of the price": money
        if re.match(r"\s+of\b", after) and not re.match(
            r"\s+of\s+(?:[\w&'.-]+\s+){0,5}?\w*(?:" + _MONEY_HEADS + r")\w{0,3}\b", after
        ):
            return Question(question, "percent", PERCENTS, verb=verb)
        if parsed_head and _names_kind(parsed_head, _HEADS[5][0]):  # "how much percentage"
            return Question(question, "percent", PERCENTS, verb=verb)
        if parsed_head in ("cash", "money"):  # "how much cash per share": not a share of it
            return Question(question, "money", CASH, head=parsed_head, verb=verb)
        if parsed_head and not _names_kind(parsed_head, _MONEY_HEADS):
            # "how much land": an amount of it, in its own unit ("100 acres"), not money
            return Question(question, "number", AMOUNTS, head=parsed_head, verb=verb)
        return Question(question, "money", MONEY, head=parsed_head, verb=verb)
    if wh in ("how long", "how old"):
        return Question(question, "date", TIMES + ("QUANTITY", "CARDINAL"), head=head, verb=verb)
    if wh in ("how big", "how large") and head:  # "how big a mortgage", "how large a stake"
        for pattern, kind, labels in _HEADS:
            if kind in ("money", "percent") and _names_kind(head, pattern):
                return Question(question, kind, labels, head=head, verb=verb)
    if wh in ("how far", "how big", "how large"):  # in any unit: "is Fresno" names no unit
        return Question(question, "number", ("QUANTITY", "CARDINAL"), verb=verb)
    if wh == "how":
        return Question(question, "other", (), verb=verb)
    if wh == "what" and (
        verb in NAMING or verb == "know" and re.search(r"\bknown\s+as\b", question, re.I)
    ):
        # "What is the old town called / known as": a name of any kind, the one given to it
        return Question(question, "thing", (), head=head, verb=verb, subject=subject)
    # which / what: typed by the noun asked about ("which two Japanese steelmakers"), when it
    # names a kind of thing; without a parse, by the words right after the question word.
    # With a parse, only the noun the question word qualifies: "what was President Kennedy
    # put off by" asks for no person.
    for pattern, kind, labels in _HEADS:
        # A parsed noun is one word, matched whole ("statement" is not a "state"); the raw words
        # may put a number or an adjective first ("two Japanese steelmakers").
        if (
            _names_kind(parsed_head, pattern)
            if parsed_head
            else not parsed and re.match(r"\s*(?:\w+\s+){0,1}?\w*(?:" + pattern + ")", after)
        ):
            return Question(question, kind, labels, head=head, verb=verb, subject=subject)
    if re.search(r"\b(?:do|doing|done|did|does|happen\w*)\W*$", question) or (
        wh == "what" and not parsed_head and not subject and verb in _SAYING
    ):
        # "what did they do", "what did Scholz say about troops": an act or a statement
        return Question(question, "other", (), head=head, verb=verb)
    return Question(question, "thing", (), head=head, verb=verb, subject=subject)


def _names_kind(word: str, pattern: str) -> bool:
    """One word of a kind, matched whole: "steelmakers" is a maker, "statement" no "state"."""
    return re.fullmatch(rf"\w*(?:{pattern})\w{{0,3}}", word) is not None


def _names(question: str, doc: Any) -> frozenset[str]:
    """Terms of the proper names in the question: capitalised words past the first, or PROPN.

    A nationality describes the answer ("which two Japanese steelmakers"): the passage need
    not say it."""
    words = re.findall(r"\w[\w'.&-]*", question)
    named = {w for w in words[1:] if w[0].isupper()}
    if doc is not None:
        named -= {t.text for t in doc if t.pos_ == "ADJ"}
        named |= {t.text for t in doc if t.pos_ == "PROPN" and t.tag_ not in ("WP", "WDT")}
    return frozenset(t for w in named if w.lower() not in _CALENDAR for t in content_terms(w))


def _proper_runs(doc: Any) -> tuple[tuple[str, ...], ...]:
    """Names of several words as the tagger reads them, in a question typed in lower case
    ("in the united states")."""
    if doc is None:
        return ()
    runs, run = [], []
    for t in [*doc, None]:
        if t is not None and t.pos_ == "PROPN":
            run.append(t.text)
            continue
        if len(run) > 1:
            runs.append(tuple(run))
        run = []
    return tuple(runs)


def _first_content_word(after: str) -> str | None:
    return next((w for w in re.findall(r"[a-z]+", after)[:3] if content_terms(w)), None)


def _counted_noun(doc: Any, i: int) -> Any:
    """The noun a "many" or "big" at ``i`` asks about: the last noun of the phrase after it."""
    j = i + 1
    if j < len(doc) and doc[j].lower_ == "of":  # "how many of the prior MVPs"
        j += 1
    while j < len(doc) and doc[j].pos_ == "DET":
        j += 1
    noun = None
    while j < len(doc) and doc[j].pos_ in ("ADJ", "NOUN", "PROPN", "NUM") or (
        j < len(doc) and doc[j].text == "-"
    ):
        if doc[j].pos_ in ("NOUN", "PROPN"):
            noun = doc[j]
        j += 1
    return noun


def _parse(doc: Any) -> tuple[str | None, bool, bool, str | None]:
    """The main verb's lemma, whether the question word is its subject and of a passive verb,
    and the asked noun."""
    if doc is None:
        return None, False, False, None
    # The main verb: the root when it is a full verb, else the first one ("is ... paying").
    verbs = [t for t in doc if t.pos_ == "VERB" and t.lemma_.lower() not in ("be", "have", "do")]
    root = next((t for t in verbs if t.dep_ == "ROOT"), verbs[0] if verbs else None)
    if root is None:  # the small tagger takes some verbs for adverbs ("did the stock close")
        root = next((t for t in doc if t.dep_ == "ROOT" and t.pos_ in ("ADV", "ADJ")), None)
    says = root is not None and root.lemma_.lower() in _SAYING
    if says and any(c.dep_ == "nsubj" and c.tag_ in ("WP", "WDT") for c in root.children):
        pass  # "Who says some capitals are hotheaded": the one who says it
    elif root is not None and root.lemma_.lower() in _SAYING | _CATENATIVE:
        # "What is Montedison reported to be paying": what it does is the reported verb
        root = next(
            (c for c in root.children if c.dep_ in ("xcomp", "ccomp") and c.pos_ == "VERB"), root
        )
    verb = root.lemma_.lower() if root is not None else None
    wh = next((t for t in doc if t.tag_ in ("WP", "WDT", "WRB", "WP$")), None)
    subject, passive, head = False, False, None
    if wh is not None:
        asked = wh.head if wh.dep_ in ("det", "advmod") and wh.head.pos_ != "VERB" else wh
        if asked.lower_ in ("many", "big", "large"):
            # "how many full time teachers", "how many of the prior MVPs", "how big a budget
            # deficit": the phrase's last noun, whatever the parser hung "many" on
            asked = _counted_noun(doc, asked.i) or asked.head
        elif asked.lower_ == "much":
            asked = asked.head  # "how much of the price": not the noun after "of"
        if asked is wh and wh.lower_ in ("which", "what"):
            # "Which two Japanese steelmakers said ...", parsed as if "which" stood alone
            after = [t for t in doc[wh.i + 1 : wh.i + 5] if t.pos_ not in ("NUM", "ADJ")]
            if after and after[0].pos_ == "NOUN" and after[0].i - wh.i <= 3:
                asked = after[0]
        subject = asked.dep_ in ("nsubj", "nsubjpass")
        passive = asked.dep_ == "nsubjpass"
        if asked is not wh and asked.pos_ in ("NOUN", "PROPN"):
            head = asked.lemma_.lower()
        elif wh.dep_ == "attr" and wh.head.lemma_ == "be":
            # "What is the posted price for WTI": the noun the question word stands for.
            head = next(
                (
                    c.lemma_.lower()
                    for c in wh.head.children
                    if c.dep_ == "nsubj" and c.pos_ == "NOUN"
                ),
                None,
            )
    return verb, subject, passive, head


_WORD = re.compile(r"[A-Za-z][\w&-]*")
# A line break alone is no sentence start (wire copy is hard-wrapped), nor is "(": wire copy
# marks names with it ("(Groupe Promexpo Inc)").
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s*|[\"“]\s*|\n[ \t]*\n\s*)$")
# The next word goes on with the name, unless it only says what kind of body it is.
_NAME_GOES_ON = re.compile(
    r"[ \t]+(?!(?:Inc|Corp|Co|Ltd|Plc|PLC|Group|Holdings?|AG|SA|NV|LP|Company|Corporation)\b)"
    r"[A-Z]"
)


def recase(question: str, texts: Sequence[str]) -> str:
    """A question typed in lower case with its names capitalised as the articles write them
    ("who wants to buy the japan fund" -> "... the Japan Fund"), so that they read as names.

    Runs of words are matched first ("epsilon data management" as "Epsilon Data Management",
    though "management" alone is mostly lower case). A question with a capital past its first
    letter is left as typed: its writer chose them.
    """
    if not question[1:].islower():
        return question
    words = list(_WORD.finditer(question))
    out, last, i = [], 0, 0
    while i < len(words):
        if words[i].group().lower() in STOPWORDS:  # nor does it start on one
            i += 1
            continue
        for j in range(min(len(words), i + 4), i, -1):
            if words[j - 1].group().lower() in STOPWORDS:
                continue  # a run ends on a word of its own: "the japan fund" is not "the"
            form = _capitalised(question[words[i].start() : words[j - 1].end()], texts)
            if form is not None:
                out += [question[last : words[i].start()], form]
                last, i = words[j - 1].end(), j
                break
        else:
            i += 1
    return "".join([*out, question[last:]])


def _capitalised(phrase: str, texts: Sequence[str]) -> str | None:
    """How the texts mostly write ``phrase`` when not at a sentence's start, if capitalised
    (a word alone only where it is a whole name)."""
    if phrase.lower() in STOPWORDS:
        return None
    pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, phrase.split())) + r"\b", re.I)
    seen: Counter[str] = Counter()
    single = " " not in phrase
    for text in texts:
        for m in pattern.finditer(text):
            if m.group()[0].isupper() and (
                _SENTENCE_START.search(text[: m.start()][-3:])
                # one word of a longer name: "United" of "United Kingdom" is no name alone
                or single and _NAME_GOES_ON.match(text, m.end())
            ):
                continue
            seen[" ".join(m.group().split())] += 1
    capital = [(n, form) for form, n in seen.items() if form[0].isupper()]
    if capital and 2 * sum(n for n, _ in capital) > sum(seen.values()):
        return max(capital)[1]
    return None
