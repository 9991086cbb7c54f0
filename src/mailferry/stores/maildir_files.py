"""Message files of a Maildir folder: their names, and writing them safely.

A file we deliver is named::

    <mtime>.M<uid>V<uidvalidity>.mailferry,S=<size>,W=<vsize>:2,<flags>

``mtime`` is the INTERNALDATE in seconds (so Dovecot, which numbers new files
in name order, shows them oldest first), ``uid`` is our target UID, and the
folder's UIDVALIDITY in the name tells our files from copies Dovecot (or a
user) placed here from another folder. ``S=`` is the exact file size and
``W=`` its size with bare LFs counted as CRLF, what Dovecot reports as
RFC822.SIZE. Every path operation is relative to a directory descriptor and
never follows a symbolic link.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mailferry.connection.body import MessageBody

_OURS = re.compile(r"(\d+)\.M(\d+)V(\d+)\.mailferry,")
_SIZE = re.compile(r",S=(\d+)")
_VSIZE = re.compile(r",W=(\d+)")
_BARE_LF = re.compile(rb"(?<!\r)\n")
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
O_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
O_READ_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


@dataclass(frozen=True)
class FileName:
    """A message file name split into its base (stable) and info (flags) parts."""

    base: str
    letters: str
    has_info: bool

    @classmethod
    def parse(cls, name: str) -> FileName:
        base, sep, info = name.partition(":")
        if sep and info.startswith("2,"):
            return cls(base, info[2:], True)
        return cls(base, "", False)

    def with_letters(self, letters: str) -> str:
        return f"{self.base}:2,{letters}"

    def our_uid(self, uidvalidity: int) -> int | None:
        """Our UID if we delivered this file into this very folder, else None."""
        match = _OURS.match(self.base)
        if match is None or int(match.group(3)) != uidvalidity:
            return None
        uid = int(match.group(2))
        return uid if uid > 0 else None

    def size_hint(self) -> int | None:
        """``S=`` for our files; otherwise ``W=`` (Dovecot's files hold LF, IMAP shows CRLF)."""
        pattern = _SIZE if _OURS.match(self.base) else _VSIZE
        match = pattern.search(self.base) or _SIZE.search(self.base)
        return int(match.group(1)) if match else None


def is_ours(name: str) -> bool:
    """Whether ``name`` is a file name we deliver under (in any folder, any UIDVALIDITY)."""
    return _OURS.match(name) is not None


def base_name(mtime: int, uid: int, uidvalidity: int, size: int, vsize: int) -> str:
    return f"{max(0, mtime)}.M{uid}V{uidvalidity}.mailferry,S={size},W={vsize}"


def write_message(tmp_fd: int, name: str, body: MessageBody, mtime: float) -> None:
    """Write ``body`` to ``tmp/name``, set its mtime, fsync it."""
    fd = os.open(name, O_NEW_FILE, 0o600, dir_fd=tmp_fd)
    try:
        for chunk in body.chunks():
            view = memoryview(chunk)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        os.utime(fd, (mtime, mtime))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp_fd, name)
        raise
    os.close(fd)


def _unlink_quietly(dir_fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)


def body_vsize(body: MessageBody) -> int:
    """``virtual_size`` over a body read in chunks (a CR ending one chunk counts)."""
    total, bare, last = 0, 0, b""
    for chunk in body.chunks():
        total += len(chunk)
        bare += len(_BARE_LF.findall(chunk))
        if chunk[:1] == b"\n" and last == b"\r":
            bare -= 1
        last = chunk[-1:]
    return total + bare


def open_dir(name: str, parent_fd: int) -> int:
    """Open a sub-directory without following a symbolic link."""
    return os.open(name, O_DIR, dir_fd=parent_fd)


def close_all(fds: Iterable[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def read_head(dir_fd: int, name: str, limit: int, chunk: int = 16 * 1024) -> bytes:
    """The first bytes of a file, up to and including the blank line after the header."""
    fd = os.open(name, O_READ_FILE, dir_fd=dir_fd)
    try:
        data = b""
        while len(data) < limit:
            piece = os.read(fd, chunk)
            if not piece:
                break
            data += piece
            if b"\n\n" in data or b"\r\n\r\n" in data:
                break
        return data
    finally:
        os.close(fd)
