"""Response parser: FETCH responses, body streaming, literals, in any chunking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import RemoteProtocolError
from mailferry.imap.events import (
    Event,
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    LiteralData,
    StreamedLiteral,
    TaggedResponse,
)
from mailferry.imap.fetch import fast_fetch, parse_fetch
from mailferry.imap.parser import ResponseParser
from mailferry.imap.tokenizer import Token, TokenReader, tokenize
from tests.imap.parser_support import (
    date,
    feed_chunks,
    merged,
    parse_bytewise,
    parse_whole,
    split_at,
)

F = FetchResponse
JUL17 = date(1996, 7, 17, 2, 44, 25, -7 * 60)
BODY = b"From: a@example.com\r\nSubject: hi\r\n\r\nline one\r\n) * 2 FETCH {5}\r\nend.\r\n"


def streamed(seq: int, item: str, data: bytes) -> list[Event]:
    chunks: list[Event] = [LiteralData(data)] if data else []
    return [FetchLiteralStart(seq, item, len(data)), *chunks, FetchLiteralEnd(seq, item)]


RFC3501_ENVELOPE = (
    b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes"'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' ((NIL NIL "imap" "cac.washington.edu"))'
    b' ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU"))'
    b' NIL NIL "<B27397-0100000@cac.washington.edu>")'
)
GRAY = (("Terry Gray", None, "gray", "cac.washington.edu"),)
RFC3501_ENVELOPE_VALUE = (
    "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    "IMAP4rev1 WG mtg summary and minutes",
    GRAY,
    GRAY,
    GRAY,
    ((None, None, "imap", "cac.washington.edu"),),
    ((None, None, "minutes", "CNRI.Reston.VA.US"), ("John Klensin", None, "KLENSIN", "MIT.EDU")),
    None,
    None,
    "<B27397-0100000@cac.washington.edu>",
)

CASES: list[tuple[str, bytes, list[Event]]] = [
    (
        "rfc3501-envelope",
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286'
        b" ENVELOPE " + RFC3501_ENVELOPE + b' BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII")'
        b' NIL NIL "7BIT" 3028 92))\r\n',
        [
            F(
                12,
                {
                    "FLAGS": ("\\Seen",),
                    "INTERNALDATE": JUL17,
                    "RFC822.SIZE": 4286,
                    "ENVELOPE": RFC3501_ENVELOPE_VALUE,
                    "BODY": (
                        "TEXT",
                        "PLAIN",
                        ("CHARSET", "US-ASCII"),
                        None,
                        None,
                        "7BIT",
                        3028,
                        92,
                    ),
                },
            )
        ],
    ),
    (
        "brief-example",
        b'* 12 FETCH (UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE "17-Jul-1996 02:44:25 -0700"'
        b" RFC822.SIZE %d MODSEQ (12121231000) BODY[] {%d}\r\n"
        % (len(BODY), len(BODY))
        + BODY
        + b")\r\n",
        [
            *streamed(12, "BODY[]", BODY),
            F(
                12,
                {
                    "UID": 7,
                    "FLAGS": ("\\Seen", "$Forwarded"),
                    "INTERNALDATE": JUL17,
                    "RFC822.SIZE": len(BODY),
                    "MODSEQ": 12121231000,
                    "BODY[]": StreamedLiteral(len(BODY)),
                },
            ),
        ],
    ),
    (
        "uid-after-body",
        b"* 1 FETCH (BODY[] {5}\r\nhello UID 7)\r\n",
        [*streamed(1, "BODY[]", b"hello"), F(1, {"BODY[]": StreamedLiteral(5), "UID": 7})],
    ),
    (
        "padded-day",
        b'* 3 FETCH (INTERNALDATE " 7-Jul-1996 02:44:25 +0530" UID 9)\r\n',
        [F(3, {"INTERNALDATE": date(1996, 7, 7, 2, 44, 25, 330), "UID": 9})],
    ),
    (
        "header-fields",
        b"* 2 FETCH (UID 8 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {28}\r\n"
        b"Message-ID: <a@b>\r\nDate: x\r\n)\r\n",
        [
            *streamed(
                2, "BODY[HEADER.FIELDS (MESSAGE-ID DATE)]", b"Message-ID: <a@b>\r\nDate: x\r\n"
            ),
            F(2, {"UID": 8, "BODY[HEADER.FIELDS (MESSAGE-ID DATE)]": StreamedLiteral(28)}),
        ],
    ),
    (
        "header-fields-not-lower",
        b"* 2 FETCH (body[header.fields.not (Received)] {4}\r\nX: y UID 3)\r\n",
        [
            *streamed(2, "BODY[HEADER.FIELDS.NOT (RECEIVED)]", b"X: y"),
            F(2, {"BODY[HEADER.FIELDS.NOT (RECEIVED)]": StreamedLiteral(4), "UID": 3}),
        ],
    ),
    (
        "peek-removed",
        b"* 4 FETCH (UID 10 BODY.PEEK[TEXT] {3}\r\nabc)\r\n",
        [*streamed(4, "BODY[TEXT]", b"abc"), F(4, {"UID": 10, "BODY[TEXT]": StreamedLiteral(3)})],
    ),
    (
        "partial-origin",
        b"* 5 FETCH (BODY[]<0> {4}\r\nFrom UID 11)\r\n",
        [*streamed(5, "BODY[]<0>", b"From"), F(5, {"BODY[]<0>": StreamedLiteral(4), "UID": 11})],
    ),
    (
        "binary-literal8",
        b"* 6 FETCH (UID 12 BINARY[1] ~{4}\r\n\x00\x01\xff\r BINARY.SIZE[1] 4)\r\n",
        [
            *streamed(6, "BINARY[1]", b"\x00\x01\xff\r"),
            F(6, {"UID": 12, "BINARY[1]": StreamedLiteral(4), "BINARY.SIZE[1]": 4}),
        ],
    ),
    (
        "rfc822-items",
        b"* 7 FETCH (RFC822.HEADER {2}\r\nH: RFC822.TEXT {1}\r\nT RFC822 {3}\r\nH:T)\r\n",
        [
            *streamed(7, "RFC822.HEADER", b"H:"),
            *streamed(7, "RFC822.TEXT", b"T"),
            *streamed(7, "RFC822", b"H:T"),
            F(
                7,
                {
                    "RFC822.HEADER": StreamedLiteral(2),
                    "RFC822.TEXT": StreamedLiteral(1),
                    "RFC822": StreamedLiteral(3),
                },
            ),
        ],
    ),
    (
        "two-sections",
        b"* 8 FETCH (BODY[HEADER] {3}\r\nabc BODY[TEXT] {2}\r\nde UID 1)\r\n",
        [
            *streamed(8, "BODY[HEADER]", b"abc"),
            *streamed(8, "BODY[TEXT]", b"de"),
            F(8, {"BODY[HEADER]": StreamedLiteral(3), "BODY[TEXT]": StreamedLiteral(2), "UID": 1}),
        ],
    ),
    (
        "empty-literal",
        b"* 9 FETCH (UID 2 BODY[] {0}\r\n)\r\n",
        [*streamed(9, "BODY[]", b""), F(9, {"UID": 2, "BODY[]": StreamedLiteral(0)})],
    ),
    (
        "non-sync-literal-lenient",
        b"* 9 FETCH (BODY[] {2+}\r\nab)\r\n",
        [*streamed(9, "BODY[]", b"ab"), F(9, {"BODY[]": StreamedLiteral(2)})],
    ),
    (
        "quoted-body",
        b'* 10 FETCH (BODY[1] "a \\"quoted\\" body" UID 5)\r\n',
        [F(10, {"BODY[1]": b'a "quoted" body', "UID": 5})],
    ),
    ("nil-body", b"* 11 FETCH (BODY[2] NIL)\r\n", [F(11, {"BODY[2]": None})]),
    (
        "unsolicited-flags",
        b"* 5 FETCH (FLAGS (\\Deleted \\Seen))\r\n",
        [F(5, {"FLAGS": ("\\Deleted", "\\Seen")})],
    ),
    (
        "unsolicited-condstore",
        b"* 5 FETCH (UID 9 FLAGS () MODSEQ (3))\r\n",
        [F(5, {"UID": 9, "FLAGS": (), "MODSEQ": 3})],
    ),
    (
        "envelope-literal-subject",
        b"* 13 FETCH (UID 1 ENVELOPE (NIL {7}\r\nSub\r\nj)"
        b' NIL NIL NIL NIL NIL NIL NIL "<x@y>"))\r\n',
        [
            F(
                13,
                {
                    "UID": 1,
                    "ENVELOPE": (
                        None,
                        b"Sub\r\nj)",
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        "<x@y>",
                    ),
                },
            )
        ],
    ),
    (
        "bodystructure-literal",
        b'* 14 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("NAME" {5}\r\na b c) NIL NIL "7BIT" 10 1)'
        b" UID 3)\r\n",
        [
            F(
                14,
                {
                    "BODYSTRUCTURE": (
                        "TEXT",
                        "PLAIN",
                        ("NAME", b"a b c"),
                        None,
                        None,
                        "7BIT",
                        10,
                        1,
                    ),
                    "UID": 3,
                },
            )
        ],
    ),
    (
        "nested-body-name-not-streamed",
        b"* 15 FETCH (XWEIRD (BODY[] {3}\r\nabc) UID 4)\r\n",
        [F(15, {"XWEIRD": ("BODY[]", b"abc"), "UID": 4})],
    ),
    (
        "gmail",
        b"* 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334865"
        b' X-GM-LABELS (\\Inbox \\Sent Important "Muy Importante") UID 4 FLAGS (\\Seen))\r\n',
        [
            F(
                1,
                {
                    "X-GM-THRID": 1278455344230334865,
                    "X-GM-MSGID": 1278455344230334865,
                    "X-GM-LABELS": ("\\Inbox", "\\Sent", "Important", "Muy Importante"),
                    "UID": 4,
                    "FLAGS": ("\\Seen",),
                },
            )
        ],
    ),
    (
        "gmail-simple-labels",
        b"* 2 FETCH (X-GM-LABELS (\\Important foo 12 NIL) UID 5 BODY[] {1}\r\nx)\r\n",
        [
            *streamed(2, "BODY[]", b"x"),
            F(
                2,
                {
                    "X-GM-LABELS": ("\\Important", "foo", 12, None),
                    "UID": 5,
                    "BODY[]": StreamedLiteral(1),
                },
            ),
        ],
    ),
    (
        "exchange-order",
        b'* 1 FETCH (UID 1 RFC822.SIZE 3 FLAGS (\\Seen) INTERNALDATE "02-Jan-2024 10:00:00 +0000"'
        b" BODY[] {3}\r\nabc)\r\n",
        [
            *streamed(1, "BODY[]", b"abc"),
            F(
                1,
                {
                    "UID": 1,
                    "RFC822.SIZE": 3,
                    "FLAGS": ("\\Seen",),
                    "INTERNALDATE": date(2024, 1, 2, 10, 0, 0, 0),
                    "BODY[]": StreamedLiteral(3),
                },
            ),
        ],
    ),
    (
        "emailid-threadid",
        b'* 3 FETCH (EMAILID (M6d99ac3275bb4e) THREADID NIL SAVEDATE "x"'
        b' PREVIEW "Hi \\\\ there")\r\n',
        [
            F(
                3,
                {
                    "EMAILID": ("M6d99ac3275bb4e",),
                    "THREADID": None,
                    "SAVEDATE": "x",
                    "PREVIEW": "Hi \\ there",
                },
            )
        ],
    ),
    (
        "lower-case-names",
        b"* 4 fetch (uid 5 flags (\\seen) rfc822.size 10)\r\n",
        [F(4, {"UID": 5, "FLAGS": ("\\seen",), "RFC822.SIZE": 10})],
    ),
    (
        "extra-spaces",
        b"* 4 FETCH (UID 5  FLAGS (\\Seen) ) \r\n",
        [F(4, {"UID": 5, "FLAGS": ("\\Seen",)})],
    ),
    (
        "utf8-flag",
        "* 4 FETCH (FLAGS (\\Seen Wichtig\u00e4))\r\n".encode(),
        [F(4, {"FLAGS": ("\\Seen", "Wichtig\u00e4")})],
    ),
    (
        "big-modseq",
        b"* 4 FETCH (MODSEQ (18446744073709551615))\r\n",
        [F(4, {"MODSEQ": 18446744073709551615})],
    ),
]

_IDS = [case[0] for case in CASES]
_PARAMS = [case[1:] for case in CASES]


@pytest.mark.parametrize(("data", "expected"), _PARAMS, ids=_IDS)
def test_whole(data: bytes, expected: list[Event]) -> None:
    assert parse_whole(data) == expected


@pytest.mark.parametrize(("data", "expected"), _PARAMS, ids=_IDS)
def test_byte_by_byte(data: bytes, expected: list[Event]) -> None:
    assert parse_bytewise(data) == expected


@pytest.mark.parametrize(("data", "expected"), _PARAMS, ids=_IDS)
@settings(max_examples=20, deadline=None)
@given(st.data())
def test_random_chunks(data: bytes, expected: list[Event], draw: st.DataObject) -> None:
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=10))
    assert merged(feed_chunks(split_at(data, cuts))) == expected


def test_whole_table_as_one_stream() -> None:
    stream = b"".join(case[1] for case in CASES) + b"a1 OK FETCH completed\r\n"
    expected = [
        *(e for case in CASES for e in case[2]),
        TaggedResponse("a1", "OK", None, "FETCH completed"),
    ]
    assert parse_whole(stream) == expected
    assert parse_bytewise(stream) == expected


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
        slow: dict[str, object] | None = dict(parse_fetch(TokenReader(tokens), 1).attributes)
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
