"""The scheduler's reads: each costs what is due or running, never every user (issue 10).

Every query (built once: ``scheduler_statements``) is shaped so that one index of
revision 0005 serves it whatever the planner knows (SQLite has no statistics unless
ANALYZE ran):

- claims: ``claimed_by > ''`` (``ix_migration_users_claimed_by``; SQLite would not use
  it for ``IS NOT NULL``), the other conditions checked on those few rows;
- a batch's users in a status: ``batch_id = ? AND status = ?`` in CSV order
  (``ix_migration_users_batch_id_status_row_id``): due initial and final syncs, Stopping
  and Removing users, and which statuses a batch's users are in (one EXISTS each);
- incremental syncs asked for (SyncNow, a retry): ``status = 'Synced' AND
  sync_requested`` in batch order
  (``ix_migration_users_status_sync_requested_batch_id_row_id``);
- incremental syncs due by time: ``status = 'Synced' AND next_sync_at <= now``, earliest
  first (``ix_migration_users_status_next_sync_at``), and the next one (its minimum);
- the next retry: the minimum ``retry_at`` to come (``ix_migration_users_retry_at``);
- batches by status and StartAfter / CompleteAfter (``ix_batches_status_*``);
- what changed: the event log after an id (its primary key); on SQLite first the
  database's commit counter, so an idle scheduler does not even query.

``SchedulerQueries`` is a mixin of ``ServiceStore``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from mailferry.state import scheduler_statements as sql
from mailferry.state.database import is_memory
from mailferry.state.migration_records import Batch, Endpoint, MigrationUser
from mailferry.state.service_rows import batch_record, endpoint_record, user_record
from mailferry.state.store import StateStore
from mailferry.values.statuses import BatchStatus, UserStatus

_STATUSES = {status.value: status for status in UserStatus}


@dataclass(frozen=True)
class EventRef:
    """An event as the change feed sees it."""

    id: int
    batch_id: int | None
    user_id: int | None
    kind: str


@dataclass(frozen=True)
class ClaimRow:
    """A user row carrying a claim (live or expired)."""

    user_id: int
    batch_id: int
    status: UserStatus
    owner: str
    until: dt.datetime


@dataclass(frozen=True)
class UserRef:
    """Just enough of a user to decide about it: a due job, an orphan, a status."""

    user_id: int
    batch_id: int
    row: int
    status: UserStatus


@dataclass(frozen=True)
class UserSummary:
    """Which statuses a batch's users are in (not how many), and whether a job holds a
    live claim on one: all a batch's next status depends on (``batch_settle``)."""

    statuses: frozenset[UserStatus]
    busy: bool = False

    @classmethod
    def of(cls, users: Sequence[MigrationUser], now: dt.datetime) -> UserSummary:
        """The same summary from loaded users."""
        busy = any(u.claimed_by is not None and (u.claimed_until or now) >= now for u in users)
        return cls(frozenset(u.status for u in users), busy)


