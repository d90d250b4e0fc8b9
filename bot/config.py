"""Settings: built-in defaults < config.toml < ``QUOTEBOT_*`` environment variables.

This is the only module that reads config.toml or the environment. Environment overrides are
``QUOTEBOT_<SECTION>__<KEY>`` (e.g. ``QUOTEBOT_RETRIEVAL__MIN_QUOTE_SIMILARITY=0.4``), plus
``QUOTEBOT_DATA`` for the data directory. The bot token comes only from ``TELEGRAM_BOT_TOKEN``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from index.errors import ConfigError
from index.settings import (
    ChunkSettings,
    EmbeddingSettings,
    FeedSettings,
    IngestSettings,
    MultilingualSettings,
    StoreSettings,
    VectorSettings,
)
from retrieval.settings import RetrievalSettings

ENV_PREFIX = "QUOTEBOT_"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


@dataclass(frozen=True)
class BotSettings:
    admins: tuple[int, ...] = ()  # Telegram user ids allowed to run admin commands
    article_dirs: tuple[str, ...] = ()  # what /reindex re-scans (relative to config.toml)
    base_url: str = ""  # Bot API endpoint, e.g. a self-hosted server or an emulator; "" = Telegram
    base_file_url: str = ""
    mode: str = "polling"  # "polling" or "webhook"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    answers_per_page: int = 3
    max_answers: int = 9  # answers reachable through the "More" button
    rate_limit_count: int = 5  # questions a user may ask ...
    rate_limit_seconds: float = 30.0  # ... within this many seconds
    rate_limit_chat_count: int = 10  # and all users of one group chat together, in that window
    max_upload_bytes: int = 5_000_000
    allow_private_urls: bool = False  # let /add fetch loopback and private addresses


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("data")
    store: StoreSettings = field(default_factory=StoreSettings)
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    vectors: VectorSettings = field(default_factory=VectorSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    feeds: FeedSettings = field(default_factory=FeedSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    multilingual: MultilingualSettings = field(default_factory=MultilingualSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    source: Path | None = None  # the config.toml these came from

    @property
    def token(self) -> str | None:
        return os.environ.get(TOKEN_ENV) or None


_SECTIONS: dict[str, type] = {
    "store": StoreSettings,
    "chunking": ChunkSettings,
    "embedding": EmbeddingSettings,
    "vectors": VectorSettings,
    "ingest": IngestSettings,
    "feeds": FeedSettings,
    "retrieval": RetrievalSettings,
    "multilingual": MultilingualSettings,
    "bot": BotSettings,
}


def load_config(path: Path | None = None, data_dir: Path | None = None) -> Config:
    """Read settings; ``path=None`` uses ./config.toml when present, else the defaults."""
    if path is None and Path("config.toml").is_file():
        path = Path("config.toml")
    raw: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        base = Path(path).resolve().parent
    where = str(path) if path else "defaults"
    if any(k.lower() in {"token", "bot_token", "telegram_bot_token"} for k in _all_keys(raw)):
        raise ConfigError(
            f"{where}: the bot token must not be in a config file; set {TOKEN_ENV} instead"
        )
    _apply_env(raw)

    top_data = raw.pop("data_dir", None)
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{where}: unknown section or key '{name}'")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{name}' must be a table")
        sections[name] = _build(_SECTIONS[name], value, f"{where} [{name}]")

    data = data_dir or Path(top_data) if (data_dir or top_data) else Path("data")
    if not data.is_absolute() and data_dir is None:
        data = base / data
    bot = sections.get("bot", BotSettings())
    bot = dataclasses.replace(
        bot, article_dirs=tuple(str((base / d).resolve()) for d in bot.article_dirs)
    )
    sections["bot"] = bot
    store, multilingual = sections.get("store"), sections.get("multilingual")
    if store is not None and store.url and multilingual is not None and multilingual.enabled:
        # its second vector index is a FAISS file of the generation (index/multilingual.py)
        raise ConfigError(
            f"{where}: [multilingual] enabled needs the index in the data directory for now: "
            "set [store] url = \"\" or [multilingual] enabled = false"
        )
    return Config(data_dir=data, source=Path(path) if path else None, **sections)


def _all_keys(raw: dict[str, Any]) -> list[str]:
    keys = []
    for k, v in raw.items():
        keys.append(k)
        if isinstance(v, dict):
            keys.extend(v.keys())
    return keys


def _apply_env(raw: dict[str, Any]) -> None:
    for name, value in os.environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        if rest == "data":
            raw["data_dir"] = value
            continue
        if "__" not in rest:
            raise ConfigError(f"{name}: expected QUOTEBOT_<SECTION>__<KEY> or QUOTEBOT_DATA")
        section, key = rest.split("__", 1)
        if section not in _SECTIONS:
            raise ConfigError(f"{name}: unknown section '{section}'")
        raw.setdefault(section, {})[key] = _parse_env_value(value)


def _parse_env_value(value: str) -> Any:
    """Environment values are JSON when they parse as JSON (numbers, lists, true), else strings."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(known))})")
        kwargs[key] = _coerce(value, hints[key], f"{where} {key}")
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a settings class checking its own values
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(value: Any, hint: Any, where: str) -> Any:
    text = str(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if text.startswith("tuple["):
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = int if "int" in text else str
        return tuple(_coerce(v, inner, where) for v in value)
    return value
