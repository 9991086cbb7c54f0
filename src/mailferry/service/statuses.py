"""Batch and migration-user statuses, and every transition allowed between them.

The names are Exchange Online's (``Get-MigrationBatch -Status``, ``Get-MigrationUser
-Status``), so scripts written for Microsoft's service read ours unchanged. Every
action an administrator can take on a batch is checked against ``BATCH_ACTIONS``
before anything changes; a refused action raises ``ActionNotAllowed`` saying why.
The per-user actions (Stop-, Start-, Remove-MigrationUser) are checked against
``USER_ACTION_BATCHES`` and ``USER_ACTIONS`` and refused with ``UserActionNotAllowed``.

A user is stored Queued from the moment its batch is created: that is what the
scheduler claims once the batch runs. But Microsoft documents Queued as "in a running
batch, not started yet" (waiting for a connection slot), so the users of a batch that
was never started (Created, or such a batch being removed) *show* Stopped, as
Microsoft's dashboard describes a never-started batch: Stopped is in Get-MigrationUser's
-Status list, rolls up to StatusSummary Stopped and counts in StoppedCount. This is a
display rule (``properties.shown_status``; ``-Status`` filters by what is shown), not a
stored status, so nothing here or in the scheduler changes.
"""

from __future__ import annotations

from enum import StrEnum

from mailferry.errors import ActionNotAllowed, InvalidTransition, UserActionNotAllowed
from mailferry.values.statuses import BatchStatus, UserStatus

__all__ = ["BatchStatus", "UserStatus"]  # re-exported: the service's vocabulary


class BatchAction(StrEnum):
    START = "Start"
    STOP = "Stop"
    COMPLETE = "Complete"
    REMOVE = "Remove"
    SYNC_NOW = "SyncNow"
    ADD_USERS = "AddUsers"
    SET = "Set"


B = BatchStatus
U = UserStatus

INCOMPLETE_SYNC = "IncompleteSync"
"""The ErrorKind of a user whose sync ran to its end but left folders or messages behind:
it is Failed / IncrementalFailed (never Synced), its Error names each folder and why."""

ACTIVE_BATCH = frozenset(
    {B.STARTING, B.WAITING, B.SYNCING, B.INCREMENTAL_SYNCING, B.SYNCED, B.SYNCED_WITH_ERRORS}
)
"""Batches whose users the scheduler may run (Synced ones get incremental syncs)."""

RUNNING_BATCH = frozenset(
    {B.STARTING, B.SYNCING, B.INCREMENTAL_SYNCING, B.STOPPING, B.COMPLETING, B.REMOVING}
)
"""Batches that are copying or winding down: their endpoint can't be changed or removed."""

FINISHED_BATCH = frozenset({B.COMPLETED, B.COMPLETED_WITH_ERRORS})

BATCH_ACTIONS: dict[BatchAction, frozenset[BatchStatus]] = {
    # Start runs a Created batch, resumes a Stopped one, retries failed users.
    # In the cloud Start "can be run at any time to retry failed users": a Synced batch
    # too (it has none to retry, so it settles back to Synced).
    BatchAction.START: frozenset(
        {B.CREATED, B.STOPPED, B.FAILED, B.SYNCED, B.SYNCED_WITH_ERRORS} | {B.COMPLETED_WITH_ERRORS}
    ),
    # Stop also pauses a Synced batch's incremental syncs (the EAC's Pause).
    BatchAction.STOP: frozenset(
        {B.STARTING, B.WAITING, B.SYNCING, B.INCREMENTAL_SYNCING, B.SYNCED, B.SYNCED_WITH_ERRORS}
    ),
    BatchAction.COMPLETE: frozenset({B.SYNCED, B.SYNCED_WITH_ERRORS}),
    # Remove is refused only while the batch is already being removed.
    BatchAction.REMOVE: frozenset(set(B) - {B.REMOVING}),
    BatchAction.SYNC_NOW: frozenset({B.SYNCED, B.SYNCED_WITH_ERRORS, B.INCREMENTAL_SYNCING}),
    BatchAction.ADD_USERS: frozenset(set(B) - {B.REMOVING, B.COMPLETING} - FINISHED_BATCH),
    BatchAction.SET: frozenset(set(B) - {B.REMOVING}),
}

