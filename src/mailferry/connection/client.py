"""``ImapClient``: typed IMAP commands over one ``ImapConnection``.

Usage::

    client = await ImapClient.connect(ConnectOptions("127.0.0.1", 993))
    await client.login(Credentials("terry", "secret"))
    mailbox = await client.select("INBOX", readonly=True)
    async for message in client.fetch_messages("1:*"):
        ...
    await client.logout()

One client serves one task at a time; its pipelined operations
(``fetch_messages``, ``append_batches``) keep several commands in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

from mailferry.connection.auth import Credentials, authenticate
from mailferry.connection.core import CommandResult, ImapConnection, command_error
from mailferry.connection.fetch_sink import FetchedMessage
from mailferry.connection.mailbox import AppendResult, SelectedMailbox, append_result, selected_from
from mailferry.connection.options import ConnectOptions
from mailferry.connection.pipeline import fetch_pipelined
from mailferry.connection.transport import StepCallback
from mailferry.errors import CommandFailed, MailferryError, RemoteProtocolError, StartTlsUnavailable
from mailferry.imap.commands import (
    AppendMessage,
    Atom,
    Mailbox,
    QresyncParams,
    append_args,
    enable_args,
    id_args,
    list_args,
    select_args,
    status_args,
    uid_search_args,
    uid_store_args,
)
from mailferry.imap.events import (
    CapabilityResponse,
    EnabledResponse,
    ESearchResponse,
    IdResponse,
    ListResponse,
    NamespaceResponse,
    SearchResponse,
    StatusResponse,
)
from mailferry.values.connection import Security

DEFAULT_FETCH_ITEMS = ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]")


class ImapClient:
    """High-level commands. Create with ``await ImapClient.connect(options)``."""

    def __init__(self, connection: ImapConnection) -> None:
        self.connection = connection
        self.selected: SelectedMailbox | None = None
        self.unsolicited: list[FetchedMessage] = []

    @classmethod
    async def connect(
        cls, options: ConnectOptions, on_step: StepCallback | None = None
    ) -> ImapClient:
        """Open the connection; for ``Security.TLS`` also upgrade with STARTTLS."""
        connection = await ImapConnection.open(options, on_step)
        client = cls(connection)
        try:
            started = time.monotonic()
            if not connection.capabilities:
                await client.capability()
            if on_step:
                caps = " ".join(sorted(connection.capabilities))
                on_step("capabilities", time.monotonic() - started, caps)
            if options.security is Security.TLS:
                await client.starttls(on_step)
        except BaseException:
            await connection.close()
            raise
        return client

    @property
    def capabilities(self) -> frozenset[str]:
        return self.connection.capabilities

    def has_capability(self, name: str) -> bool:
        return self.connection.has_capability(name)

    # -- session -------------------------------------------------------------

    async def capability(self) -> frozenset[str]:
        result = await self.connection.command("CAPABILITY")
        for event in result.untagged:
            if isinstance(event, CapabilityResponse):
                return event.capabilities
        return self.capabilities

    async def starttls(self, on_step: StepCallback | None = None) -> None:
        """Upgrade to TLS; refuses if STARTTLS is not offered (never continues in clear)."""
        if not self.has_capability("STARTTLS"):
            raise StartTlsUnavailable()
        connection = self.connection

        async def upgrade() -> None:
            if connection.unparsed:  # bytes sent before TLS must not be trusted
                raise RemoteProtocolError("data injected after STARTTLS response")
            await connection.transport.start_tls(connection.options, on_step)

        await connection.command("STARTTLS", on_ok=upgrade)
        connection.set_capabilities(frozenset())
        await self.capability()

    async def login(self, credentials: Credentials) -> None:
        """Authenticate (see ``mailferry.connection.auth``)."""
        await authenticate(self.connection, credentials)

    async def compress(self) -> bool:
        """Turn on COMPRESS=DEFLATE if offered; returns whether it is on."""
        if not self.has_capability("COMPRESS=DEFLATE") or self.connection.transport.compressed:
            return self.connection.transport.compressed
        connection = self.connection

        async def switch() -> None:
            connection.enable_compression()

        await connection.command("COMPRESS", Atom("DEFLATE"), on_ok=switch)
        return True

    async def id(self, params: Mapping[str, str] | None = None) -> Mapping[str, str | None] | None:
        if not self.has_capability("ID"):
            return None
        result = await self.connection.command("ID", *id_args(params))
        for event in result.untagged:
            if isinstance(event, IdResponse):
                return event.params
        return None

    async def namespace(self) -> NamespaceResponse | None:
        if not self.has_capability("NAMESPACE"):
            return None
        result = await self.connection.command("NAMESPACE")
        return next((e for e in result.untagged if isinstance(e, NamespaceResponse)), None)

    async def enable(self, *capabilities: str) -> frozenset[str]:
        wanted = [c for c in capabilities if self.has_capability(c)]
        if not wanted or not self.has_capability("ENABLE"):
            return frozenset()
        result = await self.connection.command("ENABLE", *enable_args(*wanted))
        enabled: set[str] = set()
        for event in result.untagged:
            if isinstance(event, EnabledResponse):
                enabled |= event.capabilities
        return frozenset(enabled)

    async def noop(self) -> CommandResult:
        return await self.connection.command("NOOP")

    async def logout(self) -> None:
        """Say LOGOUT politely and close; never raises for a dead connection.

        The server answers in order, so LOGOUT's answer means every command sent before
        it is done (an APPEND whose caller gave up included). Unanswered within 5 s,
        the connection is dropped with what is still buffered, not flushed."""
        try:
            if self.connection.broken is None:
                await asyncio.wait_for(self.connection.command("LOGOUT", check=False), 5)
        except (MailferryError, TimeoutError):
            self.connection.transport.abort()
        await self.connection.close()

    # -- mailboxes ----------------------------------------------------------

    async def list_folders(self, reference: str = "", pattern: str = "*") -> list[ListResponse]:
        special = self.has_capability("SPECIAL-USE")
        result = await self.connection.command(
            "LIST", *list_args(reference, pattern, return_special_use=special)
        )
        return [e for e in result.untagged if isinstance(e, ListResponse)]

    async def status(
        self, mailbox: str, items: Sequence[str] = ("MESSAGES", "UIDNEXT", "UIDVALIDITY")
    ) -> Mapping[str, int]:
        result = await self.connection.command("STATUS", *status_args(mailbox, items))
        for event in result.untagged:
            if isinstance(event, StatusResponse):
                return event.items
        raise RemoteProtocolError(f"STATUS {mailbox!r} completed without a STATUS response")

    async def select(
        self,
        mailbox: str,
        *,
        readonly: bool = False,
        condstore: bool = False,
        qresync: QresyncParams | None = None,
    ) -> SelectedMailbox:
        """SELECT (or EXAMINE when ``readonly``) with optional CONDSTORE/QRESYNC."""
        command = "EXAMINE" if readonly else "SELECT"
        args = select_args(mailbox, condstore=condstore, qresync=qresync)
        self.selected = None
        result = await self.connection.command(command, *args)
        self.selected = selected_from(mailbox, result.tagged, result.untagged)
        return self.selected

    async def create(self, mailbox: str) -> None:
        await self.connection.command("CREATE", Mailbox(mailbox))

    async def delete(self, mailbox: str) -> None:
        await self.connection.command("DELETE", Mailbox(mailbox))

    async def subscribe(self, mailbox: str) -> None:
        await self.connection.command("SUBSCRIBE", Mailbox(mailbox))

    async def expunge(self) -> None:
        await self.connection.command("EXPUNGE")

    async def close_mailbox(self) -> None:
        await self.connection.command("CLOSE")
        self.selected = None

    # -- messages ------------------------------------------------------------

    def fetch_messages(
        self,
        uids: Iterable[int] | str,
        items: Sequence[str] = DEFAULT_FETCH_ITEMS,
        *,
        chunk: int = 500,
        window: int = 4,
        changedsince: int | None = None,
    ) -> AsyncIterator[FetchedMessage]:
        """Stream messages: UID FETCH in chunks of ``chunk`` UIDs, ``window`` in flight.

        ``uids`` may be a UID list (chunked) or a ready UID set string such
        as ``"1:*"`` (sent as one command). The caller must ``close()`` each
        message when done with its body.
        """
        return fetch_pipelined(
            self, uids, items, chunk=chunk, window=window, changedsince=changedsince
        )

    async def fetch_all(
        self, uids: Iterable[int] | str, items: Sequence[str] = DEFAULT_FETCH_ITEMS
    ) -> list[FetchedMessage]:
        """Every message of a small fetch as a list."""
        return [message async for message in self.fetch_messages(uids, items)]

    async def uid_search(self, criteria: str | Sequence[object] = "ALL") -> tuple[int, ...]:
        use_esearch = self.has_capability("ESEARCH")
        args = uid_search_args(criteria, esearch_return=("ALL",) if use_esearch else None)  # type: ignore[arg-type]
        result = await self.connection.command("UID SEARCH", *args)
        found: list[int] = []
        for event in result.untagged:
            if isinstance(event, SearchResponse):
                found.extend(event.numbers)
            elif isinstance(event, ESearchResponse):
                values = event.items.get("ALL", ())
                found.extend(values if isinstance(values, tuple) else ())
        return tuple(found)

    async def uid_store(
        self,
        uids: Iterable[int] | str,
        mode: str,
        flags: Sequence[str],
        *,
        unchangedsince: int | None = None,
    ) -> CommandResult:
        """``UID STORE uids +FLAGS.SILENT (...)``; ``mode`` is ``+``, ``-`` or ``""``."""
        args = uid_store_args(uids, mode, flags, silent=True, unchangedsince=unchangedsince)  # type: ignore[arg-type]
        return await self.connection.command("UID STORE", *args, pipelined=True)

    async def append(self, mailbox: str, message: AppendMessage) -> AppendResult:
        result = await self.connection.command("APPEND", *append_args(mailbox, [message]))
        return append_result(result.tagged)

    async def append_batches(
        self,
        mailbox: str,
        batches: Iterable[Sequence[AppendMessage]],
        *,
        window: int = 2,
    ) -> AsyncIterator[tuple[Sequence[AppendMessage], AppendResult | CommandFailed]]:
        """APPEND each batch (MULTIAPPEND when it holds several), ``window`` in flight.

        Yields each batch with its result, in order; a refused batch yields
        its ``CommandFailed`` (MULTIAPPEND is all-or-nothing) and the rest go on.
        Other errors (connection lost) are raised.
        """
        in_flight: asyncio.Queue[tuple[Sequence[AppendMessage], asyncio.Task[CommandResult]]]
        in_flight = asyncio.Queue(max(1, window))
        for batch in batches:
            if len(batch) > 1 and not self.has_capability("MULTIAPPEND"):
                raise CommandFailed("APPEND", "NO", None, "server lacks MULTIAPPEND")
            task = asyncio.create_task(self._append_one(mailbox, batch))
            if in_flight.full():
                yield await _settle(*in_flight.get_nowait())
            in_flight.put_nowait((batch, task))
            await asyncio.sleep(0)
        while not in_flight.empty():
            yield await _settle(*in_flight.get_nowait())

    async def _append_one(self, mailbox: str, batch: Sequence[AppendMessage]) -> CommandResult:
        return await self.connection.command(
            "APPEND", *append_args(mailbox, batch), pipelined=True, check=False
        )


async def _settle(
    batch: Sequence[AppendMessage], task: asyncio.Task[CommandResult]
) -> tuple[Sequence[AppendMessage], AppendResult | CommandFailed]:
    result = await task
    if result.tagged.status != "OK":
        return batch, command_error("APPEND", result.tagged)
    return batch, append_result(result.tagged)
