"""The Maildir target (the embedded default): ``<root>/<email address>/`` in Maildir++.

What it writes is exactly what Dovecot 2.3 serves with
``mail_location = maildir:<root>/%u``: folder directories named as Dovecot
names them (``maildir_names``), flags in file names and keywords in
``dovecot-keywords`` (``maildir_keywords``), INTERNALDATE as the file's
mtime, delivery tmp/ -> cur/ with fsync (``maildir_files``), our own UIDs
beside Dovecot's files (``maildir_folder``), ``maildirfolder`` in every
sub-folder and ``subscriptions`` at the top.

Nothing is ever written outside ``<root>``: the address and folder names are
checked (``maildir_names``) and every file operation is relative to a
directory descriptor opened with O_NOFOLLOW, so a symbolic link planted
inside the tree is refused rather than followed. Files are created 0600 and
directories 0700, owned by whoever runs mailferry.

File work runs in a worker thread (fsync must not stall the event loop);
one mailbox's operations run one at a time, under an ``flock`` on
``mailferry-lock`` in the mailbox directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import stat
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from mailferry.connection.body import BodyWriter, MessageBody
from mailferry.errors import FolderError, MailboxNotFound
from mailferry.stores import maildir_folder as mf
from mailferry.stores.base import (
    SYSTEM_FLAGS,
    Appended,
    AppendItem,
    AppendOutcome,
    FolderListing,
    MessageMeta,
    SourceMessage,
    TargetFolderStatus,
)
from mailferry.stores.maildir_files import O_DIR, O_READ_FILE, open_dir, read_head
from mailferry.stores.maildir_io import ensure_dir, flocked, raise_if_full, read_text, replace_text
from mailferry.stores.maildir_keywords import KeywordTable
from mailferry.stores.maildir_names import (
    DELIMITER,
    INBOX,
    folder_dirname,
    folder_from_dirname,
    is_inbox,
    mailbox_dirname,
    parents,
    parse_subscriptions,
    render_subscriptions,
)
from mailferry.stores.message_id import MAX_HEADER_BYTES, parse_message_id

T = TypeVar("T")
LOCK_FILE = "mailferry-lock"
SUBSCRIPTIONS_FILE = "subscriptions"
FOLDER_MARKER = "maildirfolder"
_O_MARKER = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
SPOOL_THRESHOLD = 2 * 1024 * 1024  # a body read for fetch() above this goes to a temp file
_READ_CHUNK = 1024 * 1024
Scanned = tuple[mf.FolderState, dict[int, mf.Entry]]


class MaildirTarget:
    """A directory of Maildir++ mailboxes, one per e-mail address."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def mailbox(self, email_address: str) -> MaildirMailbox:
        """Open (creating if needed) the mailbox of ``email_address``.

        ``MailboxNotFound`` when the address can't name a directory or the
        directory can't be used (e.g. a symbolic link was planted there).
        """
        dirname = mailbox_dirname(email_address)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            root_fd = os.open(self.root, O_DIR & ~os.O_NOFOLLOW)
        except OSError as exc:
            raise_if_full(exc)
            reason = f"cannot use the Maildir root {self.root}: {exc.strerror}"
            raise MailboxNotFound(email_address, reason) from exc
        try:
            fd = _create_maildir(root_fd, dirname, INBOX, marker=False)
        except FolderError as exc:
            raise MailboxNotFound(email_address, exc.reason) from exc
        finally:
            os.close(root_fd)
        return MaildirMailbox(email_address, fd)


def _create_maildir(parent_fd: int, name: str, folder: str, *, marker: bool) -> int:
    """Make ``name`` a Maildir (cur/new/tmp); returns its descriptor."""
    try:
        created = ensure_dir(parent_fd, name)
        fd = open_dir(name, parent_fd)
    except OSError as exc:
        raise_if_full(exc)
        raise FolderError(folder, f"cannot create the Maildir directory: {exc.strerror}") from None
    try:
        for sub in mf.SUBDIRS:
            ensure_dir(fd, sub)
        if marker:
            os.close(os.open(FOLDER_MARKER, _O_MARKER, 0o600, dir_fd=fd))
        if created:
            os.fsync(fd)
            os.fsync(parent_fd)
    except OSError as exc:
        os.close(fd)
        raise_if_full(exc)
        raise FolderError(folder, f"cannot create the Maildir directory: {exc.strerror}") from None
    return fd


