"""One Maildir folder on disk: its UIDs, its files, delivery and flag changes.

Maildir has no UIDs, so we keep our own, in files Dovecot ignores:

- ``mailferry-uids`` in the folder: ``uidvalidity <n>`` and ``uidnext <n>``
  lines. UIDVALIDITY is chosen when the folder is first used and never
  changes; losing the file means a new UIDVALIDITY (the engine then
  re-matches by fingerprint).
- our files carry their UID in their name (see ``maildir_files``);
- files we did not deliver (Dovecot's, another tool's) get UIDs above all
  others, in (mtime, name) order, recorded as ``<uid> <base name>`` lines in
  ``mailferry-foreign`` so they keep them.
- ``mailferry-uidvalidity`` at the mailbox root: the last UIDVALIDITY given
  out, so two folders never share one.

All functions here are synchronous and expect the mailbox lock to be held.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mailferry.connection.body import MessageBody
from mailferry.errors import FolderError
from mailferry.stores.flags import storable
from mailferry.stores.maildir_files import (
    FileName,
    base_name,
    body_vsize,
    close_all,
    is_ours,
    open_dir,
    write_message,
)
from mailferry.stores.maildir_io import append_text, read_text, replace_own, replace_text
from mailferry.stores.maildir_keywords import (
    KEYWORDS_FILE,
    KeywordTable,
    flags_from_letters,
    info_letters,
)

STATE_FILE = "mailferry-uids"
FOREIGN_FILE = "mailferry-foreign"
UIDVALIDITY_FILE = "mailferry-uidvalidity"
SUBDIRS = ("cur", "new", "tmp")


@dataclass
class FolderState:
    uidvalidity: int
    uidnext: int


@dataclass(frozen=True)
class Entry:
    """A message file: where it is and what its name and inode say."""

    uid: int
    subdir: str
    name: str
    size: int
    mtime: int
    letters: str


class FolderDir:
    """Descriptors of one folder directory and its cur/new/tmp (no symlinks followed)."""

    def __init__(self, folder: str, fd: int) -> None:
        self.folder = folder
        self.fd = fd
        self.subs: dict[str, int] = {}
        try:
            for sub in SUBDIRS:
                self.subs[sub] = open_dir(sub, fd)
        except OSError as exc:
            self.close()
            raise FolderError(folder, f"not a usable Maildir folder: {exc.strerror}") from None

    @classmethod
    def open(cls, mailbox_fd: int, folder: str, dirname: str | None) -> FolderDir:
        try:
            fd = os.dup(mailbox_fd) if dirname is None else open_dir(dirname, mailbox_fd)
        except FileNotFoundError:
            raise FolderError(folder, "the folder does not exist") from None
        except OSError as exc:
            raise FolderError(folder, f"cannot open the folder: {exc.strerror}") from None
        return cls(folder, fd)

    def close(self) -> None:
        close_all([*self.subs.values(), self.fd])
        self.subs = {}

    def __enter__(self) -> FolderDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- state ---------------------------------------------------------------------


def load_state(folder: FolderDir, mailbox_fd: int) -> FolderState:
    """The folder's UIDVALIDITY and UIDNEXT, created on first use."""
    text = read_text(folder.fd, STATE_FILE)
    values: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    if values.get("uidvalidity", 0) > 0:
        return FolderState(values["uidvalidity"], max(1, values.get("uidnext", 1)))
    state = FolderState(_next_uidvalidity(mailbox_fd), 1)
    save_state(folder, state)
    with contextlib.suppress(FileNotFoundError):  # foreign UIDs of an old UIDVALIDITY
        os.unlink(FOREIGN_FILE, dir_fd=folder.fd)
    return state


def save_state(folder: FolderDir, state: FolderState) -> None:
    text = f"uidvalidity {state.uidvalidity}\nuidnext {state.uidnext}\n"
    replace_own(folder.fd, STATE_FILE, text)


def _next_uidvalidity(mailbox_fd: int) -> int:
    last = (read_text(mailbox_fd, UIDVALIDITY_FILE) or "0").strip()
    value = max(int(time.time()), (int(last) if last.isdigit() else 0) + 1)
    value = min(value, 2**32 - 1)
    replace_own(mailbox_fd, UIDVALIDITY_FILE, f"{value}\n")
    return value


def load_keywords(folder: FolderDir) -> KeywordTable:
    return KeywordTable.parse(read_text(folder.fd, KEYWORDS_FILE) or "")


def _save_keywords(folder: FolderDir, table: KeywordTable) -> None:
    replace_text(folder.fd, KEYWORDS_FILE, table.render())


def _read_foreign(folder: FolderDir) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for line in (read_text(folder.fd, FOREIGN_FILE) or "").splitlines():
        uid, _, base = line.partition(" ")
        if uid.isdigit() and base:
            mapping[base] = int(uid)
    return mapping


# -- scanning --------------------------------------------------------------------


def _sweep_our_tmp(folder: FolderDir) -> None:
    """Remove what a killed writer of ours left in ``tmp/`` (a message written but not
    yet moved to ``new/``): we write only under the mailbox lock we hold now, so no
    file of ours there is in use. Other programs' files are theirs to clean."""
    tmp = folder.subs["tmp"]
    for name in os.listdir(tmp):
        if is_ours(name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=tmp)


