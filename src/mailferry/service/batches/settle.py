"""How a batch's status follows its users' (one pass of the scheduler).

``next_status`` is pure: the batch, its users' ``UserSummary`` (which statuses they are
in, whether a job holds one: the scheduler reads it with an index probe per status,
never loading the users) and the time in, the status it should have out (None:
unchanged). ``settle_batch`` applies it through the transition table, after
``finish_idle_users`` has finished what a Stop or Remove left waiting for a job.

Users stopped one by one (Stop-MigrationUser) are the administrator's pause: in the
sync phase they neither hold the batch Syncing nor make it fail; the batch follows its
other users (Synced when they all are, SyncedWithErrors when some failed) and counts
them in StoppedCount. Only when every user of the batch is stopped does the batch
itself stop (Stopping, then Stopped): nothing of it runs any more, and Start-MigrationBatch
resumes them all. Removing users (Remove-MigrationUser) no longer count at all.
"""

from __future__ import annotations

import dataclasses
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
from mailferry.state.scheduler_queries import UserSummary

B = BatchStatus
U = UserStatus
_INITIAL_PENDING = frozenset({U.QUEUED, U.VALIDATING, U.SYNCING})
_SYNC_PHASE = frozenset({B.SYNCING, B.INCREMENTAL_SYNCING, B.SYNCED, B.SYNCED_WITH_ERRORS})
_PAUSED = frozenset({U.STOPPING, U.STOPPED})


NEEDS_USERS = _SYNC_PHASE | {B.STOPPING, B.COMPLETING}
"""Batch statuses whose next status depends on their users (the others' on time only)."""


def next_status(
    batch: Batch, users: Sequence[MigrationUser] | UserSummary, now: dt.datetime
) -> B | None:
    summary = users if isinstance(users, UserSummary) else UserSummary.of(users, now)
    status, present = batch.status, summary.statuses
    if status in (B.STARTING, B.WAITING):
        waiting = batch.start_after is not None and batch.start_after > now
        wanted = B.WAITING if waiting else B.SYNCING
        return None if wanted == status else wanted
    if status in _SYNC_PHASE:
        return _sync_phase_status(status, present - {U.REMOVING})
    if status == B.STOPPING and not (summary.busy or U.STOPPING in present):
        return B.STOPPED
    if status == B.COMPLETING and U.COMPLETING not in present:
        # A user stopped one by one was never completed: the batch says so.
        left = bool(present & (USER_FAILED | _PAUSED))
        return B.COMPLETED_WITH_ERRORS if left else B.COMPLETED
    return None


def _sync_phase_status(status: B, statuses: frozenset[UserStatus]) -> B | None:
    live = statuses - _PAUSED  # users stopped one by one don't hold the batch
    if statuses and not live:
        wanted = B.STOPPING  # every user is stopped: the batch stops (then Stopped)
    elif live & _INITIAL_PENDING:
        wanted = B.SYNCING
    elif U.INCREMENTAL_SYNCING in live:
        wanted = B.INCREMENTAL_SYNCING
    elif statuses == {U.FAILED} and status == B.SYNCING:
        wanted = B.FAILED  # not one user could be migrated: the batch failed
    elif live & USER_FAILED:
        wanted = B.SYNCED_WITH_ERRORS
    else:
        wanted = B.SYNCED
    return None if wanted == status else wanted


def settle_batch(
    ctx: ServiceContext, batch: Batch, users: Sequence[MigrationUser] | UserSummary
) -> Batch:
    """Move the batch to the status its users call for; the batch as it now is.

    Loaded users have their waiting Stop or Remove finished first; a ``UserSummary``
    is taken as read after that (the scheduler finishes them with its own query)."""
    now = ctx.now()
    if not isinstance(users, UserSummary):
        users = finish_idle_users(ctx, users, now)
    wanted = next_status(batch, users, now)
    if wanted is None:
        return batch
    check_transition(batch.status, wanted)
    changes: dict[str, Any] = {"status": wanted, "settled_at": now}  # the clean-up's clock
    if wanted in (B.SYNCED, B.SYNCED_WITH_ERRORS, B.FAILED):
        if batch.initial_sync_finished_at is None:
            changes["initial_sync_finished_at"] = now
        synced = _last_synced(ctx, batch, users)
        if synced is not None:
            changes["last_synced_at"] = synced
    if wanted in (B.COMPLETED, B.COMPLETED_WITH_ERRORS):
        changes["completed_at"] = now
    if ctx.store.update_batch(batch.id, changes, expect=[batch.status]):
        ctx.store.add_event(
            "batch_status", now, batch_id=batch.id, old=batch.status.value, new=wanted.value
        )
    found = ctx.store.batch_by_id(batch.id)
    return batch if found is None else found


def _last_synced(
    ctx: ServiceContext, batch: Batch, users: Sequence[MigrationUser] | UserSummary
) -> dt.datetime | None:
    """The users' latest LastSuccessfulSyncTimestamp (an aggregate when not loaded)."""
    if isinstance(users, UserSummary):
        return ctx.store.last_successful_sync(batch.id)
    return max(
        (u.last_successful_sync_at for u in users if u.last_successful_sync_at), default=None
    )


def finish_idle_users(
    ctx: ServiceContext, users: Sequence[MigrationUser], now: dt.datetime
) -> list[MigrationUser]:
    """Users whose Stop or Remove waited for a job that no longer runs (it ended, or its
    worker died and its lease expired): Stopping ones become Stopped, Removing ones are
    purged with their password and mailbox state. The users as they now are, without
    the purged ones. (Not for a Removing batch: its removal purges it whole.)"""
    remaining: list[MigrationUser] = []
    for user in users:
        if busy(user, now) or user.status not in (U.STOPPING, U.REMOVING):
            remaining.append(user)
        elif user.status == U.STOPPING:
            remaining.append(_stop_idle(ctx, user, now))
        elif ctx.store.delete_user(user.id, now):
            ctx.store.add_event(
                "user_removed", now, batch_id=user.batch_id, user_id=user.id,
                email=user.email_address, batch=user.batch,
            )  # fmt: skip
        else:
            remaining.append(user)
    return remaining


def _stop_idle(ctx: ServiceContext, user: MigrationUser, now: dt.datetime) -> MigrationUser:
    if not ctx.store.update_user(user.id, {"status": U.STOPPED}, expect=[U.STOPPING]):
        return user  # changed meanwhile: the next pass sees it as it is
    ctx.store.add_event("user_stopped", now, batch_id=user.batch_id, user_id=user.id)
    return dataclasses.replace(user, status=U.STOPPED)


def busy(user: MigrationUser, now: dt.datetime) -> bool:
    """Whether a job holds a live claim on the user."""
    return user.claimed_by is not None and (user.claimed_until or now) >= now
