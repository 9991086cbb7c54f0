"""The values a command argument can be, and the lexical rules they obey.

``CommandEncoder`` (in ``commands``) turns these into wire bytes. A plain
``str``/``bytes`` argument is an *astring*: an atom when it is made only of
ATOM-CHARs, else a quoted string when it is 7-bit without CR, LF or NUL,
else a literal. ``NIL`` (any case) is always quoted so it can never be read
back as the NIL token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailferry.errors import LocalProtocolError

#: RFC 3501 atom-specials other than CTL: ``( ) { SP % * " \ ]``.
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Largest number we send (``number64`` of RFC 9051; mod-sequences are 63-bit).
MAX_NUMBER64 = 2**63 - 1
_MINUTE = timedelta(minutes=1)


def is_atom_char(byte: int) -> bool:
    """RFC 3501 ATOM-CHAR: 7-bit, not a CTL, not an atom-special."""
    return 0x20 < byte < 0x7F and byte not in _ATOM_SPECIALS


#: Bytes that are not ATOM-CHARs, and those not allowed in an ``Atom`` (which allows ``]``).
_NOT_ATOM = bytes(b for b in range(256) if not is_atom_char(b))
_NOT_ATOM_ARG = _NOT_ATOM.replace(b"]", b"")


def is_atom(data: bytes) -> bool:
    return bool(data) and len(data.translate(None, _NOT_ATOM)) == len(data)


def is_quotable(data: bytes) -> bool:
    """True when ``data`` fits in a quoted string (7-bit, no CR, LF or NUL)."""
    return data.isascii() and not any(b in data for b in (b"\r", b"\n", b"\x00"))


def quote(data: bytes) -> bytes:
    """``data`` as a quoted string; the caller checked ``is_quotable``."""
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


@dataclass(frozen=True)
class Atom:
    """Sent verbatim once checked: ATOM-CHARs plus ``]`` (fetch items like ``BODY[]``),
    with an optional leading ``\\`` (system flags like ``\\Seen``)."""

    text: str

    def __post_init__(self) -> None:
        body = self.text[1:] if self.text.startswith("\\") else self.text
        data = body.encode("ascii") if body.isascii() else b"\x80"
        if not data or len(data.translate(None, _NOT_ATOM_ARG)) != len(data):
            raise LocalProtocolError(f"not a legal atom: {self.text!r}")


@dataclass(frozen=True)
class Raw:
    """Sent verbatim without any check (pre-formatted fetch items, sequence sets)."""

    data: bytes


@dataclass(frozen=True)
class Literal:
    """Always sent as a literal; ``binary`` makes it a ``literal8`` (``~{n}``, RFC 3516).

    NUL bytes are allowed in a plain literal although RFC 3501 forbids them:
    messages containing NUL exist in the wild and most servers store them, so
    refusing would lose mail; a server that objects answers NO or BAD.
    """

    data: bytes | memoryview
    binary: bool = False


@dataclass(frozen=True)
class Mailbox:
    """A mailbox name: encoded to modified UTF-7, then sent as an astring."""

    name: str


@dataclass(frozen=True)
class AppendMessage:
    """One message of an APPEND (``internaldate`` must be timezone-aware)."""

    data: bytes | memoryview
    flags: tuple[str, ...] = ()
    internaldate: datetime | None = None

    @property
    def size(self) -> int:
        return self.data.nbytes if isinstance(self.data, memoryview) else len(self.data)


Arg = (
    str
    | bytes
    | int
    | Atom
    | Raw
    | Literal
    | Mailbox
    | datetime
    | Sequence["Arg"]  # list or tuple: a parenthesised list
)


def imap_datetime(dt: datetime) -> str:
    """``dd-Mon-yyyy hh:mm:ss +zzzz`` (no quotes) for an aware datetime.

    Month names are English whatever the locale. An offset with seconds
    (historic LMT zones) cannot be written, so such times are sent in UTC.
    """
    offset = dt.utcoffset()
    if offset is None:
        raise LocalProtocolError(f"naive datetime has no timezone: {dt!r}")
    if not offset:
        zone = "+0000"
    else:
        if offset % _MINUTE:
            dt = dt.astimezone(UTC)
            offset = timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        zone = f"{sign}{hours:02d}{mins:02d}"
    return (
        f"{dt.day:02d}-{_MONTHS[dt.month - 1]}-{dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} {zone}"
    )
