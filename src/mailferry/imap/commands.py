"""Sans-IO IMAP command serialiser: ``(tag, command, args)`` -> wire segments.

A command is one or more ``Segment``\\ s. Each synchronising literal ends a
segment whose ``wait_for_continuation`` is True: the caller writes it, waits
for the server's ``+`` and only then writes the next one (which starts with
the literal's data). Non-synchronising literals (``{n+}``) stay inline.
Bodies are never copied: a literal's ``bytes``/``memoryview`` is one of the
segment's ``parts``, meant for ``writer.writelines(parts)``.

Literal choice: LITERAL+ advertised -> every literal ``{n+}``; only LITERAL-
-> ``{n+}`` up to 4096 bytes, ``{n}`` above; neither -> ``{n}``.

The value types live in ``command_values``, the argument builders for
specific commands in ``command_args``; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailferry.errors import LocalProtocolError
from mailferry.imap import mutf7
from mailferry.imap.command_args import (
    QresyncParams,
    append_args,
    batch_for_multiappend,
    enable_args,
    fetch_items,
    id_args,
    list_args,
    sasl_plain_initial,
    select_args,
    status_args,
    uid_fetch_args,
    uid_search_args,
    uid_store_args,
    xoauth2_initial,
)
from mailferry.imap.command_values import (
    MAX_NUMBER64,
    AppendMessage,
    Arg,
    Atom,
    Literal,
    Mailbox,
    Raw,
    imap_datetime,
    is_atom,
    is_atom_char,
    is_quotable,
    quote,
)

__all__ = [
    "LITERAL_MINUS_MAX",
    "AppendMessage",
    "Arg",
    "Atom",
    "CommandEncoder",
    "Literal",
    "Mailbox",
    "QresyncParams",
    "Raw",
    "Segment",
    "append_args",
    "batch_for_multiappend",
    "enable_args",
    "fetch_items",
    "id_args",
    "imap_datetime",
    "list_args",
    "quote",
    "sasl_plain_initial",
    "select_args",
    "status_args",
    "uid_fetch_args",
    "uid_search_args",
    "uid_store_args",
    "xoauth2_initial",
]

#: Largest literal LITERAL- lets us send without waiting (RFC 7888).
LITERAL_MINUS_MAX = 4096


def _nbytes(part: bytes | memoryview) -> int:
    return part.nbytes if isinstance(part, memoryview) else len(part)


@dataclass(frozen=True)
class Segment:
    """Bytes to write in one go; if ``wait_for_continuation``, wait for ``+`` afterwards."""

    parts: tuple[bytes | memoryview, ...]
    wait_for_continuation: bool

    @property
    def size(self) -> int:
        return sum(_nbytes(part) for part in self.parts)


class _SegmentBuilder:
    """Accumulates small text into one buffer and keeps literal bodies as their own parts."""

    def __init__(self, non_sync_max: int | None) -> None:
        self._non_sync_max = non_sync_max  # None: no limit; -1: never
        self._buffer = bytearray()
        self._parts: list[bytes | memoryview] = []
        self._segments: list[Segment] = []

    def text(self, data: bytes) -> None:
        self._buffer += data

    def literal(self, data: bytes | memoryview, *, binary: bool) -> None:
        size = _nbytes(data)
        limit = self._non_sync_max
        sync = limit is not None and size > limit
        prefix = "~" if binary else ""
        self._buffer += f"{prefix}{{{size}{'' if sync else '+'}}}\r\n".encode("ascii")
        self._flush_text()
        if sync:
            self._end_segment(wait=True)
        if size:
            self._parts.append(data)

    def finish(self) -> list[Segment]:
        self._flush_text()
        self._end_segment(wait=False)
        return self._segments

    def _flush_text(self) -> None:
        if self._buffer:
            self._parts.append(bytes(self._buffer))
            self._buffer.clear()

    def _end_segment(self, *, wait: bool) -> None:
        self._segments.append(Segment(tuple(self._parts), wait))
        self._parts = []


class CommandEncoder:
    """Serialises commands for one connection, given the server's capabilities."""

    def __init__(self, capabilities: Iterable[str] = ()) -> None:
        self._non_sync_max: int | None = -1
        self.set_capabilities(capabilities)

    def set_capabilities(self, capabilities: Iterable[str]) -> None:
        names = {name.upper() for name in capabilities}
        if "LITERAL+" in names:
            self._non_sync_max = None
        elif "LITERAL-" in names:
            self._non_sync_max = LITERAL_MINUS_MAX
        else:
            self._non_sync_max = -1

    def encode(self, tag: str, command: str, *args: Arg) -> list[Segment]:
        """``tag command arg arg ...CRLF`` split at synchronising literals."""
        _check_tag(tag)
        _check_command(command)
        out = _SegmentBuilder(self._non_sync_max)
        out.text(f"{tag} {command}".encode("ascii"))
        for arg in args:
            out.text(b" ")
            _write_arg(out, arg)
        out.text(b"\r\n")
        return out.finish()


