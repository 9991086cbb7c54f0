"""The copy pipeline of one folder (engine.md rule 6).

``source.fetch`` (a producer task) → a queue bounded in bytes → ``target.append``
in batches (the consumer task). For each batch, in this order:

1. the pending pairs are recorded (intent, with a lower bound of the target's
   UIDNEXT before the append),
2. the batch is appended,
3. the outcomes are recorded: APPENDUID UIDs; messages stored without a UID are
   looked up by fingerprint right away (a UID not found is recorded as unknown
   rather than copied again); a message the target refused becomes a skipped item
   and its pending pair is dropped.

A crash anywhere leaves pending pairs that the next run reconciles first.
A batch is appended when full (``batch_count`` or ``batch_bytes``), when the
fetch is over, or ``batch_linger`` seconds after its first message: a fast
source fills whole batches (few state writes, MULTIAPPEND), a slow one still
shows progress. The UIDNEXT bound is read once per folder and advanced past each batch's
APPENDUIDs: a bound lower than the truth only widens the reconcile search.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from mailferry.engine.headers import HeaderSummary, summarize
from mailferry.engine.ledger import Ledger
from mailferry.engine.pipeline import ByteQueue, run_pipeline
from mailferry.engine.planner import Copy, SyncOptions
from mailferry.engine.progress import ItemSkipped, MessagesCopied, ProgressCallback
from mailferry.engine.reconcile import find_on_target
from mailferry.errors import FolderError
from mailferry.state.records import PairIntent, SkippedItem
from mailferry.state.store import StateStore
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


async def copy_messages(job: CopyJob, copies: Sequence[Copy], uidnext_before: int) -> CopyTally:
    """Copy the planned messages; returns the tally (also when some were not fetched)."""
    tally = CopyTally(uidnext=uidnext_before)
    if not copies:
        return tally
    planned = {copy.meta.uid: copy for copy in copies}
    queue: ByteQueue[SourceMessage] = ByteQueue(job.options.queue_bytes)

    def cleanup() -> None:
        for message in queue.drain():
            message.body.close()

    await run_pipeline(
        _produce(job, [copy.meta.uid for copy in copies], queue),
        _consume(job, queue, planned, tally),
        cleanup,
    )
    return tally


async def _produce(job: CopyJob, uids: list[int], queue: ByteQueue[SourceMessage]) -> None:
    step = job.options.fetch_chunk
    for start in range(0, len(uids), step):
        stream = job.source.fetch(job.source_folder, uids[start : start + step])
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


async def _consume(
    job: CopyJob, queue: ByteQueue[SourceMessage], planned: dict[int, Copy], tally: CopyTally
) -> None:
    loop = asyncio.get_running_loop()
    limits = job.options
    carry: SourceMessage | None = None  # the message that would have overfilled a batch
    while (first := carry or await queue.get()) is not None:
        carry = None
        batch = [first]
        try:
            size, deadline = first.body.size, loop.time() + limits.batch_linger
            while len(batch) < limits.batch_count and size < limits.batch_bytes:
                more = await queue.get(timeout=max(0.0, deadline - loop.time()))
                if more is None:
                    break
                if size + more.body.size > limits.batch_bytes:
                    carry = more  # a big message starts the next batch instead
                    break
                batch.append(more)
                size += more.body.size
            wanted = _wanted(batch, planned, tally)
            if wanted:
                await _write_batch(job, wanted, planned, tally)
        except BaseException:
            if carry is not None:
                carry.body.close()
            raise
        finally:
            for message in batch:
                message.body.close()


def _wanted(
    batch: list[SourceMessage], planned: dict[int, Copy], tally: CopyTally
) -> list[SourceMessage]:
    """The planned messages of a batch, each UID once (a store bug must not duplicate)."""
    wanted = []
    for message in batch:
        uid = message.meta.uid
        if uid in planned and uid not in tally.received:
            tally.received.add(uid)
            wanted.append(message)
    return wanted


async def _write_batch(
    job: CopyJob, batch: list[SourceMessage], planned: dict[int, Copy], tally: CopyTally
) -> None:
    heads = {m.meta.uid: summarize(m.body) for m in batch}
    job.ledger.intend([_intent(m, planned[m.meta.uid], heads, tally.uidnext) for m in batch])
    items = [_append_item(m, planned[m.meta.uid]) for m in batch]
    outcomes = await job.target.append(job.target_folder, items)
    if len(outcomes) != len(items):
        reason = f"the target answered {len(outcomes)} outcomes for {len(items)} messages"
        raise FolderError(job.target_folder, reason)
    stored = await _record_outcomes(job, batch, outcomes, tally)
    rejected = [
        _rejected(job, m, outcome, heads[m.meta.uid])
        for m, outcome in zip(batch, outcomes, strict=True)
        if isinstance(outcome, Rejected)
    ]
    if rejected:
        job.state.record_skipped(job.mailbox_id, rejected)
        job.ledger.drop([item.source_uid for item in rejected if item.source_uid is not None])
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
    job.ledger.settle(known)
    if unknown:
        found = await find_on_target(
            job.target,
            job.target_folder,
            unknown,
            min_uid=tally.uidnext,
            exclude=job.ledger.target_uids(),
            in_order=True,
        )
        job.ledger.settle({uid: found[uid].uid if uid in found else None for uid in unknown})
        known.update({uid: meta.uid for uid, meta in found.items()})
    uids = [uid for uid in known.values() if uid is not None]
    if uids:
        tally.uidnext = max(tally.uidnext, max(uids) + 1)
    return stored


def _intent(
    message: SourceMessage, copy: Copy, heads: dict[int, HeaderSummary], uidnext: int
) -> PairIntent:
    size = message.body.size
    date = copy.meta.internaldate
    return PairIntent(
        source_uid=message.meta.uid,
        fingerprint=fingerprint(heads[message.meta.uid].message_id, size, date),
        size=size,
        internaldate=date,
        flags=copy.flags,
        target_uidnext_before=uidnext,
    )


def _append_item(message: SourceMessage, copy: Copy) -> AppendItem:
    return AppendItem(body=message.body, flags=copy.flags, internaldate=copy.meta.internaldate)


def _rejected(
    job: CopyJob, message: SourceMessage, outcome: Rejected, head: HeaderSummary
) -> SkippedItem:
    return SkippedItem(
        folder=job.source_folder,
        source_uid=message.meta.uid,
        kind=outcome.kind,
        subject=head.subject,
        sender=head.sender,
        date=head.date or message.meta.internaldate,
        size=message.body.size,
        reason=outcome.reason,
    )
