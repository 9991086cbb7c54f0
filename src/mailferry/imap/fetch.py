"""FETCH responses: item names, which items stream, and the typed item values.

This is the hot path of a mailbox copy, so the common items (UID, FLAGS,
INTERNALDATE, RFC822.SIZE, MODSEQ, body sections) are read inline from the
token list instead of through TokenReader's general methods.
"""

from __future__ import annotations

import re

from mailferry.errors import RemoteProtocolError
from mailferry.imap.datetimes import parse_internaldate
from mailferry.imap.events import FetchResponse, StreamedLiteral
from mailferry.imap.tokenizer import (
    InlineLiteral,
    Token,
    TokenReader,
    atom_value,
    decode,
    describe,
    excerpt,
    is_atom,
    is_quoted,
    to_int,
    unquote,
)

#: Items whose literal value is handed out in chunks instead of being buffered.
BODY_ITEM = re.compile(
    rb"(?:BODY|BINARY)(?:\.PEEK)?\[[^\]]*\](?:<[0-9]+>)?|RFC822(?:\.HEADER|\.TEXT)?", re.I
)
_PEEK = re.compile(rb"^(BODY|BINARY)\.PEEK\[")
_CACHE_LIMIT = 4096

# How an item's value is read.
_NUMBER, _FLAGS, _DATE, _MODSEQ, _BODY, _GENERIC = range(6)
_KINDS = {
    "UID": _NUMBER,
    "RFC822.SIZE": _NUMBER,
    "FLAGS": _FLAGS,
    "INTERNALDATE": _DATE,
    "MODSEQ": _MODSEQ,
}
_NAMES: dict[object, tuple[str, int]] = {}
_FLAG_NAMES: dict[object, str] = {}


def item_name(token: Token) -> tuple[str, int]:
    """Normalised item name (upper-case, ``.PEEK`` removed) and how to read its value."""
    known = _NAMES.get(token)
    if known is not None:
        return known
    if not is_atom(token):
        raise RemoteProtocolError(f"expected a FETCH item name, got {describe(token)}")
    assert isinstance(token, bytes)
    upper = token.upper()
    name = decode(_PEEK.sub(rb"\1[", upper))
    kind = _KINDS.get(name)
    if kind is None:
        if BODY_ITEM.fullmatch(upper):
            kind = _BODY
        elif upper.startswith(b"BINARY.SIZE["):
            kind = _NUMBER
        else:
            kind = _GENERIC
    if len(_NAMES) < _CACHE_LIMIT:
        _NAMES[token] = (name, kind)
    return name, kind


def body_item(token: bytes) -> str | None:
    """The item name if ``token`` names a body section (whose literal is streamed)."""
    known = _NAMES.get(token)
    if known is None:
        if not BODY_ITEM.fullmatch(token):
            return None
        known = item_name(token)
    return known[0] if known[1] == _BODY else None


def _flag(token: Token) -> str:
    known = _FLAG_NAMES.get(token)
    if known is not None:
        return known
    if not is_atom(token):
        raise RemoteProtocolError(f"bad flag {describe(token)}")
    assert isinstance(token, bytes)
    flag = decode(token)
    if len(_FLAG_NAMES) < _CACHE_LIMIT:
        _FLAG_NAMES[token] = flag
    return flag


def _flags(tokens: list[Token], index: int) -> tuple[tuple[str, ...], int]:
    """``( flag* )`` starting at ``index``: (flags, index after the ``)``)."""
    if tokens[index] != b"(":
        raise RemoteProtocolError(f"expected '(' before flags, got {describe(tokens[index])}")
    try:
        end = tokens.index(b")", index)
    except ValueError:
        raise RemoteProtocolError("unterminated flag list") from None
    return tuple([_flag(token) for token in tokens[index + 1 : end]]), end + 1


def _number(token: Token) -> int:
    if not isinstance(token, bytes) or not token.isdigit():
        raise RemoteProtocolError(f"expected a number, got {describe(token)}")
    return to_int(token)


def _modseq(tokens: list[Token], index: int) -> int:
    if tokens[index] != b"(" or tokens[index + 2] != b")":
        raise RemoteProtocolError("malformed MODSEQ value")
    return _number(tokens[index + 1])


def _date(token: Token) -> object:
    if not isinstance(token, bytes) or not is_quoted(token):
        raise RemoteProtocolError(f"INTERNALDATE is not a quoted string: {describe(token)}")
    return parse_internaldate(token[1:-1])


