"""The IMAP target: one user's mailbox on an IMAP server, read-write.

Appends go in MULTIAPPEND batches (at most 50 messages / 16 MiB, two in
flight) when the server offers it, one by one otherwise. A refused batch is
retried one message at a time to find the culprit(s); a refused message
becomes ``Rejected`` (``LargeItem`` for size refusals, ``CorruptItem``
otherwise) while ``[OVERQUOTA]`` raises ``QuotaExceeded`` for the whole user,
since every further message would be refused too. Only flags the folder's
PERMANENTFLAGS keep are sent; the engine reports the rest.

Folders go where the server wants them: the personal namespace's prefix and
delimiter (NAMESPACE) are read at login and reported as ``personal_prefix`` and
``delimiter``, so the engine names folders ``INBOX.Archive`` on a Courier-style
server; without NAMESPACE, LIST "" "" gives the delimiter and there is no prefix.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Mapping, Sequence

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.mailbox import AppendResult
from mailferry.connection.options import ConnectOptions
from mailferry.errors import (
    AuthenticationError,
    CommandFailed,
    FolderError,
    MailboxNotFound,
    QuotaExceeded,
    Throttled,
)
from mailferry.imap.commands import AppendMessage, Raw, batch_for_multiappend
from mailferry.imap.sequence_set import format_sequence_set
from mailferry.stores.base import (
    SYSTEM_FLAGS,
    Appended,
    AppendItem,
    AppendOutcome,
    FolderListing,
    MessageMeta,
    Rejected,
    SourceMessage,
    TargetFolderStatus,
)
from mailferry.stores.flags import storable
from mailferry.stores.imap_common import (
    META_ITEMS,
    fetch_message_ids,
    folder_listing,
    hierarchy,
    list_metas,
    select_folder,
    stream_bodies,
)

MAX_BATCH_COUNT = 50
MAX_BATCH_BYTES = 16 * 1024 * 1024
APPEND_WINDOW = 2
UIDS_PER_COMMAND = 1000  # keeps command lines far below servers' line limits
STORE_WINDOW = 4  # UID STORE commands in flight
_SIZE_WORDS = re.compile(r"too (big|large)|\bsize\b|larger than|\bbytes\b", re.IGNORECASE)
_SIZE_CODES = {"TOOBIG"}
_QUOTA_CODES = {"OVERQUOTA"}
_MISSING_CODES = {"TRYCREATE", "NONEXISTENT"}


class ImapTarget:
    """A ``TargetMailbox`` over one logged-in ``ImapClient`` (which it owns)."""

    case_insensitive = False  # only INBOX is, and the engine knows that

    def __init__(self, client: ImapClient, delimiter: str, personal_prefix: str = "") -> None:
        self.client = client
        self.delimiter = delimiter
        self.personal_prefix = personal_prefix
        self._known: set[str] | None = None
        self._selected: str | None = None
        self._status: TargetFolderStatus | None = None

    @property
    def append_limit(self) -> int | None:
        """The server's APPENDLIMIT (RFC 7889), if it announces one."""
        for capability in self.client.capabilities:
            name, _, value = capability.partition("=")
            if name == "APPENDLIMIT" and value.isdigit():
                return int(value)
        return None

    # -- folders -------------------------------------------------------------------

    async def list_folders(self) -> list[FolderListing]:
        return [folder_listing(response) for response in await self.client.list_folders()]

    async def ensure_folder(self, folder: str) -> None:
        if folder.upper() == "INBOX":
            return
        if self._known is None:
            self._known = {f.name for f in await self.list_folders() if f.selectable}
        parts = folder.split(self.delimiter)
        prefix = self.personal_prefix
        first = prefix.count(self.delimiter) + 1 if folder.startswith(prefix) else 1
        for depth in range(first, len(parts) + 1):  # the namespace's own levels exist
            name = self.delimiter.join(parts[:depth])
            if name in self._known or name.upper() == "INBOX":
                continue
            await self._create(name, folder)
            self._known.add(name)

    async def _create(self, name: str, folder: str) -> None:
        """CREATE and SUBSCRIBE ``name`` (``folder`` itself or one of its parents).
        A refusal is a ``FolderError`` of ``folder`` naming what was tried, in the
        server's words."""
        try:
            await self.client.create(name)
        except Throttled:
            raise
        except CommandFailed as exc:
            if exc.code != "ALREADYEXISTS" and "exists" not in exc.text.lower():
                raise FolderError(folder, _refused_create(name, folder, exc)) from exc
        try:
            await self.client.subscribe(name)
        except Throttled:
            raise
        except CommandFailed:
            pass  # an unsubscribed folder is still a folder

    async def _select(self, folder: str) -> TargetFolderStatus:
        self._selected, self._status = None, None
        selected = await select_folder(self.client, folder, readonly=False)
        if selected.read_only:
            raise FolderError(folder, "the server opens it read-only")
        # No PERMANENTFLAGS (or an empty list, which we can't tell apart): all flags stick.
        permanent = selected.permanent_flags or (*SYSTEM_FLAGS, "\\*")
        status = TargetFolderStatus(
            uidvalidity=selected.uidvalidity or 0,
            uidnext=selected.uidnext or 0,
            messages=selected.exists,
            permanent_flags=permanent,
        )
        self._selected, self._status = folder, status
        return status

    async def _selected_status(self, folder: str) -> TargetFolderStatus:
        """The folder selected, with its PERMANENTFLAGS (counters may be stale)."""
        if self._selected == folder and self._status is not None:
            return self._status
        return await self._select(folder)

    async def folder_status(self, folder: str) -> TargetFolderStatus:
        return await self._select(folder)

    async def folder_counts(self, folder: str) -> tuple[int, int] | None:
        try:
            values = await self.client.status(folder, ["UIDVALIDITY", "MESSAGES"])
        except Throttled:
            raise
        except CommandFailed:  # no such folder (or not one we may see): not trusted
            return None
        return values.get("UIDVALIDITY", 0), values.get("MESSAGES", 0)

    # -- messages ------------------------------------------------------------------

    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        if not items:
            return []
        status = await self._selected_status(folder)
        outcomes: list[AppendOutcome | None] = [None] * len(items)
        limit = self.append_limit
        sending: list[int] = []
        for index, item in enumerate(items):
            if limit is not None and item.body.size > limit:
                reason = f"{item.body.size} bytes exceed the server's APPENDLIMIT of {limit}"
                outcomes[index] = Rejected("LargeItem", reason)
            else:
                sending.append(index)
        kept: dict[tuple[str, ...], tuple[str, ...]] = {}  # per distinct flag list
        messages = [_message(items[i], status, kept) for i in sending]
        retry = await self._append_batches(folder, messages, sending, outcomes)
        for position, refusal in retry.items():
            outcome = await self._append_one(folder, messages[position], refusal)
            outcomes[sending[position]] = outcome
        return [outcome if outcome is not None else Appended(None) for outcome in outcomes]

    async def _append_batches(
        self,
        folder: str,
        messages: list[AppendMessage],
        sending: list[int],
        outcomes: list[AppendOutcome | None],
    ) -> dict[int, CommandFailed | None]:
        """Append in batches; returns the positions (in ``messages``) to retry singly,
        with the refusal when the message was refused on its own."""
        count = MAX_BATCH_COUNT if self.client.has_capability("MULTIAPPEND") else 1
        batches = list(batch_for_multiappend(messages, max_count=count, max_bytes=MAX_BATCH_BYTES))
        results: list[tuple[int, AppendResult | CommandFailed]] = []
        offset = 0
        stream = self.client.append_batches(folder, batches, window=APPEND_WINDOW)
        async for batch, result in stream:
            results.append((offset, result))
            offset += len(batch)
        retry: dict[int, CommandFailed | None] = {}
        for (start, result), batch in zip(results, batches, strict=True):
            positions = range(start, start + len(batch))
            if isinstance(result, CommandFailed):
                _raise_unless_per_message(folder, result)
                retry.update(dict.fromkeys(positions, result if len(batch) == 1 else None))
                continue
            uids = result.uids if len(result.uids) == len(batch) else ()
            for number, position in enumerate(positions):
                outcomes[sending[position]] = Appended(uids[number] if uids else None)
        return retry

    async def _append_one(
        self, folder: str, message: AppendMessage, refusal: CommandFailed | None
    ) -> AppendOutcome:
        """One message alone; refused with keywords, it is tried once more without
        them (a keyword the server can't store must not cost the message)."""
        if refusal is None:
            try:
                return _appended(await self.client.append(folder, message))
            except CommandFailed as exc:
                _raise_unless_per_message(folder, exc)
                refusal = exc
        system = tuple(flag for flag in message.flags if flag.startswith("\\"))
        if system == message.flags:
            return _rejection(refusal)
        plain = AppendMessage(message.data, system, message.internaldate)
        try:
            return _appended(await self.client.append(folder, plain))
        except CommandFailed as exc:
            _raise_unless_per_message(folder, exc)
            return _rejection(refusal)

    async def list_messages(
        self, folder: str, *, min_uid: int = 1
    ) -> tuple[TargetFolderStatus, list[MessageMeta]]:
        status = await self._select(folder)
        metas: list[MessageMeta] = []
        if status.messages and (status.uidnext == 0 or status.uidnext > min_uid):
            metas = await list_metas(self.client, f"{max(1, min_uid)}:*", min_uid=min_uid)
        return status, metas

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]:
        if not uids:
            return {}
        await self._selected_status(folder)
        return await fetch_message_ids(self.client, uids)

    async def fetch(self, folder: str, uids: Sequence[int]) -> AsyncIterator[SourceMessage]:
        """Stream the stored bodies with ``BODY.PEEK[]`` (``\\Seen`` stays as it is)."""
        if not uids:
            return
        await self._selected_status(folder)
        async for message in stream_bodies(self.client, uids, (*META_ITEMS, "BODY.PEEK[]")):
            yield message

    async def set_flags(self, folder: str, changes: Mapping[int, tuple[str, ...]]) -> None:
        if not changes:
            return
        status = await self._selected_status(folder)
        groups: dict[tuple[str, ...], list[int]] = {}
        for uid, flags in changes.items():
            groups.setdefault(kept_flags(flags, status), []).append(uid)
        work = [
            (chunk, list(flags))
            for flags, uids in groups.items()
            for chunk in _chunks(sorted(uids))
        ]
        store = self.client.uid_store
        for start in range(0, len(work), STORE_WINDOW):
            await asyncio.gather(*(store(c, "", f) for c, f in work[start : start + STORE_WINDOW]))

    async def delete(self, folder: str, uids: Sequence[int]) -> None:
        """``\\Deleted`` then UID EXPUNGE of exactly these UIDs (needs UIDPLUS)."""
        if not uids:
            return
        if not self.client.has_capability("UIDPLUS"):
            raise FolderError(folder, "deleting needs UID EXPUNGE (UIDPLUS); the server lacks it")
        await self._selected_status(folder)
        for chunk in _chunks(sorted(set(uids))):
            await self.client.uid_store(chunk, "+", ["\\Deleted"])
            uid_set = Raw(format_sequence_set(chunk).encode("ascii"))
            await self.client.connection.command("UID EXPUNGE", uid_set)

    async def close(self) -> None:
        await self.client.logout()


