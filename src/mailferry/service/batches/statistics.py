"""Get-MigrationStatistics: the whole service's roll-up of its migration users.

Exchange's fields (``shared/reference/m365-imap-migration.md`` §4: TotalCount,
ActiveCount, StoppedCount, SyncedCount, FinalizedCount, FailedCount, PendingCount,
ProvisionedCount), counted as each batch's counters count them (a never-started batch's
Queued users are Stopped), plus the batches by status and the items and bytes copied.
Two aggregate queries, whatever the number of users.
"""

from __future__ import annotations

from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.properties import ACTIVE_USER, FAILED_USER, batch_started, shown_status
from mailferry.values.statuses import UserStatus


def tenant_statistics(ctx: ServiceContext) -> dict[str, Any]:
    store = ctx.store
    batches = store.batches()
    tallies = store.user_tallies()
    shown: dict[UserStatus, int] = {}
    for batch in batches:
        tally = tallies.get(batch.id)
        if tally is None:
            continue
        started = batch_started(batch)
        for stored, count in tally.counts.items():
            status = shown_status(stored, started)
            shown[status] = shown.get(status, 0) + count
    totals = store.user_totals()
    by_status: dict[str, int] = {}
    for batch in batches:
        by_status[batch.status.value] = by_status.get(batch.status.value, 0) + 1
    return {
        "Identity": "IMAP",
        "MigrationType": "IMAP",
        "TotalCount": sum(shown.values()),
        "ActiveCount": sum(shown.get(s, 0) for s in ACTIVE_USER),
        "StoppedCount": shown.get(UserStatus.STOPPED, 0),
        "SyncedCount": shown.get(UserStatus.SYNCED, 0),
        "FinalizedCount": shown.get(UserStatus.COMPLETED, 0),
        "FailedCount": sum(shown.get(s, 0) for s in FAILED_USER),
        "PendingCount": shown.get(UserStatus.QUEUED, 0),
        "ProvisionedCount": 0,  # IMAP has no provisioning: mailboxes exist beforehand
        "BatchCount": len(batches),
        "BatchesByStatus": dict(sorted(by_status.items())),
        "SyncedItemCount": totals.synced_items,
        "SkippedItemCount": totals.skipped_items,
        "BytesTransferred": totals.bytes_transferred,
    }
