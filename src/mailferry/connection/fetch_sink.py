"""Where FETCH responses go: assembled into ``FetchedMessage`` values.

The parser hands small bodies out whole inside the ``FetchResponse`` and
streams large ones as chunks; ``FetchAssembler`` writes the chunks into
``BodyWriter`` spools and, when the whole ``* n FETCH (...)`` response has
been read, joins all bodies with the other attributes. A sink decides what
happens next: ``CollectingSink`` keeps messages for the command's result
(small fetches), ``QueueSink`` hands them to a consumer through a bounded
queue, one batch per drain of the parser, so a slow consumer slows the
reading of the socket instead of filling memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from mailferry.connection.body import BodyWriter, MessageBody
from mailferry.errors import MailferryError, RemoteProtocolError
from mailferry.imap.events import (
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    FetchRun,
    LiteralData,
    StreamedLiteral,
)

LiteralEvent = FetchLiteralStart | LiteralData | FetchLiteralEnd


class FetchedMessage:
    """One message's FETCH data; body sections as ``MessageBody``.

    The caller owns the bodies: ``close()`` releases spooled temp files.
    A value: treat it as read-only. (A plain slots class, not a frozen
    dataclass, because one is made per message on the hot path and a frozen
    dataclass takes twice as long to construct.)
    """

    __slots__ = ("attributes", "sections", "seq")

    def __init__(
        self, seq: int, attributes: Mapping[str, object], sections: Mapping[str, MessageBody]
    ) -> None:
        self.seq = seq
        self.attributes = attributes
        self.sections = sections

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FetchedMessage):
            return NotImplemented
        return (self.seq, self.attributes, self.sections) == (
            other.seq,
            other.attributes,
            other.sections,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"FetchedMessage(seq={self.seq!r}, attributes={self.attributes!r}, "
            f"sections={self.sections!r})"
        )

    @property
    def uid(self) -> int | None:
        value = self.attributes.get("UID")
        return value if isinstance(value, int) else None

    @property
    def flags(self) -> tuple[str, ...]:
        value = self.attributes.get("FLAGS")
        return value if isinstance(value, tuple) else ()

    @property
    def internaldate(self) -> dt.datetime | None:
        value = self.attributes.get("INTERNALDATE")
        return value if isinstance(value, dt.datetime) else None

    @property
    def size(self) -> int | None:
        value = self.attributes.get("RFC822.SIZE")
        return value if isinstance(value, int) else None

    @property
    def modseq(self) -> int | None:
        value = self.attributes.get("MODSEQ")
        if isinstance(value, tuple) and value and isinstance(value[0], int):
            return value[0]
        return value if isinstance(value, int) else None

    @property
    def body(self) -> MessageBody | None:
        """The whole message (``BODY[]`` / ``RFC822``), if it was fetched."""
        return self.sections.get("BODY[]") or self.sections.get("RFC822")

    def close(self) -> None:
        for section in self.sections.values():
            section.close()


class FetchSink(Protocol):
    """Receives the FETCH events of a connection.

    ``flush`` is called after each drain of the parser (the awaitable, if
    any, is awaited before reading on: backpressure).
    """

    def feed(self, event: LiteralEvent) -> None: ...

    def response(self, event: FetchResponse) -> Awaitable[None] | None: ...

    def run(self, event: FetchRun) -> Awaitable[None] | None: ...

    def flush(self) -> Awaitable[None] | None: ...

    def fail(self, error: MailferryError) -> None: ...


class FetchAssembler:
    """Joins streamed literals with their FETCH response."""

    def __init__(self, spool_threshold: int) -> None:
        self._threshold = spool_threshold
        self._writer: BodyWriter | None = None
        self._item = ""
        self._done: dict[str, MessageBody] = {}

    def feed(self, event: LiteralEvent) -> None:
        if isinstance(event, FetchLiteralStart):
            self._writer = BodyWriter(event.size, self._threshold)
            self._item = event.item
        elif isinstance(event, LiteralData):
            if self._writer is None:
                raise RemoteProtocolError("literal data outside a FETCH literal")
            self._writer.write(event.data)
        else:
            if self._writer is None:
                raise RemoteProtocolError("end of a FETCH literal that never started")
            self._done[self._item] = self._writer.finish()
            self._writer = None

    def assemble(self, event: FetchResponse) -> FetchedMessage:
        sections = self._done
        if sections:
            self._done = {}
        else:
            sections = {}
        attributes: dict[str, object] = {}
        for name, value in event.attributes.items():
            kind = value.__class__
            if kind is bytes and _is_section(name):
                sections[name] = MessageBody(value)  # type: ignore[arg-type]
            elif kind is not StreamedLiteral:
                attributes[name] = value
        return FetchedMessage(event.seq, attributes, sections)

    def assemble_run(self, run: FetchRun) -> list[FetchedMessage]:
        """The messages of a run (no streamed literal can be pending: runs start
        at a response boundary; all entries have the same item)."""
        entries = run.entries
        item = entries[0][2]
        if item is None:
            return [FetchedMessage(seq, attributes, {}) for seq, attributes, _, _ in entries]
        if _is_section(item):
            return [
                FetchedMessage(seq, attributes, {item: MessageBody(body)})
                for seq, attributes, _, body in entries
            ]
        return [
            FetchedMessage(seq, {**attributes, item: body}, {})
            for seq, attributes, _, body in entries
        ]

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.discard()
            self._writer = None
        for body in self._done.values():
            body.close()
        self._done = {}


_SECTION_NAMES: dict[str, bool] = {}


def _is_section(name: str) -> bool:
    known = _SECTION_NAMES.get(name)
    if known is None:
        known = name.startswith(("BODY[", "BINARY[")) or name in {
            "RFC822",
            "RFC822.HEADER",
            "RFC822.TEXT",
        }
        if len(_SECTION_NAMES) < 1024:
            _SECTION_NAMES[name] = known
    return known


class CollectingSink:
    """Default sink: assembled messages go to a callback (the command's log)."""

    def __init__(self, spool_threshold: int, deliver: Callable[[FetchedMessage], None]) -> None:
        self._assembler = FetchAssembler(spool_threshold)
        self._deliver = deliver

    def feed(self, event: LiteralEvent) -> None:
        self._assembler.feed(event)

    def response(self, event: FetchResponse) -> None:
        self._deliver(self._assembler.assemble(event))

    def run(self, event: FetchRun) -> None:
        for message in self._assembler.assemble_run(event):
            self._deliver(message)

    def flush(self) -> None:
        return None

    def fail(self, error: MailferryError) -> None:
        self._assembler.discard()


#: What a QueueSink's queue carries: a batch of messages, an error, or None (the end).
QueueEntry = list[FetchedMessage] | MailferryError | None


class QueueSink:
    """Hands messages that satisfy ``wanted`` to a bounded queue; others to ``other``.

    ``wanted`` tells a message we asked for from an unsolicited update
    (a FETCH carrying only new FLAGS of some other message); it must depend
    only on which attributes and sections a message has and on the types of
    the values (a run's messages are judged by its first). Messages go into
    the queue in batches, one per ``flush`` (one drain of the parser, at most
    a receive buffer's worth of in-memory bodies), so ``max_queued`` batches
    bound the memory ahead of the consumer.
    """

    def __init__(
        self,
        spool_threshold: int,
        wanted: Callable[[FetchedMessage], bool],
        other: Callable[[FetchedMessage], None],
        max_queued: int = 8,
    ) -> None:
        self._assembler = FetchAssembler(spool_threshold)
        self._wanted = wanted
        self._other = other
        self._batch: list[FetchedMessage] = []
        self._order = asyncio.Lock()
        self.queue: asyncio.Queue[QueueEntry] = asyncio.Queue(max_queued)

    def feed(self, event: LiteralEvent) -> None:
        self._assembler.feed(event)

    def response(self, event: FetchResponse) -> None:
        message = self._assembler.assemble(event)
        if self._wanted(message):
            self._batch.append(message)
        else:
            self._other(message)

    def run(self, event: FetchRun) -> None:
        """The messages of a run all have the same attribute names, value types and
        sections: ``wanted`` (which must depend on nothing else) decides once."""
        messages = self._assembler.assemble_run(event)
        if self._wanted(messages[0]):
            self._batch += messages
        else:
            for message in messages:
                self._other(message)

    def flush(self) -> Awaitable[None] | None:
        batch = self._batch
        if not batch:
            return None
        self._batch = []
        if not self._order.locked() and not self.queue.full():
            self.queue.put_nowait(batch)
            return None
        return self._put_in_order(batch)

    async def end(self, entry: MailferryError | None) -> None:
        """Queue the end marker (None) or the error that ends the stream, after every
        batch flushed before this call. A plain ``queue.put`` could overtake a batch
        whose put is waiting for room (asyncio.Queue wakes a waiting putter, but a new
        one can fill the freed slot first): the consumer would stop short of it."""
        await self._put_in_order(entry)

    async def _put_in_order(self, entry: QueueEntry) -> None:
        async with self._order:  # asyncio.Lock is FIFO: entries keep their order
            await self.queue.put(entry)

    def fail(self, error: MailferryError) -> None:
        self._assembler.discard()
        close_all(self._batch)
        self._batch = []
        while self.queue.full():
            close_all(self.queue.get_nowait())
        self.queue.put_nowait(error)


def close_all(entry: QueueEntry) -> None:
    """Release the bodies of a queue entry nobody will read."""
    if isinstance(entry, list):
        for message in entry:
            message.close()
