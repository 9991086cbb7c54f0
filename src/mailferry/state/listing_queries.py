"""Read queries behind the listings and reports: a fixed number of queries, whatever the
number of users (issue 10, "the service at 50,000 users").

- a batch's counters come from one aggregate (``GROUP BY batch_id, status``, with the
  users' PercentageComplete summed in SQL), never from loading its users;
- a user listing is one query (the user, its batch's name, whether the batch was ever
  started); a status filter is applied in SQL;
- a report reads its users and the skipped items of the whole batch (joined by mailbox)
  in one query each, row by row on one connection (one snapshot), so a 50,000-user
  report is written as it is read.

``ListingQueries`` is a mixin of ``ServiceStore``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    or_,
    select,
)

from mailferry.state.migration_records import MigrationUser
from mailferry.state.scheduler_statements import has_claim
from mailferry.state.schema import batches, mailboxes, migration_users, skipped_items
from mailferry.state.service_rows import user_query, user_record
from mailferry.state.store import StateStore
from mailferry.values.results import SkippedItem
from mailferry.values.statuses import BatchStatus, UserStatus

U = migration_users.c
S = skipped_items.c
STREAM_ROWS = 1000
"""Rows fetched at a time while a report streams (a server-side cursor on PostgreSQL)."""

NEVER_STARTED_BATCH = frozenset({BatchStatus.CREATED, BatchStatus.REMOVING})
"""With no StartDateTime, a batch in these statuses was never started (Created, or a
Created batch being removed): its users wait for nobody (see ``properties.shown_status``)."""

_SKIPPED_COLUMNS = (S.folder, S.source_uid, S.kind, S.subject, S.sender, S.date, S.size, S.reason)

StatusWhere = tuple[UserStatus, bool | None]
"""A stored status, and whether the user's batch must have been started (None: either)."""


@dataclass(frozen=True)
class ListedUser:
    """A migration user as a listing shows it: with whether its batch was ever started."""

    user: MigrationUser
    batch_started: bool


class UserStatisticsRow(NamedTuple):
    """What a report's row shows of a user: ``MigrationUser``'s attributes of that name
    (PercentageComplete computed in SQL), read as plain rows, for speed."""

    id: int
    email_address: str
    batch: str
    status: UserStatus
    error: str | None
    total_items_in_source: int
    synced_item_count: int
    skipped_item_count: int
    bytes_transferred: int
    estimated_total_bytes: int | None
    percentage_complete: int
    queued_seconds: float
    in_progress_seconds: float
    synced_seconds: float
    stalled_seconds: float
    queued_since: dt.datetime | None
    started_at: dt.datetime | None
    synced_since: dt.datetime | None
    stalled_since: dt.datetime | None
    retry_at: dt.datetime | None
    last_successful_sync_at: dt.datetime | None
    batch_started: bool


@dataclass(frozen=True)
class UserTally:
    """A batch's users counted by stored status, and their PercentageComplete summed."""

    counts: Mapping[UserStatus, int] = field(default_factory=dict)
    percentage_sum: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def of(cls, users: Sequence[MigrationUser]) -> UserTally:
        """The same tally from loaded users (what ``user_tallies`` computes in SQL)."""
        counts: dict[UserStatus, int] = {}
        for u in users:
            counts[u.status] = counts.get(u.status, 0) + 1
        return cls(counts, sum(u.percentage_complete for u in users))


def batch_started_column() -> ColumnElement[bool]:
    """Whether the user's batch was ever started (SQL over the joined ``batches``)."""
    never = [s.value for s in NEVER_STARTED_BATCH]
    return or_(batches.c.started_at.is_not(None), batches.c.status.not_in(never))


def batch_was_started(status: BatchStatus, started_at: dt.datetime | None) -> bool:
    """``batch_started_column`` for a loaded batch."""
    return started_at is not None or status not in NEVER_STARTED_BATCH


