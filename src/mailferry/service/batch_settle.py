"""How a batch's status follows its users' (one pass of the scheduler).

``next_status`` is pure: the batch, its users and the time in, the status it should
have out (None: unchanged). ``settle_batch`` applies it through the transition table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.statuses import (
    USER_FAILED,
    BatchStatus,
    UserStatus,
    check_transition,
)
from mailferry.state.migration_records import Batch, MigrationUser

B = BatchStatus
U = UserStatus
_INITIAL_PENDING = frozenset({U.QUEUED, U.VALIDATING, U.SYNCING})
_SYNC_PHASE = frozenset({B.SYNCING, B.INCREMENTAL_SYNCING, B.SYNCED, B.SYNCED_WITH_ERRORS})


def next_status(batch: Batch, users: Sequence[MigrationUser], now: dt.datetime) -> B | None:
    status = batch.status
    if status in (B.STARTING, B.WAITING):
        waiting = batch.start_after is not None and batch.start_after > now
        wanted = B.WAITING if waiting else B.SYNCING
        return None if wanted == status else wanted
    if status in _SYNC_PHASE:
        return _sync_phase_status(status, users)
    if status == B.STOPPING and not any(_busy(u, now) or u.status == U.STOPPING for u in users):
        return B.STOPPED
    if status == B.COMPLETING and not any(u.status == U.COMPLETING for u in users):
        failed = any(u.status in USER_FAILED for u in users)
        return B.COMPLETED_WITH_ERRORS if failed else B.COMPLETED
    return None


def _sync_phase_status(status: B, users: Sequence[MigrationUser]) -> B | None:
    statuses = {u.status for u in users}
    if statuses & _INITIAL_PENDING:
        wanted = B.SYNCING
    elif U.INCREMENTAL_SYNCING in statuses:
        wanted = B.INCREMENTAL_SYNCING
    elif users and statuses <= {U.FAILED} and status == B.SYNCING:
        wanted = B.FAILED  # not one user could be migrated: the batch failed
    elif statuses & USER_FAILED:
        wanted = B.SYNCED_WITH_ERRORS
    else:
        wanted = B.SYNCED
    return None if wanted == status else wanted


def settle_batch(ctx: ServiceContext, batch: Batch, users: Sequence[MigrationUser]) -> Batch:
    """Move the batch to the status its users call for; the batch as it now is."""
    now = ctx.now()
    _stop_idle_users(ctx, batch, users, now)
    wanted = next_status(batch, users, now)
    if wanted is None:
        return batch
    check_transition(batch.status, wanted)
    changes: dict[str, Any] = {"status": wanted}
    if wanted in (B.SYNCED, B.SYNCED_WITH_ERRORS, B.FAILED):
        if batch.initial_sync_finished_at is None:
            changes["initial_sync_finished_at"] = now
        synced = [u.last_successful_sync_at for u in users if u.last_successful_sync_at]
        if synced:
            changes["last_synced_at"] = max(synced)
    if wanted in (B.COMPLETED, B.COMPLETED_WITH_ERRORS):
        changes["completed_at"] = now
    if ctx.store.update_batch(batch.id, changes, expect=[batch.status]):
        ctx.store.add_event(
            "batch_status", now, batch_id=batch.id, old=batch.status.value, new=wanted.value
        )
    found = ctx.store.batch_by_id(batch.id)
    return batch if found is None else found


def _stop_idle_users(
    ctx: ServiceContext, batch: Batch, users: Sequence[MigrationUser], now: dt.datetime
) -> None:
    """Stopping users with no live job (it ended or its worker died) are Stopped."""
    for user in users:
        if user.status == U.STOPPING and not _busy(user, now):
            ctx.store.update_user(user.id, {"status": U.STOPPED}, expect=[U.STOPPING])


def _busy(user: MigrationUser, now: dt.datetime) -> bool:
    return user.claimed_by is not None and (user.claimed_until or now) >= now
