"""Read articles from files, folders, JSONL, HTML and URLs into ``Document`` records.

A source that cannot be read becomes a ``Skipped`` with the reason, never an exception that stops
the run: one broken file (or one broken JSONL line) must not cost the others.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import json
import re
import socket
import time
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from .errors import IngestError
from .records import Document, Skipped
from .settings import IngestSettings

if TYPE_CHECKING:
    import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SUFFIXES = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl",
}
_LONGEST_FIRST = sorted(SUFFIXES, key=len, reverse=True)


def _suffix_of(name: str) -> str:
    lower = name.lower()
    return next((s for s in _LONGEST_FIRST if lower.endswith(s)), "")


def format_of(path: PurePath) -> str | None:
    return SUFFIXES.get(_suffix_of(path.name))


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
    limit = settings.max_file_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            yield Skipped(key, f"file is {size:,} bytes, over the {limit:,} limit")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Skipped(key, f"cannot read: {exc.strerror or exc}")
        return
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.open(io.BytesIO(data)) as fh:
                data = fh.read(limit + 1)  # a small file may inflate to gigabytes
        except (OSError, EOFError, zlib.error) as exc:
            yield Skipped(key, f"cannot decompress: {exc}")
            return
        if len(data) > limit:
            yield Skipped(key, f"decompresses to over the {limit:,} byte limit")
            return
    if looks_binary(data):
        yield Skipped(key, BINARY)
        return
    if fmt == "jsonl":
        yield from _read_jsonl(path, key, data)
        return
    try:
        text = decode(data)
    except IngestError as exc:
        yield Skipped(key, str(exc))
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


BINARY = "binary file, not text (save articles as UTF-8 text)"
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # all but \t \n \f \r


def looks_binary(data: bytes) -> bool:
    """A NUL byte, or more than 5% control bytes, in the first 8 KB (the test git and grep use)."""
    head = data[:8192]
    return b"\x00" in head or len(_CONTROL_BYTES.findall(head)) * 20 > len(head)


def decode(data: bytes) -> str:
    """UTF-8 text, with or without a BOM (``looks_binary`` has already refused binary data)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"not valid UTF-8 (byte {exc.start}): save the file as UTF-8") from None