def percentage_column() -> ColumnElement[int]:
    """``MigrationUser.percentage_complete`` in SQL (integer arithmetic, rounded down);
    tests/service/test_listing_cost.py checks the two agree."""
    done = U.synced_item_count + U.skipped_item_count
    failed = U.status.in_([UserStatus.FAILED.value, UserStatus.INCREMENTAL_FAILED.value])
    share = (100 * done) // U.total_items_in_source
    complete = and_(U.initial_sync_done.is_(True), ~failed, done >= U.total_items_in_source)
    return case(
        (complete, 100),
        (U.total_items_in_source <= 0, 0),
        (share > 99, 99),
        else_=share,
    )


class UserTotals(NamedTuple):
    """Items and bytes copied and skipped, summed over every migration user."""

    synced_items: int
    skipped_items: int
    bytes_transferred: int


class ListingQueries(StateStore):
    def user_tallies(self, batch_ids: Collection[int] | None = None) -> dict[int, UserTally]:
        """Each batch's tally (all batches with users when ``batch_ids`` is None): one
        aggregate query. A batch without users is absent (its tally is ``UserTally()``)."""
        with self._read("user_tallies") as connection:
            return _tallies(connection, batch_ids)

    def user_totals(self) -> UserTotals:
        """Get-MigrationStatistics' sums: one aggregate over every user."""
        sums = [func.coalesce(func.sum(c), 0) for c in
                (U.synced_item_count, U.skipped_item_count, U.bytes_transferred)]  # fmt: skip
        with self._read("user_totals") as connection:
            row = connection.execute(select(*sums)).one()
        return UserTotals(int(row[0]), int(row[1]), int(row[2]))

    def active_syncs_by_endpoint(self) -> dict[int, tuple[int, int]]:
        """Source endpoint id -> (initial or final syncs running, incremental syncs
        running): Get-MigrationEndpoint's ActiveMigrationCount and
        ActiveIncrementalSyncCount. One aggregate over the users by status (indexed)."""
        initial = (UserStatus.VALIDATING, UserStatus.SYNCING, UserStatus.COMPLETING)
        running = [s.value for s in (*initial, UserStatus.INCREMENTAL_SYNCING)]
        endpoint = batches.c.source_endpoint_id
        query = (
            select(endpoint, U.status, func.count())
            .select_from(migration_users.join(batches, batches.c.id == U.batch_id))
            .where(U.status.in_(running))
            .group_by(endpoint, U.status)
        )
        found: dict[int, tuple[int, int]] = {}
        with self._read("active_syncs_by_endpoint") as connection:
            for endpoint_id, status, count in connection.execute(query):
                first, incremental = found.get(endpoint_id, (0, 0))
                if status == UserStatus.INCREMENTAL_SYNCING.value:
                    incremental += count
                else:
                    first += count
                found[endpoint_id] = (first, incremental)
        return found

    def listed_users(
        self,
        *,
        batch_id: int | None = None,
        email_key: str | None = None,
        statuses: Collection[StatusWhere] | None = None,
    ) -> list[ListedUser]:
        """Users in CSV order (batch, row), filtered in SQL: one query."""
        query = _listed_query()
        if batch_id is not None:
            query = query.where(U.batch_id == batch_id)
        if email_key is not None:
            query = query.where(U.email_key == email_key)
        if statuses is not None:
            query = query.where(_status_condition(statuses))
        with self._read("listed_users") as connection:
            return [_listed(row) for row in connection.execute(query)]

    def listed_users_page(
        self,
        *,
        batch_id: int | None = None,
        statuses: Collection[StatusWhere] | None = None,
        after_key: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[ListedUser], int]:
        """A page of users in address order (keyset: the users whose ``email_key`` is
        above ``after_key``, at most ``limit``), and how many match in all: two queries
        on one connection (one snapshot), whatever the page or the batch's size."""
        where: list[ColumnElement[bool]] = []
        if batch_id is not None:
            where.append(U.batch_id == batch_id)
        if statuses is not None:
            where.append(_status_condition(statuses))
        total = select(func.count()).select_from(migration_users.join(batches)).where(*where)
        query = user_query().add_columns(batch_started_column().label("batch_started"))
        query = query.where(*where).order_by(U.email_key)
        if after_key is not None:
            query = query.where(U.email_key > after_key)
        if limit is not None:
            query = query.limit(limit)
        with self._read("listed_users_page") as connection:
            count = int(connection.execute(total).scalar_one())
            return [_listed(row) for row in connection.execute(query)], count

    def mailbox_skipped(self, mailbox_key: str, limit: int | None = None) -> list[SkippedItem]:
        """One mailbox's skipped items in the order recorded, found by its key (nothing
        is created for a mailbox that never ran: ``StateStore.mailbox_id`` would)."""
        query = (
            select(*_SKIPPED_COLUMNS)
            .join(mailboxes, mailboxes.c.id == S.mailbox_id)
            .where(mailboxes.c.key == mailbox_key)
            .order_by(S.id)
            .limit(limit)
        )
        with self._read("mailbox_skipped") as connection:
            return [SkippedItem(*row) for row in connection.execute(query)]

    def live_claims_by_owner(
        self, endpoint_id: int, owner: str, now: dt.datetime
    ) -> tuple[set[int], int]:
        with self._read("live_claims_by_owner") as connection:
            return live_claims_by_owner(connection, endpoint_id, owner, now)

    @contextlib.contextmanager
    def report_reader(self, batch_id: int) -> Iterator[ReportReader]:
        """A reader of one batch's report rows, all on one connection (one snapshot)."""
        with self._read("report") as connection:
            yield ReportReader(connection, batch_id)


