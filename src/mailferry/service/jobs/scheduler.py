"""The scheduler: passes (``tick``) that move batches along and start due jobs.

A pass costs what is due or running, never the number of users in the database
(issue 10): it reads the claims (as many as jobs run), the working batches (Starting,
Waiting, Syncing, IncrementalSyncing, Stopping, Completing, Removing) and those the
event log says changed, which statuses their users are in (an index probe each, see
``batch_settle``), and only as many due users as the endpoints have free slots
(``due_jobs``). Its database work runs in a worker thread (``asyncio.to_thread``), so
running copies never wait for it.

Each pass, in order: heartbeat and renew our claims (every lease/3); take back jobs
whose worker is gone (killed, lost) so they resume; cancel our jobs whose users were
stopped or removed; finish users whose Stop or Remove waited for their job (Stopped,
or purged); settle those batches (and purge removed ones); claim due users per
endpoint within its caps and start their jobs; note when something next falls due.
Every decision is re-read from the database, so several schedulers (processes or
machines) can share one database: claims are what make caps and one-job-per-mailbox
hold between them.

Passes are woken, not timed: by a job of ours ending; by a new event in the log (every
action and every job's start and end records one: ``ChangeFeed``, one query per poll);
by the next due time (an incremental sync, a retry, StartAfter, CompleteAfter, a
report, another worker's lease running out). An idle service only polls the log.

Caps per endpoint, across all batches using it: initial syncs ≤
MaxConcurrentMigrations, incremental (and final) syncs ≤
MaxConcurrentIncrementalSyncs, and both together ≤ MaxConcurrentMigrations (the
source server sees at most that many users at once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailferry.errors import MailferryError
from mailferry.service.batches.cleanup import BatchCleanup
from mailferry.service.batches.manage import complete_batch
from mailferry.service.batches.settle import NEEDS_USERS, finish_idle_users, settle_batch
from mailferry.service.config import load_stored
from mailferry.service.context import ServiceContext
from mailferry.service.jobs.change_feed import ChangeFeed
from mailferry.service.jobs.due import Claimed, claim_due
from mailferry.service.jobs.recovery import alive, dead_owners, recover
from mailferry.service.jobs.runner import AsyncioJobRunner, JobRunner
from mailferry.service.jobs.user_job import run_user_job
from mailferry.service.reports.batch_report import report_due, report_interval, send_due_reports
from mailferry.service.statuses import (
    BATCH_ACTIONS,
    BatchAction,
    BatchStatus,
    UserStatus,
)
from mailferry.state.migration_records import Batch
from mailferry.state.scheduler_queries import ClaimRow, UserSummary

B = BatchStatus
U = UserStatus
SETTLED = frozenset(
    {B.CREATED, B.SYNCED, B.SYNCED_WITH_ERRORS, B.STOPPED, B.COMPLETED}
    | {B.COMPLETED_WITH_ERRORS, B.FAILED}
)
"""Statuses in which a batch has nothing left to do until time passes or someone acts."""
WORKING = frozenset(set(B) - SETTLED)
"""Batches every pass looks at (the others only when the event log names them)."""
_CANCELLED = frozenset({U.STOPPING, U.REMOVING})
_COMPLETABLE = BATCH_ACTIONS[BatchAction.COMPLETE]


def new_owner(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{id(object())}"


@dataclass(frozen=True)
class PassOutcome:
    """What a pass's database work decided, for the event loop to carry out."""

    batches: list[Batch]
    cancel: list[int]
    start: list[Claimed]
    next_due: dt.datetime | None
    reports: list[Batch] = field(default_factory=list)


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
        self.feed = ChangeFeed(ctx.store)
        self.passes = 0
        """Passes run so far (tests count them)."""
        self.next_due: dt.datetime | None = None
        self._first = True
        self._changed: set[int] = set()  # batches named by events seen between passes
        self._job_batches: dict[int, int] = {}  # our jobs' users -> their batches
        self._last_beat: dt.datetime | None = None
        self._recovery_wanted = False  # a heartbeat found a dead worker's claims
        self.cleanup = BatchCleanup(ctx)  # old batches stopped, removed (once a minute)

    async def tick(self) -> list[Batch]:
        """One pass; the batches it looked at, as they are afterwards (every batch on
        the first pass; then the working ones and those that changed)."""
        running = self.runner.running()
        ended = {self._job_batches.pop(u) for u in set(self._job_batches) - running}
        outcome = await asyncio.to_thread(self._pass, running, ended, set(self._job_batches))
        for user_id in outcome.cancel:
            self.runner.cancel(user_id)
        for job in outcome.start:
            self._job_batches[job.user_id] = job.batch_id
            self.runner.start(job.user_id, self._job(job.user_id))
        self.next_due = outcome.next_due
        self.passes += 1
        if outcome.reports:
            await send_due_reports(self.ctx, outcome.reports)
        await self.cleanup.notify()
        return outcome.batches

    async def run(
        self,
        until: Callable[[list[Batch]], bool] | None = None,
        *,
        between: Callable[[], None] | None = None,
    ) -> None:
        """Pass until ``until(batches)`` says so (forever without it), waiting for work
        in between (``between`` is called at every poll of that wait); on the way out
        cancel our jobs (they record where they stopped) and deregister."""
        try:
            while True:
                batches = await self.tick()
                if until is not None and until(batches):
                    return
                await self.wait_for_work(between)
        finally:
            await self.runner.shutdown()
            self.ctx.store.remove_service(self.owner)

    async def wait_for_work(self, between: Callable[[], None] | None = None) -> None:
        """Until a job of ours ends, something falls due or the event log has news:
        one poll every ``poll_seconds`` (the clock, and one query in a thread)."""
        poll = self.ctx.settings.poll_seconds
        while True:
            if await self.runner.wait(poll):
                return
            if between is not None:
                between()
            now = self.ctx.now()
            if self.next_due is not None and now >= self.next_due:
                return
            ours = set(self._job_batches)
            if self.runner.running():  # copies run: keep the loop free for them
                if await asyncio.to_thread(self._look, now, ours):
                    return
            elif self._look(now, ours):  # nothing to block: spare the thread's hand-offs
                return

    # -- between passes (in a worker thread) ------------------------------------------

    def _look(self, now: dt.datetime, ours: Collection[int]) -> bool:
        """Heartbeat when due; whether a pass is wanted (news in the log, or a dead
        worker's claims to take back). The start of one of ``ours`` is no news."""
        if self._beat_due(now):
            self._beat(now)
            dead = dead_owners(self.ctx, self.owner, now)
            if dead and any(c.owner in dead for c in self.ctx.store.claimed()):
                self._recovery_wanted = True
                return True
        changed = self.feed.poll(ours)
        if changed is None:
            return False
        self._changed |= {b for b in changed if b is not None}
        return True

    def _beat_due(self, now: dt.datetime) -> bool:
        """Every lease/3 by the context's clock (which tests move: a jump is due)."""
        last = self._last_beat
        return last is None or abs(now - last) >= self.ctx.settings.lease / 3

    def _beat(self, now: dt.datetime) -> None:
        self.ctx.store.heartbeat(self.owner, self.host, os.getpid(), now)
        self.ctx.store.renew_claims(self.owner, now + self.ctx.settings.lease)
        self._last_beat = now

    # -- a pass (in a worker thread) ------------------------------------------------

    def _pass(self, running: set[int], ended: set[int], ours: set[int]) -> PassOutcome:
        ctx, store = self.ctx, self.ctx.store
        now = ctx.now()
        load_stored(ctx)  # Set-MigrationConfig from another process (one row)
        first, self._first = self._first, False
        if first:
            self.feed.start()
        changed = set() if first else self.feed.poll(ours) or set()
        dirty = {b for b in changed if b is not None} | self._changed | ended
        self._changed = set()
        beat = first or self._beat_due(now)
        if beat:
            self._beat(now)
        claims = store.claimed()
        if beat or self._recovery_wanted or any(c.until < now for c in claims):
            # (a worker on this machine that died is found at a heartbeat; one whose
            # lease ran out, by its claims' expiry: a due time)
            self._recovery_wanted = False
            recovered = recover(self.ctx, self.owner, claims, running, now)
            dirty |= {c.batch_id for c in recovered}
            claims = [c for c in claims if c not in recovered]
        mine = store.statuses_of(running)
        cancel = [user_id for user_id, status in mine.items() if status in _CANCELLED]
        cleanup_due = self.cleanup.run(now)
        batches = self._batches(first, dirty, now)
        self._finish_waiting_users(batches, now)
        settled = [b for b in (self._settle(b, claims, now) for b in batches) if b is not None]
        next_due = self._next_due(claims, now)
        reports, report_due_at = self._reports(now)
        if report_due_at is not None and (next_due is None or report_due_at < next_due):
            next_due = report_due_at
        if cleanup_due is not None and (next_due is None or cleanup_due < next_due):
            next_due = cleanup_due
        start = claim_due(ctx, self.owner, settled, claims, running, now)
        return PassOutcome(self._resettle(settled, start, now), cancel, start, next_due, reports)

    def _resettle(
        self, batches: list[Batch], started: Sequence[Claimed], now: dt.datetime
    ) -> list[Batch]:
        """A synced batch whose users this pass took for incremental syncs is now
        IncrementalSyncing (the start of our own jobs wakes no pass to say so)."""
        touched = {job.batch_id for job in started}
        return [
            self._settle(b, [], now) or b
            if b.id in touched and b.status in (B.SYNCED, B.SYNCED_WITH_ERRORS)
            else b
            for b in batches
        ]

    def _batches(self, everything: bool, changed: Collection[int], now: dt.datetime) -> list[Batch]:
        """The batches this pass looks at, oldest first: all on the first pass; then the
        working ones, those the log named, those whose CompleteAfter has come."""
        store = self.ctx.store
        found = {b.id: b for b in (store.batches() if everything else store.batches_in(WORKING))}
        found.update((b.id, b) for b in store.batches_by_ids(set(changed) - set(found)))
        found.update((b.id, b) for b in store.batches_to_complete(_COMPLETABLE, now))
        return sorted(found.values(), key=lambda b: (b.created_at, b.id))

    def _settle(self, batch: Batch, claims: Sequence[ClaimRow], now: dt.datetime) -> Batch | None:
        """The batch moved on as its users call for (None: it was removed)."""
        ctx = self.ctx
        if batch.status == B.REMOVING:
            return None if self._finish_removal(batch, claims, now) else batch
        if _complete_due(batch, now):
            batch = complete_batch(ctx, batch.name)  # its users are now Completing
        if batch.status in (B.STARTING, B.WAITING):
            return settle_batch(ctx, batch, UserSummary(frozenset()))  # on time alone
        if batch.status in NEEDS_USERS:
            return settle_batch(ctx, batch, ctx.store.user_summary(batch.id, now))
        return batch

    def _finish_waiting_users(self, batches: Sequence[Batch], now: dt.datetime) -> None:
        """Stopping users whose job has ended become Stopped, Removing ones are purged
        (not in a Removing batch: its removal purges it whole)."""
        ids = [b.id for b in batches if b.status != B.REMOVING]
        finish_idle_users(self.ctx, self.ctx.store.winding_users(ids), now)

    def _next_due(self, claims: Sequence[ClaimRow], now: dt.datetime) -> dt.datetime | None:
        """When something next falls due after ``now``: an incremental sync, a retry,
        StartAfter, CompleteAfter, another worker's lease (index minima)."""
        store = self.ctx.store
        leases = [c.until for c in claims if c.owner != self.owner and c.until > now]
        times = [store.next_due({B.STARTING, B.WAITING}, _COMPLETABLE, now), *leases]
        return min((t for t in times if t is not None), default=None)

    def _reports(self, now: dt.datetime) -> tuple[list[Batch], dt.datetime | None]:
        """The batches whose e-mailed report is due, and when the next one falls due."""
        if self.ctx.settings.smtp is None:
            return [], None
        default = self.ctx.settings.report_interval
        reportable = self.ctx.store.reportable_batches(set(B))
        due = [b for b in reportable if report_due(b, now, report_interval(b, default))]
        later = [
            b.last_report_at + interval
            for b in reportable
            if b.last_report_at is not None
            and (interval := report_interval(b, default)) > dt.timedelta(0)
            and b not in due
        ]
        return due, min(later, default=None)

    # -- recovery and removal -----------------------------------------------------------

    def _finish_removal(self, batch: Batch, claims: Sequence[ClaimRow], now: dt.datetime) -> bool:
        """Purge the batch once no job of it runs; whether it is gone."""
        if any(c.batch_id == batch.id and c.until >= now for c in claims):
            return False
        self.ctx.store.delete_batch(batch.id)
        self.ctx.store.add_event("batch_removed", now, batch_id=batch.id, name=batch.name)
        return True

    def _job(self, user_id: int) -> Callable[[], Any]:
        async def work() -> object:
            return await run_user_job(self.ctx, user_id, self.owner, self.describe)

        return work