def _chunks(uids: list[int]) -> list[list[int]]:
    return [uids[i : i + UIDS_PER_COMMAND] for i in range(0, len(uids), UIDS_PER_COMMAND)]


def kept_flags(flags: Sequence[str], status: TargetFolderStatus) -> tuple[str, ...]:
    """The flags the folder keeps, system flags spelled canonically, in a stable order."""
    system, keywords = storable(flags)
    return tuple(sorted(flag for flag in (*system, *keywords) if status.keeps(flag)))


def _message(
    item: AppendItem, status: TargetFolderStatus, kept: dict[tuple[str, ...], tuple[str, ...]]
) -> AppendMessage:
    date = item.internaldate
    if date.tzinfo is None:
        date = date.replace(tzinfo=dt.UTC)
    flags = tuple(item.flags)
    found = kept.get(flags)
    if found is None:
        found = kept[flags] = kept_flags(flags, status)
    return AppendMessage(item.body.view(), found, date)


def _appended(result: AppendResult) -> Appended:
    return Appended(result.uids[0] if len(result.uids) == 1 else None)


def _raise_unless_per_message(folder: str, error: CommandFailed) -> None:
    """Errors that are not about one message: the quota, a missing folder, throttling."""
    code = (error.code or "").upper()
    if code in _QUOTA_CODES or "quota" in error.text.lower():
        raise QuotaExceeded(f"{error.status} [{code or '-'}] {error.text}") from error
    if code in _MISSING_CODES:
        raise FolderError(folder, f"cannot append: {error.status} {error.text}") from error
    if isinstance(error, Throttled) and not _about_size(error):
        raise error