class ReportReader:
    """Iterators over one batch's users and skipped items, row by row."""

    def __init__(self, connection: Connection, batch_id: int) -> None:
        self._connection = connection
        self._batch_id = batch_id

    def tally(self) -> UserTally:
        """The batch's user tally, in the same snapshot as the rows."""
        return _tallies(self._connection, [self._batch_id]).get(self._batch_id, UserTally())

    def users(self) -> Iterator[tuple[UserStatisticsRow, int]]:
        """Each user (CSV order) with how many skipped items it has: one query."""
        count = (
            select(func.count())
            .select_from(skipped_items.join(mailboxes, mailboxes.c.id == S.mailbox_id))
            .where(mailboxes.c.key == U.mailbox_key)
            .scalar_subquery()
        )
        query = _statistics_query(self._batch_id).add_columns(count)
        for row in self._rows(query):
            yield _statistics(row), int(row[-1])

    def users_with_items(self) -> Iterator[tuple[UserStatisticsRow, list[SkippedItem]]]:
        """Each user (CSV order) with its skipped items: one outer-joined query."""
        query = (
            _statistics_query(self._batch_id)
            .add_columns(S.id, *_SKIPPED_COLUMNS)
            .outerjoin(mailboxes, mailboxes.c.key == U.mailbox_key)
            .outerjoin(skipped_items, S.mailbox_id == mailboxes.c.id)
            .order_by(S.id)
        )
        current: UserStatisticsRow | None = None
        items: list[SkippedItem] = []
        for row in self._rows(query):
            if current is None or current.id != row[0]:
                if current is not None:
                    yield current, items
                current, items = _statistics(row), []
            if row[_WIDTH] is not None:  # the skipped item's id: None when it has none
                items.append(SkippedItem(*row[_WIDTH + 1 :]))
        if current is not None:
            yield current, items

    def skipped(self) -> Iterator[tuple[str, SkippedItem]]:
        """Every skipped item of the batch (users in CSV order, items in the order
        recorded) with its user's address: one query joined by mailbox."""
        query = (
            select(U.email_address, *_SKIPPED_COLUMNS)
            .select_from(skipped_items)
            .join(mailboxes, mailboxes.c.id == S.mailbox_id)
            .join(migration_users, U.mailbox_key == mailboxes.c.key)
            .where(U.batch_id == self._batch_id)
            .order_by(U.row, U.id, S.id)
        )
        for row in self._rows(query):
            yield row[0], SkippedItem(*row[1:])

    def _rows(self, query: Select[Any]) -> Iterator[Sequence[Any]]:
        """Rows as the cursor yields them, ``STREAM_ROWS`` at a time (a server-side
        cursor on PostgreSQL); tuples, not records (the hot path of a big report)."""
        yield from self._connection.execute(query.execution_options(yield_per=STREAM_ROWS))


