"""Write generated messages straight into a Maildir++ tree that Dovecot serves as is.

Layout (Dovecot's default for ``maildir:~/Maildir``): the root is INBOX, every other
folder is ``.<a>.<b>`` with each name component in modified UTF-7 (``&`` is ``&-``).
Files go to ``cur/`` as ``<time>.M<n>P<pid>.mailferry,S=<size>,W=<vsize>:2,<flags>``
with system-flag letters (D F R S T) and keyword letters a-z that index the folder's
``dovecot-keywords`` file; the file's mtime is the INTERNALDATE. Dovecot assigns UIDs
on first access, in filename (= time) order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from mailferry.imap import mutf7
from mailferry.rig.errors import RigError

_SYSTEM_FLAGS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}
_MAX_KEYWORDS = 26
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class RigMessage:
    """A message to write, as tests spell one out by hand."""

    folder: str
    data: bytes
    flags: tuple[str, ...]
    internaldate: datetime


class MessageLike(Protocol):
    """What the writer needs from a message (``GeneratedMessage`` fits).

    An ``imap_size`` attribute (size with CRLF line endings), when present, saves the
    writer from counting line endings itself.
    """

    @property
    def folder(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def flags(self) -> tuple[str, ...]: ...
    @property
    def internaldate(self) -> datetime: ...


@dataclass(frozen=True)
class WriteStats:
    messages: int
    bytes: int
    folders: tuple[str, ...]


def folder_dir(root: Path, folder: str, separator: str = ".") -> Path:
    """The directory that holds ``folder`` (decoded, ``/``-separated) under ``root``."""
    parts = folder.split("/")
    if len(parts) == 1 and parts[0].upper() == "INBOX":
        return root
    for part in parts:
        if not part or separator in part or part in (".", ".."):
            raise RigError(f"folder {folder!r}: component {part!r} cannot be stored in Maildir++")
    return root / (separator + separator.join(_encoded(p) for p in parts))


class _Folder:
    """Per-folder state while writing: its directory and its keyword letters."""

    def __init__(self, root: Path, name: str, separator: str) -> None:
        self.name = name
        self.path = folder_dir(root, name, separator)
        self.cur = str(self.path / "cur")
        self.keywords: dict[str, str] = {}
        self.letters: dict[tuple[str, ...], str] = {}
        for sub in ("cur", "new", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        if self.path != root:
            (self.path / "maildirfolder").touch()
        self._load_keywords()

    def _load_keywords(self) -> None:
        path = self.path / "dovecot-keywords"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                number, _, keyword = line.partition(" ")
                self.keywords[keyword] = chr(ord("a") + int(number))

    def flag_letters(self, flags: tuple[str, ...]) -> str:
        cached = self.letters.get(flags)
        if cached is not None:
            return cached
        letters = []
        for flag in flags:
            if flag.startswith("\\"):
                if flag not in _SYSTEM_FLAGS:
                    raise RigError(f"no Maildir letter for system flag {flag}")
                letters.append(_SYSTEM_FLAGS[flag])
            else:
                letters.append(self._keyword_letter(flag))
        result = "".join(sorted(set(letters)))
        self.letters[flags] = result
        return result

    def _keyword_letter(self, keyword: str) -> str:
        if keyword not in self.keywords:
            if len(self.keywords) >= _MAX_KEYWORDS:
                raise RigError(f"folder {self.name!r}: more than {_MAX_KEYWORDS} keywords")
            self.keywords[keyword] = chr(ord("a") + len(self.keywords))
        return self.keywords[keyword]

    def save_keywords(self) -> None:
        if self.keywords:
            lines = [f"{ord(letter) - ord('a')} {kw}\n" for kw, letter in self.keywords.items()]
            (self.path / "dovecot-keywords").write_text("".join(lines), encoding="utf-8")


def write_maildir(
    user_maildir: Path,
    messages: Iterable[MessageLike],
    separator: str = ".",
    *,
    extra_folders: Iterable[str] = (),
    subscribe: bool = True,
) -> WriteStats:
    """Write ``messages`` under ``user_maildir`` (the Maildir++ root, i.e. INBOX).

    Every ancestor of a folder is created as a real (empty) folder, ``extra_folders``
    are created empty, and all of them are subscribed when ``subscribe``.
    """
    root = Path(user_maildir)
    folders: dict[str, _Folder] = {}

    def get(name: str) -> _Folder:
        found = folders.get(name)
        if found is None:
            for ancestor in _ancestors(name):
                if ancestor not in folders:
                    folders[ancestor] = _Folder(root, ancestor, separator)
            found = folders[name] = _Folder(root, name, separator)
        return found

    get("INBOX")
    for name in extra_folders:
        get(name)
    count = total = 0
    for message in messages:
        folder = get(message.folder)
        _write_one(folder, message, count)
        count += 1
        total += len(message.data)
    for folder in folders.values():
        folder.save_keywords()
    if subscribe:
        _subscribe(root, list(folders))
    return WriteStats(messages=count, bytes=total, folders=tuple(folders))


def _ancestors(name: str) -> list[str]:
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _write_one(folder: _Folder, message: MessageLike, number: int) -> None:
    data = message.data
    timestamp = message.internaldate.timestamp()
    vsize = getattr(message, "imap_size", None)
    if vsize is None:
        vsize = len(data) + data.count(b"\n") - data.count(b"\r\n")
    letters = folder.flag_letters(message.flags)
    base = f"{int(timestamp)}.M{number}P{os.getpid()}.mailferry"
    for attempt in range(1000):
        unique = base if attempt == 0 else f"{base}_{attempt}"
        name = f"{folder.cur}/{unique},S={len(data)},W={vsize}:2,{letters}"
        try:
            fd = os.open(name, _FILE_FLAGS, 0o600)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 1000 collisions means something else is wrong
        raise RigError(f"cannot find a free file name in {folder.cur}")
    try:
        _write_all(fd, data)
        os.utime(fd, (timestamp, timestamp))
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _subscribe(root: Path, names: list[str]) -> None:
    """Dovecot's subscriptions file (version 2: components separated by TAB)."""
    path = root / "subscriptions"
    lines: list[str] = []
    if path.exists():
        lines = [line for line in path.read_text(encoding="utf-8").split("\n")[2:] if line]
    for name in names:
        entry = (
            "INBOX"
            if name.upper() == "INBOX"
            else "\t".join(_encoded(part) for part in name.split("/"))
        )
        if entry not in lines:
            lines.append(entry)
    path.write_text("V\t2\n\n" + "".join(line + "\n" for line in lines), encoding="utf-8")


def _encoded(name: str) -> str:
    """A folder name as Dovecot stores it in Maildir++ (modified UTF-7)."""
    return mutf7.encode(name).decode("ascii")