def scan(folder: FolderDir, state: FolderState) -> dict[int, Entry]:
    """Every message file, by UID; new foreign files get UIDs (state saved)."""
    _sweep_our_tmp(folder)
    foreign = _read_foreign(folder)
    entries: dict[int, Entry] = {}
    seen: set[str] = set()
    unknown: list[tuple[int, str, str, os.stat_result]] = []
    for sub in ("new", "cur"):
        for name in os.listdir(folder.subs[sub]):
            if name.startswith("."):
                continue
            try:
                info = os.stat(name, dir_fd=folder.subs[sub], follow_symlinks=False)
            except FileNotFoundError:
                continue
            parsed = FileName.parse(name)
            if not stat.S_ISREG(info.st_mode) or parsed.base in seen:
                continue
            seen.add(parsed.base)
            uid = parsed.our_uid(state.uidvalidity) or foreign.get(parsed.base)
            if uid is None or uid in entries:
                unknown.append((int(info.st_mtime), name, sub, info))
            else:
                entries[uid] = _entry(uid, sub, name, info)
    top = max(entries, default=0)
    changed = top >= state.uidnext
    state.uidnext = max(state.uidnext, top + 1)
    if unknown:
        lines = []
        for _, name, sub, info in sorted(unknown):
            uid = state.uidnext
            state.uidnext += 1
            entries[uid] = _entry(uid, sub, name, info)
            lines.append(f"{uid} {FileName.parse(name).base}\n")
        save_state(folder, state)  # UIDs are taken before they are handed out
        append_text(folder.fd, FOREIGN_FILE, "".join(lines))
    elif changed:
        save_state(folder, state)
    return entries


def _entry(uid: int, sub: str, name: str, info: os.stat_result) -> Entry:
    parsed = FileName.parse(name)
    hint = parsed.size_hint()
    size = hint if hint is not None else info.st_size
    return Entry(uid, sub, name, size, int(info.st_mtime), parsed.letters)


def entry_flags(entry: Entry, table: KeywordTable) -> tuple[str, ...]:
    return flags_from_letters(entry.letters, table)


def entry_date(entry: Entry) -> dt.datetime:
    return dt.datetime.fromtimestamp(entry.mtime, dt.UTC)


# -- writing ---------------------------------------------------------------------


def _known_keywords(
    folder: FolderDir, table: KeywordTable, flag_sets: Sequence[Sequence[str]]
) -> None:
    """Give every keyword a letter while letters last, saving ``dovecot-keywords`` first."""
    before = table.render()
    for flags in flag_sets:
        for keyword in storable(flags)[1]:
            table.add(keyword)
    if table.render() != before:
        _save_keywords(folder, table)


@dataclass(frozen=True)
class NewMessage:
    body: MessageBody
    flags: tuple[str, ...]
    internaldate: dt.datetime


def deliver(
    folder: FolderDir, state: FolderState, table: KeywordTable, messages: Sequence[NewMessage]
) -> list[Entry]:
    """Write the messages tmp/ -> cur/ (fsynced) with fresh UIDs, in order."""
    first = state.uidnext
    state.uidnext += len(messages)
    save_state(folder, state)
    _known_keywords(folder, table, [m.flags for m in messages])
    delivered = []
    tmp, cur = folder.subs["tmp"], folder.subs["cur"]
    for uid, message in enumerate(messages, start=first):
        stamp = _timestamp(message.internaldate)
        size = message.body.size
        base = base_name(int(stamp), uid, state.uidvalidity, size, body_vsize(message.body))
        write_message(tmp, base, message.body, stamp)
        letters = info_letters(message.flags, table)
        name = f"{base}:2,{letters}"
        os.rename(base, name, src_dir_fd=tmp, dst_dir_fd=cur)
        delivered.append(Entry(uid, "cur", name, size, int(stamp), letters))
    os.fsync(cur)
    return delivered


def _timestamp(value: dt.datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return float(int(value.timestamp()))


def rename_flags(
    folder: FolderDir,
    table: KeywordTable,
    entries: dict[int, Entry],
    changes: dict[int, tuple[str, ...]],
) -> list[int]:
    """Rename files to carry the new flags; returns the UIDs whose file was not found."""
    _known_keywords(folder, table, list(changes.values()))
    missing = []
    cur = folder.subs["cur"]
    for uid, flags in changes.items():
        entry = entries.get(uid)
        if entry is None:
            missing.append(uid)
            continue
        letters = info_letters(flags, table)
        name = FileName.parse(entry.name).with_letters(letters)
        if entry.subdir == "cur" and name == entry.name:
            continue
        try:
            os.rename(entry.name, name, src_dir_fd=folder.subs[entry.subdir], dst_dir_fd=cur)
        except FileNotFoundError:
            missing.append(uid)
            continue
        entries[uid] = Entry(uid, "cur", name, entry.size, entry.mtime, letters)
    os.fsync(cur)
    return missing


def unlink(folder: FolderDir, entries: dict[int, Entry], uids: Sequence[int]) -> None:
    for uid in uids:
        entry = entries.pop(uid, None)
        if entry is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.name, dir_fd=folder.subs[entry.subdir])
    os.fsync(folder.subs["cur"])
    os.fsync(folder.subs["new"])
