"""Response parser: streaming bounds, caps, nesting, and the FETCH fast path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import ResponseTooLarge
from mailferry.imap.events import (
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    LiteralData,
    StreamedLiteral,
)
from mailferry.imap.parser import ResponseParser
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


@pytest.mark.parametrize("whole", [0, 10])
def test_body_literal_may_exceed_inline_cap_but_not_literal_cap(whole: int) -> None:
    parser = ResponseParser(
        expect_greeting=False, max_inline_literal=4, max_literal_size=10, max_whole_body=whole
    )
    parser.feed(b"* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n")
    events = merged(parser.events())
    if whole:
        assert events == [F(1, {"BODY[]": b"0123456789"})]
    else:
        assert events[-1] == F(1, {"BODY[]": StreamedLiteral(10)})
        assert events[1] == LiteralData(b"0123456789")
    parser.feed(b"* 2 FETCH (BODY[] {11}\r\n")
    with pytest.raises(ResponseTooLarge):
        parser.next_event()


def test_body_events_come_before_the_rest_of_the_response_arrives() -> None:
    parser = ResponseParser(expect_greeting=False, max_whole_body=0)
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
    parser = ResponseParser(
        expect_greeting=False, max_literal_size=6, max_inline_literal=3, max_whole_body=0
    )
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


def test_small_body_comes_whole_in_one_event_in_any_chunking() -> None:
    data = b"* 3 FETCH (UID 9 FLAGS (\\Seen) BODY[] {12}\r\nhello\r\nworld UID 9)\r\n"
    expected = [F(3, {"UID": 9, "FLAGS": ("\\Seen",), "BODY[]": b"hello\r\nworld"})]
    parser = ResponseParser(expect_greeting=False, max_whole_body=12)
    for byte in range(len(data)):
        parser.feed(data[byte : byte + 1])
        events = list(parser.events())
        assert events == (expected if byte == len(data) - 1 else [])
    assert parser.idle and parser.buffered == 0


def test_whole_body_budget_is_per_response() -> None:
    data = b"* 1 FETCH (BODY[1] {6}\r\nabcdef BODY[2] {6}\r\nghijkl)\r\n"
    parser = ResponseParser(expect_greeting=False, max_whole_body=10)
    parser.feed(data * 2)
    events = merged(parser.events())
    one = [
        FetchLiteralStart(1, "BODY[2]", 6),
        LiteralData(b"ghijkl"),
        FetchLiteralEnd(1, "BODY[2]"),
        F(1, {"BODY[1]": b"abcdef", "BODY[2]": StreamedLiteral(6)}),
    ]
    assert events == one + one


def test_body_over_the_limit_is_streamed_while_it_arrives() -> None:
    parser = ResponseParser(expect_greeting=False, max_whole_body=100)
    parser.feed(b"* 1 FETCH (BODY[] {101}\r\n" + b"x" * 50)
    assert list(parser.events()) == [FetchLiteralStart(1, "BODY[]", 101), LiteralData(b"x" * 50)]


def _receive(parser: ResponseParser, data: bytes, sizes: list[int]) -> list[object]:
    """Hand ``data`` to the parser through get_buffer/buffer_updated, draining events."""
    events: list[object] = []
    offset, turn = 0, 0
    while offset < len(data):
        view = parser.get_buffer(-1)
        assert len(view) >= 64 * 1024
        size = min(len(view), sizes[turn % len(sizes)], len(data) - offset)
        view[:size] = data[offset : offset + size]
        del view
        parser.buffer_updated(size)
        offset, turn = offset + size, turn + 1
        events.extend(parser.events())
    return events


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 200_000), min_size=1, max_size=8), st.sampled_from([0, 60_000]))
def test_receiving_into_the_buffer_equals_feeding(sizes: list[int], whole: int) -> None:
    bodies = [bytes([65 + n % 26]) * (n * 7919 % 150_000) for n in range(12)]
    data = b"".join(
        b"* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n" % (n, n, len(b), b)
        for n, b in enumerate(bodies, 1)
    )
    fed = ResponseParser(expect_greeting=False, max_whole_body=whole)
    fed.feed(data)
    received = ResponseParser(expect_greeting=False, max_whole_body=whole, buffer_size=64 * 1024)
    assert merged(_receive(received, data, sizes)) == merged(fed.events())  # type: ignore[arg-type]
    assert received.idle and received.buffered == 0


def test_buffer_stays_bounded_while_a_big_body_streams() -> None:
    body = b"z" * (8 * 1024 * 1024)
    data = b"* 1 FETCH (BODY[] {%d}\r\n%s)\r\n" % (len(body), body)
    parser = ResponseParser(expect_greeting=False, max_whole_body=256 * 1024)
    events = _receive(parser, data, [256 * 1024])
    assert sum(len(e.data) for e in events if isinstance(e, LiteralData)) == len(body)
    assert len(parser.get_buffer(-1)) <= 512 * 1024


def test_take_unread_hands_back_what_no_event_used() -> None:
    parser = ResponseParser(expect_greeting=False)
    parser.feed(b"a1 OK done\r\n\x78\x9c compressed")
    assert [type(e).__name__ for e in parser.events()] == ["TaggedResponse"]
    assert parser.unread == 13
    assert parser.take_unread() == b"\x78\x9c compressed"
    assert parser.idle and parser.unread == 0