class MaildirMailbox:
    """One address's Maildir++ tree, as a ``TargetMailbox``."""

    delimiter = DELIMITER
    case_insensitive = False
    personal_prefix = ""  # a Maildir++ tree has no namespaces

    def __init__(self, email_address: str, fd: int) -> None:
        self.email_address = email_address
        self._fd: int | None = fd
        self._lock = asyncio.Lock()
        self._entries: dict[str, Scanned] = {}

    # -- plumbing ----------------------------------------------------------------

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise FolderError(INBOX, "the mailbox is closed")
        return self._fd

    async def _run(self, folder: str, work: Callable[[], T]) -> T:
        """Run ``work`` in a thread, under the mailbox lock; OSError -> our errors."""

        def locked() -> T:
            try:
                with flocked(self.fd, LOCK_FILE):
                    return work()
            except OSError as exc:
                raise_if_full(exc)
                raise FolderError(folder, exc.strerror or str(exc)) from exc

        async with self._lock:
            thread = asyncio.ensure_future(asyncio.to_thread(locked))
            try:
                return await asyncio.shield(thread)
            except asyncio.CancelledError:
                # A thread can't be stopped: keep the lock (and the fd) until it is done,
                # so close() never pulls the directory out from under it.
                with contextlib.suppress(BaseException):
                    await thread
                raise

    def _open(self, folder: str) -> mf.FolderDir:
        return mf.FolderDir.open(self.fd, folder, folder_dirname(folder))

    def _scan(self, folder: str, handle: mf.FolderDir) -> Scanned:
        state = mf.load_state(handle, self.fd)
        entries = mf.scan(handle, state)
        self._entries[folder] = (state, entries)
        return state, entries

    def _cached(self, folder: str, handle: mf.FolderDir) -> Scanned:
        known = self._entries.get(folder)
        state = mf.load_state(handle, self.fd)
        if known is None or known[0].uidvalidity != state.uidvalidity:
            return self._scan(folder, handle)
        return state, known[1]

    # -- folders -------------------------------------------------------------------

    async def list_folders(self) -> list[FolderListing]:
        def work() -> list[FolderListing]:
            found = [FolderListing(INBOX, DELIMITER, ())]
            for name in sorted(os.listdir(self.fd)):
                folder = folder_from_dirname(name)
                if folder is None or is_inbox(folder):
                    continue
                if _is_maildir(self.fd, name):
                    found.append(FolderListing(folder, DELIMITER, ()))
            return found

        return await self._run(INBOX, work)

    async def ensure_folder(self, folder: str) -> None:
        if is_inbox(folder):
            return
        folder_dirname(folder)  # refuse it by the name asked for, before any parent
        chain = [*parents(folder), folder]
        dirnames = [folder_dirname(name) for name in chain]

        def work() -> None:
            for name, dirname in zip(chain, dirnames, strict=True):
                if dirname is None:
                    continue
                fd = _create_maildir(self.fd, dirname, name, marker=True)
                try:
                    with mf.FolderDir(name, os.dup(fd)) as handle:
                        mf.load_state(handle, self.fd)
                finally:
                    os.close(fd)
            self._subscribe(chain)

        await self._run(folder, work)

    def _subscribe(self, folders: list[str]) -> None:
        current = parse_subscriptions(read_text(self.fd, SUBSCRIPTIONS_FILE) or "")
        missing = [name for name in folders if name not in current]
        if missing:
            replace_text(self.fd, SUBSCRIPTIONS_FILE, render_subscriptions(current + missing))

    async def folder_counts(self, folder: str) -> tuple[int, int] | None:
        try:
            found = await self.folder_status(folder)
        except FolderError:
            return None
        return found.uidvalidity, found.messages

    async def folder_status(self, folder: str) -> TargetFolderStatus:
        def work() -> TargetFolderStatus:
            with self._open(folder) as handle:
                state, entries = self._scan(folder, handle)
                return _status(state, len(entries), mf.load_keywords(handle))

        return await self._run(folder, work)

    # -- messages ------------------------------------------------------------------

    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        if not items:
            return []
        messages = [mf.NewMessage(i.body, i.flags, i.internaldate) for i in items]

        def work() -> list[AppendOutcome]:
            with self._open(folder) as handle:
                state, entries = self._cached(folder, handle)
                table = mf.load_keywords(handle)
                delivered = mf.deliver(handle, state, table, messages)
                entries.update((entry.uid, entry) for entry in delivered)
                return [Appended(entry.uid) for entry in delivered]

        return await self._run(folder, work)

    async def list_messages(
        self, folder: str, *, min_uid: int = 1
    ) -> tuple[TargetFolderStatus, list[MessageMeta]]:
        def work() -> tuple[TargetFolderStatus, list[MessageMeta]]:
            with self._open(folder) as handle:
                state, entries = self._scan(folder, handle)
                table = mf.load_keywords(handle)
                metas = [
                    MessageMeta(e.uid, e.size, mf.entry_flags(e, table), mf.entry_date(e))
                    for uid, e in sorted(entries.items())
                    if uid >= min_uid
                ]
                return _status(state, len(entries), table), metas

        return await self._run(folder, work)

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]:
        def work() -> dict[int, str | None]:
            with self._open(folder) as handle:
                _, entries = self._cached(folder, handle)
                found, missing = _read_ids(handle, entries, uids)
                if missing:
                    _, entries = self._scan(folder, handle)
                    found.update(_read_ids(handle, entries, missing)[0])
                return found

        return await self._run(folder, work)

    async def fetch(self, folder: str, uids: Sequence[int]) -> AsyncIterator[SourceMessage]:
        """Read the files one at a time (big ones are spooled, never held in memory)."""
        for uid in dict.fromkeys(uids):
            found = await self._run(folder, functools.partial(self._read_message, folder, uid))
            if found is not None:
                yield found

    def _read_message(self, folder: str, uid: int) -> SourceMessage | None:
        """One message's file and metadata; a file renamed meanwhile is looked up again."""
        with self._open(folder) as handle:
            _, entries = self._cached(folder, handle)
            entry = entries.get(uid)
            if entry is None:
                return None
            try:
                body = _read_body(handle.subs[entry.subdir], entry.name)
            except FileNotFoundError:  # renamed by a flag change: scan again, once
                entry = self._scan(folder, handle)[1].get(uid)
                body = _read_body(handle.subs[entry.subdir], entry.name) if entry else None
            if entry is None or body is None:
                return None
            flags = mf.entry_flags(entry, mf.load_keywords(handle))
            return SourceMessage(MessageMeta(uid, entry.size, flags, mf.entry_date(entry)), body)

    async def set_flags(self, folder: str, changes: Mapping[int, tuple[str, ...]]) -> None:
        if not changes:
            return

        def work() -> None:
            with self._open(folder) as handle:
                _, entries = self._cached(folder, handle)
                table = mf.load_keywords(handle)
                missing = mf.rename_flags(handle, table, entries, dict(changes))
                if missing:
                    _, entries = self._scan(folder, handle)
                    mf.rename_flags(handle, table, entries, {u: changes[u] for u in missing})

        await self._run(folder, work)

    async def delete(self, folder: str, uids: Sequence[int]) -> None:
        if not uids:
            return

        def work() -> None:
            with self._open(folder) as handle:
                _, entries = self._cached(folder, handle)
                if any(uid not in entries for uid in uids):
                    _, entries = self._scan(folder, handle)
                mf.unlink(handle, entries, uids)

        await self._run(folder, work)

    async def close(self) -> None:
        async with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._entries.clear()


