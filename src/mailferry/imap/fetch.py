"""FETCH responses: item names, which items stream, and the typed item values.

This is the hot path of a mailbox copy, so the common items (UID, FLAGS,
INTERNALDATE, RFC822.SIZE, MODSEQ, body sections) are read inline from the
token list instead of through TokenReader's general methods (and simple
first segments skip tokens altogether: ``mailferry.imap.fetch_fast``).
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

# How an item's value is read (the kind ``item_name`` returns).
NUMBER, FLAGS, DATE, MODSEQ, BODY, GENERIC = range(6)
_KINDS = {
    "UID": NUMBER,
    "RFC822.SIZE": NUMBER,
    "FLAGS": FLAGS,
    "INTERNALDATE": DATE,
    "MODSEQ": MODSEQ,
    "X-GM-MSGID": NUMBER,  # Gmail's message id (one per message across its labels)
    "X-GM-THRID": NUMBER,
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
            kind = BODY
        elif upper.startswith(b"BINARY.SIZE["):
            kind = NUMBER
        else:
            kind = GENERIC
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
    return known[0] if known[1] == BODY else None


def flag_name(token: Token) -> str:
    """A flag atom as ``str`` (cached)."""
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
    return tuple([flag_name(token) for token in tokens[index + 1 : end]]), end + 1


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


_UNSEEN = object()


def _check_repeated(name: str, previous: object, value: object) -> None:
    """A static item named twice in one response must say the same thing twice. Two
    different bodies (or UIDs, sizes) in one response is what a literal whose announced
    size is too large produces: it swallows the start of the next response, whose items
    then read as more items of this one (UID 2 would carry message 3's body)."""
    if value != previous:
        raise RemoteProtocolError(
            f"{name} given twice with different values (a literal longer than announced?)"
        )


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
        previous = attributes.get(name, _UNSEEN)
        if kind == NUMBER:
            attributes[name] = _number(value)
        elif kind == FLAGS:
            attributes[name], index = _flags(tokens, index - 1)
        elif kind == DATE:
            attributes[name] = _date(value)
        elif kind == MODSEQ:
            attributes[name] = _modseq(tokens, index - 1)
            index += 2
        elif kind == BODY:
            attributes[name] = _body(value)
        else:
            reader.index = index - 1
            attributes[name] = reader.read_value()
            index = reader.index
        if previous is not _UNSEEN and kind not in (FLAGS, MODSEQ):
            _check_repeated(name, previous, attributes[name])
    if index + 1 != len(tokens):
        raise RemoteProtocolError(
            f"unexpected data after FETCH list: {describe(tokens[index + 1])}"
        )
    return attributes
