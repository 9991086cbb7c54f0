"""The scheduler's reads: each costs what is due or running, never every user (issue 10).

Every query is shaped so that one index of revision 0005 serves it whatever the
planner knows (SQLite has no statistics unless ANALYZE ran):

- claims: ``claimed_by > ''`` (``ix_migration_users_claimed_by``; SQLite would not use
  it for ``IS NOT NULL``), the other conditions checked on those few rows;
- a batch's users in a status: ``batch_id = ? AND status = ?`` in CSV order
  (``ix_migration_users_batch_id_status_row``): due initial and final syncs, Stopping
  and Removing users, and which statuses a batch's users are in (one EXISTS each);
- incremental syncs asked for (SyncNow, a retry): ``status = 'Synced' AND
  sync_requested`` in batch order (``ix_migration_users_status_sync_requested_batch_id_row``);
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

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, or_, select, true

from mailferry.state.database import is_memory
from mailferry.state.migration_records import Batch, MigrationUser
from mailferry.state.schema import batches, events, migration_users
from mailferry.state.service_rows import batch_query, batch_record, user_query, user_record
from mailferry.state.statuses import BatchStatus, UserStatus
from mailferry.state.store import StateStore

U = migration_users.c
B = batches.c
_CLAIMABLE = (
    UserStatus.VALIDATING, UserStatus.SYNCING, UserStatus.INCREMENTAL_SYNCING,
    UserStatus.COMPLETING, UserStatus.STOPPING, UserStatus.REMOVING,
)  # fmt: skip
"""The statuses a user holds a claim in (a job releases its claim with its last status)."""
_WINDING = (UserStatus.STOPPING.value, UserStatus.REMOVING.value)
_STATUSES = {status.value: status for status in UserStatus}
_EVENTS_AFTER = (
    select(events.c.id, events.c.batch_id)
    .where(events.c.id > bindparam("floor"))
    .order_by(events.c.id)
)


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

    def latest_events(self, count: int) -> list[tuple[int, int | None]]:
        """(id, batch_id) of the last ``count`` events, newest first."""
        query = select(events.c.id, events.c.batch_id).order_by(events.c.id.desc()).limit(count)
        with self._read("latest_events") as connection:
            return [(int(i), b) for i, b in connection.execute(query)]

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

    def events_after(self, floor: int) -> list[tuple[int, int | None]]:
        """(id, batch_id) of the events with an id above ``floor``, oldest first (the
        poll of an idle scheduler: one statement, built once)."""
        with self._read("events_after") as connection:
            return [(int(i), b) for i, b in connection.execute(_EVENTS_AFTER, {"floor": floor})]

    # -- claims and running jobs --------------------------------------------------------

    def claimed(self) -> list[ClaimRow]:
        """Every user row with a claim, live or expired (as many as jobs run)."""
        query = select(U.id, U.batch_id, U.status, U.claimed_by, U.claimed_until).where(
            has_claim()
        )
        with self._read("claimed") as connection:
            return [
                ClaimRow(int(i), int(b), _STATUSES[s], str(owner), until)
                for i, b, s, owner, until in connection.execute(query)
            ]

    def in_statuses(self, statuses: Collection[UserStatus]) -> list[tuple[UserRef, bool]]:
        """Users in ``statuses`` (job statuses: as many as jobs run), each with whether
        it carries a claim. (The claim is checked here, not in SQL: ``claimed_by IS
        NULL`` would tempt a planner into the claims index, which holds every user.)"""
        query = select(U.id, U.batch_id, U.row, U.status, U.claimed_by).where(
            U.status.in_([s.value for s in statuses])
        )
        with self._read("in_statuses") as connection:
            return [
                (UserRef(int(i), int(b), row, _STATUSES[s]), owner is not None)
                for i, b, row, s, owner in connection.execute(query)
            ]

    def statuses_of(self, user_ids: Collection[int]) -> dict[int, UserStatus]:
        if not user_ids:
            return {}
        query = select(U.id, U.status).where(U.id.in_(sorted(user_ids)))
        with self._read("statuses_of") as connection:
            return {int(i): _STATUSES[s] for i, s in connection.execute(query)}

    def winding_users(self, batch_ids: Collection[int]) -> list[MigrationUser]:
        """The Stopping and Removing users of these batches (whose Stop or Remove may
        wait for a job that has ended)."""
        if not batch_ids:
            return []
        query = user_query().where(U.batch_id.in_(sorted(batch_ids)), U.status.in_(_WINDING))
        with self._read("winding_users") as connection:
            return [user_record(row) for row in connection.execute(query)]

    # -- batches ------------------------------------------------------------------------

    def user_summary(self, batch_id: int, now: dt.datetime) -> UserSummary:
        """One EXISTS per status (an index probe each) and one for a live claim."""
        present = [
            exists().where(U.batch_id == batch_id, U.status == status.value)
            for status in UserStatus
        ]
        busy = exists().where(
            U.batch_id == batch_id,
            U.status.in_([s.value for s in _CLAIMABLE]),
            has_claim(),
            U.claimed_until >= now,
        )
        with self._read("user_summary") as connection:
            *found, claimed = connection.execute(select(*present, busy)).one()
        statuses = frozenset(s for s, there in zip(UserStatus, found, strict=True) if there)
        return UserSummary(statuses, bool(claimed))

    def last_successful_sync(self, batch_id: int) -> dt.datetime | None:
        """The latest LastSuccessfulSyncTime of the batch's users (when it settles)."""
        query = select(func.max(U.last_successful_sync_at)).where(U.batch_id == batch_id)
        with self._read("last_successful_sync") as connection:
            found: dt.datetime | None = connection.execute(query).scalar_one()
        return found

    def batches_by_ids(self, batch_ids: Collection[int]) -> list[Batch]:
        if not batch_ids:
            return []
        query = batch_query().where(B.id.in_(sorted(batch_ids)))
        with self._read("batches_by_ids") as connection:
            return [batch_record(row) for row in connection.execute(query)]

    def batches_to_complete(
        self, statuses: Collection[BatchStatus], now: dt.datetime
    ) -> list[Batch]:
        """Batches in ``statuses`` whose CompleteAfter has come."""
        query = batch_query().where(
            B.status.in_([s.value for s in statuses]), B.complete_after <= now
        )
        with self._read("batches_to_complete") as connection:
            return [batch_record(row) for row in connection.execute(query)]

    def reportable_batches(self, statuses: Collection[BatchStatus]) -> list[Batch]:
        """Batches in ``statuses`` with NotificationEmails whose initial sync finished."""
        query = batch_query().where(
            B.status.in_([s.value for s in statuses]),
            B.notification_emails != "[]",
            B.initial_sync_finished_at.is_not(None),
        )
        with self._read("reportable_batches") as connection:
            return [batch_record(row) for row in connection.execute(query)]

    # -- due jobs and due times ---------------------------------------------------------

    def due_in_batch(
        self, batch_id: int, status: UserStatus, now: dt.datetime, limit: int
    ) -> list[UserRef]:
        """Unclaimed users of the batch in ``status``, not waiting for a retry, in CSV
        order: the first ``limit``."""
        query = (
            select(U.id, U.batch_id, U.row, U.status)
            .where(U.batch_id == batch_id, U.status == status.value, *_free(now))
            .order_by(U.row, U.id)
            .limit(limit)
        )
        return self._refs("due_in_batch", query)

    def requested_syncs(
        self, batch_ids: Select[Any], now: dt.datetime, limit: int
    ) -> list[UserRef]:
        """Synced users of the batches ``batch_ids`` selects with an incremental sync
        asked for (SyncNow, a retry), unclaimed and not waiting for a retry, in batch
        and CSV order: the first ``limit``."""
        query = (
            select(U.id, U.batch_id, U.row, U.status)
            .where(
                U.status == UserStatus.SYNCED.value,
                U.sync_requested == true(),
                U.batch_id.in_(batch_ids),
                *_free(now),
            )
            .order_by(U.batch_id, U.row, U.id)
            .limit(limit)
        )
        return self._refs("requested_syncs", query)

    def timed_syncs(self, batch_ids: Select[Any], now: dt.datetime, limit: int) -> list[UserRef]:
        """Synced users of the batches ``batch_ids`` selects whose next incremental
        sync is due, earliest first. (``batch_id + 0``: the batch condition must not
        lead the query through the batch index, over every synced user.)"""
        query = (
            select(U.id, U.batch_id, U.row, U.status)
            .where(
                U.status == UserStatus.SYNCED.value,
                U.next_sync_at <= now,
                (U.batch_id + 0).in_(batch_ids),
                *_free(now),
            )
            .order_by(U.next_sync_at, U.id)
            .limit(limit)
        )
        return self._refs("timed_syncs", query)

    def batch_endpoints(self, batch_ids: Collection[int]) -> dict[int, int]:
        """The source endpoint of each of these batches."""
        if not batch_ids:
            return {}
        query = select(B.id, B.source_endpoint_id).where(B.id.in_(sorted(batch_ids)))
        with self._read("batch_endpoints") as connection:
            return {int(b): int(e) for b, e in connection.execute(query)}

    def endpoints_running(self, statuses: Collection[BatchStatus]) -> set[int]:
        """The endpoints with a batch in ``statuses``."""
        query = select(B.source_endpoint_id).where(B.status.in_([s.value for s in statuses]))
        with self._read("endpoints_running") as connection:
            return {int(e) for e in connection.execute(query.distinct()).scalars()}

    def next_user_due(self, now: dt.datetime) -> dt.datetime | None:
        """The earliest time after ``now`` at which an incremental sync or a retry falls
        due (index minima: two probes)."""
        synced = select(func.min(U.next_sync_at)).where(
            U.status == UserStatus.SYNCED.value, U.next_sync_at > now
        )
        retry = select(func.min(U.retry_at)).where(U.retry_at > now)
        return self._earliest("next_user_due", [synced, retry])

    def next_batch_due(
        self,
        starting: Collection[BatchStatus],
        completing: Collection[BatchStatus],
        now: dt.datetime,
    ) -> dt.datetime | None:
        """The earliest StartAfter (of batches in ``starting``) or CompleteAfter (in
        ``completing``) after ``now``."""
        start = select(func.min(B.start_after)).where(
            B.status.in_([s.value for s in starting]), B.start_after > now
        )
        complete = select(func.min(B.complete_after)).where(
            B.status.in_([s.value for s in completing]), B.complete_after > now
        )
        return self._earliest("next_batch_due", [start, complete])

    def _refs(self, operation: str, query: Select[Any]) -> list[UserRef]:
        with self._read(operation) as connection:
            return [
                UserRef(int(i), int(b), row, _STATUSES[s])
                for i, b, row, s in connection.execute(query)
            ]

    def _earliest(self, operation: str, minima: Sequence[Select[Any]]) -> dt.datetime | None:
        query = select(*(m.scalar_subquery() for m in minima))
        with self._read(operation) as connection:
            found = [value for value in connection.execute(query).one() if value is not None]
        return min(found, default=None)


def has_claim() -> ColumnElement[bool]:
    """``claimed_by`` set, as a range the claims index serves (SQLite reads the whole
    table for ``IS NOT NULL``); owners are never empty, and NULL > '' is not true."""
    return U.claimed_by > ""


def batches_of(endpoint_id: int, statuses: Collection[BatchStatus]) -> Select[Any]:
    """The ids of the endpoint's batches in ``statuses`` (a subquery)."""
    return select(B.id).where(
        B.source_endpoint_id == endpoint_id, B.status.in_([s.value for s in statuses])
    )


def _free(now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    """Unclaimed and not waiting for a retry."""
    return (U.claimed_by.is_(None), or_(U.retry_at.is_(None), U.retry_at <= now))