_WHY: dict[BatchStatus, str] = {
    B.CREATED: "it has not been started",
    B.STARTING: "it is starting",
    B.WAITING: "it is waiting for its StartAfter time",
    B.SYNCING: "its initial sync is running",
    B.INCREMENTAL_SYNCING: "an incremental sync is running",
    B.SYNCED: "it is synced and running incremental syncs",
    B.SYNCED_WITH_ERRORS: "it is synced (with failed users)",
    B.STOPPING: "it is stopping",
    B.STOPPED: "it is stopped",
    B.COMPLETING: "it is completing",
    B.COMPLETED: "it is completed",
    B.COMPLETED_WITH_ERRORS: "it is completed (with failed users)",
    B.FAILED: "it has failed",
    B.REMOVING: "it is being removed",
}

BATCH_TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    B.CREATED: frozenset({B.STARTING, B.REMOVING}),
    B.STARTING: frozenset({B.WAITING, B.SYNCING, B.STOPPING, B.REMOVING, B.FAILED}),
    B.WAITING: frozenset({B.SYNCING, B.STOPPING, B.REMOVING}),
    B.SYNCING: frozenset(
        # IncrementalSyncing: a resumed batch whose users had all finished their initial sync
        {B.SYNCED, B.SYNCED_WITH_ERRORS, B.INCREMENTAL_SYNCING, B.STOPPING, B.REMOVING, B.FAILED}
    ),
    B.INCREMENTAL_SYNCING: frozenset(
        {B.SYNCED, B.SYNCED_WITH_ERRORS, B.STOPPING, B.REMOVING, B.COMPLETING}
    ),
    B.SYNCED: frozenset(
        {B.STARTING, B.INCREMENTAL_SYNCING, B.SYNCING, B.SYNCED_WITH_ERRORS, B.STOPPING}
        | {B.COMPLETING, B.REMOVING}
    ),
    B.SYNCED_WITH_ERRORS: frozenset(
        {B.STARTING, B.INCREMENTAL_SYNCING, B.SYNCING, B.SYNCED, B.STOPPING, B.COMPLETING}
        | {B.REMOVING}
    ),
    B.STOPPING: frozenset({B.STOPPED, B.REMOVING}),
    B.STOPPED: frozenset({B.STARTING, B.REMOVING}),
    B.COMPLETING: frozenset({B.COMPLETED, B.COMPLETED_WITH_ERRORS, B.REMOVING}),
    B.COMPLETED: frozenset({B.REMOVING}),
    B.COMPLETED_WITH_ERRORS: frozenset({B.STARTING, B.REMOVING}),
    B.FAILED: frozenset({B.STARTING, B.REMOVING}),
    B.REMOVING: frozenset(),
}
"""Every batch status change the service makes (checked in ``check_transition``)."""

USER_TRANSITIONS: dict[UserStatus, frozenset[UserStatus]] = {
    U.QUEUED: frozenset({U.VALIDATING, U.STOPPED, U.REMOVING, U.FAILED}),
    U.VALIDATING: frozenset({U.SYNCING, U.FAILED, U.QUEUED, U.STOPPING, U.STOPPED, U.REMOVING}),
    U.SYNCING: frozenset({U.SYNCED, U.FAILED, U.QUEUED, U.STOPPING, U.STOPPED, U.REMOVING}),
    U.SYNCED: frozenset({U.INCREMENTAL_SYNCING, U.COMPLETING, U.STOPPED, U.REMOVING}),
    U.INCREMENTAL_SYNCING: frozenset(
        {U.SYNCED, U.INCREMENTAL_FAILED, U.STOPPING, U.STOPPED, U.COMPLETING, U.REMOVING}
    ),
    U.INCREMENTAL_FAILED: frozenset(
        # Synced: Start retries it (an incremental sync at once)
        {U.INCREMENTAL_SYNCING, U.SYNCED, U.QUEUED, U.COMPLETING, U.STOPPED, U.REMOVING}
        | {U.FAILED}
    ),
    U.STOPPING: frozenset({U.STOPPED, U.REMOVING}),
    U.STOPPED: frozenset({U.QUEUED, U.SYNCED, U.REMOVING}),
    U.COMPLETING: frozenset({U.COMPLETED, U.FAILED, U.STOPPED, U.REMOVING}),
    U.COMPLETED: frozenset({U.REMOVING}),
    U.FAILED: frozenset({U.QUEUED, U.REMOVING}),
    U.REMOVING: frozenset(),
}

USER_RUNNING = frozenset({U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING, U.COMPLETING})
USER_INITIAL = frozenset({U.VALIDATING, U.SYNCING})
USER_FAILED = frozenset({U.FAILED, U.INCREMENTAL_FAILED})
USER_JOB_STATUSES = frozenset({U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING})
"""What Stop-MigrationUser turns into Stopping (their job is cancelled, then Stopped)."""

