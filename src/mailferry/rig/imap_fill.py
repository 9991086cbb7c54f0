"""Fill a mailbox over IMAP: APPEND every message with its flags and INTERNALDATE.

For servers whose store the rig does not write itself (Courier keeps keywords in its
own files). Folders are created, parents first, unless they exist. ``folder_name``
turns a corpus folder (decoded, ``/``-separated) into the server's decoded name.
"""

from __future__ import annotations

import imaplib
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from mailferry.imap import mutf7
from mailferry.rig.errors import RigError
from mailferry.rig.maildir import MessageLike, WriteStats

_TIMEOUT = 30.0
_LIST_LINE = re.compile(rb'\([^)]*\) (?:"(?:[^"\\]|\\.)*"|NIL) ("(?:[^"\\]|\\.)*"|[^ "]+)\Z')


def append_messages(
    address: tuple[str, int],
    login: tuple[str, str],
    messages: Iterable[MessageLike],
    folder_name: Callable[[str], str],
    delimiter: str,
) -> WriteStats:
    """APPEND ``messages`` as the user ``login`` on the plaintext port ``address``."""
    client = imaplib.IMAP4(address[0], address[1], timeout=_TIMEOUT)
    # imaplib writes a literal and its CRLF separately: without NODELAY every APPEND
    # waits for a delayed ACK (40 ms).
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        _check(client.login(*login), "LOGIN")
        existing = _listed(client)
        count = total = 0
        for message in messages:
            name = folder_name(message.folder)
            _ensure(client, name, delimiter, existing)
            flags = "(" + " ".join(f for f in message.flags if f != "\\Recent") + ")"
            when = imaplib.Time2Internaldate(_aware(message.internaldate))
            _check(client.append(_quoted(name), flags, when, message.data), f"APPEND {name}")
            count += 1
            total += len(message.data)
        return WriteStats(messages=count, bytes=total, folders=tuple(sorted(existing)))
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            client.shutdown()


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise RigError(f"INTERNALDATE {when} has no time zone")
    return when


def _listed(client: imaplib.IMAP4) -> set[str]:
    typ, lines = client.list()
    _check((typ, lines), "LIST")
    names = set()
    for line in lines:
        found = _LIST_LINE.match(line) if isinstance(line, bytes) else None
        if found is None:
            raise RigError(f"unexpected LIST line {line!r}")
        name = found.group(1)
        if name.startswith(b'"'):
            name = re.sub(rb"\\(.)", rb"\1", name[1:-1])
        names.add(mutf7.decode(name))
    return names


def _ensure(client: imaplib.IMAP4, name: str, delimiter: str, existing: set[str]) -> None:
    if name in existing:
        return
    parts = name.split(delimiter)
    for depth in range(1, len(parts) + 1):
        ancestor = delimiter.join(parts[:depth])
        if ancestor not in existing and ancestor.upper() != "INBOX":
            _check(client.create(_quoted(ancestor)), f"CREATE {ancestor}")
        existing.add(ancestor)


def _quoted(name: str) -> str:
    encoded = mutf7.encode(name).decode("ascii")
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result: tuple[str, Sequence[object]], what: str) -> None:
    typ, data = result
    if typ != "OK":
        raise RigError(f"IMAP {what} failed: {typ} {data!r}")
