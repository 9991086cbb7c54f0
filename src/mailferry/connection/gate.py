"""Who may have commands in flight: many pipelined ones, or one exclusive one.

RFC 3501 §5.5 allows several commands in flight only when their results
can't depend on each other's order: we pipeline UID FETCH and APPEND (and
STORE of flags) and serialise everything else (SELECT, EXPUNGE, LOGIN...).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class CommandGate:
    """A readers-writer lock: ``shared`` for pipelined commands, else exclusive."""

    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting_exclusive = 0

    @asynccontextmanager
    async def hold(self, *, shared: bool) -> AsyncIterator[None]:
        await self._acquire(shared)
        try:
            yield
        finally:
            await self._release(shared)

    async def _acquire(self, shared: bool) -> None:
        async with self._condition:
            if shared:
                # Writers waiting get priority so a long pipeline can't starve them.
                await self._condition.wait_for(
                    lambda: not self._exclusive and self._waiting_exclusive == 0
                )
                self._shared += 1
                return
            self._waiting_exclusive += 1
            try:
                await self._condition.wait_for(lambda: not self._exclusive and self._shared == 0)
            finally:
                self._waiting_exclusive -= 1
            self._exclusive = True

    async def _release(self, shared: bool) -> None:
        async with self._condition:
            if shared:
                self._shared -= 1
            else:
                self._exclusive = False
            self._condition.notify_all()
