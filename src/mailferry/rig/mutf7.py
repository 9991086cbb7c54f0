"""Modified UTF-7 (RFC 3501 §5.1.3) for mailbox names, as Dovecot stores them in Maildir++.

The IMAP layer of mailferry has its own codec; the rig keeps this small copy so that it
does not depend on the code it is used to test.
"""

from __future__ import annotations

import base64

from mailferry.rig.errors import RigError


def _b64_utf16(chunk: str) -> str:
    raw = chunk.encode("utf-16-be")
    return base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",")


def encode_mutf7(name: str) -> str:
    """Encode a mailbox name: printable ASCII stays, ``&`` becomes ``&-``, the rest base64."""
    out: list[str] = []
    pending: list[str] = []
    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            if pending:
                out.append("&" + _b64_utf16("".join(pending)) + "-")
                pending.clear()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    if pending:
        out.append("&" + _b64_utf16("".join(pending)) + "-")
    return "".join(out)


def decode_mutf7(text: str) -> str:
    """Inverse of :func:`encode_mutf7`; raises RigError on malformed input."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "&":
            out.append(char)
            index += 1
            continue
        end = text.find("-", index)
        if end < 0:
            raise RigError(f"unterminated modified UTF-7 shift in {text!r}")
        chunk = text[index + 1 : end]
        if not chunk:
            out.append("&")
        else:
            padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
            try:
                out.append(base64.b64decode(padded, validate=True).decode("utf-16-be"))
            except ValueError as exc:
                raise RigError(f"bad modified UTF-7 in {text!r}: {exc}") from exc
        index = end + 1
    return "".join(out)
