"""The scheduler: one pass (``tick``) moves batches along and starts due jobs.

Each pass, in order: heartbeat and renew our claims; take back jobs whose worker is
gone (killed, lost) so they resume; cancel our jobs whose users were stopped or
removed; finish users whose Stop or Remove waited for their job (Stopped, or purged);
settle each batch's status (and purge removed batches); claim due users per
endpoint within its caps and start their jobs. Every decision is re-read from the
database, so several schedulers (processes or machines) can share one database:
claims are what make caps and one-job-per-mailbox hold between them.

Caps per endpoint, across all batches using it: initial syncs ≤
MaxConcurrentMigrations, incremental (and final) syncs ≤
MaxConcurrentIncrementalSyncs, and both together ≤ MaxConcurrentMigrations (the
source server sees at most that many users at once).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Callable, Iterable
from typing import Any

from mailferry.errors import MailferryError
from mailferry.service.batch_settle import finish_idle_users, settle_batch
from mailferry.service.batches import complete_batch
from mailferry.service.context import ServiceContext
from mailferry.service.job_sessions import claim_budget
from mailferry.service.jobs import AsyncioJobRunner, JobRunner
from mailferry.service.reporting import send_due_reports
from mailferry.service.statuses import (
    BATCH_ACTIONS,
    USER_RUNNING,
    BatchAction,
    BatchStatus,
    UserStatus,
)
from mailferry.service.user_job import run_user_job
from mailferry.state.migration_records import Batch, MigrationUser
from mailferry.state.user_rows import Caps, ClaimRequest

B = BatchStatus
U = UserStatus
_RUNS_USERS = frozenset({B.SYNCING, B.INCREMENTAL_SYNCING, B.SYNCED, B.SYNCED_WITH_ERRORS})
SETTLED = frozenset(
    {B.CREATED, B.SYNCED, B.SYNCED_WITH_ERRORS, B.STOPPED, B.COMPLETED}
    | {B.COMPLETED_WITH_ERRORS, B.FAILED}
)
"""Statuses in which a batch has nothing left to do until time passes or someone acts."""
_RESUME: dict[UserStatus, dict[str, Any]] = {
    U.VALIDATING: {"status": U.QUEUED},
    U.SYNCING: {"status": U.QUEUED},
    U.INCREMENTAL_SYNCING: {"status": U.SYNCED, "sync_requested": True},
    U.STOPPING: {"status": U.STOPPED},
}


def new_owner(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{id(object())}"


class Scheduler:
    def __init__(
        self,
        ctx: ServiceContext,
        *,
        runner: JobRunner | None = None,
        owner: str | None = None,
        describe: Callable[[MailferryError], str] = str,
    ) -> None:
        self.ctx = ctx
        self.runner: JobRunner = runner or AsyncioJobRunner()
        self.owner = owner or new_owner("serve")
        self.describe = describe
        self.host = socket.gethostname()

    async def tick(self) -> list[Batch]:
        """One pass; the batches as they are afterwards."""
        ctx = self.ctx
        now = ctx.now()
        ctx.store.heartbeat(self.owner, self.host, os.getpid(), now)
        ctx.store.renew_claims(self.owner, now + ctx.settings.lease)
        self._recover(now)
        settled: list[Batch] = []
        users_of: dict[int, list[MigrationUser]] = {}
        for batch in ctx.store.batches():
            users = ctx.store.users(batch_id=batch.id)
            self._cancel_unwanted(users)
            if batch.status == B.REMOVING:
                if not self._finish_removal(batch, users, now):
                    settled.append(batch)  # still winding down: watchers see Removing
                continue
            users = finish_idle_users(ctx, users, now)
            if _complete_due(batch, now):
                batch = complete_batch(ctx, batch.name)  # its users are now Completing
                users = ctx.store.users(batch_id=batch.id)
            settled.append(settle_batch(ctx, batch, users))
            users_of[batch.id] = users
        self._start_due(settled, users_of, now)
        await send_due_reports(ctx, settled)
        return settled

    async def run(self, until: Callable[[list[Batch]], bool] | None = None) -> None:
        """Tick until ``until(batches)`` says so (forever without it); on the way out
        cancel our jobs (they record where they stopped) and deregister."""
        try:
            while True:
                batches = await self.tick()
                if until is not None and until(batches):
                    return
                await self.runner.wait(self.ctx.settings.poll_seconds)
        finally:
            await self.runner.shutdown()
            self.ctx.store.remove_service(self.owner)

    # -- recovery and cancellation ----------------------------------------------------

    def _recover(self, now: dt.datetime) -> None:
        """Users whose job's worker is gone go back where they resume (no work lost:
        the engine reconciles what the dead job was doing)."""
        dead = self._dead_owners(now)
        running = set(USER_RUNNING) | {U.STOPPING}
        for user in self.ctx.store.stale_claims(now, dead, running):
            if user.claimed_by == self.owner and user.id in self.runner.running():
                continue
            changes = {**_RESUME.get(user.status, {}), "claimed_by": None}
            changes.update(claimed_until=None, started_at=None)
            if changes.get("status") == U.QUEUED:
                changes["queued_since"] = now
            self.ctx.store.update_user(user.id, changes, expect=[user.status])
            self.ctx.store.add_event(
                "job_recovered", now, batch_id=user.batch_id, user_id=user.id,
                previous_owner=user.claimed_by, status=user.status.value,
            )  # fmt: skip

    def _dead_owners(self, now: dt.datetime) -> list[str]:
        dead = []
        for owner, host, pid, heartbeat in self.ctx.store.services():
            if owner == self.owner:
                continue
            if (host == self.host and not _alive(pid)) or heartbeat + self.ctx.settings.lease < now:
                dead.append(owner)
        return dead

    def _cancel_unwanted(self, users: Iterable[MigrationUser]) -> None:
        mine = self.runner.running()
        for user in users:
            if user.id in mine and user.status in (U.STOPPING, U.REMOVING):
                self.runner.cancel(user.id)

    def _finish_removal(self, batch: Batch, users: list[MigrationUser], now: dt.datetime) -> bool:
        """Purge the batch once no job of it runs; whether it is gone."""
        if any(u.claimed_by is not None and (u.claimed_until or now) >= now for u in users):
            return False
        self.ctx.store.delete_batch(batch.id)
        self.ctx.store.add_event("batch_removed", now, batch_id=batch.id, name=batch.name)
        return True

    # -- starting jobs ------------------------------------------------------------------

    def _start_due(
        self, batches: list[Batch], users_of: dict[int, list[MigrationUser]], now: dt.datetime
    ) -> None:
        """Claim and start what is due. The users were read at the start of this pass:
        a claim takes only users still in the status it expects, so stale reads are safe.

        A job of ours that has released its claim may still be winding down (closing
        its connections after recording Stopped): its user waits for the next pass."""
        winding_down = self.runner.running()
        per_endpoint: dict[int, list[ClaimRequest]] = {}
        for batch in batches:
            requests = per_endpoint.setdefault(batch.source_endpoint_id, [])
            users = [u for u in users_of.get(batch.id, []) if u.id not in winding_down]
            requests.extend(_due(batch, users, now))
        for endpoint_id, requests in per_endpoint.items():
            if requests:
                self._claim_and_start(endpoint_id, requests, now)

    def _claim_and_start(
        self, endpoint_id: int, requests: list[ClaimRequest], now: dt.datetime
    ) -> None:
        endpoint = self.ctx.store.endpoint_by_id(endpoint_id)
        if endpoint is None:
            return
        caps = Caps(
            initial=endpoint.max_concurrent_migrations,
            incremental=endpoint.max_concurrent_incremental_syncs,
            total=endpoint.max_concurrent_migrations,
        )
        until = now + self.ctx.settings.lease
        beyond = claim_budget(self.ctx, endpoint_id, self.owner)  # extra session pairs
        claimed = self.ctx.store.claim(
            endpoint_id, requests, caps, self.owner, now, until, beyond=beyond
        )
        for user_id in claimed:
            self.runner.start(user_id, self._job(user_id))

    def _job(self, user_id: int) -> Callable[[], Any]:
        async def work() -> object:
            return await run_user_job(self.ctx, user_id, self.owner, self.describe)

        return work


def _due(batch: Batch, users: list[MigrationUser], now: dt.datetime) -> list[ClaimRequest]:
    if batch.status not in _RUNS_USERS and batch.status != B.COMPLETING:
        return []
    requests = []
    for user in users:
        if user.claimed_by is not None or (user.retry_at and user.retry_at > now):
            continue
        request = _request_for(batch, user, now)
        if request is not None:
            requests.append(request)
    return requests


def _complete_due(batch: Batch, now: dt.datetime) -> bool:
    """CompleteAfter has come and the batch is synced: complete it as Complete would."""
    due = batch.complete_after is not None and batch.complete_after <= now
    return due and batch.status in BATCH_ACTIONS[BatchAction.COMPLETE]


def _request_for(batch: Batch, user: MigrationUser, now: dt.datetime) -> ClaimRequest | None:
    if batch.status == B.COMPLETING:
        if user.status == U.COMPLETING:
            return ClaimRequest(user.id, U.COMPLETING, U.COMPLETING, True, {})
        return None
    if user.status == U.QUEUED:
        return ClaimRequest(user.id, U.QUEUED, U.VALIDATING, False, {"error": None})
    due = user.sync_requested or (user.next_sync_at is not None and user.next_sync_at <= now)
    if user.status == U.SYNCED and due:
        return ClaimRequest(user.id, U.SYNCED, U.INCREMENTAL_SYNCING, True, {})
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def service_running(ctx: ServiceContext) -> bool:
    """Whether a ``mailferry serve`` is alive on this database (fresh heartbeat, and
    its process exists when it runs on this machine)."""
    now = ctx.now()
    host = socket.gethostname()
    for owner, owner_host, pid, heartbeat in ctx.store.services():
        if not owner.startswith("serve:"):
            continue
        if owner_host == host and not _alive(pid):
            continue
        if heartbeat + ctx.settings.lease >= now:
            return True
    return False


async def run_in_process(
    ctx: ServiceContext,
    batch_ids: set[int],
    on_change: Callable[[], None] | None = None,
    *,
    describe: Callable[[MailferryError], str] = str,
) -> None:
    """Run the scheduler here until the given batches settle (or are gone)."""
    scheduler = Scheduler(ctx, owner=new_owner("cli"), describe=describe)

    def settled(batches: list[Batch]) -> bool:
        if on_change is not None:
            on_change()
        wanted = [b for b in batches if b.id in batch_ids]
        return all(b.status in SETTLED for b in wanted) and not scheduler.runner.running()

    await scheduler.run(until=settled)


async def serve(ctx: ServiceContext, *, describe: Callable[[MailferryError], str] = str) -> None:
    """``mailferry serve``: schedule forever (until cancelled: SIGINT/SIGTERM)."""
    await Scheduler(ctx, describe=describe).run()


__all__ = ["SETTLED", "Scheduler", "run_in_process", "serve", "service_running"]