def _body(token: Token) -> object:
    """A body section: streamed, literal, quoted (-> bytes) or NIL (-> None)."""
    if isinstance(token, StreamedLiteral):
        return token
    if isinstance(token, InlineLiteral):
        return token.data
    if is_quoted(token):
        return unquote(token)
    if token.upper() == b"NIL":
        return None
    raise RemoteProtocolError(f"bad body section value {describe(token)}")


def parse_fetch(tokens: list[Token], seq: int, context: bytes = b"") -> FetchResponse:
    """Read ``(name value ...)`` (the tokens after ``FETCH``) into a FetchResponse.

    ``context`` (the response's first line) is quoted in error messages.
    """
    try:
        return FetchResponse(seq, _attributes(tokens))
    except IndexError:
        raise RemoteProtocolError(f"unexpected end of FETCH response {excerpt(context)}") from None
    except RemoteProtocolError as exc:
        raise RemoteProtocolError(f"{exc} in FETCH response {excerpt(context)}") from None


def _attributes(tokens: list[Token]) -> dict[str, object]:
    reader = TokenReader(tokens)
    if tokens[0] != b"(":
        raise RemoteProtocolError("expected '(' after FETCH")
    attributes: dict[str, object] = {}
    index = 1
    while True:
        token = tokens[index]
        if token == b")":
            break
        name, kind = item_name(token)
        value = tokens[index + 1]
        index += 2
        if kind == _NUMBER:
            attributes[name] = _number(value)
        elif kind == _FLAGS:
            attributes[name], index = _flags(tokens, index - 1)
        elif kind == _DATE:
            attributes[name] = _date(value)
        elif kind == _MODSEQ:
            attributes[name] = _modseq(tokens, index - 1)
            index += 2
        elif kind == _BODY:
            attributes[name] = _body(value)
        else:
            reader.index = index - 1
            attributes[name] = reader.read_value()
            index = reader.index
    if index + 1 != len(tokens):
        raise RemoteProtocolError(
            f"unexpected data after FETCH list: {describe(tokens[index + 1])}"
        )
    return attributes


# -- fast path ---------------------------------------------------------------
# Most FETCH lines hold only simple items (``UID 7``, ``FLAGS (\Seen)``,
# ``INTERNALDATE "..."``, ``MODSEQ (5)``), optionally ending with a body item
# whose literal follows. One fullmatch checks that shape, one findall extracts
# the items; anything else goes through the token path, with the same result.
_WORD = rb'\\?[^\x00-\x20\x7f(){"\\\[\]]+'
_ITEM = (
    rb"([A-Za-z0-9.\-]+) (?:([0-9]+)|(\((?:"
    + _WORD
    + rb"(?: "
    + _WORD
    + rb')*)?\))|("[^"\\\r\n]*"))'
)
_FAST_LINE = re.compile(
    rb" ?\((?:" + _ITEM + rb" )*(?:" + _ITEM + rb"\)|((?:BODY|BINARY|RFC822)[^ ()]*))\Z"
)
_FAST_ITEM = re.compile(_ITEM)


def fast_fetch(text: bytes) -> tuple[dict[str, object], bytes | None] | None:
    """Attributes of a simple first FETCH segment and its trailing body item name.

    None when the segment is not simple: the caller falls back to tokens.
    """
    match = _FAST_LINE.match(text)
    if match is None:
        return None
    attributes: dict[str, object] = {}
    for raw_name, number, words, quoted in _FAST_ITEM.findall(text):
        name, kind = _NAMES.get(raw_name) or item_name(raw_name)
        if kind == _NUMBER and number:
            attributes[name] = to_int(number)
        elif kind == _FLAGS and words:
            attributes[name] = tuple([_FLAG_NAMES.get(w) or _flag(w) for w in words[1:-1].split()])
        elif kind == _DATE and quoted:
            attributes[name] = parse_internaldate(quoted[1:-1])
        elif kind == _MODSEQ and words[1:-1].isdigit():
            attributes[name] = to_int(words[1:-1])
        elif kind == _GENERIC and not words:
            attributes[name] = atom_value(number) if number else decode(quoted[1:-1])
        elif kind == _GENERIC:
            attributes[name] = tuple([atom_value(w) for w in words[1:-1].split()])
        elif kind == _BODY and quoted:
            attributes[name] = quoted[1:-1]
        else:
            return None
    return attributes, match.group(9)