def _tallies(connection: Connection, batch_ids: Collection[int] | None) -> dict[int, UserTally]:
    percentage = func.coalesce(func.sum(percentage_column()), 0)
    query = select(U.batch_id, U.status, func.count(), percentage).group_by(U.batch_id, U.status)
    if batch_ids is not None:
        query = query.where(U.batch_id.in_(list(batch_ids)))
    counts: dict[int, dict[UserStatus, int]] = {}
    sums: dict[int, int] = {}
    for batch_id, status, count, summed in connection.execute(query):
        counts.setdefault(batch_id, {})[UserStatus(status)] = int(count)
        sums[batch_id] = sums.get(batch_id, 0) + int(summed)
    return {b: UserTally(counts[b], sums[b]) for b in counts}


_LIVE_CLAIMS = select(U.id, U.claimed_by).where(
    has_claim(),
    U.claimed_until >= bindparam("now"),
    (U.batch_id + 0).in_(
        select(batches.c.id).where(batches.c.source_endpoint_id == bindparam("e"))
    ),
)
"""Through the claims index, built once (a join led from the batches reads all their
users; building costs more than running)."""


def live_claims_by_owner(
    connection: Connection, endpoint_id: int, owner: str, now: dt.datetime
) -> tuple[set[int], int]:
    """(ids of the users ``owner`` holds a live claim on, live claims of other owners)
    on the endpoint: what its connection budget needs (``service/jobs/connection_budget.py``)."""
    mine: set[int] = set()
    others = 0
    for user_id, claimed_by in connection.execute(_LIVE_CLAIMS, {"e": endpoint_id, "now": now}):
        if claimed_by == owner:
            mine.add(int(user_id))
        else:
            others += 1
    return mine, others


_STATISTICS_COLUMNS: tuple[Any, ...] = (
    U.id, U.email_address, batches.c.name, U.status, U.error, U.total_items_in_source,
    U.synced_item_count, U.skipped_item_count, U.bytes_transferred, U.estimated_total_bytes,
)  # fmt: skip
_STATISTICS_SECONDS = (U.queued_seconds, U.in_progress_seconds, U.synced_seconds, U.stalled_seconds)
_STATISTICS_TIMES = (
    U.queued_since, U.started_at, U.synced_since, U.stalled_since, U.retry_at,
    U.last_successful_sync_at,
)  # fmt: skip
_STATUSES = {status.value: status for status in UserStatus}
_WIDTH = len(UserStatisticsRow._fields)


def _statistics_query(batch_id: int) -> Select[Any]:
    """``UserStatisticsRow``'s columns, in its order, of one batch's users (CSV order)."""
    columns = (
        *_STATISTICS_COLUMNS, percentage_column(), *_STATISTICS_SECONDS, *_STATISTICS_TIMES,
        batch_started_column(),
    )  # fmt: skip
    return (
        select(*columns)
        .select_from(migration_users.join(batches))
        .where(U.batch_id == batch_id)
        .order_by(U.row, U.id)
    )


def _statistics(row: Sequence[Any]) -> UserStatisticsRow:
    """A row of ``_statistics_query`` (the status as its enum, the flag as a bool)."""
    last = _WIDTH - 1
    return UserStatisticsRow._make((*row[:3], _STATUSES[row[3]], *row[4:last], bool(row[last])))


class _Row:
    """What ``user_record`` reads: a row's ``_mapping``."""

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._mapping = mapping


def _listed_query() -> Select[Any]:
    return (
        user_query()
        .add_columns(batch_started_column().label("batch_started"))
        .order_by(U.batch_id, U.row, U.id)
    )


def _listed(row: Any) -> ListedUser:
    values = dict(row._mapping)
    started = bool(values.pop("batch_started"))
    return ListedUser(user_record(_Row(values)), started)


def _status_condition(statuses: Collection[StatusWhere]) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    for status, started in statuses:
        condition = U.status == status.value
        if started is not None:
            began = batch_started_column()
            condition = and_(condition, began if started else ~began)
        conditions.append(condition)
    return or_(false(), *conditions)
