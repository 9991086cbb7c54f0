"""The IMAP source: one user's mailbox, read-only.

Never changes anything on the source: folders are EXAMINEd (read-only) and
bodies are fetched with ``BODY.PEEK[]``, so ``\\Seen`` stays as it was.
CONDSTORE/QRESYNC are enabled when offered: listings then carry MODSEQ, and
``changed_since`` asks only for what changed (``CHANGEDSINCE``). ``\\Recent``
is session state, not a flag to migrate, and is dropped everywhere. On Gmail
(X-GM-EXT-1) listings also carry X-GM-MSGID and X-GM-LABELS (``docs/targets/gmail.md``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.mailbox import SelectedMailbox
from mailferry.connection.options import ConnectOptions
from mailferry.errors import CommandFailed, FolderError, Throttled
from mailferry.imap.gmail import CAPABILITY as GMAIL_CAPABILITY
from mailferry.stores.base import (
    FolderListing,
    FolderStatus,
    MessageMeta,
    SharedListing,
    SourceMessage,
)
from mailferry.stores.imap_common import (
    BODY_ITEMS,
    META_ITEMS,
    fetch_header_fields,
    fetch_message_ids,
    folder_listing,
    list_metas,
    select_folder,
    stream_bodies,
)


class ImapSource:
    """A ``SourceMailbox`` over one logged-in ``ImapClient`` (which it owns)."""

    def __init__(self, client: ImapClient) -> None:
        self.client = client
        self.condstore = client.has_capability("CONDSTORE")
        #: Gmail (X-GM-EXT-1): listings carry X-GM-MSGID and X-GM-LABELS.
        self.gmail = client.has_capability(GMAIL_CAPABILITY)
        self._selected: str | None = None
        self._modseq = False  # the selected folder has MODSEQs (not [NOMODSEQ])

    async def list_folders(self) -> list[FolderListing]:
        return [folder_listing(response) for response in await self.client.list_folders()]

    async def personal_prefix(self) -> str | None:
        namespace = await self.client.namespace()
        if namespace is None or not namespace.personal:
            return None
        return namespace.personal[0].prefix or None

    async def shared_folders(self, under: Sequence[tuple[str, ...]] = ()) -> SharedListing:
        """For each other-users and shared NAMESPACE prefix (Courier lists ``#shared.``
        only when asked), LIST ``<prefix><path>`` and ``<prefix><path><delimiter>*``
        for each path of ``under`` (joined with the namespace's delimiter); LIST
        ``<prefix>*`` when ``under`` is empty or found nothing. A namespace the server
        refuses to LIST is left out."""
        namespace = await self.client.namespace()
        if namespace is None:
            return SharedListing()
        spaces = {ns.prefix: ns for ns in (*namespace.other, *namespace.shared) if ns.prefix}
        patterns = [
            prefix + (ns.delimiter or "").join(path) + tail
            for prefix, ns in spaces.items()
            for path in under
            if ns.delimiter or len(path) == 1
            for tail in ("", f"{ns.delimiter}*" if ns.delimiter else "")
        ]
        folders = await self._list_each(patterns)
        if not folders:
            folders = await self._list_each([prefix + "*" for prefix in spaces])
        return SharedListing(tuple(spaces), tuple(folders))

    async def _list_each(self, patterns: Sequence[str]) -> list[FolderListing]:
        folders: list[FolderListing] = []
        for pattern in dict.fromkeys(patterns):
            try:
                listed = await self.client.list_folders("", pattern)
            except Throttled:
                raise
            except CommandFailed:
                continue
            folders += [folder_listing(response) for response in listed]
        return folders

    async def status(self, folder: str) -> FolderStatus:
        items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY"]
        if self.condstore:
            items.append("HIGHESTMODSEQ")
        try:
            values = await self.client.status(folder, items)
        except Throttled:
            raise
        except CommandFailed as exc:
            raise FolderError(folder, f"cannot get its status: {exc.status} {exc.text}") from exc
        return FolderStatus(
            uidvalidity=values.get("UIDVALIDITY", 0),
            uidnext=values.get("UIDNEXT", 0),
            messages=values.get("MESSAGES", 0),
            highestmodseq=values.get("HIGHESTMODSEQ") if self.condstore else None,
        )

    async def _examine(self, folder: str) -> SelectedMailbox:
        self._selected = None
        selected = await select_folder(self.client, folder, readonly=True, condstore=self.condstore)
        self._selected = folder
        self._modseq = self.condstore and selected.highestmodseq is not None
        return selected

    async def _ensure_examined(self, folder: str) -> None:
        if self._selected != folder:
            await self._examine(folder)

    async def list_messages(
        self, folder: str, *, changed_since: int | None = None
    ) -> tuple[FolderStatus, list[MessageMeta]]:
        selected = await self._examine(folder)
        modseq = self._modseq
        since = changed_since if modseq else None
        metas: list[MessageMeta] = []
        unchanged = since is not None and since >= (selected.highestmodseq or 0)
        if selected.exists and not unchanged:
            metas = await list_metas(
                self.client, "1:*", modseq=modseq, changed_since=since, gmail=self.gmail
            )
        uidnext = selected.uidnext
        if uidnext is None:
            highest = max((meta.uid for meta in metas), default=0)
            uidnext = (await self.status(folder)).uidnext or highest + 1
        status = FolderStatus(
            uidvalidity=selected.uidvalidity or 0,
            uidnext=uidnext,
            messages=selected.exists,
            highestmodseq=selected.highestmodseq if modseq else None,
        )
        return status, metas

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]:
        if not uids:
            return {}
        await self._ensure_examined(folder)
        return await fetch_message_ids(self.client, uids)

    async def headers(self, folder: str, uids: Sequence[int]) -> Mapping[int, bytes]:
        if not uids:
            return {}
        await self._ensure_examined(folder)
        return await fetch_header_fields(self.client, uids)

    async def fetch(
        self, folder: str, uids: Sequence[int], *, listed: bool = False
    ) -> AsyncIterator[SourceMessage]:
        """Stream the bodies (several UID FETCH in flight, big bodies spooled to disk)."""
        if not uids:
            return
        await self._ensure_examined(folder)
        if listed:
            items: tuple[str, ...] = BODY_ITEMS
        else:
            items = (*META_ITEMS, *(("MODSEQ",) if self._modseq else ()), "BODY.PEEK[]")
        async for message in stream_bodies(self.client, uids, items):
            yield message

    async def close(self) -> None:
        await self.client.logout()


async def open_imap_source(options: ConnectOptions, credentials: Credentials) -> ImapSource:
    """Connect, log in (``AuthenticationError`` on refusal), enable CONDSTORE/QRESYNC."""
    client = await ImapClient.connect(options)
    try:
        await client.login(credentials)
        if options.compress:
            await client.compress()
        await client.enable("CONDSTORE", "QRESYNC")
    except BaseException:
        await client.logout()
        raise
    return ImapSource(client)
