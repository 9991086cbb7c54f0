"""Where jobs run: a small interface, so the scheduler does not care.

``AsyncioJobRunner`` runs each job as a task in this process (the embedded mode of
``mailferry serve`` and of in-process CLI runs). ``service.workers.runner.
ProcrastinateRunner`` hands jobs to procrastinate workers on other machines: the claim
in the database (``user_rows``) is what keeps caps and one-job-per-mailbox across them,
not the runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

Work = Callable[[], Awaitable[object]]


class JobRunner(Protocol):
    def start(self, job_id: int, work: Work) -> None:
        """Run ``work`` for migration user ``job_id`` (at most one job per id)."""

    def cancel(self, job_id: int) -> None:
        """Ask the job to stop now; its work sees CancelledError and records its state."""

    def running(self) -> set[int]: ...

    async def wait(self, timeout: float) -> bool:
        """Return when a job finishes (True; also when one finished since the last
        wait), or after ``timeout`` seconds (False)."""

    async def shutdown(self) -> None:
        """Cancel every job and wait for them to record their state."""


class AsyncioJobRunner:
    def __init__(self) -> None:
        self._tasks: dict[int, asyncio.Task[object]] = {}
        self._finished = False  # a job ended since the last wait
        self._waiter: asyncio.Future[bool] | None = None
        self.crashed: list[tuple[int, BaseException | None]] = []

    def start(self, job_id: int, work: Work) -> None:
        if job_id in self._tasks:
            raise RuntimeError(f"job {job_id} is already running")
        task = asyncio.ensure_future(work())
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._done(job_id))

    def cancel(self, job_id: int) -> None:
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()

    def running(self) -> set[int]:
        return set(self._tasks)

    async def wait(self, timeout: float) -> bool:
        """A bare future and a timer (no task, as ``wait_for`` makes): an idle service
        waits here every poll."""
        if not self._finished:
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(timeout, _resolve, waiter, False)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        finished, self._finished = self._finished, False
        return finished

    async def shutdown(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, job_id: int) -> None:
        task = self._tasks.pop(job_id, None)
        if task is not None and not task.cancelled() and task.exception() is not None:
            # A job must record its own failures; reaching here is a bug, keep it visible.
            self.crashed.append((job_id, task.exception()))
        self._finished = True
        if self._waiter is not None:
            _resolve(self._waiter, True)


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)
