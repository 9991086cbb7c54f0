"""What the engine sees of a mailbox store: the Source and Target protocols.

Glossary (used everywhere in mailferry):

- **source** / **target**: the side mail is read from / written to (never src/dst).
- **folder**: an IMAP mailbox (``INBOX``, ``Sent``...); names are always decoded
  ``str`` in the store's own hierarchy syntax, i.e. with the store's delimiter.
- **message**: one RFC 5322 message with its flags and INTERNALDATE.
- **UID**: a message's number in a folder; only meaningful with the folder's
  **UIDVALIDITY**. **UIDNEXT** is the UID the next new message will get.
- **MODSEQ**: CONDSTORE's per-message change counter; a folder's
  **HIGHESTMODSEQ** tells whether anything changed since a checkpoint.
- **message pair**: a source message and its copy on the target
  (``source_uid`` → ``target_uid``), recorded in the state database.
- **checkpoint**: what we recorded about a folder after the last sync.
- **fingerprint**: Message-ID, size and INTERNALDATE hashed together;
  how a message is recognised on the other side without trusting UIDs.

Capability fallbacks (no CONDSTORE, no UIDPLUS, no MULTIAPPEND...) live in
the store implementations, never in the engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from mailferry.connection.body import MessageBody

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted")


@dataclass(frozen=True)
class FolderListing:
    """A folder as LISTed: decoded name, hierarchy delimiter, attributes."""

    name: str
    delimiter: str | None
    attributes: tuple[str, ...] = ()

    @property
    def selectable(self) -> bool:
        lowered = {a.lower() for a in self.attributes}
        return not lowered & {"\\noselect", "\\nonexistent"}


@dataclass(frozen=True)
class SharedListing:
    """The source's other-users and shared namespaces (NAMESPACE, RFC 2342): their
    prefixes (Courier's ``#shared.``) and their folders, which a plain LIST may not
    show. Where a UserRoot (the user's tree in an admin's shared folders) is looked for."""

    prefixes: tuple[str, ...] = ()
    folders: tuple[FolderListing, ...] = ()


@dataclass(frozen=True)
class FolderStatus:
    """A folder's counters. ``highestmodseq`` is None without CONDSTORE."""

    uidvalidity: int
    uidnext: int
    messages: int
    highestmodseq: int | None = None


@dataclass(frozen=True)
class MessageMeta:
    """Everything about a message but its bytes.

    ``gm_msgid``/``gm_labels``: Gmail's X-GM-MSGID and X-GM-LABELS (decoded), None
    when the source is not Gmail (see ``engine/gmail_labels``)."""

    uid: int
    size: int
    flags: tuple[str, ...]
    internaldate: dt.datetime
    modseq: int | None = None
    gm_msgid: int | None = None
    gm_labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SourceMessage:
    """A message read from the source. The receiver closes ``body``."""

    meta: MessageMeta
    body: MessageBody


@dataclass(frozen=True)
class AppendItem:
    """A message to write to a target folder."""

    body: MessageBody
    flags: tuple[str, ...]
    internaldate: dt.datetime


@dataclass(frozen=True)
class Appended:
    """The item was stored; ``target_uid`` is None when the store can't tell (no UIDPLUS)."""

    target_uid: int | None


@dataclass(frozen=True)
class Rejected:
    """The target refused this one message; ``kind`` is ``CorruptItem`` or ``LargeItem``."""

    kind: str
    reason: str


AppendOutcome = Appended | Rejected


@dataclass(frozen=True)
class TargetFolderStatus:
    """A target folder's counters and which flags it keeps."""

    uidvalidity: int
    uidnext: int
    messages: int
    permanent_flags: tuple[str, ...]

    def keeps(self, flag: str) -> bool:
        """Whether the folder stores ``flag`` (``\\*`` allows any keyword)."""
        lowered = self._lowered
        if flag.lower() in lowered:
            return True
        return not flag.startswith("\\") and "\\*" in lowered

    @cached_property
    def _lowered(self) -> frozenset[str]:
        return frozenset(f.lower() for f in self.permanent_flags)


def fingerprint(message_id: str | None, size: int, internaldate: dt.datetime) -> str:
    """A message's identity across stores: Message-ID, size and INTERNALDATE (to the second)."""
    stamp = int(internaldate.timestamp())
    text = f"{(message_id or '').strip()}\0{size}\0{stamp}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class SourceMailbox(Protocol):
    """One user's mailbox on the source, logged in and read-only."""

    async def list_folders(self) -> list[FolderListing]: ...

    async def personal_prefix(self) -> str | None:
        """The personal namespace prefix (``INBOX.`` on Courier), if any."""
        ...

    async def shared_folders(self, under: Sequence[tuple[str, ...]] = ()) -> SharedListing:
        """The other-users and shared namespaces and their folders (asked only for a
        UserRoot): those at or under one of the paths ``under`` (inside each namespace),
        all of them when ``under`` is empty or nothing is there; empty when the store
        has no such namespace."""
        ...

    async def status(self, folder: str) -> FolderStatus:
        """Counters without selecting (one round trip)."""
        ...

    async def list_messages(
        self, folder: str, *, changed_since: int | None = None
    ) -> tuple[FolderStatus, list[MessageMeta]]:
        """Select ``folder`` read-only and list its messages (only those changed
        since the modseq, when given and supported)."""
        ...

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]:
        """The Message-ID header of each UID (None when missing)."""
        ...

    def fetch(
        self, folder: str, uids: Sequence[int], *, listed: bool = False
    ) -> AsyncIterator[SourceMessage]:
        """The messages' bytes, in any order; missing UIDs are simply absent.

        ``listed``: the caller has the messages' flags and dates from its listing and
        needs only the bytes: each ``meta`` then holds just the UID and size (no flags,
        INTERNALDATE the epoch), so a store may skip fetching and parsing the rest."""
        ...

    async def headers(self, folder: str, uids: Sequence[int]) -> Mapping[int, bytes]:
        """The Subject, From, Date and Message-ID header lines of each UID, raw
        (to describe a skipped message without downloading it)."""
        ...

    async def close(self) -> None: ...


