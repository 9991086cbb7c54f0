"""Pipelined UID FETCH: several commands in flight, messages streamed out.

A pump task keeps up to ``window`` UID FETCH commands in flight; the
connection routes their FETCH responses into a ``QueueSink``; the caller
iterates the queue (batches of messages). Backpressure runs all the way to
the socket: when the caller is slow the queue fills, the reader task waits,
the receiver pauses reading, TCP stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from mailferry.connection.fetch_sink import FetchedMessage, QueueSink, close_all
from mailferry.errors import MailferryError
from mailferry.imap.commands import fetch_items, uid_fetch_args
from mailferry.imap.sequence_set import format_sequence_set

if TYPE_CHECKING:
    from mailferry.connection.client import ImapClient


def uid_chunks(uids: Iterable[int] | str, chunk: int) -> Iterator[str]:
    """UID set strings of at most ``chunk`` UIDs each (a string passes through)."""
    if isinstance(uids, str):
        yield uids
        return
    batch: list[int] = []
    for uid in uids:
        batch.append(uid)
        if len(batch) >= chunk:
            yield format_sequence_set(batch)
            batch = []
    if batch:
        yield format_sequence_set(batch)


def _wants(items: Sequence[str]) -> set[str]:
    """Section names a response must carry to be ours (``BODY.PEEK[]`` → ``BODY[]``)."""
    return {item.upper().replace(".PEEK", "") for item in items if "[" in item}


async def fetch_pipelined(
    client: ImapClient,
    uids: Iterable[int] | str,
    items: Sequence[str],
    *,
    chunk: int,
    window: int,
    changedsince: int | None,
) -> AsyncIterator[FetchedMessage]:
    connection = client.connection
    sections = _wants(items)

    def wanted(message: FetchedMessage) -> bool:
        if message.attributes.get("UID").__class__ is not int:
            return False
        got = message.sections
        if sections <= got.keys():
            return True
        return all(name in got or _has_section(message, name) for name in sections)

    sink = QueueSink(connection.options.spool_threshold, wanted, client.unsolicited.append)
    item_list = fetch_items(*items)
    connection.set_fetch_sink(sink)
    pump = asyncio.create_task(
        _pump(client, uid_chunks(uids, chunk), item_list, window, changedsince, sink)
    )
    unread: Iterator[FetchedMessage] = iter(())
    try:
        while True:
            entry = await sink.queue.get()
            if entry is None:
                break
            if isinstance(entry, MailferryError):
                raise entry
            unread = iter(entry)
            for message in unread:
                yield message
    finally:
        for message in unread:  # the consumer stopped early: release the rest of the batch
            message.close()
        await _finish(pump, sink)
        connection.set_fetch_sink(None)


def _has_section(message: FetchedMessage, name: str) -> bool:
    if name in message.sections:
        return True
    # BODY[]<0> answers BODY[]<0.N>; match by prefix before the origin.
    base = name.split("<", 1)[0]
    return any(key.split("<", 1)[0] == base for key in message.sections)


async def _pump(
    client: ImapClient,
    chunks: Iterator[str],
    item_list: object,
    window: int,
    changedsince: int | None,
    sink: QueueSink,
) -> None:
    connection = client.connection
    slots = asyncio.Semaphore(max(1, window))

    async def run(uid_set: str) -> None:
        try:
            args = uid_fetch_args(uid_set, item_list, changedsince=changedsince)  # type: ignore[arg-type]
            await connection.command("UID FETCH", *args, pipelined=True)
        finally:
            slots.release()

    tasks: list[asyncio.Task[None]] = []
    try:
        for uid_set in chunks:
            await slots.acquire()
            tasks.append(asyncio.create_task(run(uid_set)))
            tasks = [t for t in tasks if not t.done() or t.exception() is not None]
            _raise_first(tasks)
        await asyncio.gather(*tasks)
    except MailferryError as exc:
        await asyncio.gather(*tasks, return_exceptions=True)
        await sink.end(exc)
        return
    await sink.end(None)


def _raise_first(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def _finish(pump: asyncio.Task[None], sink: QueueSink) -> None:
    """Let the commands in flight complete, discarding what nobody will read."""
    while not pump.done():
        try:
            entry = await asyncio.wait_for(sink.queue.get(), 1.0)
        except TimeoutError:
            continue
        close_all(entry)
    while not sink.queue.empty():
        close_all(sink.queue.get_nowait())
