"""The live event stream (Server-Sent Events) of status and progress changes.

Two kinds of messages:

- every row of the event log (a batch started, a user's job finished, an endpoint
  changed…): ``id:`` is the event's id, ``event:`` its kind, ``data:`` its JSON view; a
  client that reconnects with ``Last-Event-ID`` gets what it missed, in order;
- ``event: progress`` (no id: a snapshot, not history): a working batch's
  Get-MigrationBatch view when it changed, at most every ``progress_seconds``. A job
  writes its counters every few seconds without logging an event, so this is how a
  percentage moves on a screen.

Each connection polls the database (in a worker thread) every ``poll_seconds``: one
query on the event log's primary key when nothing happens (a transient failure, the
database busy for a moment, only skips a poll). Memory per connection is
bounded: a page of events at a time, the ids of a few recent gaps, the views of the
batches it is watching; the response is sent with the server's flow control, so a slow
client holds back its own stream only.

PostgreSQL may commit a lower event id after a higher one (two writers), so an id
skipped over is looked for again for ``GAP_SECONDS`` (SQLite commits ids in order).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from mailferry.errors import MailferryError

T = TypeVar("T")

Event = Mapping[str, Any]
ReadEvents = Callable[[int, int], Sequence[Event]]
"""``(after, limit)`` → the next events by id (the façade's ``events``)."""
ReadBatch = Callable[[str], Mapping[str, Any] | None]
"""A batch's view, or None once it is gone."""

GAP_SECONDS = 5.0
MAX_GAPS = 64
GAP_SPAN = 512
"""Gaps further below the newest id than this are given up (bounds a re-read)."""
MAX_READ = 1000
"""The most events the façade returns in one call."""
SETTLED_BATCH = frozenset(
    {"Created", "Synced", "SyncedWithErrors", "Stopped", "Completed", "CompletedWithErrors"}
    | {"Failed"}
)
"""Batch statuses with nothing to do until someone acts or time passes (the scheduler's)."""


@dataclass(frozen=True)
class StreamSettings:
    poll_seconds: float = 0.2
    keepalive_seconds: float = 15.0
    progress_seconds: float = 2.0
    page: int = 100
    retry_ms: int = 2000


def event_message(event: Event) -> str:
    """One event as an SSE message (JSON has no raw newlines: one ``data:`` line)."""
    kind = "".join(ch for ch in str(event.get("Kind", "event")) if ch.isprintable())
    data = json.dumps(event, separators=(",", ":"), default=str)
    return f"id: {int(event['Id'])}\nevent: {kind}\ndata: {data}\n\n"


def progress_message(view: Mapping[str, Any]) -> str:
    return f"event: progress\ndata: {json.dumps(view, separators=(',', ':'), default=str)}\n\n"


class EventCursor:
    """Which events a stream has sent: everything up to ``top``, except the ``gaps``
    (ids skipped over, looked for again for a while)."""

    def __init__(self, after: int) -> None:
        self.top = after
        self.gaps: dict[int, float] = {}  # id -> when it was skipped

    def floor(self, now: float) -> int:
        """Read the log after this id: below the oldest gap still looked for."""
        low = self.top - GAP_SPAN
        self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_SECONDS and i > low}
        return min(self.gaps) - 1 if self.gaps else self.top

    def take(self, rows: Sequence[Event], now: float) -> list[Event]:
        """The rows not sent yet, in id order; notes the ids skipped over."""
        fresh = []
        for row in sorted(rows, key=lambda r: int(r["Id"])):
            number = int(row["Id"])
            if number > self.top:
                if number - self.top - 1 <= MAX_GAPS:
                    self.gaps.update(dict.fromkeys(range(self.top + 1, number), now))
                self.top = number
                fresh.append(row)
            elif self.gaps.pop(number, None) is not None:
                fresh.append(row)
        if len(self.gaps) > MAX_GAPS:
            self.gaps = dict(sorted(self.gaps.items())[-MAX_GAPS:])
        return fresh


class ProgressWatch:
    """The working batches a stream reports the progress of, and what it last sent."""

    def __init__(self, batches: Collection[str], only: str | None) -> None:
        self.only = only
        self.sent: dict[str, Mapping[str, Any] | None] = {
            name: None for name in batches if only is None or name == only
        }

    def notice(self, event: Event) -> None:
        name = event.get("Batch")
        if isinstance(name, str) and (self.only is None or name == self.only):
            self.sent.setdefault(name, None)

    def changed(self, read: ReadBatch) -> list[Mapping[str, Any]]:
        """Read the watched batches: the views that changed (settled ones stop being
        watched once their last view is sent). Synchronous: runs in a worker thread."""
        out = []
        for name, before in list(self.sent.items()):
            view = read(name)
            settled = view is None or view.get("Status") in SETTLED_BATCH
            if view is not None and view != before and (before is not None or not settled):
                out.append(view)  # a batch watched while it worked gets its final view too
            if settled:
                del self.sent[name]
            else:
                self.sent[name] = view
        return out


def accepts(batch: str | None) -> Callable[[Event], bool]:
    return (lambda _event: True) if batch is None else (lambda event: event.get("Batch") == batch)


async def event_stream(
    read_events: ReadEvents,
    read_batch: ReadBatch,
    cursor: EventCursor,
    watch: ProgressWatch,
    settings: StreamSettings,
) -> AsyncIterator[str]:
    """The SSE text of a connection, forever (the server ends it when the client goes)."""
    wanted = accepts(watch.only)
    yield f"retry: {settings.retry_ms}\n\n"
    last_sent = last_progress = time.monotonic()
    while True:
        floor = cursor.floor(time.monotonic())
        limit = min(settings.page + (cursor.top - floor), MAX_READ)
        rows = await _transient_ok(read_events, floor, limit)
        if rows is None:
            await asyncio.sleep(settings.poll_seconds)  # the database is busy: next poll
            continue
        for event in cursor.take(rows, time.monotonic()):
            watch.notice(event)
            if wanted(event):
                yield event_message(event)
                last_sent = time.monotonic()
        if len(rows) >= limit:
            continue  # more waiting: no pause
        now = time.monotonic()
        if watch.sent and now - last_progress >= settings.progress_seconds:
            last_progress = now
            for view in await _transient_ok(watch.changed, read_batch) or ():
                yield progress_message(view)
                last_sent = now
        if now - last_sent >= settings.keepalive_seconds:
            yield ": keep-alive\n\n"
            last_sent = now
        await asyncio.sleep(settings.poll_seconds)


async def _transient_ok(read: Callable[..., T], *args: Any) -> T | None:
    """``read(*args)`` in a worker thread; None when it failed in a passing way (the
    database busy or unreachable for a moment): the stream goes on."""
    try:
        return await run_in_threadpool(read, *args)
    except MailferryError as error:
        if not error.transient:
            raise
        return None
