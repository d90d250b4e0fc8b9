"""Message formatting: escaped, balanced Telegram HTML within 4096 UTF-16 units, by example and
by property."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import formatting as fmt
from index.records import IndexSummary, Skipped
from retrieval.answers import Answer, Result, SourceRef

ALLOWED_TAGS = {"b", "i", "a", "code", "blockquote"}


class _Balance(HTMLParser):
    """Checks that tags nest properly and are only ones Telegram understands."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        if tag == "a":
            assert [k for k, _ in attrs] == ["href"]
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(message: str) -> str:
    """Assert ``message`` is valid Telegram HTML; return its visible text."""
    assert fmt.telegram_len(message) <= fmt.MAX_MESSAGE
    assert message.strip()
    # every & starts one of the entities we produce; no raw < or > outside tags
    assert not re.search(r"&(?!(amp|lt|gt|quot|#x27);)", message)
    parser = _Balance()
    parser.feed(message)
    parser.close()
    assert parser.stack == []
    return "".join(parser.text)


def src(title: str = "Le Monde report", url: str | None = "https://example.com/a?x=1&y=2",
        published: str | None = "2024-11-25T10:00:00", kind: str = "article",
        sid: str = "a1") -> SourceRef:
    return SourceRef(id=sid, title=title, path=None, url=url, published=published, start=0,
                     end=10, kind=kind)


def answer(quote: str, highlight: tuple[int, int] | None = None,
           sources: tuple[SourceRef, ...] | None = None) -> Answer:
    return Answer(quote=quote, highlight=highlight, score=0.9,
                  sources=sources if sources is not None else (src(),), passage_ids=(1,))


def test_answer_is_a_blockquote_with_the_span_in_bold_and_a_linked_dated_source() -> None:
    quote = "The statement was quickly disavowed by NATO officials, while Scholz objected."
    start = quote.index("NATO officials")
    result = Result("Who disavowed it?", False,
                    (answer(quote, (start, start + len("NATO officials")),
                            (src(), src("Other", sid="b"), src("Third", sid="c"))),))
    [message] = fmt.format_result_page(result)
    assert "<blockquote>The statement was quickly disavowed by <b>NATO officials</b>" in message
    assert '<a href="https://example.com/a?x=1&amp;y=2">Le Monde report</a>' in message
    assert ", 25 Nov 2024" in message
    assert "and 2 more sources" in message
    check_html(message)


def test_user_text_is_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script> & <b>'
    result = Result(evil, False, (answer(evil, (0, 8), (src(title=evil, url=None),)),))
    [message] = fmt.format_result_page(result)
    assert "<script>" not in message
    assert "&lt;script&gt;" in message
    assert evil in html.unescape(check_html(message))


def test_comment_sources_say_so_and_unsafe_urls_are_not_linked() -> None:
    result = Result("q", False, (answer("A reader said so.", None,
                                        (src(kind="comment", url="javascript:alert(1)"),)),))
    [message] = fmt.format_result_page(result)
    assert "a reader comment under" in message
    assert "javascript:" not in message and "<a " not in message


def test_paging_shows_the_requested_answers_and_a_counter() -> None:
    result = Result("q", False, tuple(answer(f"Quote number {i}.") for i in range(7)))
    assert fmt.page_count(result, 3) == 3
    page2 = fmt.format_result_page(result, page=1, per_page=3)[0]
    assert "Quote number 3." in page2 and "Quote number 5." in page2
    assert "Quote number 2." not in page2 and "Quote number 6." not in page2
    assert "Answers 4–6 of 7" in page2
    last = fmt.format_result_page(result, page=2, per_page=3)[0]
    assert "Quote number 6." in last and "Answers 7–7 of 7" in last


def test_not_found_offers_the_closest_topics() -> None:
    result = Result("What about Mars?", True, (), message="Nothing close enough.",
                    related=("Troops to Ukraine", "Missile strikes <deep>"))
    [message] = fmt.format_result_page(result)
    # Retrieval's own reason is the reply, said once; the bot's fallback only when it has none.
    assert message.startswith("Nothing close enough.") and fmt.NOT_FOUND not in message
    assert "• Troops to Ukraine" in message and "&lt;deep&gt;" in message
    check_html(message)
    plain = fmt.format_result_plain(result)
    assert plain.startswith("Nothing close enough.") and "Missile strikes <deep>" in plain
    bare = Result("What about Mars?", True, ())
    assert fmt.format_result_plain(bare) == fmt.NOT_FOUND
    assert fmt.format_result_page(bare) == [fmt.NOT_FOUND]


def test_a_long_page_is_split_between_answers_never_inside_a_tag() -> None:
    result = Result("q", False, tuple(answer(("word " * 300) + f"end{i}.", (5, 40))
                                      for i in range(9)))
    messages = fmt.format_result_page(result, 0, per_page=9)
    assert len(messages) > 1
    text = "".join(check_html(m) for m in messages)
    for i in range(9):
        assert f"end{i}." in text


