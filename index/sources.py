"""Read articles from files, folders, JSONL, HTML and URLs into ``Document`` records.

A source that cannot be read becomes a ``Skipped`` with the reason, never an exception that stops
the run: one broken file must not cost the others.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from .errors import IngestError
from .records import Document, Skipped
from .settings import IngestSettings

SUFFIXES = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl",
}


def format_of(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in sorted(SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


def iter_files(paths: list[Path]) -> Iterator[Path | Skipped]:
    """Every article file under ``paths`` in a stable order; unknown or missing paths are skipped."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if format_of(child):
                    yield child
        elif path.is_file():
            if format_of(path):
                yield path
            else:
                yield Skipped(str(path), "unsupported file type (use .txt, .md, .html, .jsonl)")
        else:
            yield Skipped(str(path), "no such file or folder")


def read_file(path: Path, settings: IngestSettings) -> Iterator[Document | Skipped]:
    """Documents in one file: one for txt/md/html, one per line for JSONL."""
    fmt = format_of(path)
    key = str(path.resolve())
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            yield Skipped(
                key, f"file is {size:,} bytes, over the {settings.max_file_bytes:,} limit"
            )
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Skipped(key, f"cannot read: {exc.strerror or exc}")
        return
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            yield Skipped(key, f"cannot decompress: {exc}")
            return
    try:
        text = decode(data)
    except IngestError as exc:
        yield Skipped(key, str(exc))
        return
    if fmt == "jsonl":
        yield from _read_jsonl(path, key, text)
        return
    if not text.strip():
        yield Skipped(key, "empty file")
        return
    if fmt == "html":
        try:
            yield html_document(text, key=key, path=key)
        except IngestError as exc:
            yield Skipped(key, str(exc))
        return
    yield Document(key=key, text=text, path=key, fmt=fmt or "txt")


def decode(data: bytes) -> str:
    """UTF-8 text (with or without BOM); binary data is refused rather than indexed as garbage."""
    if b"\x00" in data[:8192]:
        raise IngestError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"not valid UTF-8 (byte {exc.start}): save the file as UTF-8") from None


def _read_jsonl(path: Path, key: str, text: str) -> Iterator[Document | Skipped]:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{key}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Skipped(where, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            yield Skipped(where, "missing a string 'text' field")
            continue
        if not obj["text"].strip():
            yield Skipped(where, "empty 'text'")
            continue
        ident = obj.get("id", obj.get("_id"))
        ident = str(ident) if ident is not None else f"{path.stem}:{lineno}"
        yield Document(
            key=f"{key}#{ident}",
            text=obj["text"],
            title=str(obj.get("title") or ""),
            url=_str_or_none(obj.get("url")),
            published=_str_or_none(obj.get("published")),
            path=key,
            fmt="jsonl",
            ident=ident,
        )


def _str_or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def html_document(html: str, key: str, path: str | None = None, url: str | None = None) -> Document:
    """Main text, comments, title and date of a page, found by trafilatura."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url, include_comments=True, include_tables=False, with_metadata=True
    )
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    if not text.strip():
        raise IngestError("no article text found in the HTML")
    return Document(
        key=key,
        text=text,
        comments=getattr(doc, "comments", None) or "",
        title=getattr(doc, "title", None) or "",
        url=url or getattr(doc, "url", None) or None,
        published=getattr(doc, "date", None) or None,
        path=path,
        fmt="html",
    )


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_upload_name(filename: str) -> str:
    """A file name we can store: no directories, no dot files, only safe characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = _SAFE_NAME.sub("_", base).strip("._") or "upload"
    return base[:100]


def fetch_url(url: str, settings: IngestSettings, allow_private: bool = False) -> Document:
    """Download one page and extract its article; refuses non-http(s) and private addresses.

    Every redirect is followed by hand so that its target is checked too (no SSRF through a
    redirect to 127.0.0.1), and the body is read in chunks up to ``url_max_bytes``.
    """
    import httpx

    current = url.strip()
    with httpx.Client(timeout=settings.url_timeout_s, follow_redirects=False) as client:
        for _ in range(6):
            check_url(current, allow_private)
            try:
                with client.stream("GET", current, headers={"User-Agent": "quotebot"}) as resp:
                    if resp.is_redirect:
                        current = str(resp.url.join(resp.headers.get("location", "")))
                        continue
                    if resp.status_code != 200:
                        raise IngestError(f"{url}: the server answered HTTP {resp.status_code}")
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body.extend(chunk)
                        if len(body) > settings.url_max_bytes:
                            raise IngestError(
                                f"{url}: page is over the {settings.url_max_bytes:,} byte limit"
                            )
                    charset = resp.charset_encoding or "utf-8"
            except httpx.HTTPError as exc:
                raise IngestError(f"{url}: could not fetch ({type(exc).__name__})") from exc
            html = bytes(body).decode(charset, errors="replace")
            return html_document(html, key=current, url=current)
    raise IngestError(f"{url}: too many redirects")


def check_url(url: str, allow_private: bool = False) -> None:
    """Refuse URLs that are not http(s) or that resolve to loopback, private or link-local hosts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(f"{url!r}: only http:// and https:// links can be added")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise IngestError(f"{url}: cannot resolve host {parts.hostname!r}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global:
            raise IngestError(f"{url}: refusing a private or local address ({addr})")


def url_key(url: str) -> str:
    """A stable article id for a URL (also a safe file name)."""
    return "url-" + hashlib.sha256(url.encode()).hexdigest()[:16]
