"""Generic IMAP value reading: bytes of a response line -> tokens -> Python values.

A response is cut into text segments (no CRLF, no literal marker) and the
literals between them. ``tokenize`` turns one segment into a flat list of
``bytes`` tokens with a single C-level ``findall``; literals join the list as
``InlineLiteral`` (or ``StreamedLiteral`` for a streamed body). A token is:

- ``(`` or ``)``;
- a quoted string, quotes included (``b'"a b"'``);
- an atom, which may be a flag (``\\Seen``, ``\\*``), a number, ``NIL``, or a
  FETCH item name with a bracketed section (``BODY[HEADER.FIELDS (A B)]<0>``);
- a single stray byte that cannot start any of those (``"`` of an unterminated
  string, ``{``, a lone ``\\``, a control byte): reading it is an error.

Spaces only separate tokens (runs of them and trailing ones are tolerated).

Atoms are read leniently: ``]``, ``%``, ``*``, ``}`` and 8-bit bytes are kept.
"""

from __future__ import annotations

import re

from mailferry.errors import RemoteProtocolError
from mailferry.imap.events import StreamedLiteral

_ATOM = rb'(?:[^\x00-\x20\x7f(){"\\\[]+|\[[^\]\[\r\n]*\]|\[)+'
_TOKEN = re.compile(rb' *([()]|"(?:[^"\\\r\n]|\\[^\r\n])*"|\\?' + _ATOM + rb"|[^ ])")
_ESCAPE = re.compile(rb"\\([\s\S])")
_STRAY = frozenset(bytes([c]) for c in (*range(0x21), 0x7F, ord("{"), ord("\\"), ord('"')))
_NIL = frozenset((b"NIL", b"nil", b"Nil"))


class InlineLiteral:
    """A literal read whole into memory (ENVELOPE strings, LIST names...)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"InlineLiteral({excerpt(self.data)})"


Token = bytes | InlineLiteral | StreamedLiteral


def tokenize(text: bytes) -> list[bytes]:
    """Split one text segment into tokens (see the module docstring)."""
    tokens: list[bytes] = _TOKEN.findall(text)
    return tokens


def excerpt(data: bytes, limit: int = 80) -> str:
    """A short, escaped excerpt of offending bytes for error messages."""
    shown = repr(bytes(data[:limit]))
    return shown + ("..." if len(data) > limit else "")


def describe(token: object) -> str:
    """A short description of a token for error messages (never a whole literal)."""
    if isinstance(token, bytes):
        return excerpt(token)
    if isinstance(token, InlineLiteral):
        return f"a literal of {len(token.data)} bytes"
    return repr(token)[:100]


def unquote(token: bytes) -> bytes:
    """The contents of a quoted-string token, escapes removed."""
    inner = token[1:-1]
    return _ESCAPE.sub(rb"\1", inner) if b"\\" in inner else inner


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def is_quoted(token: bytes) -> bool:
    return token[:1] == b'"' and len(token) >= 2


def is_atom(token: Token) -> bool:
    """True for an atom/flag/number token (not a paren, string or stray byte)."""
    if token.__class__ is not bytes:
        return False
    assert isinstance(token, bytes)
    first = token[:1]
    if first in (b"(", b")", b'"'):
        return False
    return not (len(token) == 1 and token in _STRAY)


#: More digits than any IMAP number (number64 has 19) may have; int() of a huge digit
#: string is slow and, past 4300 digits, refused by Python.
MAX_DIGITS = 39


def to_int(digits: bytes) -> int:
    """A decimal number from the server (``digits`` already checked to be digits)."""
    if len(digits) > MAX_DIGITS:
        raise RemoteProtocolError(f"number of {len(digits)} digits: {excerpt(digits, 20)}")
    return int(digits)


def atom_value(token: bytes) -> object:
    """int for digits, None for NIL, else str."""
    if token.isdigit():
        return int(token) if len(token) <= MAX_DIGITS else decode(token)
    if token in _NIL or (len(token) == 3 and token.upper() == b"NIL"):
        return None
    return decode(token)


class TokenReader:
    """Sequential reading of a token list with IMAP-typed helpers."""

    __slots__ = ("context", "index", "tokens")

    def __init__(self, tokens: list[Token], context: bytes = b"") -> None:
        self.tokens = tokens
        self.index = 0
        self.context = context

    def error(self, what: str, token: object = None) -> RemoteProtocolError:
        """An error naming ``what`` went wrong, near ``token``, in which response."""
        near = f" at {describe(token)}" if token is not None else ""
        where = f" in {excerpt(self.context)}" if self.context else ""
        return RemoteProtocolError(f"{what}{near}{where}")

    def at_end(self) -> bool:
        return self.index >= len(self.tokens)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self) -> Token:
        index = self.index
        if index >= len(self.tokens):
            raise self.error("unexpected end of response")
        self.index = index + 1
        return self.tokens[index]

    def expect_end(self) -> None:
        if self.index < len(self.tokens):
            raise self.error("unexpected data", self.tokens[self.index])

    def expect_open(self) -> None:
        token = self.next()
        if token != b"(":
            raise self.error("expected '('", token)

    def read_atom(self) -> bytes:
        token = self.next()
        if not is_atom(token):
            raise self.error("expected an atom", token)
        assert isinstance(token, bytes)
        return token

    def read_number(self) -> int:
        token = self.next()
        if not isinstance(token, bytes) or not token.isdigit():
            raise self.error("expected a number", token)
        return to_int(token)

    def read_string_bytes(self) -> bytes | None:
        """An astring/nstring as raw bytes (quoted unescaped, literal, atom); None for NIL."""
        token = self.next()
        if isinstance(token, InlineLiteral):
            return token.data
        if isinstance(token, bytes):
            if is_quoted(token):
                return unquote(token)
            if is_atom(token):
                return None if token.upper() == b"NIL" else token
        raise self.error("expected a string", token)

    def read_flags(self) -> tuple[str, ...]:
        """``(\\Seen $Label "quoted")`` -> tuple of str."""
        self.expect_open()
        flags: list[str] = []
        while True:
            token = self.next()
            if token == b")":
                return tuple(flags)
            if is_atom(token):
                flags.append(decode(token))  # type: ignore[arg-type]
            elif isinstance(token, bytes) and is_quoted(token):
                flags.append(decode(unquote(token)))
            else:
                raise self.error("bad flag", token)

    def read_value(self) -> object:
        """One generic value; lists become tuples (read without recursion)."""
        stack: list[list[object]] = []
        while True:
            token = self.next()
            value: object
            if token.__class__ is bytes:
                assert isinstance(token, bytes)
                if token == b"(":
                    stack.append([])
                    continue
                if token == b")":
                    if not stack:
                        raise self.error("unbalanced ')'", token)
                    value = tuple(stack.pop())
                else:
                    value = self._scalar(token)
            elif isinstance(token, InlineLiteral):
                value = token.data
            else:
                value = token
            if not stack:
                return value
            stack[-1].append(value)

    def _scalar(self, token: bytes) -> object:
        if token[:1] == b'"':
            if len(token) < 2:
                raise self.error("unterminated quoted string", token)
            return decode(unquote(token))
        if len(token) == 1 and token in _STRAY:
            raise self.error("unexpected byte", token)
        return atom_value(token)

    def read_rest(self) -> tuple[object, ...]:
        """Generic values up to the end."""
        values: list[object] = []
        while self.index < len(self.tokens):
            values.append(self.read_value())
        return tuple(values)