class TargetMailbox(Protocol):
    """One user's mailbox on the target, logged in, read-write.

    ``personal_prefix``: where the store wants the user's folders (its NAMESPACE
    personal prefix, ``INBOX.`` on Courier), ending with ``delimiter``; ``""`` for
    none. Every folder but INBOX is named under it; the engine applies it."""

    delimiter: str
    case_insensitive: bool
    personal_prefix: str

    async def list_folders(self) -> list[FolderListing]: ...

    async def ensure_folder(self, folder: str) -> None:
        """Create the folder (and its parents) unless it exists."""
        ...

    async def folder_status(self, folder: str) -> TargetFolderStatus: ...

    async def folder_counts(self, folder: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, messages) of a folder, None when it does not exist; never
        creates it and, on IMAP, never selects it (one STATUS): the engine asks this of
        every folder on every sync, to check the state against the target."""
        ...

    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        """Store the items in order; one outcome per item."""
        ...

    async def list_messages(
        self, folder: str, *, min_uid: int = 1
    ) -> tuple[TargetFolderStatus, list[MessageMeta]]: ...

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]: ...

    def fetch(self, folder: str, uids: Sequence[int]) -> AsyncIterator[SourceMessage]:
        """The stored messages' bytes as this store serves them (to verify a migration),
        in any order; missing UIDs are simply absent. The receiver closes ``body``."""
        ...

    async def set_flags(self, folder: str, changes: Mapping[int, tuple[str, ...]]) -> None:
        """Replace the flags of each target UID with the given ones."""
        ...

    async def delete(self, folder: str, uids: Sequence[int]) -> None:
        """Remove messages (only used when deletions are propagated)."""
        ...

    async def close(self) -> None: ...
