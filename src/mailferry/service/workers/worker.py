"""``mailferry worker``: runs the user jobs the acting scheduler deferred.

A fetched job ``user_job(user_id)`` first takes the user's claim over from the
scheduler that deferred it (one conditional UPDATE: the claim must still be live, a
dispatching scheduler's, and the user in a job status); then it runs the same job as
``serve`` does (``jobs.user_job.run_user_job``) under the worker's own owner name. A
job whose claim is gone (Stop, Remove, the scheduler took it back) does nothing.

While jobs run, the worker heartbeats in ``services`` and renews its claims every
lease/3 (a killed worker's claims then run out, and a scheduler sends its users back
to the queue: the engine's records make the re-run exact), and every ``WATCH_SECONDS``
reads its users' statuses and claims: a user Stopping or Removing, or a claim taken
over, cancels the job, which records where it stopped. SIGTERM (or SIGINT) stops
fetching, cancels the running jobs the same way (each checkpoints and goes back to the
queue for another worker) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Sequence
from typing import Any

from mailferry.errors import MailferryError
from mailferry.service.context import ServiceContext
from mailferry.service.jobs.scheduler import new_owner
from mailferry.service.jobs.user_job import JOB_STATUSES, run_user_job
from mailferry.service.statuses import UserStatus
from mailferry.service.workers.give_back import give_back
from mailferry.service.workers.queue import DISPATCH, TASK, job_queue_app, one_connection_per_job

log = logging.getLogger(__name__)
WATCH_SECONDS = 0.5
STOP_SECONDS = 30.0
"""How long a SIGTERM waits for the cancelled jobs to record where they stopped."""
_CANCELLED = frozenset({UserStatus.STOPPING, UserStatus.REMOVING})


class StoppingWorker(Exception):
    """A job fetched while this worker shuts down: not run (procrastinate records it as
    failed; the scheduler sees the job gone and sends the user back to the queue)."""


class WorkerHost:
    """What one worker process shares between its jobs: owner name, running jobs."""

    def __init__(
        self, ctx: ServiceContext, *, describe: Callable[[MailferryError], str] = str
    ) -> None:
        self.ctx = ctx
        self.describe = describe
        self.owner = new_owner("worker")
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.jobs: dict[int, asyncio.Task[Any]] = {}
        self.done = 0
        self.stopping = False

    async def user_job(self, user_id: int) -> str:
        """The procrastinate task: take the claim over, run the job; its status."""
        if self.stopping:  # the scheduler gives the claim up and defers again
            raise StoppingWorker(f"worker {self.owner} is stopping")
        if not await asyncio.to_thread(self.take_over, user_id):
            return "not claimed"
        if self.stopping:  # SIGTERM came meanwhile: the user goes back to the queue
            await asyncio.to_thread(self._release, user_id)
            return "given back"
        job = asyncio.ensure_future(run_user_job(self.ctx, user_id, self.owner, self.describe))
        self.jobs[user_id] = job
        try:
            await asyncio.wait({job})
        finally:
            if not job.done():  # procrastinate itself is being cancelled
                job.cancel()
                await asyncio.wait({job}, timeout=STOP_SECONDS)
            self.jobs.pop(user_id, None)
            self.done += 1
        error = None if job.cancelled() else job.exception()
        if error is not None:
            # A job records its own failures; reaching here is a bug. Give the claim
            # up so the user is not held for ever (recovery sends it back), and keep
            # the error visible in procrastinate's record of the job.
            await asyncio.to_thread(self._release, user_id)
            self._event(user_id, "worker_job_ended", status="crashed")
            raise error
        status = "cancelled" if job.cancelled() else str(job.result().status.value)
        self._event(user_id, "worker_job_ended", status=status)
        return status

    def _release(self, user_id: int) -> None:
        give_back(self.ctx, user_id, self.owner, worker=self.owner, host=self.host)

    def take_over(self, user_id: int) -> bool:
        store, now = self.ctx.store, self.ctx.now()
        user = store.user_by_id(user_id)
        if user is None or user.claimed_by is None or not user.claimed_by.endswith(DISPATCH):
            return False
        if user.claimed_until is None or user.claimed_until < now:
            return False
        changes = {"claimed_by": self.owner, "claimed_until": now + self.ctx.settings.lease}
        if not store.update_user(user_id, changes, owner=user.claimed_by, expect=JOB_STATUSES):
            return False
        self._event(user_id, "worker_job_started", batch_id=user.batch_id)
        return True

    def _event(self, user_id: int, kind: str, batch_id: int | None = None, **detail: Any) -> None:
        if batch_id is None:
            user = self.ctx.store.user_by_id(user_id)
            batch_id = None if user is None else user.batch_id
        self.ctx.store.add_event(
            kind, self.ctx.now(), batch_id=batch_id, user_id=user_id,
            worker=self.owner, host=self.host, pid=self.pid, **detail,
        )  # fmt: skip

    # -- heartbeat and watch (in a thread) -----------------------------------------

    def beat(self) -> None:
        now = self.ctx.now()
        self.ctx.store.heartbeat(self.owner, self.host, self.pid, now)
        self.ctx.store.renew_claims(self.owner, now + self.ctx.settings.lease)

    def to_cancel(self, running: Sequence[int]) -> list[int]:
        """Our running users that were stopped or removed, or whose claim is not ours."""
        if not running:
            return []
        statuses = self.ctx.store.statuses_of(running)
        ours = {c.user_id for c in self.ctx.store.claimed() if c.owner == self.owner}
        return [u for u in running if statuses.get(u) in _CANCELLED or u not in ours]

    async def keep_alive(self) -> None:
        """Heartbeat every lease/3 and watch every WATCH_SECONDS, until cancelled. A
        database that can't be reached for 2/3 of a lease cancels every job: our claims
        may be about to run out, and a job must never run on without its claim."""
        lease = self.ctx.settings.lease.total_seconds()
        loop = asyncio.get_running_loop()
        last_beat, next_beat = loop.time(), 0.0
        while True:
            try:
                if loop.time() >= next_beat:
                    await asyncio.to_thread(self.beat)
                    last_beat = loop.time()
                    next_beat = last_beat + lease / 3
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is unreachable: try again
                log.warning("worker %s: %s", self.owner, error)
                if loop.time() - last_beat > lease * 2 / 3:
                    for job in self.jobs.values():
                        job.cancel()
            await asyncio.sleep(WATCH_SECONDS)

    async def _watch(self) -> None:
        running = [u for u, job in self.jobs.items() if not job.done()]
        for user_id in await asyncio.to_thread(self.to_cancel, running):
            job = self.jobs.get(user_id)
            if job is not None:
                job.cancel()

    def cancel_all(self) -> None:
        self.stopping = True
        for job in self.jobs.values():
            job.cancel()


async def run_worker(
    ctx: ServiceContext,
    *,
    concurrency: int = 1,
    queues: Sequence[str] | None = None,
    describe: Callable[[MailferryError], str] = str,
    on_start: Callable[[WorkerHost], None] | None = None,
) -> WorkerHost:
    """Run jobs until SIGTERM/SIGINT (or cancellation); the host, for its counters."""
    from procrastinate.worker import Worker

    app = job_queue_app(ctx.store.engine, max_connections=concurrency + 2)
    one_connection_per_job(ctx)
    host = WorkerHost(ctx, describe=describe)
    app.task(name=TASK)(host.user_job)
    await asyncio.to_thread(host.beat)
    async with app.open_async():
        worker = Worker(
            app, queues=list(queues) if queues else None, concurrency=concurrency,
            name=host.owner, install_signal_handlers=False, delete_jobs="successful",
        )  # fmt: skip
        stop = _stopper(host, worker)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        alive = asyncio.ensure_future(host.keep_alive())
        if on_start is not None:
            on_start(host)
        try:
            await worker.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            host.cancel_all()
            alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await alive
            await asyncio.to_thread(ctx.store.remove_service, host.owner)
    return host


def _stopper(host: WorkerHost, worker: Any) -> Callable[[], None]:
    def stop() -> None:
        host.cancel_all()
        worker.stop()

    return stop
