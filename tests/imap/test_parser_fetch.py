"""Response parser: FETCH responses and their streamed bodies, in any chunking."""

from __future__ import annotations

from mailferry.imap.events import (
    Event,
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    LiteralData,
    StreamedLiteral,
    TaggedResponse,
)
from tests.imap.parser_support import (
    STREAM_ALL,
    WHOLE_DEFAULT,
    Case,
    date,
    normalized,
    parse_bytewise,
    parse_whole,
    table_tests,
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

CASES: list[Case] = [
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

test_whole, test_byte_by_byte, test_random_chunks = table_tests(CASES, examples=20)


def test_whole_table_as_one_stream() -> None:
    stream = b"".join(case[1] for case in CASES) + b"a1 OK FETCH completed\r\n"
    done = TaggedResponse("a1", "OK", None, "FETCH completed")
    expected = normalized([*(e for case in CASES for e in case[2]), done])
    for whole in (STREAM_ALL, WHOLE_DEFAULT):
        assert parse_whole(stream, whole=whole) == expected
        assert parse_bytewise(stream, whole=whole) == expected
