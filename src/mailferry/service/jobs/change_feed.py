"""What changed since the scheduler last looked: new rows of the event log.

Every action (``batch start``, ``user stop``, SyncNow, new users, an endpoint's caps…)
and every job's start and end records an event after its writes, so a new event is
the cheap "anything changed?" a waiting scheduler asks each poll (one query on the
primary key), and the events' batch ids say which batches to settle again.

Ids are read again a little below the newest seen (``LOOKBACK``): on PostgreSQL a
transaction that took a lower id can commit after one that took a higher id, and would
otherwise be missed. Ids seen within that window are remembered, so nothing counts
twice. (SQLite serialises writers: its ids commit in order.) On SQLite the log is read
only when the database's commit counter moved (``commit_watch``): an idle scheduler's
poll then costs a PRAGMA, not a query.
"""

from __future__ import annotations

from collections.abc import Collection

from mailferry.state.scheduler_queries import SchedulerQueries

LOOKBACK = 64
"""How far below the newest id seen each look starts (more than concurrent writers)."""


class ChangeFeed:
    def __init__(self, store: SchedulerQueries) -> None:
        self._store = store
        self._top: int | None = None
        self._seen: set[int] = set()
        self._commits = store.commit_watch()  # SQLite: nothing committed, nothing new

    def start(self) -> None:
        """From now on: what the log already holds is not new."""
        if self._commits is not None:
            self._commits()  # the count to compare with
        latest = self._store.latest_events(LOOKBACK)
        self._top = max((row.id for row in latest), default=0)
        self._seen = {row.id for row in latest}

    def poll(self, started: Collection[int] = ()) -> set[int | None] | None:
        """The batch ids of the events recorded since the last poll (None for an event
        of no batch), or None when there is none. The start of a job of a user in
        ``started`` (we started it) is no news. Synchronous: a query."""
        if self._top is None:
            self.start()
            return None
        if self._commits is not None and not self._commits():
            return None
        rows = self._store.events_after(self._top - LOOKBACK)
        new = [row for row in rows if row.id not in self._seen]
        if not new:
            return None
        self._top = max(self._top, *(row.id for row in new))
        floor = self._top - LOOKBACK
        self._seen = {i for i in self._seen if i > floor} | {r.id for r in new if r.id > floor}
        news = [r for r in new if not (r.kind == "job_started" and r.user_id in started)]
        return {row.batch_id for row in news} if news else None
