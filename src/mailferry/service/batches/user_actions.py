"""Per-user control: Stop-, Start- and Remove-MigrationUser, as plain functions over a
ServiceContext (the CLI and the REST API call these).

Like the batch actions they record intent; the scheduler cancels a running job and
then finishes what waited for it. Every action is checked against
``statuses.USER_ACTION_BATCHES`` (the batch's status) and ``statuses.USER_ACTIONS``
(the user's) first; a refusal raises ``UserActionNotAllowed`` saying why.

==========  ============================================  ================================
Action      User status before                            After
==========  ============================================  ================================
Stop        Queued, Synced                                Stopped at once
Stop        Validating, Syncing, IncrementalSyncing       Stopping; the scheduler cancels
                                                          the job, then Stopped (all copied
                                                          mail and its state kept)
Start       Stopped, initial sync not done                Queued (resumes where it was)
Start       Stopped, initial sync done                    Synced, incremental sync at once
Start       Failed                                        Queued, attempts reset
Start       IncrementalFailed                             Synced, incremental sync at once
Remove      any but Removing, no job running              purged at once
Remove      any but Removing, a job running               Removing (password cleared); the
                                                          scheduler cancels the job, then
                                                          purges the user
==========  ============================================  ================================

Stop is for batches that run their users (Starting, Waiting, Syncing,
IncrementalSyncing, Synced, SyncedWithErrors); Start too, and a Failed batch, which
goes back to Starting for the retried user. In a Stopped batch Start is refused: start
the batch, which resumes every stopped user. Remove works in any batch not itself
being removed, and is refused without ``force`` when the user's last successful sync
is older than the batch's recorded MX switch (the check Remove-MigrationBatch makes).

Purging a user deletes its row (and so its encrypted password), its engine state
(folders, message pairs, skipped items) and nothing else: mail already copied stays on
the target, and the same address can be added again (``add_users``); the engine then
adopts what the target holds instead of copying it twice. How the batch's status
follows users stopped one by one is in ``batch_settle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailferry.errors import RemoveRefused, UserActionNotAllowed
from mailferry.service.batches.manage import (
    INCOMPLETE_WARNING,
    LOSS_WARNING,
    get_batch,
    incomplete_users,
    incremental_retry_changes,
    resume_changes,
    retry_changes,
    synced_before_mx_switch,
)
from mailferry.service.batches.settle import finish_idle_users, settle_batch
from mailferry.service.batches.users import get_user
from mailferry.service.context import ServiceContext
from mailferry.service.statuses import (
    USER_JOB_STATUSES,
    BatchAction,
    BatchStatus,
    UserStatus,
    check_user_action,
    check_user_transition,
)
from mailferry.state.migration_records import Batch, MigrationUser

B = BatchStatus
U = UserStatus
_ATTEMPTS = 5
"""Compare-and-set tries when a scheduler moves the user between our read and write."""
_SETTLE_STEPS = 3
"""Batch status steps taken at once (the last user stopped: Synced → Stopping → Stopped)."""


@dataclass(frozen=True)
class UserRemoval:
    """What Remove-MigrationUser did: ``purged`` now, or left Removing for the
    scheduler to purge once the user's running job has ended."""

    email_address: str
    batch: str
    purged: bool


def stop_user(ctx: ServiceContext, email: str) -> MigrationUser:
    """Stop-MigrationUser: a queued or synced user stops at once, a running one is
    Stopping until the scheduler has cancelled its job. The user as it now is."""
    for _ in range(_ATTEMPTS):
        user, batch = _checked(ctx, email, BatchAction.STOP)
        running = user.status in USER_JOB_STATUSES
        wanted = U.STOPPING if running else U.STOPPED
        if not _move(ctx, user, {"status": wanted}):
            continue
        ctx.store.add_event(
            "user_stopping" if running else "user_stopped", ctx.now(),
            batch_id=user.batch_id, user_id=user.id, previous=user.status.value,
        )  # fmt: skip
        return _settled(ctx, batch, user)
    raise _kept_changing(ctx, email, BatchAction.STOP)


def start_user(ctx: ServiceContext, email: str) -> MigrationUser:
    """Start-MigrationUser: resume a Stopped user (as Start-MigrationBatch resumes its
    stopped users) or retry a Failed / IncrementalFailed one. The user as it now is."""
    for _ in range(_ATTEMPTS):
        user, batch = _checked(ctx, email, BatchAction.START)
        now = ctx.now()
        if user.status == U.STOPPED:
            changes = resume_changes(user, now)
        elif user.status == U.FAILED:
            changes = retry_changes(now)
        else:
            changes = incremental_retry_changes(now)
        if not _move(ctx, user, changes):
            continue
        if batch.status == B.FAILED:  # nothing of it ran: it runs again for this user
            ctx.store.update_batch(
                batch.id, {"status": B.STARTING, "error": None}, expect=[B.FAILED]
            )
        ctx.store.add_event(
            "user_started", now, batch_id=user.batch_id, user_id=user.id,
            previous=user.status.value, status=U(changes["status"]).value,
        )  # fmt: skip
        return _settled(ctx, batch, user)
    raise _kept_changing(ctx, email, BatchAction.START)


