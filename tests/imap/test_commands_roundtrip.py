"""Property tests: what the encoder writes reads back as what it was given.

Two readers: a strict test-only RFC 3501 reader (which also checks that the
segments split exactly after synchronising literal headers) and imapclient's
response parser as an independent oracle.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from imapclient.imap_utf7 import decode as ic_mutf7_decode
from imapclient.response_parser import parse_response

from mailferry.imap import mutf7
from mailferry.imap.command_values import is_atom, is_atom_char, is_quotable
from mailferry.imap.commands import Arg, CommandEncoder, Literal, Mailbox, Segment, needs_quoting

CAPS = st.sampled_from([(), ("LITERAL+",), ("LITERAL-",)])
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
short_text = st.text(alphabet=st.sampled_from('aZ0 "\\()*%]{}\r\nNIL&-~æ\x00\x7f\t'), max_size=8)
scalars: st.SearchStrategy[Arg] = st.one_of(
    text,
    short_text,
    st.binary(max_size=30),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.builds(Mailbox, text),
    st.builds(Literal, st.binary(max_size=5000)),
)
args_strategy = st.lists(
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8), max_size=6
)


class _Reader:
    """Strict reader of ``T CMD args CRLF``: returns ``(kind, bytes)`` pairs and lists."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.sync_ends: list[int] = []  # positions right after a synchronising literal header

    def command(self) -> list[Any]:
        assert self.data.startswith(b"T CMD")
        self.pos = 5
        values = []
        while self.data[self.pos : self.pos + 1] == b" ":
            self.pos += 1
            values.append(self.value())
        assert self.data[self.pos :] == b"\r\n"
        return values

    def value(self) -> Any:
        head = self.data[self.pos : self.pos + 1]
        if head == b"(":
            return self.parenthesised()
        if head == b'"':
            return self.quoted()
        if head in (b"{", b"~"):
            return self.literal()
        start = self.pos
        while self.pos < len(self.data) and is_atom_char(self.data[self.pos]):
            self.pos += 1
        assert self.pos > start, self.data[start:]
        return ("atom", self.data[start : self.pos])

    def parenthesised(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while self.data[self.pos : self.pos + 1] != b")":
            if items:
                assert self.data[self.pos : self.pos + 1] == b" "
                self.pos += 1
            items.append(self.value())
        self.pos += 1
        return items

    def quoted(self) -> tuple[str, bytes]:
        out = bytearray()
        self.pos += 1
        while (char := self.data[self.pos]) != ord('"'):
            if char == ord("\\"):
                self.pos += 1
                assert self.data[self.pos] in b'\\"'
            assert char not in b"\r\n\x00" and char < 0x80
            out.append(self.data[self.pos])
            self.pos += 1
        self.pos += 1
        return ("quoted", bytes(out))

    def literal(self) -> tuple[str, bytes]:
        match = re.compile(rb"(~?)\{(0|[1-9][0-9]*)(\+?)\}\r\n").match(self.data, self.pos)
        assert match is not None
        if not match.group(3):
            self.sync_ends.append(match.end())
        size = int(match.group(2))
        self.pos = match.end() + size
        kind = "literal8" if match.group(1) else "literal"
        return (kind, self.data[match.end() : self.pos])


def _joined(segments: list[Segment]) -> tuple[bytes, list[int]]:
    """All bytes, and the offsets where a segment that waits for ``+`` ends."""
    data, ends = b"", []
    for segment in segments:
        data += b"".join(bytes(p) for p in segment.parts)
        if segment.wait_for_continuation:
            ends.append(len(data))
    assert not segments[-1].wait_for_continuation
    return data, ends


def _check(arg: Arg, got: Any) -> None:
    if isinstance(arg, list | tuple):
        assert isinstance(got, list) and len(got) == len(arg)
        for item, value in zip(arg, got, strict=True):
            _check(item, value)
        return
    kind, data = got
    if isinstance(arg, int):
        assert (kind, data) == ("atom", str(arg).encode())
    elif isinstance(arg, Literal):
        assert (kind, data) == ("literal", bytes(arg.data))
    elif isinstance(arg, Mailbox):
        assert kind in ("atom", "quoted") and mutf7.decode(data) == arg.name
    else:
        expected = arg.encode("utf-8") if isinstance(arg, str) else arg
        assert isinstance(expected, bytes)
        assert data == expected
        if not needs_quoting(expected):
            assert kind == "atom"
        elif is_quotable(expected):
            assert kind == "quoted"
        else:
            assert kind == "literal"


@given(args_strategy, CAPS)
def test_strict_reader_round_trip(args: list[Arg], caps: tuple[str, ...]) -> None:
    segments = CommandEncoder(caps).encode("T", "CMD", *args)
    data, wait_ends = _joined(segments)
    reader = _Reader(data)
    values = reader.command()
    assert reader.sync_ends == wait_ends  # split exactly after each {n}CRLF, nowhere else
    if "LITERAL+" in caps:
        assert len(segments) == 1
    assert len(values) == len(args)
    for arg, value in zip(args, values, strict=True):
        _check(arg, value)


def _imaplib_records(data: bytes) -> list[Any]:
    """Our wire bytes in the shape imaplib hands to imapclient's parser."""
    records: list[Any] = []
    pos = 0
    while True:
        end = data.index(b"\r\n", pos)
        line = data[pos:end]
        marker = re.search(rb"\{([0-9]+)\+?\}\Z", line)
        if marker is None:
            records.append(line)
            return records
        size = int(marker.group(1))
        line = line[: marker.start()] + b"{%d}" % size
        records.append((line, data[end + 2 : end + 2 + size]))
        pos = end + 2 + size


def _oracle_value(arg: Arg) -> Any:
    if isinstance(arg, list | tuple):
        return tuple(_oracle_value(item) for item in arg)
    if isinstance(arg, int):
        return arg
    if isinstance(arg, Literal):
        return bytes(arg.data)
    data = mutf7.encode(arg.name) if isinstance(arg, Mailbox) else arg
    data = data.encode("utf-8") if isinstance(data, str) else data
    assert isinstance(data, bytes)
    if is_atom(data) and data.isdigit() and (data[:1] != b"0" or len(data) == 1):
        return int(data)
    return data


def _atoms_without_brackets(arg: Arg) -> bool:
    """imapclient's lexer reads ``[`` up to ``]`` inside an atom, a response-only rule."""
    if isinstance(arg, list | tuple):
        return all(_atoms_without_brackets(item) for item in arg)
    if isinstance(arg, str | bytes):
        data = arg.encode("utf-8") if isinstance(arg, str) else arg
        return not (is_atom(data) and b"[" in data)
    return True


@given(args_strategy, CAPS)
def test_imapclient_oracle_round_trip(args: list[Arg], caps: tuple[str, ...]) -> None:
    assume(all(_atoms_without_brackets(arg) for arg in args))
    data, _ = _joined(CommandEncoder(caps).encode("T", "CMD", *args))
    parsed = parse_response(_imaplib_records(data))
    assert parsed[:2] == (b"T", b"CMD")
    assert list(parsed[2:]) == [_oracle_value(arg) for arg in args]
    for arg, value in zip(args, parsed[2:], strict=True):
        if isinstance(arg, Mailbox):
            assert ic_mutf7_decode(value if isinstance(value, bytes) else str(value).encode()) == (
                arg.name
            )


@given(st.binary(max_size=20))
def test_surrogateescape_strings_send_their_original_bytes(raw: bytes) -> None:
    name = raw.decode("utf-8", errors="surrogateescape")
    data, _ = _joined(CommandEncoder(["LITERAL+"]).encode("T", "CMD", name))
    [(_, value)] = _Reader(data).command()
    assert value == raw