def _read_jsonl(path: Path, key: str, data: bytes) -> Iterator[Document | Skipped]:
    """One document per line; a bad line is skipped with its number and the others are kept."""
    found = False
    # split on "\n" only: U+2028 and other line breaks str.splitlines() knows are valid in JSON
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        found = True
        where = f"{key}:{lineno}"
        try:
            obj = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            yield Skipped(where, f"not valid UTF-8 (byte {exc.start} of the line)")
            continue
        except json.JSONDecodeError as exc:
            yield Skipped(where, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            yield Skipped(where, "invalid JSON: nested too deeply")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            yield Skipped(where, "missing a string 'text' field")
            continue
        if not obj["text"].strip():
            yield Skipped(where, "empty 'text'")
            continue
        ident = obj.get("id", obj.get("_id"))
        ident = str(ident) if ident is not None else f"{path.stem}:{lineno}"
        doc = Document(
            key=f"{key}#{ident}",
            text=obj["text"],
            title=str(obj.get("title") or ""),
            url=_str_or_none(obj.get("url")),
            published=_str_or_none(obj.get("published")),
            path=key,
            fmt="jsonl",
            ident=ident,
        )
        try:  # a "\ud800" escape parses but cannot be stored or sent
            "".join(filter(None, (doc.key, doc.text, doc.title, doc.url, doc.published))).encode()
        except UnicodeEncodeError:
            yield Skipped(where, "contains an unpaired surrogate escape such as \\ud800")
            continue
        yield doc
    if not found:
        yield Skipped(key, "empty file")


def _str_or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def html_document(html: str, key: str, path: str | None = None, url: str | None = None) -> Document:
    """Main text, comments, title and date of a page, found by trafilatura."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            html, url=url, include_comments=True, include_tables=False, with_metadata=True
        )
    except Exception as exc:  # a foreign parser's failure on hostile markup, mapped here
        raise IngestError(f"could not parse the HTML ({type(exc).__name__})") from exc
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


_UNSAFE_NAME = re.compile(r"[^\w.-]+")  # \w keeps letters of every script, drops the rest


def safe_upload_name(filename: str, max_bytes: int = 100) -> str:
    """A file name we can store: no directories, no dot files, no odd characters, suffix kept."""
    base = re.split(r"[\\/]", filename or "")[-1]
    suffix = _suffix_of(base)
    stem = unicodedata.normalize("NFC", base[: len(base) - len(suffix)])
    stem = _UNSAFE_NAME.sub("_", stem).lstrip("._")
    stem = stem.encode()[:max_bytes].decode("utf-8", "ignore") or "upload"
    return stem + suffix


# ---- URLs ------------------------------------------------------------------------------------

MAX_REDIRECTS = 5
PAGE_TYPES = ("text/html", "application/xhtml+xml")
ANY_ADDRESS = ("0.0.0.0/0", "::/0")  # what ``allow`` holds when private URLs are switched on
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


@dataclass(frozen=True)
class Fetched:
    """One answer of ``fetch``: where the last redirect led, the status, headers and body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        charset = _charset(self.headers.get("content-type", ""))
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", errors="replace")


def fetch_url(url: str, settings: IngestSettings, allow: Sequence[str] = ()) -> Document:
    """Download one page and extract its article; refuses non-http(s) and non-public addresses."""
    page = fetch(url, settings, allow, types=PAGE_TYPES)
    return html_document(page.text(), key=page.url, url=page.url)


def fetch(
    url: str,
    settings: IngestSettings,
    allow: Sequence[str] = (),
    types: Sequence[str] = PAGE_TYPES,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET ``url`` safely: a 200 answer of one of ``types`` (a 304 when ``headers`` ask for it).

    The host is resolved and checked once, and the connection goes to that checked address (so a
    DNS answer that changes between check and connect cannot reach 127.0.0.1). Every redirect is
    followed by hand and checked the same way. The body is read in chunks, up to
    ``url_max_bytes`` and within ``url_timeout_s`` in total.
    """
    import httpx

    current = url.strip()
    deadline = time.monotonic() + settings.url_timeout_s
    with httpx.Client(timeout=settings.url_timeout_s, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            address = check_url(current, allow)
            target = httpx.URL(current)
            request = client.build_request(
                "GET",
                target.copy_with(host=address),
                headers={
                    **(headers or {}),
                    "Host": target.netloc.decode("ascii"),
                    "User-Agent": "quotebot",
                },
                extensions={"sni_hostname": target.raw_host.decode("ascii")},
            )
            try:
                resp = client.send(request, stream=True)
                try:
                    if resp.status_code == 304 and headers:  # what a conditional GET hopes for
                        body = b""
                    elif resp.is_redirect:
                        current = str(target.join(resp.headers.get("location", "")))
                        continue
                    else:
                        body = _read_body(url, resp, settings, deadline, types)
                    return Fetched(current, resp.status_code, dict(resp.headers), body)
                finally:
                    resp.close()
            except httpx.HTTPError as exc:
                raise IngestError(f"{url}: could not fetch ({type(exc).__name__})") from exc
    raise IngestError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _charset(content_type: str) -> str:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else "utf-8"


def _read_body(
    url: str, resp: httpx.Response, settings: IngestSettings, deadline: float, types: Sequence[str]
) -> bytes:
    """The body of a 200 answer, refused early when its type or size is wrong."""
    if resp.status_code != 200:
        raise IngestError(f"{url}: the server answered HTTP {resp.status_code}")
    kind = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in types:
        what = "a web page" if types == PAGE_TYPES else "a news feed"
        raise IngestError(f"{url}: the link is {kind}, not {what}")
    limit = settings.url_max_bytes
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise IngestError(f"{url}: page is {int(declared):,} bytes, over the {limit:,} limit")
    body = bytearray()
    for chunk in resp.iter_bytes():
        body.extend(chunk)
        if len(body) > limit:
            raise IngestError(f"{url}: page is over the {limit:,} byte limit")
        if time.monotonic() > deadline:
            raise IngestError(f"{url}: took longer than {settings.url_timeout_s:g} s")
    if looks_binary(bytes(body)):
        raise IngestError(f"{url}: {BINARY}")
    return bytes(body)


def check_url(url: str, allow: Sequence[str] = ()) -> str:
    """The address to connect to for ``url``: its host's, when every one of them is public.

    Refuses URLs that are not http(s), and hosts resolving (in any spelling: decimal, octal,
    IPv4-mapped IPv6...) to loopback, private, link-local, multicast or reserved addresses,
    unless they fall in one of the ``allow`` networks (e.g. "127.0.0.1/32" for tests).
    """
    import httpx

    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise IngestError(f"{url!r}: not a valid link ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise IngestError(f"{url!r}: only http:// and https:// links can be added")
    try:
        networks = [ipaddress.ip_network(n, strict=False) for n in allow]
    except ValueError as exc:
        raise IngestError(f"allowed URL network is not valid: {exc}") from None
    host = parts.raw_host.decode("ascii")
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise IngestError(f"{url}: cannot resolve host {parts.host!r}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for addr in addresses:
        if not any(_within(addr, net) for net in networks) and not is_public(addr):
            raise IngestError(f"{url}: refusing {addr}, which is not a public internet address")
    return str(addresses[0])


def _within(addr: Address, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    inner = _embedded_ipv4(addr)
    return addr in net or (inner is not None and inner in net)


def is_public(addr: Address) -> bool:
    """A globally routed unicast address, including any IPv4 address an IPv6 one carries."""
    if not addr.is_global or addr.is_multicast or addr.is_reserved or addr.is_unspecified:
        return False
    inner = _embedded_ipv4(addr)
    return inner is None or is_public(inner)


def _embedded_ipv4(addr: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, 6to4, Teredo or NAT64 one."""
    if not isinstance(addr, ipaddress.IPv6Address):
        return None
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in _NAT64 or addr in _V4_COMPATIBLE:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def url_key(url: str) -> str:
    """A stable article id for a URL (also a safe file name)."""
    return "url-" + hashlib.sha256(url.encode()).hexdigest()[:16]
