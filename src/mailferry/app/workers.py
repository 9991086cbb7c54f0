"""Scale-out (issue 14): ``mailferry worker``, ``mailferry workers``, ``serve --runner
procrastinate`` and ``db upgrade``, over ``service/workers`` (docs/design/scale-out.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mailferry.app.core import AppCore
from mailferry.app.scheduling import OnPass


class WorkerUseCases(AppCore):
    def get_workers(self) -> list[dict[str, Any]]:
        """The registered schedulers and workers: Role, Host, Pid, Started, Heartbeat,
        RunningJobs, Alive."""
        from mailferry.service.workers.listing import get_workers

        return get_workers(self._ctx)

    def database_info(self) -> dict[str, Any]:
        """The state database (opened, so at the newest revision): Backend, Revision,
        JobQueueSchema (PostgreSQL: procrastinate's schema; SQLite: None)."""
        from mailferry.state.job_queue import current_schema, job_queue_schema
        from mailferry.state.migrate import HEAD

        engine = self._ctx.store.engine
        schema = None
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                schema = job_queue_schema(current_schema(connection))
        return {"Backend": engine.dialect.name, "Revision": HEAD, "JobQueueSchema": schema}

    async def run_worker(
        self,
        *,
        concurrency: int = 1,
        queues: Sequence[str] = (),
        on_start: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """``mailferry worker``: run deferred user jobs until SIGTERM/SIGINT; then
        {"Identity", "JobsRun"}."""
        from mailferry.service.workers.worker import WorkerHost, run_worker

        def started(host: WorkerHost) -> None:
            if on_start is not None:
                on_start({"Identity": host.owner, "Host": host.host, "Pid": host.pid})

        host = await run_worker(
            self._ctx, concurrency=concurrency, queues=queues or None,
            describe=self._describe, on_start=started,
        )  # fmt: skip
        return {"Identity": host.owner, "JobsRun": host.done}

    async def serve_with_workers(
        self, on_pass: OnPass | None = None, on_acting: Callable[[], None] | None = None
    ) -> None:
        """``mailferry serve --runner procrastinate``: stand by until this scheduler
        holds the lock, then schedule, deferring jobs to ``mailferry worker``s."""
        from mailferry.service.properties import batch_properties
        from mailferry.service.workers.leader import serve_dispatching

        def after_pass(batches: list[Any]) -> bool:
            if on_pass is not None:
                now = self.now()
                on_pass([batch_properties(b, (), now) for b in batches])
            return False

        await serve_dispatching(
            self._ctx, after_pass=after_pass, describe=self._describe, on_acting=on_acting,
            standby_poll=self._ctx.settings.poll_seconds,
        )  # fmt: skip
