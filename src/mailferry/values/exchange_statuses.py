"""Exchange's user status names (``Get-MigrationUser -Status``, 21 of them) and
StatusSummary names, mapped to the statuses mailferry shows.

A script written for Exchange Online filters by names we do not keep apart: IMAP has
no provisioning (Provisioning, ProvisionUpdating and Corrupted match nobody), an
incremental sync that ended well is Synced again (IncrementalSynced = Synced), a
final sync is the completion (CompletionSynced and CompletedWithWarnings = Completed,
CompletionFailed = Failed), a user waiting in a started batch is Queued (Starting),
and a stopped incremental sync is Stopped. Source: ``Get-MigrationUser`` (PS-GMU) in
``shared/reference/m365-imap-migration.md`` §5.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from mailferry.values.statuses import UserStatus as U

EXCHANGE_USER_STATUSES: Mapping[str, tuple[U, ...]] = MappingProxyType(
    {
        "Validating": (U.VALIDATING,),
        "Provisioning": (),
        "ProvisionUpdating": (),
        "Queued": (U.QUEUED,),
        "Syncing": (U.SYNCING,),
        "Completing": (U.COMPLETING,),
        "Starting": (U.QUEUED,),
        "Stopping": (U.STOPPING,),
        "Removing": (U.REMOVING,),
        "Synced": (U.SYNCED,),
        "IncrementalSyncing": (U.INCREMENTAL_SYNCING,),
        "IncrementalSynced": (U.SYNCED,),
        "CompletionSynced": (U.COMPLETED,),
        "Completed": (U.COMPLETED,),
        "Failed": (U.FAILED,),
        "IncrementalFailed": (U.INCREMENTAL_FAILED,),
        "CompletionFailed": (U.FAILED,),
        "CompletedWithWarnings": (U.COMPLETED,),
        "Corrupted": (),
        "Stopped": (U.STOPPED,),
        "IncrementalStopped": (U.STOPPED,),
    }
)

_ACTIVE = (U.QUEUED, U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING, U.COMPLETING, U.STOPPING)

STATUS_SUMMARIES: Mapping[str, tuple[U, ...]] = MappingProxyType(
    {
        "Active": _ACTIVE,
        "Synced": (U.SYNCED,),
        "Completed": (U.COMPLETED,),
        "Failed": (U.FAILED, U.INCREMENTAL_FAILED),
        "Stopped": (U.STOPPED, U.REMOVING),
    }
)
"""``-StatusSummary``: the roll-up ``service.properties.STATUS_SUMMARY`` shows."""

USER_STATUS_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys([*(s.value for s in U), *EXCHANGE_USER_STATUSES])
)
"""Every name ``-Status`` accepts: ours, then Exchange's others."""


def statuses_named(name: str) -> tuple[U, ...] | None:
    """Our statuses for a status name (ours or Exchange's, any case); None: unknown."""
    wanted = name.strip().lower()
    for status in U:
        if status.value.lower() == wanted:
            return (status,)
    for exchange, ours in EXCHANGE_USER_STATUSES.items():
        if exchange.lower() == wanted:
            return ours
    return None


def statuses_summarized(name: str) -> tuple[U, ...] | None:
    """Our statuses for a StatusSummary name (any case); None: unknown."""
    wanted = name.strip().lower()
    for summary, ours in STATUS_SUMMARIES.items():
        if summary.lower() == wanted:
            return ours
    return None


class StatusName(StrEnum):
    """Every name ``-Status`` accepts (an API's enumeration): ours, then Exchange's."""

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
    PROVISIONING = "Provisioning"
    PROVISION_UPDATING = "ProvisionUpdating"
    STARTING = "Starting"
    INCREMENTAL_SYNCED = "IncrementalSynced"
    COMPLETION_SYNCED = "CompletionSynced"
    COMPLETION_FAILED = "CompletionFailed"
    COMPLETED_WITH_WARNINGS = "CompletedWithWarnings"
    CORRUPTED = "Corrupted"
    INCREMENTAL_STOPPED = "IncrementalStopped"


class StatusSummaryName(StrEnum):
    """``-StatusSummary``'s five names."""

    ACTIVE = "Active"
    SYNCED = "Synced"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"