def test_one_huge_quote_is_split_at_spaces_and_tags_reopen() -> None:
    quote = "alpha beta " * 1000 + "omega."
    result = Result("q", False, (answer(quote, (0, len(quote) - 1)),))
    messages = fmt.format_result_page(result)
    assert len(messages) >= 3
    for m in messages:
        check_html(m)
    assert messages[1].startswith("<blockquote><b>")
    assert "".join(check_html(m) for m in messages).count("alpha") == 1000


def test_emoji_count_twice_towards_the_limit() -> None:
    quote = "😀" * 3000  # 3000 code points but 6000 UTF-16 units
    messages = fmt.format_result_page(Result("q", False, (answer(quote),)))
    assert len(messages) == 2
    for m in messages:
        check_html(m)


def test_plain_text_rendering_marks_the_span_and_names_the_link() -> None:
    result = Result("q", False, (answer("NATO officials disavowed it.", (0, 14)),))
    plain = fmt.format_result_plain(result)
    assert plain.startswith("1. “[NATO officials] disavowed it.”")
    assert "— Le Monde report · 25 Nov 2024 · https://example.com/a?x=1&y=2" in plain


def test_html_to_plain_undoes_our_markup() -> None:
    html_text = '<b>a &lt;b&gt;</b> <a href="https://x.org/?a=1&amp;b=2">T</a>'
    assert fmt.html_to_plain(html_text) == "a <b> T (https://x.org/?a=1&b=2)"


def test_summary_lists_counts_and_skipped_sources() -> None:
    summary = IndexSummary(added=["a", "b"], updated=["c"], unchanged=[], removed=["d"],
                           skipped=[Skipped("bad<file>.pdf", "not a supported format")],
                           passages_embedded=12, seconds=1.25)
    text = fmt.format_summary(summary, "Reindex done")
    assert "2 added, 1 updated, 0 unchanged, 1 removed" in text
    assert "12 passages embedded" in text and "bad&lt;file&gt;.pdf" in text
    check_html(text)


def test_help_states_article_count_and_date_range() -> None:
    class Cat:
        articles, passages = 5, 120
        first_published, last_published = "2024-02-26", "2024-11-25T08:00:00"

    text = "\n\n".join(fmt.format_help(Cat(), "quote_bot", is_admin=True))  # type: ignore[arg-type]
    assert "5 news articles" in text and "26 Feb 2024 to 25 Nov 2024" in text
    assert "@quote_bot" in text and "/reindex" in text
    assert "/reindex" not in "".join(fmt.format_help(Cat(), "quote_bot"))  # type: ignore[arg-type]
    assert "No articles are indexed yet" in fmt.format_help(None, "quote_bot")[0]


@pytest.mark.parametrize("published,expected", [
    ("2024-11-25T10:00:00+00:00", "25 Nov 2024"), ("1987-03-02", "2 Mar 1987"),
    ("Nov 25, 2024", "Nov 25, 2024"), ("", None), (None, None)])
def test_format_date(published: str | None, expected: str | None) -> None:
    assert fmt.format_date(published) == expected


def test_stats_shows_sizes_readably() -> None:
    text = fmt.format_stats({"articles": 5, "index_bytes": 3_500_000,
                             "files": {"index.db": 319488, "vectors.faiss": 500}},
                            {"questions_asked": 7, "feedback_helpful": 2})
    assert "Articles: 5" in text and "Index bytes: 3.3 MB" in text and "Questions asked: 7" in text
    assert "Files: index.db 312.0 KB, vectors.faiss 500 B" in text
    check_html(text)


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6000)


@settings(max_examples=60, deadline=None)
@given(question=texts, quote=texts.filter(lambda s: s.strip()), title=texts,
       url=st.one_of(st.none(), st.text(max_size=600).map(lambda s: "https://x.org/" + s)),
       hl=st.tuples(st.integers(0, 6000), st.integers(0, 6000)), n=st.integers(1, 5),
       limit=st.sampled_from([60, 500, fmt.MAX_MESSAGE]))
def test_any_text_gives_balanced_html_within_the_limit(question: str, quote: str, title: str,
                                                        url: str | None, hl: tuple[int, int],
                                                        n: int, limit: int) -> None:
    start, end = sorted(hl)
    answers = tuple(answer(quote, (start, end) if end <= len(quote) else None,
                           (src(title=title, url=url),) * n) for _ in range(n))
    result = Result(question, False, answers)
    messages = fmt.format_result_page(result, 0, per_page=n, limit=limit)
    visible = ""
    for m in messages:
        assert fmt.telegram_len(m) <= limit
        visible += check_html(m)
    squeeze = "".join(quote.split())
    assert squeeze in "".join(visible.split())
    inline = fmt.format_inline_answer(question, answers[0])
    check_html(inline)