def _is_maildir(parent_fd: int, name: str) -> bool:
    """A real directory (not a symlink) with a ``cur`` sub-directory."""
    try:
        fd = open_dir(name, parent_fd)
    except OSError:
        return False
    try:
        os.close(open_dir("cur", fd))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _read_body(dir_fd: int, name: str) -> MessageBody | None:
    """A message file's bytes; None when it is not a regular file."""
    fd = os.open(name, O_READ_FILE, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        writer = BodyWriter(info.st_size, SPOOL_THRESHOLD)
        try:
            while piece := os.read(fd, _READ_CHUNK):
                writer.write(piece)
        except BaseException:
            writer.discard()
            raise
        return writer.finish()
    finally:
        os.close(fd)


def _status(state: mf.FolderState, count: int, table: KeywordTable) -> TargetFolderStatus:
    permanent = (*SYSTEM_FLAGS, *table.keywords(), *(() if table.full else ("\\*",)))
    return TargetFolderStatus(state.uidvalidity, state.uidnext, count, permanent)


def _read_ids(
    handle: mf.FolderDir, entries: dict[int, mf.Entry], uids: Sequence[int]
) -> tuple[dict[int, str | None], list[int]]:
    found: dict[int, str | None] = {}
    missing: list[int] = []
    for uid in uids:
        entry = entries.get(uid)
        if entry is None:
            missing.append(uid)
            continue
        try:
            head = read_head(handle.subs[entry.subdir], entry.name, MAX_HEADER_BYTES)
        except FileNotFoundError:
            missing.append(uid)
            continue
        found[uid] = parse_message_id(head)
    return found, missing
