"""Answering: hybrid search, quote selection, answer spans, merging and abstention."""

from .answers import Answer, Result, SourceRef
from .engine import Answerer
from .settings import RetrievalSettings

__all__ = ["Answer", "Answerer", "Result", "RetrievalSettings", "SourceRef"]
