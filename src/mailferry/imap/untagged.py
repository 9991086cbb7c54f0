"""Untagged data responses other than FETCH: ``* NAME ...`` and ``* n NAME``.

Each parser gets the response as ``parts``: text segments (the first one is
what follows the response name) and the ``InlineLiteral`` values between them.
Mailbox names (LIST, STATUS) are read from the raw text so that a lenient
unquoted name runs up to the next space, whatever it contains.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailferry.errors import RemoteProtocolError
from mailferry.imap import mutf7
from mailferry.imap.events import (
    CapabilityResponse,
    EnabledResponse,
    ESearchResponse,
    Event,
    Exists,
    Expunge,
    FlagsResponse,
    IdResponse,
    ListResponse,
    Namespace,
    NamespaceResponse,
    OtherUntagged,
    Recent,
    SearchResponse,
    StatusResponse,
    Vanished,
)
from mailferry.imap.sequence_set import parse_sequence_set
from mailferry.imap.tokenizer import (
    InlineLiteral,
    Token,
    TokenReader,
    decode,
    excerpt,
    is_atom,
    tokenize,
    unquote,
)

Part = bytes | InlineLiteral

_LIST_HEAD = re.compile(rb' *\(([^()]*)\) +(NIL|"(?:[^"\\]|\\[\s\S])*"|[^ ()"]+)(?: +|\Z)', re.I)
_QUOTED = re.compile(rb'"(?:[^"\\\r\n]|\\[^\r\n])*"')
_ESEARCH_INTS = frozenset({"MIN", "MAX", "COUNT", "MODSEQ"})


def _reader(parts: list[Part], context: bytes) -> TokenReader:
    tokens: list[Token] = []
    for part in parts:
        if isinstance(part, bytes):
            tokens.extend(tokenize(part))
        else:
            tokens.append(part)
    return TokenReader(tokens, context)


def _mailbox(text: bytes, later: list[Part], context: bytes) -> tuple[bytes, list[Part]]:
    """Read a mailbox astring at the start of ``text``: (raw name, what follows it)."""
    text = text.lstrip(b" ")
    if not text:
        if later and isinstance(later[0], InlineLiteral):
            return later[0].data, later[1:]
        raise RemoteProtocolError(f"missing mailbox name in {excerpt(context)}")
    if text[:1] == b'"':
        match = _QUOTED.match(text)
        if match is None:
            raise RemoteProtocolError(f"unterminated quoted mailbox name in {excerpt(context)}")
        return unquote(match.group()), [text[match.end() :], *later]
    name, _, rest = text.partition(b" ")
    return name, [rest, *later]


def _string(value: object) -> str:
    if isinstance(value, bytes):
        return decode(value)
    return str(value)


def _list(command: str) -> Callable[[list[Part], bytes], Event]:
    def parse(parts: list[Part], context: bytes) -> Event:
        head = parts[0]
        assert isinstance(head, bytes)
        match = _LIST_HEAD.match(head)
        if match is None:
            raise RemoteProtocolError(f"malformed {command} response: {excerpt(context)}")
        attributes = tuple(decode(word) for word in match.group(1).split())
        delimiter: str | None = None
        raw_delimiter = match.group(2)
        if raw_delimiter[:1] == b'"':
            delimiter = decode(unquote(raw_delimiter))
        elif raw_delimiter.upper() != b"NIL":
            delimiter = decode(raw_delimiter)
        raw_name, _extension = _mailbox(head[match.end() :], parts[1:], context)
        return ListResponse(command, attributes, delimiter, mutf7.decode(raw_name), raw_name)

    return parse


def _status(parts: list[Part], context: bytes) -> Event:
    head = parts[0]
    assert isinstance(head, bytes)
    raw_name, rest = _mailbox(head, parts[1:], context)
    reader = _reader(rest, context)
    reader.expect_open()
    items: dict[str, int] = {}
    while reader.peek() != b")":
        name = decode(reader.read_atom()).upper()
        value = reader.read_value()
        if isinstance(value, int):
            items[name] = value
    reader.next()
    reader.expect_end()
    return StatusResponse(mutf7.decode(raw_name), raw_name, items)


def _atoms(reader: TokenReader) -> frozenset[str]:
    names: list[str] = []
    while not reader.at_end():
        names.append(decode(reader.read_atom()).upper())
    return frozenset(names)


def _capability(parts: list[Part], context: bytes) -> Event:
    return CapabilityResponse(_atoms(_reader(parts, context)))


def _enabled(parts: list[Part], context: bytes) -> Event:
    return EnabledResponse(_atoms(_reader(parts, context)))


def _flags(parts: list[Part], context: bytes) -> Event:
    reader = _reader(parts, context)
    flags = reader.read_flags()
    reader.expect_end()
    return FlagsResponse(flags)


def _search(parts: list[Part], context: bytes) -> Event:
    reader = _reader(parts, context)
    numbers: list[int] = []
    modseq: int | None = None
    while not reader.at_end():
        if reader.peek() == b"(":
            reader.next()
            if reader.read_atom().upper() != b"MODSEQ":
                raise reader.error("expected MODSEQ in SEARCH response")
            modseq = reader.read_number()
            if reader.next() != b")":
                raise reader.error("expected ')' after SEARCH MODSEQ")
            reader.expect_end()
        else:
            numbers.append(reader.read_number())
    return SearchResponse(tuple(numbers), modseq)


def _is_word(reader: TokenReader, word: bytes) -> bool:
    token = reader.peek()
    return isinstance(token, bytes) and is_atom(token) and token.upper() == word


def _esearch(parts: list[Part], context: bytes) -> Event:
    reader = _reader(parts, context)
    tag: str | None = None
    if reader.peek() == b"(":
        reader.next()
        if reader.read_atom().upper() != b"TAG":
            raise reader.error("expected TAG in ESEARCH correlator")
        tag = decode(reader.read_string_bytes() or b"")
        if reader.next() != b")":
            raise reader.error("expected ')' after ESEARCH tag")
    uid = _is_word(reader, b"UID")
    if uid:
        reader.next()
    items: dict[str, object] = {}
    while not reader.at_end():
        name = decode(reader.read_atom()).upper()
        if name == "ALL":
            items[name] = parse_sequence_set(decode(reader.read_atom()))
        elif name in _ESEARCH_INTS:
            items[name] = reader.read_number()
        else:
            items[name] = reader.read_value()
    return ESearchResponse(tag, uid, items)


def _vanished(parts: list[Part], context: bytes) -> Event:
    reader = _reader(parts, context)
    earlier = reader.peek() == b"("
    if earlier:
        reader.next()
        if reader.read_atom().upper() != b"EARLIER" or reader.next() != b")":
            raise reader.error("expected (EARLIER) in VANISHED")
    uids = parse_sequence_set(decode(reader.read_atom()))
    reader.expect_end()
    return Vanished(earlier, uids)


def _namespaces(value: object, reader: TokenReader) -> tuple[Namespace, ...]:
    if value is None:
        return ()
    if not isinstance(value, tuple):
        raise reader.error("malformed NAMESPACE list", value)
    spaces: list[Namespace] = []
    for entry in value:
        if not isinstance(entry, tuple) or len(entry) < 2 or entry[0] is None:
            raise reader.error("malformed NAMESPACE entry", entry)
        prefix = entry[0]
        raw = (
            prefix if isinstance(prefix, bytes) else str(prefix).encode("utf-8", "surrogateescape")
        )
        delimiter = None if entry[1] is None else _string(entry[1])
        spaces.append(Namespace(mutf7.decode(raw), delimiter))
    return tuple(spaces)


def _namespace(parts: list[Part], context: bytes) -> Event:
    reader = _reader(parts, context)
    personal, other, shared = (_namespaces(reader.read_value(), reader) for _ in range(3))
    reader.expect_end()
    return NamespaceResponse(personal, other, shared)


def _id(parts: list[Part], context: bytes) -> Event:
    reader = _reader(parts, context)
    value = reader.read_value()
    reader.expect_end()
    if value is None:
        return IdResponse(None)
    if not isinstance(value, tuple) or len(value) % 2:
        raise reader.error("malformed ID parameter list", value)
    params = {
        _string(key): None if item is None else _string(item)
        for key, item in zip(value[::2], value[1::2], strict=True)
    }
    return IdResponse(params)


_HANDLERS: dict[str, Callable[[list[Part], bytes], Event]] = {
    "CAPABILITY": _capability,
    "LIST": _list("LIST"),
    "LSUB": _list("LSUB"),
    "XLIST": _list("XLIST"),
    "STATUS": _status,
    "FLAGS": _flags,
    "SEARCH": _search,
    "ESEARCH": _esearch,
    "VANISHED": _vanished,
    "ENABLED": _enabled,
    "NAMESPACE": _namespace,
    "ID": _id,
}
_COUNTS: dict[str, Callable[[int], Event]] = {
    "EXISTS": Exists,
    "RECENT": Recent,
    "EXPUNGE": Expunge,
}


def parse_untagged(name: str, number: int | None, parts: list[Part], context: bytes) -> Event:
    """Dispatch on the (upper-case) response name; unknown names -> OtherUntagged."""
    if number is not None:
        make = _COUNTS.get(name)
        if make is not None:
            if len(parts) > 1 or parts[0].strip(b" "):  # type: ignore[union-attr]
                raise RemoteProtocolError(f"unexpected data after {name}: {excerpt(context)}")
            return make(number)
    else:
        handler = _HANDLERS.get(name)
        if handler is not None:
            return handler(parts, context)
    return OtherUntagged(name, number, _other_values(parts, context))


def _other_values(parts: list[Part], context: bytes) -> tuple[object, ...]:
    """Generic values; text that does not tokenize is kept raw rather than refused."""
    try:
        return _reader(parts, context).read_rest()
    except RemoteProtocolError:
        return tuple(
            decode(part.strip(b" ")) if isinstance(part, bytes) else part.data for part in parts
        )