USER_ACTION_BATCHES: dict[BatchAction, frozenset[BatchStatus]] = {
    # A user is stopped only where the batch runs (or is about to run) its users.
    BatchAction.STOP: BATCH_ACTIONS[BatchAction.STOP],
    # Start resumes or retries one user of a batch that runs its users; a Failed batch
    # is started again for it (Starting, then its status follows its users).
    BatchAction.START: ACTIVE_BATCH | {B.FAILED},
    BatchAction.REMOVE: frozenset(set(B) - {B.REMOVING}),
}
"""The batch statuses in which Stop-, Start- and Remove-MigrationUser are allowed."""

USER_ACTIONS: dict[BatchAction, frozenset[UserStatus]] = {
    BatchAction.STOP: USER_JOB_STATUSES | {U.QUEUED, U.SYNCED},
    BatchAction.START: frozenset({U.STOPPED, U.FAILED, U.INCREMENTAL_FAILED}),
    BatchAction.REMOVE: frozenset(set(U) - {U.REMOVING}),
}
"""The user statuses in which each per-user action is allowed."""

_USER_WHY: dict[tuple[BatchAction, UserStatus], str] = {
    (BatchAction.STOP, U.STOPPING): "it is already Stopping",
    (BatchAction.STOP, U.STOPPED): "it is already Stopped",
    (BatchAction.STOP, U.FAILED): "it is Failed: no sync runs or waits (Start retries it)",
    (BatchAction.STOP, U.INCREMENTAL_FAILED): (
        "it is IncrementalFailed: no sync runs or waits (Start retries it)"
    ),
    (BatchAction.START, U.SYNCED): "it is Synced: nothing to resume (SyncNow syncs it now)",
    (BatchAction.START, U.STOPPING): "it is still Stopping; start it once it is Stopped",
    (BatchAction.REMOVE, U.REMOVING): "it is already being removed",
    **{
        (BatchAction.START, status): f"it is {status.value}: it already runs or is queued"
        for status in (U.QUEUED, *USER_JOB_STATUSES, U.COMPLETING)
    },
}

_BATCH_HINTS: dict[tuple[BatchAction, BatchStatus], str] = {
    (BatchAction.START, B.STOPPED): (
        "start the batch instead (Start-MigrationBatch): it resumes its stopped users"
    ),
    (BatchAction.START, B.STOPPING): (
        "once it is Stopped, start the batch (Start-MigrationBatch): it resumes its stopped users"
    ),
    (BatchAction.START, B.CREATED): "start the batch (Start-MigrationBatch)",
    (BatchAction.START, B.COMPLETED_WITH_ERRORS): "Start-MigrationBatch retries its failed users",
    (BatchAction.STOP, B.CREATED): "nothing runs yet (Remove-MigrationUser takes a user out)",
}


def action_not_allowed(
    batch: str, action: BatchAction, status: BatchStatus, hint: str = ""
) -> ActionNotAllowed:
    """The refusal of ``action`` on a batch in ``status``, saying why (and ``hint``)."""
    return ActionNotAllowed(batch, action, status, _WHY[status], hint)


def check_action(batch: str, action: BatchAction, status: BatchStatus, hint: str = "") -> None:
    if status not in BATCH_ACTIONS[action]:
        raise action_not_allowed(batch, action, status, hint)


def check_user_action(
    email: str,
    action: BatchAction,
    batch: str,
    batch_status: BatchStatus,
    user_status: UserStatus,
) -> None:
    """Refuse a per-user action its batch's status, then its own status, does not allow."""
    if batch_status not in USER_ACTION_BATCHES[action]:
        why = _WHY[batch_status].removeprefix("it ")
        hint = _BATCH_HINTS.get((action, batch_status))
        reason = f"batch {batch!r} {why} (status {batch_status.value})"
        reason += f"; {hint}" if hint else ""
    elif user_status not in USER_ACTIONS[action]:
        reason = _USER_WHY.get((action, user_status), f"it is {user_status.value}")
    else:
        return
    raise UserActionNotAllowed(email, action, batch, batch_status, user_status, reason)


def check_transition(old: BatchStatus, new: BatchStatus) -> None:
    if new != old and new not in BATCH_TRANSITIONS[old]:
        raise InvalidTransition(f"batch status {old.value} -> {new.value} is not allowed")


def check_user_transition(old: UserStatus, new: UserStatus) -> None:
    if new != old and new not in USER_TRANSITIONS[old]:
        raise InvalidTransition(f"user status {old.value} -> {new.value} is not allowed")
