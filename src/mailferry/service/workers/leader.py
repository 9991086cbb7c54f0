"""Several schedulers, one acting: a PostgreSQL session advisory lock.

Every ``mailferry serve --runner procrastinate`` tries the lock on a connection of its
own; the one that gets it schedules (deferring jobs to workers), the others stand by
and try again every ``poll`` seconds. The lock is the server's: it goes with its
session when the acting process dies or loses its connection, so a standby takes over
within a poll. Every decision a scheduler makes is re-read from the database, so the
new one simply carries on; the old one's deferred, not yet taken jobs keep their claims
until the lease runs out (a worker may still take them over meanwhile).

The key is the pair (``_LOCK_CLASS``, hash of the current schema): one acting scheduler
per state database (and per schema, which tests use as separate databases).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

from mailferry.errors import MailferryError, StateUnavailable
from mailferry.service.context import ServiceContext
from mailferry.service.jobs.scheduler import Scheduler, new_owner
from mailferry.service.workers.queue import (
    DISPATCH,
    job_queue_app,
    one_connection_per_job,
    require_postgresql,
)
from mailferry.service.workers.runner import ProcrastinateRunner
from mailferry.state.migration_records import Batch

_LOCK_CLASS = 0x4D46  # "MF"; (1, endpoint) is the claims' transaction lock
_TRY = text("SELECT pg_try_advisory_lock(:c, hashtext(current_schema()))")
_HOLDS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = :c"
)


class SchedulerLock:
    """The acting scheduler's lock, held on a connection kept open for it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        connection = self.engine.connect()
        got = bool(connection.execute(_TRY, {"c": _LOCK_CLASS}).scalar_one())
        connection.commit()  # a session lock: it outlives the transaction
        if got:
            self._connection = connection
        else:
            connection.close()
        return got

    def held(self) -> bool:
        """Whether our session still holds it (a lost connection loses it)."""
        if self._connection is None:
            return False
        try:
            count = self._connection.execute(_HOLDS, {"c": _LOCK_CLASS}).scalar_one()
            self._connection.commit()
        except Exception:
            return False
        return bool(count)

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # the session ends: the lock goes with it
            self._connection = None


async def serve_dispatching(
    ctx: ServiceContext,
    *,
    after_pass: Callable[[list[Batch]], bool],
    describe: Callable[[MailferryError], str] = str,
    on_acting: Callable[[], None] | None = None,
    standby_poll: float = 1.0,
) -> None:
    """Stand by until this process holds the scheduler lock, then schedule with a
    ``ProcrastinateRunner`` until cancelled (or ``after_pass`` says so)."""
    require_postgresql(ctx.store.engine)
    one_connection_per_job(ctx)
    lock = SchedulerLock(ctx.store.engine)
    try:
        while not await asyncio.to_thread(lock.try_acquire):
            await asyncio.sleep(standby_poll)
        if on_acting is not None:
            on_acting()
        app: Any = job_queue_app(ctx.store.engine)
        async with app.open_async():
            owner = new_owner("serve") + DISPATCH
            runner = ProcrastinateRunner(ctx, app, owner)
            scheduler = Scheduler(ctx, runner=runner, owner=owner, describe=describe)
            await scheduler.run(until=_while_held(lock, after_pass))
    finally:
        lock.release()


def _while_held(
    lock: SchedulerLock, after_pass: Callable[[list[Batch]], bool]
) -> Callable[[list[Batch]], bool]:
    """Stop scheduling when the lock is lost (its connection dropped): another
    scheduler may act by now."""

    def until(batches: list[Batch]) -> bool:
        if not lock.held():
            raise StateUnavailable("scheduler lock", "lost with its database connection")
        return after_pass(batches)

    return until
