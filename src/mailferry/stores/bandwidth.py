"""A cap on the bytes written to a target (``--max-bytes-per-second``), per mailbox and
per endpoint.

Gmail limits how much one user may upload a day; other servers throttle heavy
writers. :class:`TokenBucket` lets ``rate`` bytes a second through, with a burst of one
second's worth; a take larger than what is there waits (the balance goes negative, so
concurrent writers queue behind one another in order and the average never exceeds
the rate). :class:`PacedTarget` wraps any ``TargetMailbox``: each append is split into
parts of at most one burst (a larger message alone) and every part waits for the
mailbox's and the endpoint's buckets before it is written. The buckets are shared within
the process: every session of one mailbox takes from one bucket, every mailbox of one
endpoint from another. With no cap :func:`paced` returns the target itself (no cost).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from mailferry.stores.base import (
    AppendItem,
    AppendOutcome,
    FolderListing,
    MessageMeta,
    SourceMessage,
    TargetFolderStatus,
    TargetMailbox,
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: The smallest cap accepted: below it one APPEND command line would take seconds.
MIN_RATE = 1024


@dataclass(frozen=True)
class Bandwidth:
    """Bytes per second written to the target: per mailbox, and per endpoint (all the
    process's mailboxes on that target together); None = no cap."""

    per_mailbox: int | None = None
    per_endpoint: int | None = None

    def __post_init__(self) -> None:
        for name in ("per_mailbox", "per_endpoint"):
            value = getattr(self, name)
            if value is not None and value < MIN_RATE:
                raise ValueError(f"{name} must be at least {MIN_RATE} bytes per second")

    @property
    def capped(self) -> bool:
        return self.per_mailbox is not None or self.per_endpoint is not None


class TokenBucket:
    """``rate`` bytes a second, ``burst`` at once (default: one second's worth)."""

    def __init__(
        self,
        rate: int,
        burst: int | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)

    def delay(self, amount: int) -> float:
        """Reserve ``amount`` bytes; how long to wait before writing them."""
        self._refill()
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def take(self, amount: int) -> None:
        """Wait until ``amount`` bytes may be written."""
        wait = self.delay(amount)
        if wait > 0:
            await self._sleep(wait)


_Key = tuple[str, ...]
_buckets: weakref.WeakValueDictionary[_Key, TokenBucket] = weakref.WeakValueDictionary()


def shared_bucket(key: tuple[str, ...], rate: int) -> TokenBucket:
    """The process's bucket for ``key`` at ``rate`` (kept while someone holds it)."""
    full = (*key, str(rate))
    bucket = _buckets.get(full)
    if bucket is None:
        bucket = TokenBucket(rate)
        _buckets[full] = bucket
    return bucket


def paced(
    target: TargetMailbox, bandwidth: Bandwidth | None, endpoint: str, mailbox: str
) -> TargetMailbox:
    """``target`` with the caps of ``bandwidth`` (the target itself when there are none);
    ``endpoint`` (``imap://host:port``) and ``mailbox`` name the shared buckets."""
    if bandwidth is None or not bandwidth.capped:
        return target
    buckets = []
    if bandwidth.per_mailbox is not None:
        buckets.append(shared_bucket(("mailbox", endpoint, mailbox), bandwidth.per_mailbox))
    if bandwidth.per_endpoint is not None:
        buckets.append(shared_bucket(("endpoint", endpoint), bandwidth.per_endpoint))
    return PacedTarget(target, tuple(buckets))


class PacedTarget:
    """A ``TargetMailbox`` whose appends wait for their buckets (see the module doc)."""

    def __init__(self, inner: TargetMailbox, buckets: tuple[TokenBucket, ...]) -> None:
        self.inner = inner
        self.buckets = buckets
        self.delimiter = inner.delimiter
        self.case_insensitive = inner.case_insensitive
        self.personal_prefix = inner.personal_prefix
        self._part = min(bucket.burst for bucket in buckets)

    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        outcomes: list[AppendOutcome] = []
        for part in _parts(items, self._part):
            size = sum(item.body.size for item in part)
            waits = [bucket.delay(size) for bucket in self.buckets]
            wait = max(waits)
            if wait > 0:
                await asyncio.sleep(wait)
            outcomes += await self.inner.append(folder, part)
        return outcomes

    async def list_folders(self) -> list[FolderListing]:
        return await self.inner.list_folders()

    async def ensure_folder(self, folder: str) -> None:
        await self.inner.ensure_folder(folder)

    async def folder_status(self, folder: str) -> TargetFolderStatus:
        return await self.inner.folder_status(folder)

    async def folder_counts(self, folder: str) -> tuple[int, int] | None:
        return await self.inner.folder_counts(folder)

    async def list_messages(
        self, folder: str, *, min_uid: int = 1
    ) -> tuple[TargetFolderStatus, list[MessageMeta]]:
        return await self.inner.list_messages(folder, min_uid=min_uid)

    async def message_ids(self, folder: str, uids: Sequence[int]) -> Mapping[int, str | None]:
        return await self.inner.message_ids(folder, uids)

    def fetch(self, folder: str, uids: Sequence[int]) -> AsyncIterator[SourceMessage]:
        return self.inner.fetch(folder, uids)

    async def set_flags(self, folder: str, changes: Mapping[int, tuple[str, ...]]) -> None:
        await self.inner.set_flags(folder, changes)

    async def delete(self, folder: str, uids: Sequence[int]) -> None:
        await self.inner.delete(folder, uids)

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)  # what a store offers beyond the protocol


def _parts(items: Sequence[AppendItem], limit: int) -> list[Sequence[AppendItem]]:
    """``items`` in order, in runs of at most ``limit`` bytes (a larger item alone)."""
    parts: list[Sequence[AppendItem]] = []
    start, size = 0, 0
    for index, item in enumerate(items):
        if index > start and size + item.body.size > limit:
            parts.append(items[start:index])
            start, size = index, 0
        size += item.body.size
    if start < len(items):
        parts.append(items[start:])
    return parts
