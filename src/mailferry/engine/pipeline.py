"""Running a producer and a consumer concurrently over a queue bounded in bytes.

The source fetch and the target append overlap: while one batch is appended the
next messages are already being fetched, until ``queue_bytes`` of bodies wait.
On an error or a cancellation both tasks are stopped and awaited, and every body
still waiting in the queue is closed (temp files released): no task outlives
:func:`run_pipeline`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ByteQueue(Generic[T]):
    """A FIFO holding at most ``limit`` bytes; one item larger than that passes alone.

    ``close()`` marks the end: ``get()`` then returns None once the queue is empty.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: deque[tuple[T, int]] = deque()
        self._used = 0
        self._closed = False
        self._changed = asyncio.Condition()

    @property
    def used(self) -> int:
        return self._used

    async def put(self, item: T, size: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._used or self._used + size <= self._limit)
            self._items.append((item, size))
            self._used += size
            self._changed.notify_all()

    async def close(self) -> None:
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    async def get(self, timeout: float | None = None) -> T | None:
        """The next item, waiting for one; None once closed and empty, or when
        ``timeout`` seconds pass first. An item is never lost to the timeout."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: bool(self._items) or self._closed)
            except TimeoutError:
                pass
            return self._pop()

    def _pop(self) -> T | None:
        """Take the head item; the caller holds the condition's lock."""
        if not self._items:
            return None
        item, size = self._items.popleft()
        self._used -= size
        self._changed.notify_all()
        return item

    def drain(self) -> list[T]:
        """Remove and return everything waiting (for cleanup)."""
        items = [item for item, _ in self._items]
        self._items.clear()
        self._used = 0
        return items


async def run_pipeline(
    producer: Awaitable[None],
    consumer: Awaitable[None],
    cleanup: Callable[[], None],
) -> None:
    """Run both to completion; as soon as one fails or is cancelled, cancel the other,
    await both, call ``cleanup`` and re-raise that failure (or the cancellation)."""
    tasks = [asyncio.ensure_future(producer), asyncio.ensure_future(consumer)]
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raises the task's error, or CancelledError
    finally:
        for task in tasks:
            task.cancel()
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            cleanup()
