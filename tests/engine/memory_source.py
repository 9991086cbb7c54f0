"""An in-memory ``SourceMailbox`` (and message builder) for the engine tests.

It exists because Hypothesis runs hundreds of syncs and a real IMAP server per
example is far too slow. The real stores are held to the same protocol by the
stores' contract suite (tests/stores/), so what the engine relies on here it can
rely on there. Besides the protocol it offers the mutations a mail user makes
(add, expunge, flag, rename, a server that renumbers everything under a new
UIDVALIDITY) and counts calls, so tests can bound the round trips of a sync.
Every method yields to the event loop once, so a sync can be cancelled at any
await point.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from mailferry.connection.body import MessageBody
from mailferry.errors import FolderError
from mailferry.stores.base import (
    FolderListing,
    FolderStatus,
    MessageMeta,
    SharedListing,
    SourceMessage,
)
from mailferry.stores.message_id import parse_message_id

BASE_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def make_message(
    subject: str, message_id: str | None, text: str = "hello", sender: str = "a@example.org"
) -> bytes:
    """A small RFC 5322 message."""
    lines = [f"From: {sender}", "To: b@example.org", f"Subject: {subject}"]
    if message_id is not None:
        lines.append(f"Message-ID: {message_id}")
    lines += ["Date: Mon, 1 Jan 2024 10:00:00 +0000", "", text, ""]
    return "\r\n".join(lines).encode()


class TrackedBody(MessageBody):
    """A body that remembers being closed (the engine must close every body it gets)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data=data)
        self.closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


@dataclass
class StoredMessage:
    body: bytes
    flags: tuple[str, ...]
    internaldate: dt.datetime
    modseq: int


@dataclass
class MemoryFolder:
    name: str
    uidvalidity: int
    attributes: tuple[str, ...] = ()
    uidnext: int = 1
    modseq: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)

    def status(self, condstore: bool) -> FolderStatus:
        return FolderStatus(
            uidvalidity=self.uidvalidity,
            uidnext=self.uidnext,
            messages=len(self.messages),
            highestmodseq=self.modseq if condstore else None,
        )

    def meta(self, uid: int) -> MessageMeta:
        stored = self.messages[uid]
        return MessageMeta(uid, len(stored.body), stored.flags, stored.internaldate, stored.modseq)


