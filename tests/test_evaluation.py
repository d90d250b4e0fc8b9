"""QA files name their sources by article id (JSONL corpora) or file-name prefix (news-dev)."""

from __future__ import annotations

from retrieval.answers import SourceRef
from retrieval.evaluation import _is_source


def _ref(ident: str, path: str | None) -> SourceRef:
    return SourceRef(id=ident, title="t", path=path, url=None, published=None, start=0, end=1)


def test_a_jsonl_source_is_matched_by_its_article_id_not_its_file_name():
    ref = _ref("reuters-68", "/corpus/reuters/acq.jsonl")
    assert _is_source(ref, ("reuters-68",))
    assert not _is_source(ref, ("reuters-6",))


def test_a_news_dev_source_is_a_file_name_prefix():
    assert _is_source(_ref("abc123", "/corpus/news/000_4f09.txt"), ("000",))
    assert not _is_source(_ref("abc123", "/corpus/news/001_26cc.txt"), ("000",))
