"""Response parser: malformed and hostile input gives the right error, never a hang."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import RemoteProtocolError, ResponseTooLarge
from mailferry.imap.events import Event, Exists, Greeting
from mailferry.imap.parser import ResponseParser
from tests.imap.parser_support import feed_chunks

MALFORMED: list[tuple[str, bytes, str]] = [
    ("garbage-tag", b"(foo) OK done\r\n", "malformed"),
    ("tag-without-status", b"a1 HELLO there\r\n", "tagged"),
    ("tag-only", b"a1\r\n", "tagged"),
    ("nul-tag", b"\x00\x01\x02 OK\r\n", "malformed"),
    ("star-without-space", b"*OK hi\r\n", "malformed"),
    ("untagged-number-only", b"* 5\r\n", "untagged"),
    (
        "unterminated-quoted-fetch",
        b'* 1 FETCH (UID 1 INTERNALDATE "17-Jul-1996 02:44:25 -0700)\r\n',
        "quoted",
    ),
    ("unterminated-quoted-list", b'* LIST (\\Noselect) "/" "unterminated\r\n', "unterminated"),
    ("non-digit-literal-size", b"* 1 FETCH (BODY[] {12a}\r\n", "literal size"),
    ("empty-literal-size", b"* 1 FETCH (BODY[] {}\r\n", "literal size"),
    (
        "bad-internaldate-day",
        b'* 1 FETCH (INTERNALDATE "32-Jul-1996 02:44:25 -0700")\r\n',
        "INTERNALDATE",
    ),
    (
        "bad-internaldate-month",
        b'* 1 FETCH (INTERNALDATE "17-Foo-1996 02:44:25 -0700")\r\n',
        "INTERNALDATE",
    ),
    (
        "bad-internaldate-zone",
        b'* 1 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 -0799")\r\n',
        "INTERNALDATE",
    ),
    ("internaldate-unquoted", b"* 1 FETCH (INTERNALDATE 17-Jul-1996)\r\n", "INTERNALDATE"),
    ("fetch-missing-close", b"* 1 FETCH (UID 1 FLAGS (\\Seen)\r\n", "end"),
    ("fetch-extra-close", b"* 1 FETCH (UID 1))\r\n", "unexpected data"),
    ("fetch-no-parens", b"* 1 FETCH UID 1\r\n", "("),
    ("fetch-unbalanced-generic", b"* 1 FETCH (X (((a)) UID 1\r\n", "end"),
    ("fetch-stray-close", b"* 1 FETCH (X a) b))\r\n", "unexpected"),
    ("fetch-uid-not-number", b"* 1 FETCH (UID abc)\r\n", "number"),
    ("fetch-flags-not-list", b"* 1 FETCH (FLAGS \\Seen)\r\n", "("),
    ("fetch-flags-unclosed", b"* 1 FETCH (FLAGS (\\Seen\r\n", "flag"),
    ("fetch-modseq-bad", b"* 1 FETCH (MODSEQ 5)\r\n", "MODSEQ"),
    ("fetch-body-atom", b"* 1 FETCH (BODY[] foo)\r\n", "body"),
    ("fetch-control-byte", b"* 1 FETCH (X \x01)\r\n", "unexpected byte"),
    ("flags-unbalanced", b"* FLAGS (\\Seen\r\n", "end"),
    ("status-unbalanced", b"* STATUS INBOX (MESSAGES 1\r\n", "end"),
    ("list-unbalanced", b'* LIST (\\Noselect "/" foo\r\n', "LIST"),
    ("list-no-name", b'* LIST () "/"\r\n', "mailbox"),
    ("exists-extra", b"* 5 EXISTS now\r\n", "EXISTS"),
    ("search-not-number", b"* SEARCH 1 a\r\n", "number"),
    ("esearch-star", b"* ESEARCH ALL 1:*\r\n", "sequence set"),
    ("vanished-zero", b"* VANISHED 0:3\r\n", "sequence set"),
    ("bad-uidvalidity", b"* OK [UIDVALIDITY abc] x\r\n", "UIDVALIDITY"),
    ("bad-appenduid", b"a1 OK [APPENDUID 1] x\r\n", "APPENDUID"),
    ("bad-copyuid", b"a1 OK [COPYUID 1 2:3 x] x\r\n", "COPYUID"),
    ("namespace-garbage", b"* NAMESPACE foo NIL NIL\r\n", "NAMESPACE"),
    ("id-odd", b'* ID ("name")\r\n', "ID"),
]


@pytest.mark.parametrize(
    ("data", "fragment"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_whole_and_bytewise(data: bytes, fragment: str) -> None:
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        with pytest.raises(RemoteProtocolError) as info:
            feed_chunks(chunks)
        assert fragment.lower() in str(info.value).lower()


def test_error_message_has_escaped_excerpt() -> None:
    with pytest.raises(RemoteProtocolError, match=r"\\x00"):
        feed_chunks([b"\x00junk\r\n"])


def test_parser_refuses_use_after_error() -> None:
    parser = ResponseParser(expect_greeting=False)
    parser.feed(b"a1 WHAT\r\n* 1 EXISTS\r\n")
    with pytest.raises(RemoteProtocolError):
        parser.next_event()
    with pytest.raises(RemoteProtocolError, match="earlier error"):
        parser.next_event()


def test_expected_greeting_but_got_tagged_or_continuation() -> None:
    for data in (b"a1 OK hi\r\n", b"+ go\r\n", b"* NO hi\r\n", b"* 1 EXISTS\r\n"):
        with pytest.raises(RemoteProtocolError, match="greeting"):
            feed_chunks([data], greeting=True)


def test_rearmed_greeting() -> None:
    parser = ResponseParser(expect_greeting=False)
    parser.feed(b"* 1 EXISTS\r\n")
    assert list(parser.events()) == [Exists(1)]
    parser.expect_greeting()
    parser.feed(b"* OK again\r\n")
    assert list(parser.events()) == [Greeting("OK", None, "again")]


def test_truncated_input_is_need_data_not_error() -> None:
    data = (
        b"* 1 FETCH (UID 4 ENVELOPE (NIL {3}\r\nabc) BODY[] {10}\r\n0123456789)\r\n"
        b'* LIST () "/" {3}\r\nabc\r\na1 OK done\r\n'
    )
    for cut in range(len(data)):
        parser = ResponseParser(expect_greeting=False)
        parser.feed(data[:cut])
        list(parser.events())  # must not raise
        assert parser.next_event() is None


def test_huge_literal_announcement_fails_before_allocation() -> None:
    parser = ResponseParser(expect_greeting=False)
    parser.feed(b"* 1 FETCH (BODY[] {99999999999}\r\n")
    with pytest.raises(ResponseTooLarge) as info:
        parser.next_event()
    assert info.value.size == 99999999999


def test_absurd_literal_digits() -> None:
    with pytest.raises(ResponseTooLarge):
        feed_chunks([b"* 1 FETCH (BODY[] {" + b"9" * 5000 + b"}\r\n"])


def test_inline_literal_over_cap() -> None:
    parser = ResponseParser(expect_greeting=False, max_inline_literal=100)
    parser.feed(b"* 1 FETCH (UID 1 ENVELOPE ({101}\r\n")
    with pytest.raises(ResponseTooLarge) as info:
        parser.next_event()
    assert (info.value.size, info.value.limit) == (101, 100)


def test_inline_literals_of_one_response_are_capped_in_total() -> None:
    parser = ResponseParser(expect_greeting=False, max_line_length=1000, max_inline_literal=600)
    parser.feed(b"* 1 FETCH (X ({500}\r\n" + b"a" * 500 + b" {501}\r\n")
    with pytest.raises(ResponseTooLarge):
        list(parser.events())


def test_long_line_without_crlf_fails_quickly() -> None:
    parser = ResponseParser(expect_greeting=False)
    started = time.process_time()
    parser.feed(b"* SEARCH" + b" 1" * (10 * 1024 * 1024))  # 20 MB, no CRLF
    with pytest.raises(ResponseTooLarge) as info:
        parser.next_event()
    assert info.value.limit == 16 * 1024 * 1024
    assert time.process_time() - started < 2.0


def test_long_line_fed_in_chunks_fails_once_over_cap() -> None:
    parser = ResponseParser(expect_greeting=False, max_line_length=10_000)
    chunk = b"x" * 1000
    parser.feed(b"* XLONG ")
    with pytest.raises(ResponseTooLarge):
        for _ in range(11):
            parser.feed(chunk)
            assert parser.next_event() is None


def test_line_exactly_at_cap_is_accepted() -> None:
    line = b"* SEARCH " + b"1 " * 45 + b"1"
    parser = ResponseParser(expect_greeting=False, max_line_length=len(line))
    parser.feed(line + b"\r\n")
    assert parser.next_event() is not None
    parser = ResponseParser(expect_greeting=False, max_line_length=len(line) - 1)
    parser.feed(line + b"\r\n")
    with pytest.raises(ResponseTooLarge):
        parser.next_event()


def test_response_text_over_several_segments_is_capped() -> None:
    parser = ResponseParser(expect_greeting=False, max_line_length=100)
    segment = b"a" * 40 + b" {1}\r\nx "
    with pytest.raises(ResponseTooLarge):
        feed_chunks_into(parser, b"* 1 FETCH (X (" + segment * 5 + b"))\r\n")


def feed_chunks_into(parser: ResponseParser, data: bytes) -> list[Event]:
    parser.feed(data)
    return list(parser.events())


def test_byte_by_byte_long_line_is_linear() -> None:
    parser = ResponseParser(expect_greeting=False)
    data = b"* SEARCH" + b" 7" * 50_000 + b"\r\n"
    started = time.process_time()
    events: list[Event] = []
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
        events.extend(parser.events())
    assert len(events) == 1
    assert time.process_time() - started < 5.0


IMAP_FRAGMENTS = [
    b"* ",
    b"+ ",
    b"a1 ",
    b"OK ",
    b"NO ",
    b"FETCH ",
    b"LIST ",
    b"STATUS ",
    b"(",
    b")",
    b"{3}\r\n",
    b"{0}\r\n",
    b"~{2}\r\n",
    b'"',
    b"\\",
    b"\r\n",
    b"BODY[] ",
    b"BODY[HEADER.FIELDS (A)] ",
    b"UID ",
    b"1 ",
    b"NIL ",
    b"[",
    b"]",
    b"FLAGS ",
    b"INTERNALDATE ",
    b'"17-Jul-1996 02:44:25 -0700" ',
    b"\x00",
    b"\xff",
    b"ESEARCH ",
    b"ALL ",
    b"1:3,5 ",
    b"VANISHED ",
    b"(EARLIER) ",
    b"NAMESPACE ",
    b"ID ",
    b"MODSEQ ",
    b"{99999999999}\r\n",
    b"abc",
]


def _run_to_end(data: bytes, chunk: int) -> None:
    """Feed ``data``; only events or RemoteProtocolError may come out, and it must stop."""
    parser = ResponseParser(expect_greeting=False, max_line_length=4096, max_inline_literal=1024)
    produced = 0
    try:
        for offset in range(0, len(data), chunk):
            parser.feed(data[offset : offset + chunk])
            while parser.next_event() is not None:
                produced += 1
                assert produced <= 3 * len(data) + 3, "parser keeps producing events"
    except RemoteProtocolError:
        return


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 50))
def test_fuzz_random_bytes(data: bytes, chunk: int) -> None:
    _run_to_end(data, chunk)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(IMAP_FRAGMENTS), max_size=40), st.integers(1, 50))
def test_fuzz_imap_like_bytes(fragments: list[bytes], chunk: int) -> None:
    _run_to_end(b"".join(fragments), chunk)