def _about_size(error: CommandFailed) -> bool:
    code = (error.code or "").upper()
    return code in _SIZE_CODES or bool(_SIZE_WORDS.search(error.text))


def _rejection(error: CommandFailed) -> Rejected:
    shown = f"[{error.code}] " if error.code else ""
    reason = f"{error.status} {shown}{error.text}".strip()
    return Rejected("LargeItem" if _about_size(error) else "CorruptItem", reason)


def _refused_create(name: str, folder: str, error: CommandFailed) -> str:
    parent = f" (a parent of {folder!r})" if name != folder else ""
    code = f"[{error.code}] " if error.code else ""
    return f"the server refused CREATE {name!r}{parent}: {error.status} {code}{error.text}"


async def open_imap_target(
    options: ConnectOptions, credentials: Credentials, *, mailbox: str | None = None
) -> ImapTarget:
    """Connect and log in; a target mailbox the server says does not exist is
    ``MailboxNotFound`` (Dovecot: ``[AUTHORIZATIONFAILED]`` for an admin acting
    as an unknown user), any other refusal ``AuthenticationError``."""
    client = await ImapClient.connect(options)
    try:
        try:
            await client.login(credentials)
        except AuthenticationError as exc:
            if "AUTHORIZATIONFAILED" in exc.reason.upper():
                who = mailbox or credentials.authzid or credentials.username
                raise MailboxNotFound(who, exc.reason) from exc
            raise
        if options.compress:
            await client.compress()
        delimiter, prefix = await hierarchy(client)
    except BaseException:
        await client.logout()
        raise
    return ImapTarget(client, delimiter, prefix)
