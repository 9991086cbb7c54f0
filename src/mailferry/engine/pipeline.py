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

    With ``hold=True`` an item's bytes stay counted after ``get()`` until the consumer
    calls ``release(size)``: the limit then bounds everything taken but not yet done
    with too (bodies being batched and appended), not just what waits in the queue.
    """

    def __init__(self, limit: int, *, hold: bool = False) -> None:
        self._limit = limit
        self._hold = hold
        self._items: deque[tuple[T, int]] = deque()
        self._used = 0
        self._closed = False
        self._blocked: list[int] = []  # sizes of the puts waiting for room
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def used(self) -> int:
        return self._used

    @property
    def starved(self) -> bool:
        """Empty while a ``put`` waits for room: nothing more comes until bytes are
        released (only possible with ``hold=True``)."""
        return not self._items and any(not self._fits(size) for size in self._blocked)

    async def put(self, item: T, size: int) -> None:
        if not self._fits(size):
            self._blocked.append(size)
            self._wake()
            try:
                await self._wait(lambda: self._fits(size))
            finally:
                self._blocked.remove(size)
        self._items.append((item, size))
        self._used += size
        self._wake()

    async def close(self) -> None:
        self._closed = True
        self._wake()

    async def get(self, timeout: float | None = None) -> T | None:
        """The next item, waiting for one; None once closed and empty, when starved
        (see ``starved``), or when ``timeout`` seconds pass first. An item is never
        lost to the timeout."""
        if self._items:  # ready now: no timeout scope, no waiting
            return self._pop()
        try:
            async with asyncio.timeout(timeout):
                await self._wait(lambda: bool(self._items) or self._closed or self.starved)
        except TimeoutError:
            pass
        return self._pop()

    def release(self, size: int) -> None:
        """Give back the bytes of an item taken with ``hold=True``."""
        if self._hold:
            self._used = max(0, self._used - size)
            self._wake()

    def _fits(self, size: int) -> bool:
        return not self._used or self._used + size <= self._limit

    def _pop(self) -> T | None:
        if not self._items:
            return None
        item, size = self._items.popleft()
        if not self._hold:
            self._used -= size
        self._wake()
        return item

    def drain(self) -> list[T]:
        """Remove and return everything waiting (for cleanup)."""
        items = [item for item, _ in self._items]
        self._used -= sum(size for _, size in self._items)
        self._items.clear()
        if not self._hold:
            self._used = 0
        self._wake()
        return items

    async def _wait(self, ready: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        while not ready():
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()


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
