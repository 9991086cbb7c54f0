"""An in-memory ``TargetMailbox`` for the engine tests that need what a Maildir can't
show: a target without UIDPLUS (``Appended(None)``), one that refuses some messages,
one that keeps few flags, or one whose UIDVALIDITY changes. The real stores are
held to the same protocol by the stores' contract suite."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from mailferry.errors import FolderError
from mailferry.stores.base import (
    SYSTEM_FLAGS,
    Appended,
    AppendItem,
    AppendOutcome,
    FolderListing,
    MessageMeta,
    Rejected,
    TargetFolderStatus,
)
from mailferry.stores.message_id import parse_message_id

Refuser = Callable[[bytes], Rejected | None]


@dataclass
class TargetMessage:
    body: bytes
    flags: tuple[str, ...]
    internaldate: dt.datetime


@dataclass
class TargetBox:
    uidvalidity: int
    uidnext: int = 1
    messages: dict[int, TargetMessage] = field(default_factory=dict)


class MemoryTarget:
    """A target mailbox held in dictionaries."""

    delimiter = "/"
    case_insensitive = False
    personal_prefix = ""

    def __init__(
        self,
        *,
        uidplus: bool = True,
        permanent_flags: Sequence[str] = (*SYSTEM_FLAGS, "\\*"),
        refuse: Refuser | None = None,
    ) -> None:
        self.uidplus = uidplus
        self.permanent_flags = tuple(permanent_flags)
        self.refuse = refuse
        self.boxes: dict[str, TargetBox] = {}
        self.attributes: dict[str, tuple[str, ...]] = {}
        self.calls: Counter[str] = Counter()
        self._uidvalidity = 5000

    def new_uidvalidity(self, folder: str) -> None:
        """The folder is recreated: same messages, new UIDVALIDITY and UIDs."""
        box = self.boxes[folder]
        self._uidvalidity += 1
        messages = list(box.messages.values())
        self.boxes[folder] = TargetBox(self._uidvalidity)
        for message in messages:
            self._store(folder, message)

    def bodies(self, folder: str) -> list[bytes]:
        box = self.boxes.get(folder)
        return [] if box is None else [m.body for m in box.messages.values()]

    def _store(self, folder: str, message: TargetMessage) -> int:
        box = self.boxes[folder]
        uid = box.uidnext
        box.uidnext += 1
        box.messages[uid] = message
        return uid

    def _box(self, folder: str) -> TargetBox:
        try:
            return self.boxes[folder]
        except KeyError:
            raise FolderError(folder, "no such folder") from None

    async def _call(self, name: str) -> None:
        self.calls[name] += 1
        await asyncio.sleep(0)

    async def list_folders(self) -> list[FolderListing]:
        await self._call("list_folders")
        return [
            FolderListing(name, self.delimiter, self.attributes.get(name, ()))
            for name in self.boxes
        ]

    async def ensure_folder(self, folder: str) -> None:
        await self._call("ensure_folder")
        if folder not in self.boxes:
            self._uidvalidity += 1
            self.boxes[folder] = TargetBox(self._uidvalidity)

    async def folder_counts(self, folder: str) -> tuple[int, int] | None:
        await self._call("folder_counts")
        box = self.boxes.get(folder)
        return None if box is None else (box.uidvalidity, len(box.messages))

    async def folder_status(self, folder: str) -> TargetFolderStatus:
        await self._call("folder_status")
        box = self._box(folder)
        return TargetFolderStatus(
            box.uidvalidity, box.uidnext, len(box.messages), self.permanent_flags
        )

    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        await self._call("append")
        self._box(folder)
        outcomes: list[AppendOutcome] = []
        for item in items:
            data = item.body.read()
            refused = self.refuse(data) if self.refuse else None
            if refused is not None:
                outcomes.append(refused)
                continue
            date = dt.datetime.fromtimestamp(int(item.internaldate.timestamp()), dt.UTC)
            uid = self._store(folder, TargetMessage(data, tuple(item.flags), date))
            outcomes.append(Appended(uid if self.uidplus else None))
        return outcomes

    async def list_messages(
        self, folder: str, *, min_uid: int = 1
    ) -> tuple[TargetFolderStatus, list[MessageMeta]]:
        status = await self.folder_status(folder)
        box = self._box(folder)
        metas = [
            MessageMeta(uid, len(m.body), m.flags, m.internaldate)
            for uid, m in sorted(box.messages.items())
            if uid >= min_uid
        ]
        return status, metas

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]:
        await self._call("message_ids")
        box = self._box(folder)
        return {
            uid: parse_message_id(box.messages[uid].body) for uid in uids if uid in box.messages
        }

    async def set_flags(self, folder: str, changes: Mapping[int, tuple[str, ...]]) -> None:
        await self._call("set_flags")
        box = self._box(folder)
        for uid, flags in changes.items():
            if uid in box.messages:
                box.messages[uid].flags = tuple(flags)

    async def delete(self, folder: str, uids: Sequence[int]) -> None:
        await self._call("delete")
        box = self._box(folder)
        for uid in uids:
            box.messages.pop(uid, None)

    async def close(self) -> None:
        return None