def _complete_due(batch: Batch, now: dt.datetime) -> bool:
    """CompleteAfter has come and the batch is synced, or it is -AutoComplete and its
    sync left nothing behind (SyncedWithErrors waits for the administrator): complete
    it as Complete would."""
    due = batch.complete_after is not None and batch.complete_after <= now
    auto = batch.options.auto_complete and batch.status == B.SYNCED
    return (due or auto) and batch.status in _COMPLETABLE


def service_running(ctx: ServiceContext) -> bool:
    """Whether a ``mailferry serve`` is alive on this database (fresh heartbeat, and
    its process exists when it runs on this machine)."""
    now = ctx.now()
    host = socket.gethostname()
    for owner, owner_host, pid, heartbeat in ctx.store.services():
        if not owner.startswith("serve:"):
            continue
        if owner_host == host and not alive(pid):
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
    """Run the scheduler here until the given batches settle (or are gone).
    ``on_change`` is called after every pass and every poll (a live view refreshes)."""
    scheduler = Scheduler(ctx, owner=new_owner("cli"), describe=describe)

    def settled(batches: list[Batch]) -> bool:
        if on_change is not None:
            on_change()
        # A batch this pass did not look at is in a settled status (or gone).
        wanted = [b for b in batches if b.id in batch_ids]
        done = all(b.status in SETTLED and not _complete_due(b, ctx.now()) for b in wanted)
        return done and not scheduler.runner.running()

    await scheduler.run(until=settled, between=on_change)


async def serve(ctx: ServiceContext, *, describe: Callable[[MailferryError], str] = str) -> None:
    """``mailferry serve``: schedule forever (until cancelled: SIGINT/SIGTERM)."""
    await Scheduler(ctx, describe=describe).run()


__all__ = ["SETTLED", "WORKING", "Scheduler", "run_in_process", "serve", "service_running"]
