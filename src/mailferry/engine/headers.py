"""A lenient reader of the few headers the engine needs: Subject, From, Date, Message-ID.

Labels come from the first 64 KB of a message; the Message-ID is read by the
stores' own reader (``stores.message_id``) so that source, target and engine
fingerprint a message alike, then normalised by :func:`normalize_message_id`
(applied to every side's value). Nothing here raises on bad input: broken
encodings, missing headers and unparseable dates give ``""`` or None.
"""

from __future__ import annotations

import datetime as dt
import email.errors
import email.header
import email.utils
import re
from dataclasses import dataclass, replace

from mailferry.connection.body import MessageBody
from mailferry.stores.message_id import message_id_in

HEAD_LIMIT = 64 * 1024
_END_OF_HEADER = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$")
_ANGLE = re.compile(r"<[^<>\s]+>")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class HeaderSummary:
    """What a message says about itself (decoded; ``""``/None when absent or broken)."""

    subject: str = ""
    sender: str = ""
    date: dt.datetime | None = None
    message_id: str | None = None


def summarize(body: MessageBody) -> HeaderSummary:
    """The header summary of a message body (64 KB for the labels; the Message-ID is
    read by the stores' own reader over the same span they read, so fingerprints agree)."""
    summary = read_headers(bytes(body.view()[:HEAD_LIMIT]))
    return replace(summary, message_id=message_id_of(body))


def message_id_of(body: MessageBody) -> str | None:
    """Just the normalised Message-ID (what a fingerprint needs; the copy path calls
    this per message and :func:`summarize` only for the rare message it reports)."""
    return normalize_message_id(message_id_in(body.view()))


def read_headers(head: bytes) -> HeaderSummary:
    """Parse the header block at the start of ``head``."""
    fields = header_fields(head)
    return HeaderSummary(
        subject=decode_words(fields.get("subject", "")),
        sender=decode_words(fields.get("from", "")),
        date=parse_date(fields.get("date")),
        message_id=normalize_message_id(fields.get("message-id")),
    )


def header_fields(head: bytes) -> dict[str, str]:
    """Unfolded header fields by lower-cased name; the first occurrence wins."""
    end = _END_OF_HEADER.search(head)
    block = head[: end.start()] if end else head
    entries: list[list[str]] = []
    for line in block.splitlines():
        if line[:1] in (b" ", b"\t"):
            if entries:
                entries[-1][1] += " " + _text(line).strip()
            continue
        match = _FIELD.match(line)
        if match is not None:
            entries.append([match.group(1).decode("ascii").lower(), _text(match.group(2)).strip()])
    fields: dict[str, str] = {}
    for name, value in entries:
        fields.setdefault(name, value.strip())
    return fields


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; the raw text when they are broken."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return value


def parse_date(value: str | None) -> dt.datetime | None:
    """The Date header as an aware datetime (naive ones are taken as UTC)."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def normalize_message_id(value: str | None) -> str | None:
    """One spelling of a Message-ID, whichever side read it: the first ``<...>`` token,
    else the whitespace-collapsed text; None when empty."""
    if value is None:
        return None
    match = _ANGLE.search(value)
    text = match.group(0) if match else _WHITESPACE.sub(" ", value).strip()
    return text or None
