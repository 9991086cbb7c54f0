"""One user's source and target sessions: how every job (a batch's, the one-shot
``migrate``'s and ``verify``'s) opens and closes them.

``UserSessions`` opens the first pair (the validation step), more pairs for the
engine's parallel folders, and closes what it opened, bounded in time. How many
pairs the engine may use is a ``PairBudget``'s to say: a fixed number for the one-shot
``migrate`` (``FixedPairs``); for a batch's claimed job, what the endpoint's connection
budget allows when the job starts (``sessions.EndpointPairs``), held until ``close``.

Light on imports (no service context, no SQLAlchemy): the one-shot ``migrate`` and its
worker processes load it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final, Protocol

from mailferry.errors import MailferryError
from mailferry.service.migration_spec import SourceSpec, TargetSpec, open_pair
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.stores.base import SourceMailbox, TargetMailbox

CLOSE_SECONDS: Final = 10.0
"""The longest ``close`` waits for the servers (a hung one can't hold a job or Ctrl-C)."""


class PairBudget(Protocol):
    """How many session pairs one user's sync may use."""

    def take(self) -> int:
        """The first pair is open: how many pairs in all (at least 1), held until release."""
        ...

    def release(self) -> None: ...


class FixedPairs:
    """A fixed number of pairs (the one-shot ``migrate``: its own concurrency cap)."""

    def __init__(self, pairs: int) -> None:
        self.pairs = max(1, pairs)

    def take(self) -> int:
        return self.pairs

    def release(self) -> None:
        pass


class UserSessions:
    """One user's session pairs: ``open`` logs in on both sides, ``open_more`` gives the
    engine more pairs (it closes those), ``close`` closes what ``open`` opened."""

    def __init__(
        self,
        source: SourceSpec,
        target: TargetSpec,
        row: MigrationUserRow,
        budget: PairBudget | None = None,
    ) -> None:
        self.source = source
        self.target = target
        self.row = row
        self._budget: PairBudget = budget or FixedPairs(1)
        self._taken = False
        self.connections = 1
        """Session pairs the engine may use (set by ``open``)."""
        self.opened: list[SourceMailbox | TargetMailbox] = []

    async def open(self) -> tuple[SourceMailbox, TargetMailbox]:
        """Log in on both sides (the validation step: a wrong password or a missing
        target mailbox fails here, before anything is copied); closed by ``close``."""
        pair = await self.open_more()
        self.opened.extend(pair)
        self.connections = self._budget.take()
        self._taken = True
        return pair

    async def open_more(self) -> tuple[SourceMailbox, TargetMailbox]:
        """One more session pair for parallel folders: the engine closes it."""
        return await open_pair(self.source, self.target, self.row)

    async def close(self) -> None:
        """Close every session ``open`` opened and give the pairs back; never raises a
        MailferryError, and waits at most ``CLOSE_SECONDS`` (past that, or when the
        caller is cancelled, the closing goes on in the background)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._close_all()), CLOSE_SECONDS)

    async def _close_all(self) -> None:
        opened, self.opened = self.opened, []
        for store in reversed(opened):
            with contextlib.suppress(MailferryError, OSError):
                await store.close()
        if self._taken:
            self._taken = False
            self._budget.release()
