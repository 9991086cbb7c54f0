"""Get-MigrationBatch -IncludeReport and -DiagnosticInfo: what an administrator (or
support) reads when a batch does not do what they expect. Never a secret: the target's
settings carry none (its password or tokens are in the vault only)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.properties import iso_utc
from mailferry.state.migration_records import Batch


def batch_timeline(ctx: ServiceContext, batch: Batch) -> list[str]:
    """The batch's own events (created, started, status changes, settings, reports…),
    oldest first, a line each; its users' are in Get-MigrationUserStatistics."""
    lines = []
    for event in ctx.store.events(batch_id=batch.id, of_users=False):
        said = ", ".join(f"{key}={value}" for key, value in event.detail.items())
        lines.append(f"{iso_utc(event.at)} {event.kind}" + (f": {said}" if said else ""))
    return lines


def batch_diagnostics(ctx: ServiceContext, batch: Batch) -> dict[str, Any]:
    """The stored facts behind the batch's view, JSON-ready."""
    tally = ctx.store.user_tallies({batch.id}).get(batch.id)
    counts = {} if tally is None else {s.value: n for s, n in sorted(tally.counts.items())}
    running = [c for c in ctx.store.claimed() if c.batch_id == batch.id]
    return {
        "StoredStatus": batch.status.value,
        "UsersByStoredStatus": counts,
        "RunningJobs": len(running),
        "ClaimOwners": sorted({c.owner for c in running}),
        "Options": asdict(batch.options),
        "Target": asdict(batch.target),
        "ContentFilter": batch.content_filter,
        "LastReport": iso_utc(batch.last_report_at),
        "InitialSyncFinished": iso_utc(batch.initial_sync_finished_at),
    }
