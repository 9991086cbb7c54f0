"""The fast Message-ID readers agree with the plain line-by-line reading."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.stores.message_id import (
    MAX_HEADER_BYTES,
    header_end,
    message_id_in,
    parse_message_id,
)

_FIELD = re.compile(rb"message-id[ \t]*:", re.IGNORECASE)
_END = re.compile(rb"\r?\n\r?\n")


def reference(header: bytes) -> str | None:
    """The original reading: cut at the blank line, first field by line, unfold."""
    match = _END.search(header)
    if match:
        header = header[: match.end()]
    lines = header.split(b"\n")
    for index, line in enumerate(lines):
        found = _FIELD.match(line)
        if found is None:
            continue
        value = [line[found.end() :]]
        for follow in lines[index + 1 :]:
            if not follow.startswith((b" ", b"\t")):
                break
            value.append(follow)
        text = b"".join(part.rstrip(b"\r") for part in value).strip(b" \t\r\n")
        return text.decode("utf-8", "surrogateescape") or None
    return None


_PIECES = st.sampled_from(
    [b"\r\n", b"\n", b"\r", b" ", b"\t", b"Message-ID:", b"message-id :", b"MESSAGE-ID\t:",
     b"<a@b>", b"X-Message-ID: <x@y>", b"Subject: hi", b"\xff\xfe", b"body", b":"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40))
def test_parse_message_id_reads_as_the_line_reader(pieces: list[bytes]) -> None:
    header = b"".join(pieces)
    assert parse_message_id(header) == reference(header)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40))
def test_header_end_is_the_first_blank_line(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    match = _END.search(data)
    assert header_end(data) == (match.end() if match else None)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=12), st.integers(0, 20_000), st.lists(_PIECES, max_size=12))
def test_message_id_in_reads_as_the_whole_prefix(
    before: list[bytes], filler: int, after: list[bytes]
) -> None:
    # The header's end may fall anywhere around the first 16 KB read, also on its edge.
    message = b"".join(before) + b"X" * filler + b"".join(after) + b"\r\n\r\nbody"
    expected = reference(message[:MAX_HEADER_BYTES])
    assert message_id_in(message) == expected
    assert message_id_in(memoryview(message)) == expected


def test_a_header_without_end_is_read_up_to_the_limit() -> None:
    message = b"X-Pad: " + b"x" * 20_000 + b"\r\nMessage-ID: <late@x>\r\n"
    assert message_id_in(message) == "<late@x>"
    cut = b"X-Pad: " + b"x" * MAX_HEADER_BYTES + b"\r\nMessage-ID: <beyond@x>\r\n"
    assert message_id_in(cut) is None


def test_a_blank_line_on_the_edge_of_the_first_read() -> None:
    for end in (b"\r\n\r\n", b"\n\n", b"\n\r\n", b"\r\n\n"):
        for pad in range(16 * 1024 - 30, 16 * 1024 + 4):
            head = b"Message-ID: <a@b>\r\n X" + b"y" * (pad - 22)
            message = head + end + b"Message-ID: <c@d>\r\n\r\n"
            assert message_id_in(message) == reference(message), (end, pad)
