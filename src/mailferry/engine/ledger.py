"""A folder's message pairs in memory, written through to the StateStore.

Every change to the pairs of a folder goes through a :class:`Ledger`, so what
the engine plans from is always what the database holds. In a dry run the
ledger changes only its memory: the same code runs and nothing is written.

The copy path uses the ``*_async`` variants: the database write (an fsync for an
intent) runs in a worker thread so the event loop keeps fetching and appending
meanwhile; the memory changes only once the write committed, in the loop's thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from mailferry.state.records import DONE, PENDING, FolderRecord, PairIntent, PairRecord
from mailferry.stores.base import FolderStatus
from mailferry.stores.flags import shared

if TYPE_CHECKING:
    from mailferry.state.store import StateStore


class Ledger:
    """The pairs of one folder (by source UID) and its checkpoint record."""

    def __init__(
        self, state: StateStore, record: FolderRecord, pairs: Iterable[PairRecord], *, dry_run: bool
    ) -> None:
        self._state = state
        self.record = record
        self.pairs: dict[int, PairRecord] = {pair.source_uid: pair for pair in pairs}
        self.dry_run = dry_run

    @property
    def folder_id(self) -> int:
        return self.record.id

    @property
    def pending(self) -> list[PairRecord]:
        return [p for p in self.pairs.values() if p.state == PENDING]

    @property
    def done(self) -> list[PairRecord]:
        return [p for p in self.pairs.values() if p.state == DONE]

    def target_uids(self) -> set[int]:
        """Target UIDs that done pairs already account for."""
        return {p.target_uid for p in self.pairs.values() if p.target_uid is not None}

    def intend(self, intents: Sequence[PairIntent]) -> None:
        """Record pending pairs (before the APPEND)."""
        if not self.dry_run:
            self._state.record_intent(self.folder_id, intents)
        self._add_pending(intents)

    async def intend_async(self, intents: Sequence[PairIntent]) -> None:
        """:meth:`intend` with the database write in a worker thread."""
        if intents and not self.dry_run:
            await asyncio.to_thread(self._state.record_intent, self.folder_id, intents)
        self._add_pending(intents)

    async def settle_async(self, outcomes: Mapping[int, int | None]) -> None:
        """:meth:`settle` with the database write in a worker thread."""
        if outcomes and not self.dry_run:
            await asyncio.to_thread(self._state.record_outcome, self.folder_id, outcomes)
        self._mark_done(outcomes)

    async def drop_async(self, source_uids: Sequence[int]) -> None:
        """:meth:`drop` with the database write in a worker thread."""
        if source_uids and not self.dry_run:
            await asyncio.to_thread(self._state.drop_pairs, self.folder_id, source_uids)
        for uid in source_uids:
            self.pairs.pop(uid, None)

    def _add_pending(self, intents: Sequence[PairIntent]) -> None:
        for i in intents:
            self.pairs[i.source_uid] = PairRecord(
                i.source_uid,
                None,
                PENDING,
                i.fingerprint,
                i.size,
                i.internaldate,
                shared(tuple(sorted(set(i.flags)))),
                i.target_uidnext_before,
            )

    def settle(self, outcomes: Mapping[int, int | None]) -> None:
        """Mark pairs done with their target UID (None: stored, UID unknown)."""
        if not outcomes:
            return
        if not self.dry_run:
            self._state.record_outcome(self.folder_id, outcomes)
        self._mark_done(outcomes)

    def _mark_done(self, outcomes: Mapping[int, int | None]) -> None:
        pairs = self.pairs
        for uid, target_uid in outcomes.items():
            p = pairs[uid]
            pairs[uid] = PairRecord(
                uid, target_uid, DONE, p.fingerprint, p.size, p.internaldate, p.flags,
                p.target_uidnext_before,
            )  # fmt: skip

    def drop(self, source_uids: Sequence[int]) -> None:
        if not source_uids:
            return
        if not self.dry_run:
            self._state.drop_pairs(self.folder_id, source_uids)
        for uid in source_uids:
            self.pairs.pop(uid, None)

    def remap(self, mapping: Mapping[int, int]) -> None:
        """New source UIDs (old -> new) after a source UIDVALIDITY change."""
        moves = {old: new for old, new in mapping.items() if old != new}
        if not moves:
            return
        if not self.dry_run:
            self._state.remap_source_uids(self.folder_id, moves)
        moved = {new: replace(self.pairs.pop(old), source_uid=new) for old, new in moves.items()}
        self.pairs.update(moved)

    def set_flags(self, flags: Mapping[int, tuple[str, ...]]) -> None:
        if not flags:
            return
        if not self.dry_run:
            self._state.update_flags(self.folder_id, flags)
        for uid, value in flags.items():
            self.pairs[uid] = replace(self.pairs[uid], flags=tuple(sorted(set(value))))

    def checkpoint(
        self, status: FolderStatus, target_uidvalidity: int, *, complete: bool, scope: str
    ) -> None:
        """Save the folder's counters and the content filter's ``scope`` they were made
        under. An incomplete checkpoint keeps only the UIDVALIDITYs (the pairs' frame
        of reference) and forces a full listing next time."""
        complete_or_none = (
            (status.uidnext, status.highestmodseq, status.messages) if complete else (None,) * 3
        )
        uidnext, modseq, messages = complete_or_none
        record = self.record
        saved = (
            record.source_uidvalidity,
            record.source_uidnext,
            record.source_highestmodseq,
            record.source_messages,
            record.target_uidvalidity,
            record.scope,
        )
        if saved == (status.uidvalidity, uidnext, modseq, messages, target_uidvalidity, scope):
            return  # nothing new: no write (``last_synced_at`` is the last change)
        if not self.dry_run:
            self._state.save_checkpoint(
                self.folder_id,
                source_uidvalidity=status.uidvalidity,
                source_uidnext=uidnext,
                source_highestmodseq=modseq,
                source_messages=messages,
                target_uidvalidity=target_uidvalidity,
                scope=scope,
            )
        self.record = replace(
            record,
            source_uidvalidity=status.uidvalidity,
            source_uidnext=uidnext,
            source_highestmodseq=modseq,
            source_messages=messages,
            target_uidvalidity=target_uidvalidity,
            last_synced_at=dt.datetime.now(dt.UTC),
            scope=scope,
        )
