"""``ProcrastinateRunner``: the scheduler's JobRunner that defers jobs to workers.

The scheduler claims due users as it always does (caps, one job per mailbox: the
claims), then ``start`` defers ``user_job(user_id)``; the claim stays the scheduler's
(owner ending in ``DISPATCH``, renewed by its heartbeat) until a worker takes it over.
``running`` is the jobs deferred and not yet taken over: a job taken over is done as
far as this scheduler is concerned (``wait`` notices, so a pass follows). ``cancel``
of a job still waiting gives its claim up (a worker that later fetches it finds no
claim to take and does nothing); a job already on a worker is stopped by that worker,
which watches its users' statuses.

A deferred job can be lost before any worker takes its claim over (a worker killed
between fetching the job and taking the claim, or one that fetched it while shutting
down): the claim would then stay ours, renewed for ever. So ``wait`` also looks at the
queue about once a second: a pending job with no waiting job in the queue for
``LOST_SECONDS`` (and still ours) is given up, and its user sent back where it
resumes, as recovery does (``jobs.recovery.RESUME``); the event that says so wakes
the next pass, which claims and defers it again. A job that could not be deferred
(the queue unreachable) is given back the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.jobs.runner import Work
from mailferry.service.workers.give_back import give_back
from mailferry.service.workers.queue import QUEUE, TASK, queueing_lock

log = logging.getLogger(__name__)
_POLL = 0.25
LOST_SECONDS = 10.0
_QUEUE_CHECK_SECONDS = 1.0
_WAITING = (
    "SELECT queueing_lock FROM procrastinate_jobs"
    " WHERE queueing_lock = ANY(%(locks)s) AND status = 'todo'"
)


class ProcrastinateRunner:
    def __init__(self, ctx: ServiceContext, app: Any, owner: str, *, queue: str = QUEUE) -> None:
        self.ctx = ctx
        self.app = app
        self.owner = owner
        self.queue = queue
        self._pending: set[int] = set()
        self._defers: set[asyncio.Task[None]] = set()
        self._finished = False
        self._deferring: set[int] = set()
        self._missing: dict[int, float] = {}  # pending user -> when first seen unqueued
        self._next_check = 0.0
        self.lost = 0
        """Pending jobs given up because the queue no longer had them."""
        self.deferred = 0
        """Jobs deferred so far (tests and the benchmark count them)."""

    def start(self, job_id: int, work: Work) -> None:
        """Defer the job (``work``, the in-process coroutine, is not used)."""
        if job_id in self._pending:
            raise RuntimeError(f"job {job_id} is already deferred")
        self._pending.add(job_id)
        self._deferring.add(job_id)
        task = asyncio.ensure_future(self._defer(job_id))
        self._defers.add(task)
        task.add_done_callback(self._defers.discard)

    def cancel(self, job_id: int) -> None:
        if job_id in self._pending:
            self._pending.discard(job_id)
            self._release(job_id)
            self._finished = True

    def running(self) -> set[int]:
        return set(self._pending)

    async def wait(self, timeout: float) -> bool:
        """True as soon as a worker took over one of our jobs (or one was given up)."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._finished and self._pending:
                taken = await asyncio.to_thread(self._taken_over)
                if taken:
                    self._pending -= taken
                    self._finished = True
                else:
                    await self._give_up_lost()
            if self._finished:
                self._finished = False
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, _POLL))

    async def shutdown(self) -> None:
        """Let the defers under way finish; claims of jobs still waiting stay ours until
        their lease runs out (a worker takes them over meanwhile)."""
        if self._defers:
            await asyncio.wait(set(self._defers), timeout=10)

    # -- helpers -------------------------------------------------------------------

    async def _defer(self, user_id: int) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        deferrer = self.app.configure_task(
            TASK, queue=self.queue, queueing_lock=queueing_lock(user_id)
        )
        try:
            await deferrer.defer_async(user_id=user_id)
            self.deferred += 1
        except AlreadyEnqueued:  # an earlier job of this user waits: it takes this claim
            pass
        except Exception as error:  # the queue is unreachable: give the claim back
            log.warning("could not defer the job of user %s: %s", user_id, error)
            self._give_back(user_id, "not deferred")
        finally:
            self._deferring.discard(user_id)

    async def _give_up_lost(self) -> None:
        """Give back the pending jobs the queue has not held for LOST_SECONDS."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + _QUEUE_CHECK_SECONDS
        pending = self._pending - self._deferring
        for gone in set(self._missing) - pending:
            del self._missing[gone]
        if not pending:
            return
        locks = [queueing_lock(u) for u in sorted(pending)]
        try:
            rows = await self.app.connector.execute_query_all_async(_WAITING, locks=locks)
        except Exception as error:  # the queue is unreachable now: look again later
            log.warning("could not read the job queue: %s", error)
            return
        waiting = {str(row["queueing_lock"]) for row in rows}
        for user_id in pending:
            if queueing_lock(user_id) in waiting:
                self._missing.pop(user_id, None)
            elif now - self._missing.setdefault(user_id, now) >= LOST_SECONDS:
                del self._missing[user_id]
                log.warning("the queued job of user %s was lost: sending it back", user_id)
                self.lost += 1
                self._give_back(user_id, "lost in the queue")

    def _taken_over(self) -> set[int]:
        ours = {c.user_id for c in self.ctx.store.claimed() if c.owner == self.owner}
        return self._pending - ours

    def _give_back(self, user_id: int, reason: str) -> None:
        """A pending job that will not run: the user goes back where it resumes."""
        if user_id in self._pending:
            self._pending.discard(user_id)
            self._finished = True
            give_back(self.ctx, user_id, self.owner, reason=reason)

    def _release(self, user_id: int) -> None:
        changes = {"claimed_by": None, "claimed_until": None, "started_at": None}
        self.ctx.store.update_user(user_id, changes, owner=self.owner)