class SchedulerQueries(StateStore):
    # -- what changed -----------------------------------------------------------------

    def latest_events(self, count: int) -> list[EventRef]:
        """The last ``count`` events, newest first."""
        return [EventRef(*r) for r in self._rows("latest_events", sql.LATEST_EVENTS, count=count)]

    def commit_watch(self) -> Callable[[], bool] | None:
        """A look cheaper than any query, where there is one: SQLite (a file) counts the
        commits of other connections (``PRAGMA data_version``, on a connection of its
        own), so ``watch()`` says whether anything was committed since its last call
        (True the first time). None elsewhere (PostgreSQL, in-memory SQLite)."""
        url = self._engine.url
        if url.get_backend_name() != "sqlite" or is_memory(self._engine) or not url.database:
            return None
        connection = sqlite3.connect(url.database, isolation_level=None, check_same_thread=False)
        last: list[int | None] = [None]

        def watch() -> bool:
            version = int(connection.execute("PRAGMA data_version").fetchone()[0])
            changed, last[0] = version != last[0], version
            return changed

        weakref.finalize(watch, connection.close)
        return watch

    def events_after(self, floor: int) -> list[EventRef]:
        """The events with an id above ``floor``, oldest first."""
        return [EventRef(*row) for row in self._rows("events_after", sql.EVENTS_AFTER, floor=floor)]

    # -- claims and running jobs --------------------------------------------------------

    def claimed(self) -> list[ClaimRow]:
        """Every user row with a claim, live or expired (as many as jobs run)."""
        return [
            ClaimRow(int(i), int(b), _STATUSES[s], str(owner), until)
            for i, b, s, owner, until in self._rows("claimed", sql.CLAIMED)
        ]

    def in_statuses(self, statuses: Collection[UserStatus]) -> list[tuple[UserRef, bool]]:
        """Users in ``statuses`` (job statuses: as many as jobs run), each with whether
        it carries a claim. (The claim is checked here, not in SQL: ``claimed_by IS
        NULL`` would tempt a planner into the claims index, which holds every user.)"""
        rows = self._rows("in_statuses", sql.IN_STATUSES, statuses=[s.value for s in statuses])
        return [
            (UserRef(int(i), int(b), row, _STATUSES[s]), owner is not None)
            for i, b, row, s, owner in rows
        ]

    def statuses_of(self, user_ids: Collection[int]) -> dict[int, UserStatus]:
        if not user_ids:
            return {}
        rows = self._rows("statuses_of", sql.STATUSES_OF, ids=sorted(user_ids))
        return {int(i): _STATUSES[s] for i, s in rows}

    def winding_users(self, batch_ids: Collection[int]) -> list[MigrationUser]:
        """The Stopping and Removing users of these batches (whose Stop or Remove may
        wait for a job that has ended)."""
        if not batch_ids:
            return []
        rows = self._rows("winding_users", sql.WINDING, batch_ids=sorted(batch_ids))
        return [user_record(row) for row in rows]

    # -- batches ------------------------------------------------------------------------

    def user_summary(self, batch_id: int, now: dt.datetime) -> UserSummary:
        """One EXISTS per status (an index probe each) and one for a live claim."""
        with self._read("user_summary") as connection:
            *found, claimed = connection.execute(sql.SUMMARY, {"batch": batch_id, "now": now}).one()
        statuses = frozenset(s for s, there in zip(UserStatus, found, strict=True) if there)
        return UserSummary(statuses, bool(claimed))

    def last_successful_sync(self, batch_id: int) -> dt.datetime | None:
        """The latest LastSuccessfulSyncTimestamp of the batch's users (when it settles)."""
        with self._read("last_successful_sync") as connection:
            found: dt.datetime | None = connection.execute(
                sql.LAST_SYNC, {"batch": batch_id}
            ).scalar_one()
        return found

    def batches_in(self, statuses: Collection[BatchStatus]) -> list[Batch]:
        rows = self._rows("batches_in", sql.BATCHES_IN, statuses=[s.value for s in statuses])
        return [batch_record(row) for row in rows]

    def batches_by_ids(self, batch_ids: Collection[int]) -> list[Batch]:
        if not batch_ids:
            return []
        rows = self._rows("batches_by_ids", sql.BATCHES_BY_IDS, ids=sorted(batch_ids))
        return [batch_record(row) for row in rows]

    def batches_to_complete(
        self, statuses: Collection[BatchStatus], now: dt.datetime
    ) -> list[Batch]:
        """Batches in ``statuses`` whose CompleteAfter has come."""
        values = [s.value for s in statuses]
        rows = self._rows("batches_to_complete", sql.BATCHES_TO_COMPLETE, statuses=values, now=now)
        return [batch_record(row) for row in rows]

    def reportable_batches(self, statuses: Collection[BatchStatus]) -> list[Batch]:
        """Batches in ``statuses`` with NotificationEmails whose initial sync finished."""
        values = [s.value for s in statuses]
        return [batch_record(r) for r in self._rows("reportable", sql.REPORTABLE, statuses=values)]

    def batch_endpoints(self, batch_ids: Collection[int]) -> dict[int, int]:
        """The source endpoint of each of these batches."""
        if not batch_ids:
            return {}
        rows = self._rows("batch_endpoints", sql.BATCH_ENDPOINTS, ids=sorted(batch_ids))
        return {int(b): int(e) for b, e in rows}

    def endpoints_running(self, statuses: Collection[BatchStatus]) -> list[Endpoint]:
        """The endpoints with a batch in ``statuses``."""
        values = [s.value for s in statuses]
        rows = self._rows("endpoints_running", sql.ENDPOINTS_RUNNING, statuses=values)
        return [endpoint_record(row) for row in rows]

    # -- due jobs and due times ---------------------------------------------------------

    def due_in_batch(
        self, batch_id: int, status: UserStatus, now: dt.datetime, limit: int
    ) -> list[UserRef]:
        """Unclaimed users of the batch in ``status``, not waiting for a retry, in CSV
        order: the first ``limit``."""
        params = {"batch": batch_id, "status": status.value, "now": now, "limit": limit}
        return self._refs("due_in_batch", sql.DUE_IN_BATCH, params)

    def requested_syncs(
        self,
        endpoint_id: int,
        batch_statuses: Collection[BatchStatus],
        now: dt.datetime,
        limit: int,
    ) -> list[UserRef]:
        """Synced users of the endpoint's batches in ``batch_statuses`` with an
        incremental sync asked for (SyncNow, a retry), unclaimed and not waiting for a
        retry, in batch and CSV order: the first ``limit``."""
        params = _endpoint_params(endpoint_id, batch_statuses, now, limit)
        return self._refs("requested_syncs", sql.REQUESTED_SYNCS, params)

    def timed_syncs(
        self,
        endpoint_id: int,
        batch_statuses: Collection[BatchStatus],
        now: dt.datetime,
        limit: int,
    ) -> list[UserRef]:
        """Synced users of the endpoint's batches in ``batch_statuses`` whose next
        incremental sync is due, earliest first: the first ``limit``."""
        params = _endpoint_params(endpoint_id, batch_statuses, now, limit)
        return self._refs("timed_syncs", sql.TIMED_SYNCS, params)

    def next_due(
        self,
        starting: Collection[BatchStatus],
        completing: Collection[BatchStatus],
        now: dt.datetime,
    ) -> dt.datetime | None:
        """The earliest time after ``now`` at which an incremental sync or a retry falls
        due, or a StartAfter (of batches in ``starting``) or CompleteAfter (in
        ``completing``) comes: four index minima in one statement."""
        params = {
            "starting": [s.value for s in starting],
            "completing": [s.value for s in completing],
            "now": now,
        }
        found = [t for t in self._rows("next_due", sql.NEXT_DUE, **params)[0] if t is not None]
        return min(found, default=None)

    def _rows(self, operation: str, query: Select[Any], **params: Any) -> list[Any]:
        with self._read(operation) as connection:
            return list(connection.execute(query, params))

    def _refs(self, operation: str, query: Select[Any], params: dict[str, Any]) -> list[UserRef]:
        return [
            UserRef(int(i), int(b), row, _STATUSES[s])
            for i, b, row, s in self._rows(operation, query, **params)
        ]


def _endpoint_params(
    endpoint_id: int, batch_statuses: Collection[BatchStatus], now: dt.datetime, limit: int
) -> dict[str, Any]:
    statuses = [s.value for s in batch_statuses]
    return {"endpoint": endpoint_id, "batch_statuses": statuses, "now": now, "limit": limit}
