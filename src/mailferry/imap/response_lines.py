"""Single-line pieces of the response grammar: greeting, tagged status, literal markers.

Pure functions of one line (no parser state), used by ``ResponseParser``.
"""

from __future__ import annotations

import re

from mailferry.errors import RemoteProtocolError, ResponseTooLarge
from mailferry.imap.events import Greeting, TaggedResponse
from mailferry.imap.response_codes import parse_resp_text
from mailferry.imap.tokenizer import decode, excerpt

#: ``* [number ]NAME``: the start of an untagged response.
UNTAGGED = re.compile(rb"\* (?:([0-9]+) )?([A-Za-z][^\x00-\x20\x7f(){\"\\\[\]%*]*)(?= |\Z)")
_TAGGED = re.compile(rb'([^\x00-\x20\x7f(){%*"\\+]+) ([A-Za-z]+)(?: |\Z)')
_START = re.compile(rb'\*(?: |\Z)|\+|[^\x00-\x20\x7f(){%*"\\+]+(?: |\Z)')
_MARKER = re.compile(rb"\{([0-9]*)\+?\}")
_GREETINGS = frozenset({"OK", "PREAUTH", "BYE"})
_TAGGED_STATUSES = frozenset({"OK", "NO", "BAD"})


def parse_greeting(line: bytes) -> Greeting:
    """``* OK|PREAUTH|BYE [code] text``; RemoteProtocolError for anything else."""
    match = UNTAGGED.match(line)
    status = decode(match.group(2)).upper() if match and match.group(1) is None else ""
    if match is None or status not in _GREETINGS:
        raise RemoteProtocolError(f"expected a greeting, got {excerpt(line)}")
    code, text = parse_resp_text(line[match.end() + 1 :])
    return Greeting(status, code, text)


def parse_tagged(line: bytes) -> TaggedResponse:
    """``tag OK|NO|BAD [code] text``; RemoteProtocolError for anything else."""
    match = _TAGGED.match(line)
    status = match.group(2).upper().decode() if match else ""
    if match is None or status not in _TAGGED_STATUSES:
        raise RemoteProtocolError(f"malformed tagged response: {excerpt(line)}")
    code, text = parse_resp_text(line[match.end() :])
    return TaggedResponse(decode(match.group(1)), status, code, text)


def check_start(head: bytes) -> None:
    """Fail at once on a partial line that cannot begin any response."""
    if _START.match(head[:-1] if head.endswith(b"\r") else head) is None:
        raise RemoteProtocolError(f"malformed start of response: {excerpt(head)}")


def split_literal(line: bytes, max_literal: int) -> tuple[bytes, int | None]:
    """Separate a trailing literal marker: (text before it, size or None)."""
    if not line.endswith(b"}"):
        return line, None
    brace = line.rfind(b"{")
    if brace < 0:
        return line, None
    match = _MARKER.fullmatch(line, brace)
    if match is None or not match.group(1):
        if b'"' in line[brace:]:
            return line, None
        raise RemoteProtocolError(f"malformed literal size in {excerpt(line[-60:])}")
    digits = match.group(1)
    if len(digits) > 30 or int(digits) > max_literal:
        size = int(digits) if len(digits) <= 30 else 10**30
        raise ResponseTooLarge("literal", size, max_literal)
    start = brace - 1 if brace and line[brace - 1] == 0x7E else brace
    return line[:start].rstrip(b" "), int(digits)
