"""The copy pipeline of one folder (engine.md rule 6).

``source.fetch`` (a producer task) → a queue bounded in bytes → ``target.append``
in batches (the consumer). For each batch, in this order:

1. the pending pairs are recorded (intent, with a lower bound of the target's
   UIDNEXT before the append),
2. the batch is appended,
3. the outcomes are recorded: APPENDUID UIDs; messages stored without a UID are
   looked up by fingerprint right away (a UID not found is recorded as unknown
   rather than copied again); a message the target refused becomes a skipped item
   and its pending pair is dropped.

Up to ``append_window`` batches are in flight at once (each one's intent committed
before its APPEND is sent, outcomes recorded in batch order), so the target always
has the next batch to work on while we record the last one; the state writes run in
a worker thread. A crash anywhere leaves pending pairs that the next run reconciles
first. The byte budget ``queue_bytes + batch_bytes`` covers every body fetched and
not yet done with: waiting in the queue, being batched, or being appended.

A batch is appended when full (``batch_count`` or ``batch_bytes``), when the
fetch is over, when no more can come until a batch in flight lands, or
``batch_linger`` seconds after its first message: a fast source fills whole batches
(few state writes, MULTIAPPEND), a slow one still shows progress. The UIDNEXT bound
is read once per folder and advanced past each batch's APPENDUIDs: a bound lower than
the truth only widens the reconcile search.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailferry.engine.headers import HeaderSummary, message_id_of, summarize
from mailferry.engine.ledger import Ledger
from mailferry.engine.pipeline import ByteQueue, run_pipeline
from mailferry.engine.planner import Copy
from mailferry.engine.reconcile import find_on_target
from mailferry.errors import FolderError, MailferryError
from mailferry.state.records import PairIntent
from mailferry.stores.base import (
    Appended,
    AppendItem,
    AppendOutcome,
    Rejected,
    SourceMailbox,
    SourceMessage,
    TargetMailbox,
    fingerprint,
)
from mailferry.values.progress import ItemSkipped, MessagesCopied, ProgressCallback
from mailferry.values.results import SkippedItem
from mailferry.values.sync_options import SyncOptions

if TYPE_CHECKING:
    from mailferry.state.store import StateStore


@dataclass(frozen=True)
class CopyJob:
    """Everything one folder's copy needs."""

    source: SourceMailbox
    target: TargetMailbox
    state: StateStore
    ledger: Ledger
    mailbox_id: int
    source_folder: str
    target_folder: str
    options: SyncOptions
    emit: ProgressCallback


@dataclass
class CopyTally:
    """What the copy did; ``received`` are the source UIDs the fetch delivered."""

    uidnext: int
    copied: int = 0
    bytes: int = 0
    received: set[int] = field(default_factory=set)
    skipped: list[SkippedItem] = field(default_factory=list)


async def copy_messages(job: CopyJob, planned: dict[int, Copy], uidnext_before: int) -> CopyTally:
    """Copy the planned messages (source UID -> Copy, in order: newest first); returns the
    tally (also when some were not fetched). ``planned`` is consumed: each entry is
    removed once its APPEND is under way."""
    tally = CopyTally(uidnext=uidnext_before)
    if not planned:
        return tally
    budget = job.options.queue_bytes + job.options.batch_bytes
    queue: ByteQueue[SourceMessage] = ByteQueue(budget, hold=True)

    def cleanup() -> None:
        for message in queue.drain():
            message.body.close()

    await run_pipeline(
        _produce(job, list(planned), queue),
        _Consumer(job, queue, planned, tally).run(),
        cleanup,
    )
    return tally


async def _produce(job: CopyJob, uids: list[int], queue: ByteQueue[SourceMessage]) -> None:
    step = job.options.fetch_chunk
    for start in range(0, len(uids), step):
        # The plan has each message's flags and date: only the bytes are fetched.
        stream = job.source.fetch(job.source_folder, uids[start : start + step], listed=True)
        try:
            async for message in stream:
                try:
                    await queue.put(message, message.body.size)
                except BaseException:
                    message.body.close()
                    raise
        finally:
            await _aclose(stream)
    await queue.close()


