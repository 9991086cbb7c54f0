"""The byte-bounded queue and the producer/consumer runner of the copy pipeline."""

from __future__ import annotations

import asyncio

import pytest

from mailferry.engine.pipeline import ByteQueue, run_pipeline


def test_the_queue_holds_at_most_its_limit_but_lets_one_large_item_through():
    async def main() -> None:
        queue: ByteQueue[str] = ByteQueue(100)
        await queue.put("a", 60)
        blocked = asyncio.ensure_future(queue.put("b", 60))
        await asyncio.sleep(0.01)
        assert not blocked.done() and queue.used == 60
        assert await queue.get() == "a"
        await asyncio.wait_for(blocked, 1)
        assert await queue.get() == "b" and queue.used == 0
        await asyncio.wait_for(queue.put("huge", 1000), 1)  # alone: passes
        assert queue.used == 1000
        await queue.close()
        assert await queue.get() == "huge"
        assert await queue.get() is None

    asyncio.run(main())


def test_a_timed_out_get_returns_none_and_loses_nothing():
    async def main() -> None:
        queue: ByteQueue[int] = ByteQueue(10)
        assert await queue.get(timeout=0.01) is None
        await queue.put(1, 1)
        assert await queue.get(timeout=0) == 1
        late = asyncio.ensure_future(queue.get(timeout=5))
        await asyncio.sleep(0)
        await queue.put(2, 1)
        assert await late == 2

    asyncio.run(main())


def test_a_failing_consumer_stops_the_producer_and_cleanup_runs():
    async def main() -> None:
        queue: ByteQueue[int] = ByteQueue(3)
        produced: list[int] = []
        cleaned: list[list[int]] = []

        async def producer() -> None:
            for i in range(100):
                await queue.put(i, 1)
                produced.append(i)

        async def consumer() -> None:
            await queue.get()
            raise RuntimeError("target broke")

        with pytest.raises(RuntimeError, match="target broke"):
            await run_pipeline(producer(), consumer(), lambda: cleaned.append(queue.drain()))
        assert len(produced) < 10
        assert cleaned and queue.used == 0
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_cancelling_the_runner_cancels_both_sides():
    async def main() -> None:
        started = asyncio.Event()
        cleaned: list[bool] = []

        async def forever() -> None:
            started.set()
            await asyncio.sleep(3600)

        runner = asyncio.ensure_future(
            run_pipeline(forever(), forever(), lambda: cleaned.append(True))
        )
        await started.wait()
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
        assert cleaned == [True]
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())
