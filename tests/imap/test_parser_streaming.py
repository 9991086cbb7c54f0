"""Response parser: streaming bounds, caps, nesting, and the FETCH fast path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import RemoteProtocolError
from mailferry.imap.events import (
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    LiteralData,
    StreamedLiteral,
)
from mailferry.imap.fetch import fast_fetch, parse_fetch
from mailferry.imap.parser import ResponseParser
from mailferry.imap.tokenizer import Token, tokenize
from tests.imap.parser_support import (
    date,
    merged,
    parse_whole,
)

F = FetchResponse
JUL17 = date(1996, 7, 17, 2, 44, 25, -7 * 60)


def test_literal_chunks_are_slices_of_the_feeds() -> None:
    body = bytes(range(256)) * 4000  # ~1 MB, larger than max_inline_literal below
    data = b"* 1 FETCH (UID 3 BODY[] {%d}\r\n" % len(body) + body + b")\r\n"
    parser = ResponseParser(expect_greeting=False, max_inline_literal=1000)
    chunk_size = 4096
    received = bytearray()
    for offset in range(0, len(data), chunk_size):
        parser.feed(data[offset : offset + chunk_size])
        assert parser.buffered <= 2 * chunk_size
        for event in parser.events():
            if isinstance(event, LiteralData):
                assert 0 < len(event.data) <= chunk_size
                received += event.data
    assert received == body
    assert parser.idle


def test_streamed_literal_may_exceed_inline_cap_but_not_literal_cap() -> None:
    parser = ResponseParser(expect_greeting=False, max_inline_literal=4, max_literal_size=10)
    parser.feed(b"* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n")
    events = merged(parser.events())
    assert events[-1] == F(1, {"BODY[]": StreamedLiteral(10)})
    assert events[1] == LiteralData(b"0123456789")


def test_body_events_come_before_the_rest_of_the_response_arrives() -> None:
    parser = ResponseParser(expect_greeting=False)
    parser.feed(b"* 1 FETCH (UID 3 BODY[] {10}\r\n01234")
    assert list(parser.events()) == [FetchLiteralStart(1, "BODY[]", 10), LiteralData(b"01234")]
    assert not parser.idle
    parser.feed(b"56789)\r\n")
    assert list(parser.events()) == [
        LiteralData(b"56789"),
        FetchLiteralEnd(1, "BODY[]"),
        F(1, {"UID": 3, "BODY[]": StreamedLiteral(10)}),
    ]
    assert parser.idle and parser.buffered == 0


def test_deep_nesting_does_not_recurse() -> None:
    depth = 50_000
    data = b"* 1 FETCH (X " + b"(" * depth + b"a" + b")" * depth + b")\r\n"
    (event,) = parse_whole(data)
    assert isinstance(event, FetchResponse)
    value = event.attributes["X"]
    for _ in range(depth):
        assert isinstance(value, tuple) and len(value) == 1
        value = value[0]
    assert value == "a"


def test_properties_of_fetch_response() -> None:
    (event,) = parse_whole(
        b'* 1 FETCH (UID 4 FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700")\r\n'
    )
    assert isinstance(event, FetchResponse)
    assert (event.uid, event.flags, event.internaldate) == (4, ("\\Seen",), JUL17)


_FLAG = st.sampled_from(["\\Seen", "\\Answered", "\\*", "$Forwarded", "NonJunk", "Wichtig", "\\"])
_ATOMISH = st.sampled_from(["foo", "\\Inbox", "NIL", "12", "007", "a]b", "x[y]"])
_VALUES = st.one_of(
    st.integers(0, 2**70).map(str),
    st.lists(_FLAG, max_size=4).map(lambda f: "(" + " ".join(f) + ")"),
    st.lists(_ATOMISH, max_size=4).map(lambda f: "(" + " ".join(f) + ")"),
    st.sampled_from(['"17-Jul-1996 02:44:25 -0700"', '" 1-Jan-2024 00:00:00 +0000"', '"x"', '""']),
    st.sampled_from(['"31-Feb-2024 00:00:00 +0000"', '"a\\"b"', "NIL", "(1 2)", "(5)"]),
)
_NAMES = st.sampled_from(
    [
        "UID",
        "RFC822.SIZE",
        "FLAGS",
        "INTERNALDATE",
        "MODSEQ",
        "X-GM-LABELS",
        "X-FOO",
        "RFC822",
        "uid",
    ]
)


_NUMBER = st.integers(0, 2**70).map(str)
_FLAGS = st.lists(_FLAG, max_size=4).map(lambda f: "(" + " ".join(f) + ")")
_DATE = st.sampled_from(['"17-Jul-1996 02:44:25 -0700"', '" 1-Jan-2024 00:00:00 +0000"'])
_ITEMS = st.one_of(
    st.tuples(st.sampled_from(["UID", "RFC822.SIZE", "X-GM-MSGID"]), _NUMBER),
    st.tuples(st.just("FLAGS"), _FLAGS),
    st.tuples(st.just("INTERNALDATE"), _DATE),
    st.tuples(st.just("MODSEQ"), _NUMBER.map(lambda n: f"({n})")),
    st.tuples(_NAMES, _VALUES),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ITEMS, max_size=6), st.booleans())
def test_fast_path_agrees_with_token_path(items: list[tuple[str, str]], with_body: bool) -> None:
    """fetch.fast_fetch (the hot path) must give what the general token reader gives."""
    inner = " ".join(f"{name} {value}" for name, value in items)
    ending = (" BODY[]" if inner else "BODY[]") if with_body else ")"
    text = (" (" + inner + ending).encode()
    tokens: list[Token] = list(tokenize(text))
    if with_body:
        tokens += [StreamedLiteral(1), b")"]
    try:
        slow: dict[str, object] | None = dict(parse_fetch(tokens, 1).attributes)
    except RemoteProtocolError:
        slow = None
    try:
        fast = fast_fetch(text)
    except RemoteProtocolError:
        assert slow is None
        return
    if fast is not None:
        assert slow is not None
        attributes, body = fast
        assert body == (b"BODY[]" if with_body else None)
        if with_body:
            attributes = {**attributes, "BODY[]": StreamedLiteral(1)}
        assert attributes == slow


def test_idle_and_buffered() -> None:
    parser = ResponseParser(expect_greeting=False)
    assert parser.idle and parser.buffered == 0
    parser.feed(b"* 1 EXISTS\r\n* 2 EXI")
    assert not parser.idle and parser.buffered == 19
    assert parser.next_event() is not None
    assert parser.next_event() is None
    assert not parser.idle and parser.buffered == 7
    parser.feed(b"STS\r\n")
    assert parser.next_event() is not None
    assert parser.idle and parser.buffered == 0


def test_literals_exactly_at_the_caps_are_accepted() -> None:
    parser = ResponseParser(expect_greeting=False, max_literal_size=6, max_inline_literal=3)
    parser.feed(b"* 1 FETCH (X ({3}\r\nabc) BODY[] {6}\r\n123456)\r\n")
    events = merged(parser.events())
    assert events[-1] == F(1, {"X": (b"abc",), "BODY[]": StreamedLiteral(6)})


def test_inline_literal_waits_for_all_its_bytes() -> None:
    parser = ResponseParser(expect_greeting=False)
    parser.feed(b'* LIST () "/" {6}\r\nab')
    assert parser.next_event() is None
    assert parser.buffered == len(b'* LIST () "/" {6}\r\nab')
    parser.feed(b"cdef\r\n")
    event = parser.next_event()
    assert event is not None and getattr(event, "name", None) == "abcdef"
