"""Batch and migration-user statuses, as stored and shown (Exchange Online's names).

The transitions between them are the service's business (``service/statuses.py``).
"""

from __future__ import annotations

from enum import StrEnum


class BatchStatus(StrEnum):
    CREATED = "Created"
    STARTING = "Starting"
    WAITING = "Waiting"  # started, StartAfter is still in the future
    SYNCING = "Syncing"  # initial syncs running or queued
    INCREMENTAL_SYNCING = "IncrementalSyncing"
    SYNCED = "Synced"
    SYNCED_WITH_ERRORS = "SyncedWithErrors"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    COMPLETING = "Completing"
    COMPLETED = "Completed"
    COMPLETED_WITH_ERRORS = "CompletedWithErrors"
    FAILED = "Failed"
    REMOVING = "Removing"


class UserStatus(StrEnum):
    QUEUED = "Queued"
    VALIDATING = "Validating"
    SYNCING = "Syncing"
    SYNCED = "Synced"
    INCREMENTAL_SYNCING = "IncrementalSyncing"
    INCREMENTAL_FAILED = "IncrementalFailed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    COMPLETING = "Completing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    REMOVING = "Removing"