def _check_tag(tag: str) -> None:
    """RFC 3501 ``tag``: 1*<ASTRING-CHAR except "+">."""
    data = tag.encode("ascii") if tag.isascii() else b"\x80"
    if not data or not all((is_atom_char(b) or b == ord("]")) and b != ord("+") for b in data):
        raise LocalProtocolError(f"not a legal tag: {tag!r}")


def _check_command(command: str) -> None:
    words = command.split(" ")
    if not command.isascii() or not all(is_atom(word.encode("ascii")) for word in words):
        raise LocalProtocolError(f"not a legal command name: {command!r}")


def _write_arg(out: _SegmentBuilder, arg: Arg) -> None:
    writer = _WRITERS.get(type(arg))
    if writer is not None:
        writer(out, arg)
    else:
        _write_other(out, arg)


def _write_other(out: _SegmentBuilder, arg: Arg) -> None:
    """Subclasses of the argument types (and errors): the checks in order."""
    if isinstance(arg, bool):
        raise LocalProtocolError("a bool is not an IMAP argument")
    for kind, writer in _WRITERS.items():
        if isinstance(arg, kind):
            writer(out, arg)
            return
    raise LocalProtocolError(f"unsupported argument type: {type(arg).__name__}")


def _write_int(out: _SegmentBuilder, arg: Any) -> None:
    if not 0 <= arg <= MAX_NUMBER64:
        raise LocalProtocolError(f"number out of range: {arg}")
    out.text(str(arg).encode("ascii"))


def _write_atom(out: _SegmentBuilder, arg: Any) -> None:
    out.text(arg.text.encode("ascii"))


def _write_list(out: _SegmentBuilder, items: Any) -> None:
    if all(type(item) is Atom for item in items):  # flag lists: one piece of text
        out.text(b"(" + " ".join(item.text for item in items).encode("ascii") + b")")
        return
    out.text(b"(")
    for index, item in enumerate(items):
        if index:
            out.text(b" ")
        _write_arg(out, item)
    out.text(b")")


_WRITERS: dict[type, Callable[[_SegmentBuilder, Any], None]] = {
    int: _write_int,
    str: lambda out, arg: _write_astring(out, _utf8(arg)),
    bytes: lambda out, arg: _write_astring(out, bytes(arg)),
    bytearray: lambda out, arg: _write_astring(out, bytes(arg)),
    Atom: _write_atom,
    Raw: lambda out, arg: out.text(arg.data),
    Literal: lambda out, arg: out.literal(arg.data, binary=arg.binary),
    Mailbox: lambda out, arg: _write_astring(out, mutf7.encode(arg.name)),
    datetime: lambda out, arg: out.text(quote(imap_datetime(arg).encode("ascii"))),
    list: _write_list,
    tuple: _write_list,
}


def _utf8(text: str) -> bytes:
    """UTF-8, restoring bytes a ``surrogateescape`` decode kept (the mUTF-7 fallback)."""
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"string has a lone surrogate: {text!r}") from exc


def needs_quoting(data: bytes) -> bool:
    """Not sent as an atom: non-atoms, ``NIL``, a leading ``~`` (a server could
    take it for literal8 ``~{n}``) and ``[`` (legal, but lenient parsers read
    ``[...]`` as a section or response code)."""
    return data.upper() == b"NIL" or data.startswith(b"~") or b"[" in data or not is_atom(data)


def _write_astring(out: _SegmentBuilder, data: bytes) -> None:
    if needs_quoting(data):
        if is_quotable(data):
            out.text(quote(data))
        else:
            out.literal(data, binary=False)
    else:
        out.text(data)
