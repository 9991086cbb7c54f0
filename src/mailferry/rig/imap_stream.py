"""Just enough IMAP framing for the fault proxy: lines and literals, in either direction.

An IMAP stream is a sequence of *units* (a command from the client, a response from
the server). A unit is one or more lines; a line that ends in a literal announcement
(``{N}``, ``{N+}``, ``~{N}``) is followed by exactly N bytes of literal data and the unit
goes on with the next line; a line without one ends the unit. Nothing else of IMAP is
parsed here (a quoted string can't hold a line break, so a line that ends in ``{N}``
always announces a literal).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_LITERAL = re.compile(rb"(~?)\{(\d+)(\+?)\}\r?\n\Z")
_BODY_LITERAL = re.compile(
    rb"(?:BODY\[\]|BINARY\[\]|RFC822)(?:<\d+>)? (~?)\{(\d+)\}(\r?\n)\Z", re.IGNORECASE
)
_FETCH = re.compile(rb"\* \d+ FETCH ", re.IGNORECASE)


@dataclass(frozen=True)
class Literal:
    """A literal announced at the end of a line: ``size`` bytes follow. ``sync``: the
    sender waits for a ``+`` continuation first (``{N}`` from a client)."""

    size: int
    sync: bool


@dataclass(frozen=True)
class Piece:
    """Bytes of one unit, in stream order.

    A *line* piece (``is_line``) is one whole line with its CRLF; ``first``: the unit's
    first line, ``last``: the unit ends with it, ``literal``: what the line announces.
    Other pieces are literal data (or, once the stream is opaque, raw bytes).
    """

    data: bytes
    is_line: bool = False
    first: bool = False
    last: bool = False
    literal: Literal | None = None


class StreamScanner:
    """Splits one direction of an IMAP connection into pieces, incrementally.

    ``opaque`` (set after STARTTLS or COMPRESS took effect): everything from then on is
    handed on as raw pieces, unparsed. ``cancel_literal`` forgets an announced literal
    that will never come (the server refused a synchronizing literal).
    """

    def __init__(self) -> None:
        self._line = bytearray()
        self._literal_left = 0
        self._in_unit = False
        self.opaque = False

    @property
    def at_boundary(self) -> bool:
        """Between two units (nothing of a unit forwarded yet, nothing held back)."""
        return not self._in_unit and not self._line and not self._literal_left

    def cancel_literal(self) -> None:
        self._literal_left = 0
        self._in_unit = False

    def feed(self, data: bytes) -> Iterator[Piece]:
        """The pieces ``data`` completes; a partial line is held back until its end.

        A generator: a caller may set ``opaque`` or call ``cancel_literal`` between two
        pieces, and the rest of ``data`` is split accordingly.
        """
        pos = 0
        while pos < len(data):
            if self.opaque:
                yield Piece(bytes(self._line) + data[pos:])
                self._line.clear()
                return
            if self._literal_left:
                take = min(self._literal_left, len(data) - pos)
                self._literal_left -= take
                yield Piece(data[pos : pos + take])
                pos += take
                continue
            end = data.find(b"\n", pos)
            if end < 0:
                self._line += data[pos:]
                return
            self._line += data[pos : end + 1]
            pos = end + 1
            yield self._take_line()

    def _take_line(self) -> Piece:
        line = bytes(self._line)
        self._line.clear()
        first = not self._in_unit
        match = _LITERAL.search(line)
        if match is None:
            self._in_unit = False
            return Piece(line, is_line=True, first=first, last=True)
        literal = Literal(int(match.group(2)), sync=not match.group(3))
        self._literal_left = literal.size
        self._in_unit = True
        return Piece(line, is_line=True, first=first, literal=literal)


def is_fetch_response(first_line: bytes) -> bool:
    """``* <n> FETCH ...``."""
    return _FETCH.match(first_line) is not None


def body_literal_size(line: bytes) -> int | None:
    """N when the line ends in the literal of a whole message (``BODY[] {N}``,
    ``BODY[]<0> {N}``, ``BINARY[] ~{N}``, ``RFC822 {N}``); None otherwise."""
    match = _BODY_LITERAL.search(line)
    return int(match.group(2)) if match else None


def with_literal_size(line: bytes, size: int) -> bytes:
    """The line with its closing literal announcement changed to ``size`` (same form)."""
    match = _LITERAL.search(line)
    assert match is not None, "the line announces no literal"
    plus = match.group(3)
    return line[: match.start()] + match.group(1) + b"{%d%s}\r\n" % (size, plus)


def command_words(line: bytes) -> tuple[str, str] | None:
    """(tag, command name) of a command's first line, the name upper-cased and with its
    ``UID`` prefix (``UID FETCH``); None for a line that is no command."""
    words = line.rstrip(b"\r\n").split(b" ", 3)
    if len(words) < 2 or not words[0] or not words[1]:
        return None
    tag = words[0].decode("ascii", "replace")
    name = words[1].decode("ascii", "replace").upper()
    if name == "UID" and len(words) > 2:
        name = f"UID {words[2].decode('ascii', 'replace').upper()}"
    return tag, name


def response_words(line: bytes) -> tuple[str, str]:
    """(tag, status) of a response's first line: tag ``*`` or ``+`` for untagged and
    continuation responses; status upper-cased (``OK``, ``NO``, ``BYE``, ``FETCH``…)."""
    words = line.rstrip(b"\r\n").split(b" ", 2)
    tag = words[0].decode("ascii", "replace")
    status = words[1].decode("ascii", "replace").upper() if len(words) > 1 else ""
    return tag, status