class MemorySource:
    """A source mailbox held in dictionaries; ``calls`` counts protocol calls."""

    def __init__(
        self, *, delimiter: str = "/", condstore: bool = True, prefix: str | None = None
    ) -> None:
        self.delimiter = delimiter
        self.condstore = condstore
        self.prefix = prefix
        self.folders: dict[str, MemoryFolder] = {}
        self.calls: Counter[str] = Counter()
        self.fetched: list[int] = []
        self.bodies: list[TrackedBody] = []
        self.changed_since: list[int] = []
        self.on_await: Callable[[], None] | None = None
        self.withheld: set[int] = set()  # UIDs a fetch silently leaves out (a faulty server)
        self._uidvalidity = 1000

    # -- what a user (or the server) does --------------------------------------------

    def add_folder(self, name: str, attributes: Sequence[str] = ()) -> MemoryFolder:
        self._uidvalidity += 1
        folder = MemoryFolder(name, self._uidvalidity, tuple(attributes))
        self.folders[name] = folder
        return folder

    def add(
        self,
        folder: str,
        body: bytes,
        flags: Sequence[str] = (),
        internaldate: dt.datetime | None = None,
    ) -> int:
        box = self.folders[folder]
        uid = box.uidnext
        box.uidnext += 1
        box.modseq += 1
        date = internaldate or BASE_DATE + dt.timedelta(minutes=uid)
        box.messages[uid] = StoredMessage(body, tuple(flags), date, box.modseq)
        return uid

    def expunge(self, folder: str, uid: int) -> None:
        box = self.folders[folder]
        del box.messages[uid]
        box.modseq += 1

    def set_flags(self, folder: str, uid: int, flags: Sequence[str]) -> None:
        box = self.folders[folder]
        box.modseq += 1
        stored = box.messages[uid]
        box.messages[uid] = StoredMessage(
            stored.body, tuple(flags), stored.internaldate, box.modseq
        )

    def bump_uidvalidity(self, folder: str) -> dict[int, int]:
        """The server renumbers the folder (new UIDVALIDITY, UIDs from 1 in a new order)."""
        box = self.folders[folder]
        self._uidvalidity += 1
        box.uidvalidity = self._uidvalidity
        old = sorted(box.messages, reverse=True)  # reversed: new UIDs differ from old ones
        mapping = {uid: new for new, uid in enumerate(old, start=1)}
        box.messages = {mapping[uid]: box.messages[uid] for uid in old}
        box.uidnext = len(old) + 1
        box.modseq += 1
        return mapping

    def rename(self, old: str, new: str) -> None:
        box = self.folders.pop(old)
        box.name = new
        self.folders[new] = box

    def copyable(self, folder: str, *, include_deleted: bool = False) -> list[StoredMessage]:
        box = self.folders[folder]
        return [
            m
            for m in box.messages.values()
            if include_deleted or "\\deleted" not in {f.lower() for f in m.flags}
        ]

    @property
    def round_trips(self) -> int:
        return sum(self.calls.values())

    # -- SourceMailbox ---------------------------------------------------------------

    def _folder(self, name: str) -> MemoryFolder:
        try:
            return self.folders[name]
        except KeyError:
            raise FolderError(name, "no such folder") from None

    async def list_folders(self) -> list[FolderListing]:
        await self._call("list_folders")
        return [FolderListing(f.name, self.delimiter, f.attributes) for f in self.folders.values()]

    async def personal_prefix(self) -> str | None:
        await self._call("personal_prefix")
        return self.prefix

    async def shared_folders(self, under: Sequence[tuple[str, ...]] = ()) -> SharedListing:
        await self._call("shared_folders")
        return SharedListing()  # every folder is in list_folders

    async def status(self, folder: str) -> FolderStatus:
        await self._call("status")
        return self._folder(folder).status(self.condstore)

    async def list_messages(
        self, folder: str, *, changed_since: int | None = None
    ) -> tuple[FolderStatus, list[MessageMeta]]:
        await self._call("list_messages")
        box = self._folder(folder)
        if changed_since is not None:
            self.changed_since.append(changed_since)
        since = changed_since if self.condstore and changed_since is not None else 0
        metas = [box.meta(uid) for uid in sorted(box.messages) if box.messages[uid].modseq > since]
        return box.status(self.condstore), metas

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]:
        await self._call("message_ids")
        box = self._folder(folder)
        return {
            uid: parse_message_id(box.messages[uid].body) for uid in uids if uid in box.messages
        }

    async def headers(self, folder: str, uids: Sequence[int]) -> Mapping[int, bytes]:
        await self._call("headers")
        box = self._folder(folder)
        return {uid: box.messages[uid].body.split(b"\r\n\r\n", 1)[0] for uid in uids
                if uid in box.messages}  # fmt: skip

    async def fetch(
        self, folder: str, uids: Sequence[int], *, listed: bool = False
    ) -> AsyncIterator[SourceMessage]:
        await self._call("fetch")
        box = self._folder(folder)
        for uid in uids:
            await self._pause()
            if uid in box.messages and uid not in self.withheld:
                body = TrackedBody(box.messages[uid].body)
                self.fetched.append(uid)
                self.bodies.append(body)
                yield SourceMessage(box.meta(uid), body)

    async def close(self) -> None:
        return None

    async def _call(self, name: str) -> None:
        self.calls[name] += 1
        await self._pause()

    async def _pause(self) -> None:
        """An await point (``on_await`` lets a test cancel the sync right here)."""
        if self.on_await is not None:
            self.on_await()
        await asyncio.sleep(0)
