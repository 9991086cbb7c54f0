"""CommandEncoder: exact bytes for every serialisation rule, literal modes, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mailferry.errors import LocalProtocolError
from mailferry.imap.commands import (
    LITERAL_MINUS_MAX,
    AppendMessage,
    Arg,
    Atom,
    CommandEncoder,
    Literal,
    Mailbox,
    Raw,
    Segment,
    append_args,
    imap_datetime,
)

PLUS = ("IMAP4rev1", "LITERAL+")
MINUS = ("IMAP4rev1", "LITERAL-")


def wire(segments: list[Segment]) -> list[tuple[bytes, bool]]:
    return [(b"".join(bytes(p) for p in s.parts), s.wait_for_continuation) for s in segments]


def one_line(*args: Arg, caps: tuple[str, ...] = ()) -> bytes:
    """The bytes after ``T CMD `` of a command that must fit in one segment."""
    [(data, wait)] = wire(CommandEncoder(caps).encode("T", "CMD", *args))
    assert not wait
    assert data.startswith(b"T CMD ") and data.endswith(b"\r\n")
    return data[len(b"T CMD ") : -2]


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("INBOX", b"INBOX"),
        ("user@example.com", b"user@example.com"),
        ("a[b", b'"a[b"'),  # "[" quoted for lenient peers
        ("", b'""'),
        ("two words", b'"two words"'),
        ('say "hi"', b'"say \\"hi\\""'),
        ("back\\slash", b'"back\\\\slash"'),
        ("a]b", b'"a]b"'),
        ("(x)", b'"(x)"'),
        ("{5}", b'"{5}"'),
        ("50%", b'"50%"'),
        ("*", b'"*"'),
        ("tab\there", b'"tab\there"'),
        ("NIL", b'"NIL"'),
        ("nil", b'"nil"'),
        ("NILS", b"NILS"),
        (b"bytes-atom", b"bytes-atom"),
        (b"quoted bytes", b'"quoted bytes"'),
        (bytearray(b"ba"), b"ba"),
        (0, b"0"),
        (4294967295, b"4294967295"),
        (2**63 - 1, b"9223372036854775807"),
        (Atom("BODY.PEEK[]"), b"BODY.PEEK[]"),
        (Atom("\\Seen"), b"\\Seen"),
        (Atom("$Forwarded"), b"$Forwarded"),
        (Raw(b"1:* (anything {goes})"), b"1:* (anything {goes})"),
        (Mailbox("INBOX"), b"INBOX"),
        (Mailbox("Sendt post"), b'"Sendt post"'),
        (Mailbox("R&D"), b"R&-D"),
        (Mailbox("&"), b"&-"),
        (Mailbox("Økonomi & Løn"), b'"&ANg-konomi &- L&APg-n"'),
        (Mailbox("Indbakke/Æbler"), b"Indbakke/&AMY-bler"),
        (Mailbox('quo"te'), b'"quo\\"te"'),
        (Mailbox("台北"), b"&U,BTFw-"),
        (Mailbox(""), b'""'),
        (Mailbox("nil"), b'"nil"'),
        ([], b"()"),
        (["a", "b c", 7], b'(a "b c" 7)'),
        (("x", ["y", ()]), b"(x (y ()))"),
        (datetime(2024, 3, 5, 1, 2, 3, tzinfo=UTC), b'"05-Mar-2024 01:02:03 +0000"'),
    ],
)
def test_single_argument(arg: Arg, expected: bytes) -> None:
    assert one_line(arg) == expected


@pytest.mark.parametrize("caps", [(), PLUS, MINUS])
def test_8bit_and_line_breaks_become_literals(caps: tuple[str, ...]) -> None:
    plus = b"+" if caps else b""
    for value, data in [("Løn", "Løn".encode()), ("a\r\nb", b"a\r\nb"), (b"\x00", b"\x00")]:
        segments = wire(CommandEncoder(caps).encode("T", "CMD", value))
        header = b"{%d%s}\r\n" % (len(data), plus)
        if caps:
            assert segments == [(b"T CMD " + header + data + b"\r\n", False)]
        else:
            assert segments == [(b"T CMD " + header, True), (data + b"\r\n", False)]


def test_arguments_are_space_separated_and_command_ends_with_crlf() -> None:
    [(data, wait)] = wire(CommandEncoder().encode("A001", "UID FETCH", Raw(b"1:5"), Atom("FLAGS")))
    assert (data, wait) == (b"A001 UID FETCH 1:5 FLAGS\r\n", False)


def test_no_arguments() -> None:
    assert wire(CommandEncoder().encode("a1", "NOOP")) == [(b"a1 NOOP\r\n", False)]


@pytest.mark.parametrize(
    ("caps", "size", "header", "sync"),
    [
        ((), 0, b"{0}", True),
        ((), 10, b"{10}", True),
        (PLUS, 10, b"{10+}", False),
        (PLUS, 100_000, b"{100000+}", False),
        (MINUS, LITERAL_MINUS_MAX, b"{4096+}", False),
        (MINUS, LITERAL_MINUS_MAX + 1, b"{4097}", True),
        (("literal+",), 5, b"{5+}", False),
        (("Literal-",), 5, b"{5+}", False),
        (("LITERAL+", "LITERAL-"), 5000, b"{5000+}", False),
        (("LITERALPLUS", "XLITERAL+"), 5, b"{5}", True),
    ],
)
def test_literal_mode(caps: tuple[str, ...], size: int, header: bytes, sync: bool) -> None:
    body = b"x" * size
    segments = wire(CommandEncoder(caps).encode("T", "CMD", Literal(body)))
    if sync:
        assert segments == [(b"T CMD " + header + b"\r\n", True), (body + b"\r\n", False)]
    else:
        assert segments == [(b"T CMD " + header + b"\r\n" + body + b"\r\n", False)]


def test_set_capabilities_switches_mode() -> None:
    encoder = CommandEncoder()
    assert len(encoder.encode("T", "CMD", Literal(b"ab"))) == 2
    encoder.set_capabilities(["LITERAL+"])
    assert len(encoder.encode("T", "CMD", Literal(b"ab"))) == 1
    encoder.set_capabilities([])
    assert len(encoder.encode("T", "CMD", Literal(b"ab"))) == 2


def test_literal8_and_nul_bytes() -> None:
    assert one_line(Literal(b"a\x00b", binary=True), caps=PLUS) == b"~{3+}\r\na\x00b"
    # Lenient on purpose: NUL in a plain literal is sent as is (see Literal's docstring).
    assert one_line(Literal(b"a\x00b"), caps=PLUS) == b"{3+}\r\na\x00b"
    segments = wire(CommandEncoder().encode("T", "CMD", Literal(b"\x00", binary=True)))
    assert segments == [(b"T CMD ~{1}\r\n", True), (b"\x00\r\n", False)]


def test_several_sync_literals_split_into_segments() -> None:
    args: list[Arg] = [Literal(b"one"), "mid", [Literal(b"two"), Literal(b"")], "end"]
    assert wire(CommandEncoder().encode("T", "CMD", *args)) == [
        (b"T CMD {3}\r\n", True),
        (b"one mid ({3}\r\n", True),
        (b"two {0}\r\n", True),
        (b") end\r\n", False),
    ]


def test_literal_bodies_are_not_copied() -> None:
    body = memoryview(bytearray(b"y" * 10_000))
    segments = CommandEncoder(PLUS).encode("T", "CMD", Literal(body))
    assert any(part is body for part in segments[0].parts)
    assert segments[0].size == len(b"T CMD {10000+}\r\n") + 10_000 + 2
    sync = CommandEncoder().encode("T", "CMD", Literal(body))
    assert sync[1].parts[0] is body
    assert [s.size for s in sync] == [len(b"T CMD {10000}\r\n"), 10_002]


def test_memoryview_size_counts_bytes_not_items() -> None:
    view = memoryview(bytearray(8)).cast("I")
    assert one_line(Literal(view), caps=PLUS).startswith(b"{8+}\r\n")


def test_multiappend_three_messages_synchronising() -> None:
    tz = timezone(timedelta(hours=-5, minutes=-30))
    messages = [
        AppendMessage(b"m1", ("\\Seen", "$Forwarded"), datetime(2020, 1, 2, 3, 4, 5, tzinfo=tz)),
        AppendMessage(b"m22"),
        AppendMessage(memoryview(b"m333"), ("\\Flagged",)),
    ]
    segments = wire(CommandEncoder().encode("A7", "APPEND", *append_args("Sendt post", messages)))
    assert segments == [
        (b'A7 APPEND "Sendt post" (\\Seen $Forwarded) "02-Jan-2020 03:04:05 -0530" {2}\r\n', True),
        (b"m1 {3}\r\n", True),
        (b"m22 (\\Flagged) {4}\r\n", True),
        (b"m333\r\n", False),
    ]


def test_multiappend_three_messages_literal_plus() -> None:
    messages = [AppendMessage(b"a"), AppendMessage(b"bb", ("\\Draft",)), AppendMessage(b"ccc")]
    segments = wire(CommandEncoder(PLUS).encode("A8", "APPEND", *append_args("&", messages)))
    assert segments == [
        (b"A8 APPEND &- {1+}\r\na (\\Draft) {2+}\r\nbb {3+}\r\nccc\r\n", False),
    ]


def test_literal_minus_mixes_modes_by_size() -> None:
    big = b"B" * (LITERAL_MINUS_MAX + 1)
    args = [Literal(b"small"), Literal(big), Literal(b"s2")]
    segments = wire(CommandEncoder(MINUS).encode("T", "CMD", *args))
    assert segments == [
        (b"T CMD {5+}\r\nsmall {4097}\r\n", True),
        (big + b" {2+}\r\ns2\r\n", False),
    ]


def _tz(hours: int = 0, minutes: int = 0, seconds: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes, seconds=seconds))


@pytest.mark.parametrize(
    ("dt", "text"),
    [
        (datetime(1996, 7, 17, 2, 44, 25, tzinfo=_tz(-7)), "17-Jul-1996 02:44:25 -0700"),
        (datetime(2024, 12, 1, 23, 59, 59, tzinfo=_tz(5, 45)), "01-Dec-2024 23:59:59 +0545"),
        (datetime(2024, 2, 29, 0, 0, 0, tzinfo=UTC), "29-Feb-2024 00:00:00 +0000"),
        (datetime(999, 5, 9, 1, 1, 1, tzinfo=UTC), "09-May-0999 01:01:01 +0000"),
        # An offset with seconds cannot be written: the same instant in UTC.
        (datetime(1880, 1, 1, 12, 0, 0, tzinfo=_tz(0, 50, 20)), "01-Jan-1880 11:09:40 +0000"),
    ],
)
def test_imap_datetime(dt: datetime, text: str) -> None:
    assert imap_datetime(dt) == text
    assert one_line(dt) == b'"' + text.encode() + b'"'


@pytest.mark.parametrize(
    ("tag", "command", "args"),
    [
        ("T", "CMD", (None,)),
        ("T", "CMD", (True,)),
        ("T", "CMD", (-1,)),
        ("T", "CMD", (2**63,)),
        ("T", "CMD", (1.5,)),
        ("T", "CMD", ({"a": 1},)),
        ("T", "CMD", ({"a"},)),
        ("T", "CMD", (datetime(2024, 1, 1),)),  # naive
        ("T", "CMD", ("bad\udc00surrogate",)),
        ("T", "CMD", (Mailbox("lone\ud800"),)),
        ("T", "CMD", (["ok", None],)),
        ("", "CMD", ()),
        ("A+1", "CMD", ()),
        ("A 1", "CMD", ()),
        ("A\r\n", "CMD", ()),
        ("*", "CMD", ()),
        ("tæg", "CMD", ()),
        ("T", "", ()),
        ("T", "UID  FETCH", ()),
        ("T", "FETCH\r\n", ()),
        ("T", "FÉTCH", ()),
        ("T", "X(", ()),
    ],
)
def test_illegal_commands_raise(tag: str, command: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(LocalProtocolError):
        CommandEncoder().encode(tag, command, *args)


@pytest.mark.parametrize(
    "text",
    ["", "\\", "a b", "a\r\n", "x\ny", "(x", "a{", "a%", "a*", 'a"', "a\\b", "æ", "\\\\Seen"],
)
def test_illegal_atoms_raise(text: str) -> None:
    with pytest.raises(LocalProtocolError):
        Atom(text)


def test_legal_tags() -> None:
    for tag in ("A1", "a.b", "x]y", "0001", "tag-9_x"):
        assert wire(CommandEncoder().encode(tag, "NOOP"))[0][0] == tag.encode() + b" NOOP\r\n"
