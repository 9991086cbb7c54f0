"""The Message-ID of a message, read leniently from its header bytes.

Both sides of a migration use this one function, so whatever it makes of an
odd header it makes the same on the source and on the target, and the
fingerprints agree. Rules: the first ``Message-ID`` field (any case) wins;
folded lines are unfolded; the value is stripped of surrounding whitespace
and kept verbatim otherwise (angle brackets included); missing or empty
gives None. Bytes that are not UTF-8 survive through ``surrogateescape``.
"""

from __future__ import annotations

import re

_FIELD_REST = re.compile(rb"[ \t]*:")  # after the name "message-id"
_LF = ord("\n")
#: More header than this is not read (a missing blank line must not mean "read 40 MB").
MAX_HEADER_BYTES = 256 * 1024
#: What :func:`message_id_in` reads first: most headers end well within it.
_FIRST_READ = 16 * 1024
_FOLDED = (b" ", b"\t")


def header_end(data: bytes) -> int | None:
    """Offset just past the blank line ending the header, None if not in ``data``.

    The first ``\\r?\\n\\r?\\n``: it ends after the first LF followed by LF or CRLF
    (found with ``bytes.find``, much faster than a regex scan of the header)."""
    lf_crlf = data.find(b"\n\r\n")
    lf_lf = data.find(b"\n\n", 0, len(data) if lf_crlf < 0 else lf_crlf + 1)
    if lf_lf >= 0:
        return lf_lf + 2
    return None if lf_crlf < 0 else lf_crlf + 3


def message_id_in(message: bytes | memoryview) -> str | None:
    """``parse_message_id`` of the first ``MAX_HEADER_BYTES`` of a whole message,
    copying only the header when it ends early (the usual case)."""
    view = memoryview(message)
    head = bytes(view[:_FIRST_READ])
    end = header_end(head)
    # A blank line ending 4 bytes or more before the cut is the first one of the whole
    # message too (it is at most 4 bytes long): the same header as reading it all.
    if len(view) > len(head) and (end is None or end > len(head) - 4):
        head = bytes(view[:MAX_HEADER_BYTES])
        end = header_end(head)
    return _message_id(head if end is None else head[:end])


def parse_message_id(header: bytes) -> str | None:
    """The Message-ID in ``header`` (a whole header block or just some fields)."""
    end = header_end(header)
    return _message_id(header if end is None else header[:end])


def _message_id(header: bytes) -> str | None:
    """The first ``Message-ID:`` field (any case, at a line start) of ``header``, unfolded."""
    start = _field_value_start(header)
    if start is None:
        return None
    value = []
    while True:
        newline = header.find(b"\n", start)
        if newline < 0:
            value.append(header[start:].rstrip(b"\r"))
            break
        value.append(header[start:newline].rstrip(b"\r"))
        if header[newline + 1 : newline + 2] not in _FOLDED:
            break
        start = newline + 1
    text = b"".join(value).strip(b" \t\r\n")
    return text.decode("utf-8", "surrogateescape") or None


def _field_value_start(header: bytes) -> int | None:
    """Where the value of the first ``message-id[ \\t]*:`` at a line start begins."""
    lowered = header.lower()  # ASCII only, as an IGNORECASE bytes pattern
    found = lowered.find(b"message-id")
    while found >= 0:
        if found == 0 or lowered[found - 1] == _LF:
            match = _FIELD_REST.match(lowered, found + 10)
            if match is not None:
                return match.end()
        found = lowered.find(b"message-id", found + 1)
    return None
