"""Batch and migration-user statuses, and every transition allowed between them.

The names are Exchange Online's (``Get-MigrationBatch -Status``, ``Get-MigrationUser
-Status``), so scripts written for Microsoft's service read ours unchanged. Every
action an administrator can take on a batch is checked against ``BATCH_ACTIONS``
before anything changes; a refused action raises ``ActionNotAllowed`` saying why.
"""

from __future__ import annotations

from enum import StrEnum

from mailferry.errors import MailferryError
from mailferry.state.statuses import BatchStatus, UserStatus

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
        {U.INCREMENTAL_SYNCING, U.QUEUED, U.COMPLETING, U.STOPPED, U.REMOVING, U.FAILED}
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


class ActionNotAllowed(MailferryError):
    """A batch action that its current status does not allow (the message says why)."""

    def __init__(
        self, batch: str, action: BatchAction, status: BatchStatus, hint: str = ""
    ) -> None:
        text = f"can't {action.value} batch {batch!r}: {_WHY[status]} (status {status.value})"
        super().__init__(text + (f"; {hint}" if hint else ""))
        self.batch = batch
        self.action = action
        self.status = status


class InvalidTransition(MailferryError):
    """A status change not in the transition tables (a bug in the service)."""


def check_action(batch: str, action: BatchAction, status: BatchStatus, hint: str = "") -> None:
    if status not in BATCH_ACTIONS[action]:
        raise ActionNotAllowed(batch, action, status, hint)


def check_transition(old: BatchStatus, new: BatchStatus) -> None:
    if new != old and new not in BATCH_TRANSITIONS[old]:
        raise InvalidTransition(f"batch status {old.value} -> {new.value} is not allowed")


def check_user_transition(old: UserStatus, new: UserStatus) -> None:
    if new != old and new not in USER_TRANSITIONS[old]:
        raise InvalidTransition(f"user status {old.value} -> {new.value} is not allowed")
