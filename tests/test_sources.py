"""Reading every supported format; bad sources are skipped and named, never fatal."""

from __future__ import annotations

import gzip
import json

import pytest

from index.errors import IngestError
from index.records import Document, Skipped
from index.settings import IngestSettings
from index.sources import ANY_ADDRESS, check_url, iter_files, read_file, safe_upload_name

SETTINGS = IngestSettings()


def _read(path):
    return list(read_file(path, SETTINGS))


def test_txt_and_md(tmp_path):
    (tmp_path / "a.txt").write_text("Headline\n\nBody text.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Markdown title\n\nBody.", encoding="utf-8")
    (doc,) = _read(tmp_path / "a.txt")
    assert isinstance(doc, Document) and doc.fmt == "txt" and doc.path == str(tmp_path / "a.txt")
    (md,) = _read(tmp_path / "b.md")
    assert md.fmt == "md"


def test_html_main_text_and_title_come_from_the_extractor(tmp_path):
    html = """<html><head><title>Troops debate | Site</title>
    <meta property="og:title" content="Troops debate"><script>var tracking = 1;</script>
    <style>.x{color:red}</style></head><body><nav>Home | World | Sport</nav>
    <article><h1>Troops debate</h1><p>France and the UK discussed sending troops to Ukraine
    on Monday, according to officials who spoke to reporters in Paris.</p>
    <p>The talks were reactivated after a visit by the British prime minister to Paris earlier
    this month, the newspaper reported.</p></article><footer>Copyright 2024</footer></body></html>"""
    (tmp_path / "p.html").write_text(html, encoding="utf-8")
    (doc,) = _read(tmp_path / "p.html")
    assert doc.title == "Troops debate"
    assert "sending troops to Ukraine" in doc.text
    assert "tracking" not in doc.text and "color:red" not in doc.text


def test_jsonl_fields_ids_and_broken_lines(tmp_path):
    lines = [
        json.dumps(
            {
                "id": "x1",
                "title": "T1",
                "text": "One.",
                "url": "http://e.org/1",
                "published": "2024-11-25",
            }
        ),
        json.dumps({"_id": "x2", "text": "Two."}),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": "   "}),
        json.dumps({"text": "Three."}),
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    items = _read(path)
    docs = [d for d in items if isinstance(d, Document)]
    skipped = [s for s in items if isinstance(s, Skipped)]
    assert [d.ident for d in docs] == ["x1", "x2", "c:6"]
    assert docs[0].url == "http://e.org/1" and docs[0].published == "2024-11-25"
    assert docs[0].title == "T1"
    assert [s.source.rsplit(":", 1)[1] for s in skipped] == ["3", "4", "5"]
    assert "invalid JSON" in skipped[0].reason and "'text'" in skipped[1].reason


def test_jsonl_gz(tmp_path):
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps({"_id": "g", "text": "Gz."}).encode()))
    (doc,) = _read(path)
    assert doc.ident == "g" and doc.text == "Gz."


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("bad.txt", b"caf\xe9 au lait", "not valid UTF-8"),
        ("bin.txt", b"\x7fELF\x00\x00\x01", "binary"),
        ("empty.md", b"  \n", "empty"),
        ("broken.jsonl.gz", b"not gzip", "decompress"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    (item,) = _read(tmp_path / name)
    assert isinstance(item, Skipped) and reason in item.reason


def test_oversized_file_is_skipped(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 100, encoding="utf-8")
    (item,) = list(read_file(tmp_path / "big.txt", IngestSettings(max_file_bytes=100)))
    assert isinstance(item, Skipped) and "limit" in item.reason


def test_iter_files_skips_unknown_missing_and_hidden(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("x")
    items = list(iter_files([tmp_path, tmp_path / "missing", tmp_path / "notes.pdf"]))
    assert items[0] == tmp_path / "a.txt"
    reasons = [i.reason for i in items if isinstance(i, Skipped)]
    assert reasons == [
        "no such file or folder",
        "unsupported file type (use .txt, .md, .html, .jsonl)",
    ]


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\evil.txt", "evil.txt"),
        ("", "upload"),
        ("my notes (1).md", "my_notes_1_.md"),
        (".hidden.txt", "hidden.txt"),
    ],
)
def test_upload_names_are_never_trusted(raw, safe):
    assert safe_upload_name(raw) == safe


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/x",
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "javascript:alert(1)",
    ],
)
def test_urls_to_local_or_odd_places_are_refused(url):
    with pytest.raises(IngestError):
        check_url(url)


def test_private_urls_allowed_only_when_configured():
    check_url("http://127.0.0.1:8000/a", allow=ANY_ADDRESS)
