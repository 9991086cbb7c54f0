"""One mailbox fetched over several connections at once.

A single IMAP session is served by one server process, so one connection
can go no faster than that process reads and sends mail (on a local Dovecot
this, not the client, is the limit). ``fetch_parallel`` spreads the chunks
of a UID list round-robin over several logged-in clients that have the same
mailbox selected (each keeps its own pipelining window) and hands out the
messages as they arrive: in UID order within a client, interleaved between
clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, cast

from mailferry.connection.fetch_sink import FetchedMessage
from mailferry.errors import MailferryError

if TYPE_CHECKING:
    from mailferry.connection.client import ImapClient

_DONE = None  # one per client, when its share is complete


def split_round_robin(uids: Sequence[int], parts: int, chunk: int) -> list[list[int]]:
    """``uids`` cut into chunks of ``chunk``; chunk ``i`` goes to part ``i % parts``."""
    shares: list[list[int]] = [[] for _ in range(max(1, parts))]
    for index, start in enumerate(range(0, len(uids), max(1, chunk))):
        shares[index % len(shares)].extend(uids[start : start + chunk])
    return shares


async def fetch_parallel(
    clients: Sequence[ImapClient],
    uids: Sequence[int],
    items: Sequence[str],
    *,
    chunk: int = 500,
    window: int = 4,
    changedsince: int | None = None,
    max_queued: int = 256,
) -> AsyncGenerator[FetchedMessage, None]:
    """Fetch ``uids`` of the mailbox every client has selected, over all of them.

    The caller must ``close()`` each message. The first error of any client
    is raised once the others have stopped; stopping early stops them all.
    """
    if not clients:
        raise ValueError("fetch_parallel needs at least one client")
    queue: asyncio.Queue[FetchedMessage | MailferryError | None] = asyncio.Queue(max_queued)

    async def share(client: ImapClient, mine: list[int]) -> None:
        stream = cast(  # an async generator: closed explicitly if cancelled
            AsyncGenerator[FetchedMessage, None],
            client.fetch_messages(
                mine, items, chunk=chunk, window=window, changedsince=changedsince
            ),
        )
        try:
            async with contextlib.aclosing(stream):
                async for message in stream:
                    try:
                        await queue.put(message)
                    except BaseException:  # cancelled while the queue was full
                        message.close()
                        raise
        except MailferryError as exc:
            await queue.put(exc)
        await queue.put(_DONE)

    shares = split_round_robin(uids, len(clients), chunk)
    tasks = [asyncio.create_task(share(c, mine)) for c, mine in zip(clients, shares, strict=True)]
    running = len(tasks)
    try:
        while running:
            entry = await queue.get()
            if entry is _DONE:
                running -= 1
            elif isinstance(entry, MailferryError):
                raise entry
            else:
                yield entry
    finally:
        await _stop(tasks, queue)


async def _stop(
    tasks: list[asyncio.Task[None]], queue: asyncio.Queue[FetchedMessage | MailferryError | None]
) -> None:
    """Cancel the clients' tasks and release every message nobody will read."""
    for task in tasks:
        task.cancel()
    pending = set(tasks)
    while pending:  # keep draining so no task stays blocked on a full queue
        _, pending = await asyncio.wait(pending, timeout=0.05)
        _drain(queue)
    _drain(queue)


def _drain(queue: asyncio.Queue[FetchedMessage | MailferryError | None]) -> None:
    while not queue.empty():
        entry = queue.get_nowait()
        if isinstance(entry, FetchedMessage):
            entry.close()
