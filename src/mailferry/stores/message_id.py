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

_FIELD = re.compile(rb"message-id[ \t]*:", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
#: More header than this is not read (a missing blank line must not mean "read 40 MB").
MAX_HEADER_BYTES = 256 * 1024


def header_end(data: bytes) -> int | None:
    """Offset just past the blank line ending the header, None if not in ``data``."""
    match = _HEADER_END.search(data)
    return match.end() if match else None


def parse_message_id(header: bytes) -> str | None:
    """The Message-ID in ``header`` (a whole header block or just some fields)."""
    end = header_end(header)
    if end is not None:
        header = header[:end]
    lines = header.split(b"\n")
    for index, line in enumerate(lines):
        match = _FIELD.match(line)
        if match is None:
            continue
        value = [line[match.end() :]]
        for follow in lines[index + 1 :]:
            if not follow.startswith((b" ", b"\t")):
                break
            value.append(follow)
        text = b"".join(part.rstrip(b"\r") for part in value).strip(b" \t\r\n")
        return text.decode("utf-8", "surrogateescape") or None
    return None
