"""One exception root for quotebot; subclasses are named for the condition and say the fix."""


class QuotebotError(Exception):
    """Root of every error quotebot raises on purpose."""


class IngestError(QuotebotError):
    """An article source could not be read or parsed; the message names the source and why."""


class IndexNotBuilt(QuotebotError):
    """The data directory has no index yet."""


class IndexCorrupt(QuotebotError):
    """The index files exist but cannot be read consistently."""


class ModelMismatch(QuotebotError):
    """The index was built with a different embedding model or dimension than the one configured."""


class ModelMissing(QuotebotError):
    """The packaged embedding or NLP model is not installed."""


class IndexWriteError(QuotebotError):
    """Writing a new index generation failed; the served generation is left as it was."""


class DiskFull(IndexWriteError):
    """The disk (or a file size limit) ran out while writing the index."""


class DataDirReadOnly(IndexWriteError):
    """The data directory cannot be written (read-only file system or permissions)."""


class IndexBusy(QuotebotError):
    """Another index update holds the data directory's lock."""


class FeedError(QuotebotError):
    """A feed cannot be added, removed or fetched; the message names the feed and why."""


class FeedBusy(FeedError):
    """Another feed fetch holds the data directory's feed lock."""


class ConfigError(QuotebotError):
    """config.toml or a QUOTEBOT_* variable is invalid."""


class StoreUnavailable(QuotebotError):
    """The index database (PostgreSQL) cannot be reached, or a query ran past its time limit."""


class VectorExtensionMissing(QuotebotError):
    """The PostgreSQL database has no pgvector extension and it cannot be created there."""
