"""Who carries actions out: a running ``mailferry serve`` (``service_running``), the
scheduler in this process until some batches settle (``run_here``), or for good
(``serve``). Callbacks get views, so an interface draws progress without the store."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from mailferry.app.core import AppCore

OnPass = Callable[[list[dict[str, Any]]], None]
"""Called after every pass with the batches it looked at (a working batch always; the
first pass: all), as views."""


class SchedulingUseCases(AppCore):
    def service_running(self) -> bool:
        """Whether a ``mailferry serve`` is alive on this database (fresh heartbeat)."""
        from mailferry.service.jobs.scheduler import service_running

        return service_running(self._ctx)

    async def run_here(
        self, batch_names: Collection[str], on_change: Callable[[], None] | None = None
    ) -> None:
        """Run the scheduler in this process until the named batches settle (or are
        gone); ``on_change`` after every pass and poll (a live view redraws)."""
        from mailferry.service.batches.manage import get_batch
        from mailferry.service.jobs.scheduler import run_in_process

        ids = {get_batch(self._ctx, name).id for name in batch_names}
        await run_in_process(self._ctx, ids, on_change, describe=self._describe)

    async def serve(self, on_pass: OnPass | None = None) -> None:
        """``mailferry serve``: schedule until cancelled (running copies then record
        where they stopped; the next ``serve`` resumes them)."""
        from mailferry.service.jobs.scheduler import Scheduler
        from mailferry.service.properties import batch_properties

        scheduler = Scheduler(self._ctx, describe=self._describe)

        def after_pass(batches: list[Any]) -> bool:
            if on_pass is not None:
                now = self.now()
                on_pass([batch_properties(b, (), now) for b in batches])
            return False

        await scheduler.run(until=after_pass)
