"""``resp-text``: an optional ``[CODE value]`` followed by human text.

Used by the greeting, tagged and untagged status responses. Lenient: a ``[``
with no closing ``]`` is taken as plain text rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailferry.errors import RemoteProtocolError
from mailferry.imap.events import ResponseCode
from mailferry.imap.sequence_set import parse_sequence_set
from mailferry.imap.tokenizer import TokenReader, decode, excerpt, to_int, tokenize

_CODE = re.compile(rb'\[((?:[^\]"\r\n]|"(?:[^"\\\r\n]|\\[^\r\n])*")*)\] ?')
_CODE_NAME = re.compile(rb"([^\x00-\x20\x7f\]]+)(?: +(.*))?\Z", re.S)
_INT_CODES = frozenset({"UIDVALIDITY", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ", "APPENDLIMIT"})


def parse_resp_text(rest: bytes) -> tuple[ResponseCode | None, str]:
    """Split ``[CODE value] text`` (``rest`` follows the status word and its space)."""
    if rest[:1] != b"[":
        return None, decode(rest)
    match = _CODE.match(rest)
    if match is None:
        return None, decode(rest)
    return parse_code(match.group(1)), decode(rest[match.end() :])


def parse_code(inner: bytes) -> ResponseCode:
    """``UIDNEXT 4392`` -> ResponseCode("UIDNEXT", 4392) (see ResponseCode for values)."""
    match = _CODE_NAME.match(inner.strip(b" "))
    if match is None:
        raise RemoteProtocolError(f"malformed response code [{excerpt(inner)}]")
    name = decode(match.group(1)).upper()
    raw = match.group(2)
    if raw is not None:
        raw = raw.rstrip(b" ")
    parser = _PARSERS.get(name)
    if parser is not None and raw:
        try:
            return ResponseCode(name, parser(raw))
        except (ValueError, RemoteProtocolError) as exc:
            raise RemoteProtocolError(
                f"malformed [{name}] response code value {excerpt(raw)}: {exc}"
            ) from None
    if parser is not None and name == "BADCHARSET":
        return ResponseCode(name, ())
    return ResponseCode(name, decode(raw) if raw else None)


def _int(raw: bytes) -> int:
    if not raw.isdigit():
        raise ValueError("not a number")
    return to_int(raw)


def _words(raw: bytes, count: int) -> list[bytes]:
    words = raw.split()
    if len(words) != count:
        raise ValueError(f"expected {count} values")
    return words


def _appenduid(raw: bytes) -> tuple[int, tuple[int, ...]]:
    validity, uids = _words(raw, 2)
    return _int(validity), parse_sequence_set(decode(uids))


def _copyuid(raw: bytes) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    validity, source, target = _words(raw, 3)
    return (
        _int(validity),
        parse_sequence_set(decode(source)),
        parse_sequence_set(decode(target)),
    )


def _permanentflags(raw: bytes) -> tuple[str, ...]:
    reader = TokenReader(list(tokenize(raw)), raw)
    flags = reader.read_flags()
    reader.expect_end()
    return flags


def _capability(raw: bytes) -> frozenset[str]:
    return frozenset(decode(word).upper() for word in raw.split())


def _badcharset(raw: bytes) -> tuple[str, ...]:
    reader = TokenReader(list(tokenize(raw)), raw)
    reader.expect_open()
    charsets: list[str] = []
    while reader.peek() != b")":
        value = reader.read_string_bytes()
        charsets.append(decode(value or b""))
    reader.next()
    reader.expect_end()
    return tuple(charsets)


_PARSERS: dict[str, Callable[[bytes], object]] = {
    **dict.fromkeys(_INT_CODES, _int),
    "APPENDUID": _appenduid,
    "COPYUID": _copyuid,
    "PERMANENTFLAGS": _permanentflags,
    "CAPABILITY": _capability,
    "BADCHARSET": _badcharset,
}
