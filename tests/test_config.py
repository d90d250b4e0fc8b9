"""Settings: defaults < config.toml < QUOTEBOT_* environment; the token never in a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from index.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_equals_the_defaults_it_documents(monkeypatch):
    monkeypatch.chdir(ROOT)
    shipped = load_config(ROOT / "config.toml")
    assert shipped.retrieval == type(shipped.retrieval)()  # the file documents the defaults
    assert shipped.bot.article_dirs == (
        str((ROOT.parent / "shared" / "corpus" / "news").resolve()),
    )
    assert shipped.data_dir == ROOT / "data"


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[retrieval]\nrrf_k = 10\n[bot]\nadmins = [1]\n")
    monkeypatch.setenv("QUOTEBOT_RETRIEVAL__RRF_K", "20")
    monkeypatch.setenv("QUOTEBOT_BOT__ADMINS", "[7, 8]")
    monkeypatch.setenv("QUOTEBOT_DATA", str(tmp_path / "d"))
    config = load_config(cfg)
    assert config.retrieval.rrf_k == 20 and config.bot.admins == (7, 8)
    assert config.data_dir == tmp_path / "d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bot]\ntoken = 'x'\n", "TELEGRAM_BOT_TOKEN"),
        ("[retrieval]\nnope = 1\n", "unknown key 'nope'"),
        ("[nosuch]\na = 1\n", "unknown section"),
        ("[retrieval]\nrrf_k = 'ten'\n", "expected an integer"),
        ("[retrieval\n", "invalid TOML"),
    ],
)
def test_invalid_files_are_named_with_the_problem(tmp_path, text, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(cfg)
    assert str(cfg) in str(info.value)


def test_token_comes_from_the_environment_only(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert load_config(None, data_dir=Path("x")).token == "123:abc"


def test_multilingual_answering_needs_the_data_directory_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("QUOTEBOT_STORE__URL", "postgresql://qb@127.0.0.1/qb")
    monkeypatch.setenv("QUOTEBOT_MULTILINGUAL__ENABLED", "true")
    with pytest.raises(ConfigError, match=r"\[multilingual\] enabled needs"):
        load_config(None, data_dir=tmp_path)
    monkeypatch.setenv("QUOTEBOT_MULTILINGUAL__ENABLED", "false")
    assert load_config(None, data_dir=tmp_path).store.url == "postgresql://qb@127.0.0.1/qb"
