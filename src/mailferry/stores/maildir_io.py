"""Small-file I/O for the Maildir store: read, replace atomically, lock.

All paths are names relative to a directory descriptor; nothing follows a
symbolic link. Files Dovecot also writes (``dovecot-keywords``,
``subscriptions``) are replaced the way Dovecot does it: take the dot-lock
``<name>.lock`` with O_EXCL, write the new contents into it, fsync, rename
it over ``<name>``. Files only mailferry writes (``mailferry-uids``…) are
always written under the mailbox ``flock`` and need no dot-lock: a dot-lock
left by a killed writer would stall the next run for its whole stale age.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator

from mailferry.errors import MailboxLocked, QuotaExceeded

_O_LOCK = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_O_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_STALE_LOCK_SECONDS = 30.0  # a dot-lock untouched this long was left by a dead writer
_DOTLOCK_WAIT_SECONDS = _STALE_LOCK_SECONDS + 5.0  # outlasts the stale age
# The flock's holder may itself be waiting for a dead writer's dot-lock to go stale:
# a waiter for the flock must not give up first (it used to, after 20 s, and skip a folder).
_LOCK_WAIT_SECONDS = _DOTLOCK_WAIT_SECONDS + 25.0
MAX_SMALL_FILE = 16 * 1024 * 1024
_FULL = {errno.ENOSPC, errno.EDQUOT}


def read_text(dir_fd: int, name: str) -> str | None:
    """The file's text (UTF-8, lenient), None when it does not exist."""
    try:
        fd = os.open(name, _O_READ, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    try:
        data = os.read(fd, MAX_SMALL_FILE)
    finally:
        os.close(fd)
    return data.decode("utf-8", "surrogateescape")


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def replace_text(dir_fd: int, name: str, text: str) -> None:
    """Atomically replace ``name`` with ``text`` under Dovecot's dot-lock."""
    lock = name + ".lock"
    fd = _take_dotlock(dir_fd, lock)
    try:
        _write_fd(fd, text.encode("utf-8", "surrogateescape"))
    except BaseException:
        os.close(fd)
        os.unlink(lock, dir_fd=dir_fd)
        raise
    os.close(fd)
    os.rename(lock, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    os.fsync(dir_fd)


def replace_own(dir_fd: int, name: str, text: str) -> None:
    """Atomically replace ``name``, a file only mailferry writes, under the mailbox
    ``flock`` the caller holds: through ``<name>.new``, which a killed writer may
    have left half-written and is simply overwritten."""
    temporary = name + ".new"
    _write_file(dir_fd, temporary, os.O_TRUNC, text)
    os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    os.fsync(dir_fd)


def append_text(dir_fd: int, name: str, text: str) -> None:
    """Append to ``name`` (created if missing) and fsync."""
    _write_file(dir_fd, name, os.O_APPEND, text)


def _write_file(dir_fd: int, name: str, mode: int, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | mode | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
    try:
        _write_fd(fd, text.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


def _take_dotlock(dir_fd: int, lock: str) -> int:
    """Create the dot-lock, breaking it once stale. The wait outlasts the stale age:
    a lock left by a killed process (ours or Dovecot's) is broken, not reported."""
    deadline = time.monotonic() + _DOTLOCK_WAIT_SECONDS
    while True:
        try:
            return os.open(lock, _O_LOCK, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            if _stale(dir_fd, lock):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lock, dir_fd=dir_fd)
                continue
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _stale(dir_fd: int, lock: str) -> bool:
    try:
        stat = os.stat(lock, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    return time.time() - stat.st_mtime > _STALE_LOCK_SECONDS


@contextlib.contextmanager
def flocked(dir_fd: int, name: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``name`` (created if missing) for the block.
    Only a live process can hold it (the kernel drops a dead one's): waiting past
    ``_LOCK_WAIT_SECONDS`` raises :class:`MailboxLocked`."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
    try:
        wait = _LOCK_WAIT_SECONDS
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise MailboxLocked(name, wait) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def ensure_dir(parent_fd: int, name: str) -> bool:
    """Create ``name`` (mode 0700) unless it exists; True when created."""
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
        return True
    except FileExistsError:
        return False


def is_full(exc: OSError) -> bool:
    return exc.errno in _FULL


def raise_if_full(exc: OSError) -> None:
    if is_full(exc):
        raise QuotaExceeded(f"the Maildir file system is full: {exc.strerror}") from exc