def remove_user(ctx: ServiceContext, email: str, *, force: bool = False) -> UserRemoval:
    """Remove-MigrationUser: purge the user, its password and its mailbox state (at
    once, or once its running job has been cancelled). Mail already copied stays on
    the target. Refused without ``force`` when the user last synced before the
    batch's recorded MX switch."""
    for _ in range(_ATTEMPTS):
        user, batch = _checked(ctx, email, BatchAction.REMOVE)
        if not force:
            _refuse_unsynced_removal(batch, user)
        # The ciphertext goes at once: a running job decrypted the password at its start.
        if not _move(ctx, user, {"status": U.REMOVING, "password_secret": b""}):
            continue
        ctx.store.add_event(
            "user_removing", ctx.now(), batch_id=user.batch_id, user_id=user.id,
            previous=user.status.value, forced=force,
        )  # fmt: skip
        purged = _settled_or_none(ctx, batch, user) is None
        return UserRemoval(user.email_address, batch.name, purged)
    raise _kept_changing(ctx, email, BatchAction.REMOVE)


def finish_user_action(ctx: ServiceContext, user_id: int) -> MigrationUser | None:
    """Finish a Stop or Remove whose job no longer runs (as the scheduler's next pass
    would), and settle the batch. The user as it now is; None once it is purged."""
    user = ctx.store.user_by_id(user_id)
    if user is None:
        return None
    batch = ctx.store.batch_by_id(user.batch_id)
    if batch is None or batch.status == B.REMOVING:
        return user  # the batch's own removal purges it
    return _settled_or_none(ctx, batch, user)


def _checked(ctx: ServiceContext, email: str, action: BatchAction) -> tuple[MigrationUser, Batch]:
    user = get_user(ctx, email)
    batch = get_batch(ctx, user.batch)
    check_user_action(user.email_address, action, batch.name, batch.status, user.status)
    return user, batch


def _move(ctx: ServiceContext, user: MigrationUser, changes: dict[str, Any]) -> bool:
    """Apply ``changes`` if the user is still in the status we read."""
    check_user_transition(user.status, U(changes["status"]))
    return ctx.store.update_user(user.id, changes, expect=[user.status])


def _settled(ctx: ServiceContext, batch: Batch, user: MigrationUser) -> MigrationUser:
    found = _settled_or_none(ctx, batch, user)
    assert found is not None  # only a Removing user is purged
    return found


def _settled_or_none(
    ctx: ServiceContext, batch: Batch, user: MigrationUser
) -> MigrationUser | None:
    """Finish the user's Stop or Remove if no job holds it, and give the batch the
    status its users now call for, as the scheduler's passes would (a starting or
    waiting batch is left to the scheduler). The user as it now is; None once purged."""
    for _ in range(_SETTLE_STEPS):
        current = ctx.store.batch_by_id(batch.id)
        users = ctx.store.users(batch_id=batch.id)
        if current is None or current.status == B.REMOVING:
            break  # removed meanwhile: the batch's removal purges the user
        if current.status in (B.STARTING, B.WAITING):
            finish_idle_users(ctx, users, ctx.now())
            break
        if settle_batch(ctx, current, users).status == current.status:
            break
    return ctx.store.user_by_id(user.id)


def _refuse_unsynced_removal(batch: Batch, user: MigrationUser) -> None:
    if incomplete_users([user]):
        raise RemoveRefused(
            f"user {user.email_address} of batch {batch.name!r}: its last sync left mail "
            f"behind ({user.error}); " + INCOMPLETE_WARNING
        )
    switched = batch.mx_switched_at
    if switched is not None and synced_before_mx_switch(batch, [user]):
        last = user.last_successful_sync_at
        raise RemoveRefused(
            f"user {user.email_address} of batch {batch.name!r} last synced before the MX "
            f"switch ({switched.isoformat()}) (last sync: "
            f"{'never' if last is None else last.isoformat()}); " + LOSS_WARNING
        )


def _kept_changing(ctx: ServiceContext, email: str, action: BatchAction) -> UserActionNotAllowed:
    user = get_user(ctx, email)
    batch = get_batch(ctx, user.batch)
    return UserActionNotAllowed(
        user.email_address, action, batch.name, batch.status, user.status,
        f"its status kept changing (now {user.status.value}); try again",
    )  # fmt: skip
