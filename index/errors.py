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