async def _aclose(stream: AsyncIterator[SourceMessage]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


@dataclass
class _Flight:
    """A batch whose intent is committed and whose APPEND is under way."""

    batch: list[SourceMessage]
    task: asyncio.Future[list[AppendOutcome]]
    copies: list[Copy]  # the plan of each message of ``batch``


class _Consumer:
    """Batches the queue's messages and keeps up to ``append_window`` batches in flight."""

    def __init__(
        self,
        job: CopyJob,
        queue: ByteQueue[SourceMessage],
        planned: dict[int, Copy],
        tally: CopyTally,
    ) -> None:
        self.job, self.queue, self.planned, self.tally = job, queue, planned, tally
        self.flights: deque[_Flight] = deque()
        self.carry: SourceMessage | None = None  # the message that would have overfilled
        self.window = max(1, job.options.append_window)

    async def run(self) -> None:
        failed = True
        try:
            while (batch := await self._next_batch()) is not None:
                wanted = _wanted(batch, self.planned, self.tally)
                kept = {id(m) for m in wanted}
                self._done_with([m for m in batch if id(m) not in kept])
                if wanted:
                    await self._send(wanted)
                while self.flights and self.flights[0].task.done():
                    await self._land()
            while self.flights:
                await self._land()
            failed = False
        finally:
            if failed:
                await self._abandon()

    async def _next_batch(self) -> list[SourceMessage] | None:
        """The next batch, None at the end of the fetch."""
        first, self.carry = self.carry, None
        while first is None:
            first = await self.queue.get()
            if first is None:
                if not self.queue.starved:
                    return None
                if not self.flights:
                    raise RuntimeError("copy pipeline stalled: budget held by nothing")
                await self._land()  # frees its bytes: the fetch goes on
        limits = self.job.options
        loop = asyncio.get_running_loop()
        batch, size = [first], first.body.size
        deadline = loop.time() + limits.batch_linger
        try:
            while len(batch) < limits.batch_count and size < limits.batch_bytes:
                more = await self.queue.get(timeout=max(0.0, deadline - loop.time()))
                if more is None:
                    break
                if size + more.body.size > limits.batch_bytes:
                    self.carry = more  # a big message starts the next batch instead
                    break
                batch.append(more)
                size += more.body.size
        except BaseException:
            self._done_with(batch)
            raise
        return batch

    async def _send(self, batch: list[SourceMessage]) -> None:
        """Commit the intent, make room in the window, start the APPEND. Stopped or
        failed before the APPEND starts, the intent is taken back: a pending pair
        means "may have been sent", and this batch was not."""
        job = self.job
        intent: asyncio.Future[None] | None = None
        try:
            ids = {m.meta.uid: message_id_of(m.body) for m in batch}
            intents = [_intent(m, self.planned[m.meta.uid], ids, self.tally.uidnext) for m in batch]
            intent = asyncio.ensure_future(job.ledger.intend_async(intents))
            await _uninterrupted(intent)
            while len(self.flights) >= self.window:
                await self._land()
            copies = [self.planned.pop(m.meta.uid) for m in batch]
            items = [_append_item(m, copy) for m, copy in zip(batch, copies, strict=True)]
            task = asyncio.ensure_future(job.target.append(job.target_folder, items))
        except BaseException:
            try:
                if intent is not None and _succeeded(intent):
                    await job.ledger.drop_async([m.meta.uid for m in batch])
            except Exception:  # left pending: the next run finds nothing there, copies it
                pass
            finally:
                self._done_with(batch)
            raise
        self.flights.append(_Flight(batch, task, copies))

    async def _land(self) -> None:
        """Wait for the oldest batch in flight and record what became of it. A stop
        (cancellation) of this wait leaves the APPEND running and in ``flights``, for
        ``_abandon`` to drain: awaiting the task itself would cancel it too."""
        flight = self.flights[0]
        await asyncio.wait([flight.task])
        self.flights.popleft()
        try:
            outcomes = flight.task.result()
            await _uninterrupted(_record_batch(self.job, flight, outcomes, self.tally))
            if any(isinstance(o, Appended) and o.target_uid is None for o in outcomes):
                self.window = 1  # UIDs are found by searching: one batch at a time
        finally:
            self._done_with(flight.batch)

    async def _abandon(self) -> None:
        """After an error or a cancellation: the batches in flight end as they may (their
        pairs stay pending for the next run) and every body is released. A stop
        (cancellation) first lets them land, bounded by ``stop_drain``: an APPEND
        whose bytes are sent may still be stored after we let go, so an answer waited
        for is an outcome recorded instead of a pair left in doubt."""
        flights, self.flights = list(self.flights), deque()
        try:
            if _cancelling():
                flights = await self._drain(flights)
                for flight in flights:
                    flight.task.cancel()
            if flights:
                await asyncio.gather(*(f.task for f in flights), return_exceptions=True)
        finally:
            for flight in flights:
                self._done_with(flight.batch)
            if self.carry is not None:
                self._done_with([self.carry])
                self.carry = None

    async def _drain(self, flights: list[_Flight]) -> list[_Flight]:
        """Wait up to ``stop_drain`` seconds for the batches in flight and record those
        answered, in order; returns the ones left (cut off by the caller)."""
        limit = self.job.options.stop_drain
        if not flights or limit <= 0:
            return flights
        await asyncio.wait([f.task for f in flights], timeout=limit)
        while flights and flights[0].task.done():
            flight = flights.pop(0)  # from the caller's list: released once
            task = flight.task
            try:
                if not task.cancelled() and task.exception() is None:
                    await _record_batch(self.job, flight, task.result(), self.tally)
            except MailferryError:
                pass  # its pairs stay pending: the next run reconciles them
            finally:
                self._done_with(flight.batch)
        return flights

    def _done_with(self, messages: Sequence[SourceMessage]) -> None:
        for message in messages:
            message.body.close()
            self.queue.release(message.body.size)


async def _uninterrupted(work: Awaitable[None]) -> None:
    """Run a state write to its end even when the caller is stopped meanwhile (the stop
    is raised after it): an answered APPEND is recorded, and an intent is known to be
    committed or not, so the next run has nothing in doubt that was not sent."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the stop is what the caller sees
        raise


def _succeeded(task: asyncio.Future[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _wanted(
    batch: list[SourceMessage], planned: dict[int, Copy], tally: CopyTally
) -> list[SourceMessage]:
    """The planned messages of a batch, each UID once (a store bug must not duplicate)."""
    wanted = []
    for message in batch:
        uid = message.meta.uid
        if uid in planned and uid not in tally.received:  # (sent ones left ``planned``)
            tally.received.add(uid)
            wanted.append(message)
    return wanted


async def _record_batch(
    job: CopyJob, flight: _Flight, outcomes: list[AppendOutcome], tally: CopyTally
) -> None:
    batch = flight.batch
    if len(outcomes) != len(batch):
        reason = f"the target answered {len(outcomes)} outcomes for {len(batch)} messages"
        raise FolderError(job.target_folder, reason)
    stored = await _record_outcomes(job, batch, outcomes, tally)
    rejected = [
        _rejected(job, m, copy, outcome, summarize(m.body))
        for m, copy, outcome in zip(batch, flight.copies, outcomes, strict=True)
        if isinstance(outcome, Rejected)
    ]
    if rejected:
        job.state.record_skipped(job.mailbox_id, rejected)
        await job.ledger.drop_async(
            [item.source_uid for item in rejected if item.source_uid is not None]
        )
        tally.skipped.extend(rejected)
        for item in rejected:
            job.emit(ItemSkipped(item))
    copied_bytes = sum(m.body.size for m in stored)
    tally.copied += len(stored)
    tally.bytes += copied_bytes
    if stored:
        job.emit(MessagesCopied(job.source_folder, len(stored), copied_bytes))


async def _record_outcomes(
    job: CopyJob, batch: list[SourceMessage], outcomes: list[AppendOutcome], tally: CopyTally
) -> list[SourceMessage]:
    """Record the target UIDs (finding unknown ones by fingerprint); the stored messages."""
    known: dict[int, int | None] = {}
    unknown: dict[int, str] = {}
    stored = []
    for message, outcome in zip(batch, outcomes, strict=True):
        if not isinstance(outcome, Appended):
            continue
        stored.append(message)
        uid = message.meta.uid
        if outcome.target_uid is None:
            unknown[uid] = job.ledger.pairs[uid].fingerprint
        else:
            known[uid] = outcome.target_uid
    await job.ledger.settle_async(known)
    if unknown:
        found = await find_on_target(
            job.target,
            job.target_folder,
            unknown,
            min_uid=tally.uidnext,
            exclude=job.ledger.target_uids(),
            in_order=True,
        )
        await job.ledger.settle_async(
            {uid: found[uid].uid if uid in found else None for uid in unknown}
        )
        known.update({uid: meta.uid for uid, meta in found.items()})
    uids = [uid for uid in known.values() if uid is not None]
    if uids:
        tally.uidnext = max(tally.uidnext, max(uids) + 1)
    return stored


def _intent(
    message: SourceMessage, copy: Copy, message_ids: dict[int, str | None], uidnext: int
) -> PairIntent:
    size = message.body.size
    date = copy.meta.internaldate
    return PairIntent(
        source_uid=message.meta.uid,
        fingerprint=fingerprint(message_ids[message.meta.uid], size, date),
        size=size,
        internaldate=date,
        flags=copy.flags,
        target_uidnext_before=uidnext,
    )


def _append_item(message: SourceMessage, copy: Copy) -> AppendItem:
    return AppendItem(body=message.body, flags=copy.flags, internaldate=copy.meta.internaldate)


def _rejected(
    job: CopyJob, message: SourceMessage, copy: Copy, outcome: Rejected, head: HeaderSummary
) -> SkippedItem:
    return SkippedItem(
        folder=job.source_folder,
        source_uid=message.meta.uid,
        kind=outcome.kind,
        subject=head.subject,
        sender=head.sender,
        date=head.date or copy.meta.internaldate,
        size=message.body.size,
        reason=outcome.reason,
    )
