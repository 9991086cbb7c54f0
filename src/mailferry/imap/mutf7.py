"""Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).

Printable US-ASCII (0x20-0x7E) stands for itself except ``&``, which is
written ``&-``; every other character is UTF-16BE (astral characters as
surrogate pairs) in base64 with ``,`` instead of ``/``, no padding, between
``&`` and ``-``.

``decode`` is lenient and never raises: it accepts non-canonical but
decodable forms (null shifts ``-&``, ASCII inside base64, non-zero pad bits)
and falls back to UTF-8 with ``surrogateescape`` for anything else (8-bit
names from UTF8=ACCEPT servers, bad base64, an unterminated ``&``).
``is_valid`` is strict: true only for the canonical form, i.e. exactly when
``encode(decode(raw)) == raw`` via the modified UTF-7 path.
"""

from __future__ import annotations

import binascii
import re

from mailferry.errors import LocalProtocolError

_BASE64_RUN = re.compile(rb"[A-Za-z0-9+,]*")


def _is_direct(char: str) -> bool:
    return "\x20" <= char <= "\x7e"


def _shifted(run: list[str]) -> bytes:
    try:
        utf16 = "".join(run).encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(
            "mailbox name contains a lone surrogate; it has no modified UTF-7 form"
        ) from exc
    body = binascii.b2a_base64(utf16, newline=False).rstrip(b"=").replace(b"/", b",")
    return b"&" + body + b"-"


def encode(name: str) -> bytes:
    """Encode ``name`` as modified UTF-7 (raises LocalProtocolError on lone surrogates)."""
    out = bytearray()
    run: list[str] = []
    for char in name:
        if _is_direct(char):
            if run:
                out += _shifted(run)
                run = []
            out += b"&-" if char == "&" else char.encode("ascii")
        else:
            run.append(char)
    if run:
        out += _shifted(run)
    return bytes(out)


def _unshift(b64: bytes) -> str | None:
    """Decode one base64 run (between ``&`` and ``-``); None when impossible."""
    if len(b64) % 4 == 1:
        return None
    padded = b64.replace(b",", b"/") + b"=" * (-len(b64) % 4)
    try:
        utf16 = binascii.a2b_base64(padded)
    except binascii.Error:
        return None
    if len(utf16) % 2:
        return None
    try:
        return utf16.decode("utf-16-be")
    except UnicodeDecodeError:
        return None


def _decode_mutf7(raw: bytes) -> str | None:
    parts: list[str] = []
    pos = 0
    while pos < len(raw):
        amp = raw.find(b"&", pos)
        plain = raw[pos:] if amp < 0 else raw[pos:amp]
        if not plain.isascii():
            return None
        parts.append(plain.decode("ascii"))
        if amp < 0:
            break
        run = _BASE64_RUN.match(raw, amp + 1)
        assert run is not None  # the pattern matches the empty string
        end = run.end()
        if end >= len(raw) or raw[end] != ord("-"):
            return None
        if end == amp + 1:
            parts.append("&")
        else:
            text = _unshift(run.group())
            if text is None:
                return None
            parts.append(text)
        pos = end + 1
    return "".join(parts)


def decode(raw: bytes) -> str:
    """Decode a mailbox name; never raises (see the module docstring)."""
    raw = bytes(raw)
    text = _decode_mutf7(raw)
    if text is None:
        return raw.decode("utf-8", errors="surrogateescape")
    return text


def is_valid(raw: bytes) -> bool:
    """True when ``raw`` is canonical modified UTF-7."""
    raw = bytes(raw)
    text = _decode_mutf7(raw)
    if text is None:
        return False
    try:
        return encode(text) == raw
    except LocalProtocolError:
        return False
