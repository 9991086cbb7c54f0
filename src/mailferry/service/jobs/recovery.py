"""Taking back the jobs of a worker that is gone, so they resume (no work lost: the
engine's intent-then-outcome records let the next job reconcile what the dead one was
doing).

A worker is gone when its lease ran out (``claimed_until`` passed without a renewal),
or when it ran on this machine and its process no longer exists (so a restarted
``serve`` resumes at once after ``kill -9``). A user left in a status only a running
job has, with no claim at all, lost its job too.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Collection, Sequence
from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.statuses import UserStatus
from mailferry.state.scheduler_queries import ClaimRow

U = UserStatus
RESUME: dict[UserStatus, dict[str, Any]] = {
    U.VALIDATING: {"status": U.QUEUED},
    U.SYNCING: {"status": U.QUEUED},
    U.INCREMENTAL_SYNCING: {"status": U.SYNCED, "sync_requested": True},
    U.STOPPING: {"status": U.STOPPED},
}
"""Where a user whose job was lost resumes (other statuses keep theirs)."""
ONLY_WHILE_RUNNING = frozenset({U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING, U.STOPPING})
"""Statuses a user is in only while a job runs: without a claim, its job was lost.
(Completing is also the status of a user waiting for its final sync.)"""


def dead_owners(ctx: ServiceContext, me: str, now: dt.datetime) -> set[str]:
    """The registered services (other than ``me``) that are gone."""
    host = socket.gethostname()
    dead = set()
    for owner, owner_host, pid, heartbeat in ctx.store.services():
        if owner == me:
            continue
        if (owner_host == host and not alive(pid)) or heartbeat + ctx.settings.lease < now:
            dead.add(owner)
    return dead


def recover(
    ctx: ServiceContext,
    me: str,
    claims: Sequence[ClaimRow],
    running: Collection[int],
    now: dt.datetime,
) -> list[ClaimRow]:
    """Send back where they resume the users whose job's worker is gone (not our own
    ``running`` jobs, whatever their lease says); the users taken back."""
    dead = dead_owners(ctx, me, now)
    stale = [
        c
        for c in claims
        if (c.until < now or c.owner in dead) and not (c.owner == me and c.user_id in running)
    ]
    orphans = [
        ClaimRow(ref.user_id, ref.batch_id, ref.status, "", now)
        for ref, claimed in ctx.store.in_statuses(ONLY_WHILE_RUNNING)
        if not claimed
    ]
    for row in [*stale, *orphans]:
        changes = {**RESUME.get(row.status, {}), "claimed_by": None}
        changes.update(claimed_until=None, started_at=None)
        if changes.get("status") == U.QUEUED:
            changes["queued_since"] = now
        if not ctx.store.update_user(row.user_id, changes, expect=[row.status]):
            continue  # changed meanwhile: the next pass sees it as it is
        ctx.store.add_event(
            "job_recovered", now, batch_id=row.batch_id, user_id=row.user_id,
            previous_owner=row.owner or None, status=row.status.value,
        )  # fmt: skip
    return [*stale, *orphans]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
