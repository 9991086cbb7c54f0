"""Migration users: reads, compare-and-set updates, and claims (leases) for jobs.

A claim is how "never two jobs on one mailbox" and the endpoint caps hold across
processes: a job may run only while its user row carries the worker's ``claimed_by``
and an unexpired ``claimed_until``. Claims are taken in one write transaction that
first counts the endpoint's live claims, so two workers can't both take the last slot
(SQLite serialises write transactions; PostgreSQL takes a per-endpoint advisory lock).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Update, bindparam, or_, select, text, update

from mailferry.state.migration_records import MigrationUser
from mailferry.state.scheduler_statements import has_claim
from mailferry.state.schema import batches, migration_users
from mailferry.state.service_rows import user_query, user_record, user_values
from mailferry.state.store import StateStore
from mailferry.values.statuses import UserStatus

U = migration_users.c
INCREMENTAL_JOBS = (UserStatus.INCREMENTAL_SYNCING, UserStatus.COMPLETING)
"""Jobs counted against MaxConcurrentIncrementalSyncs (the final sync is incremental)."""
_ENDPOINT_BATCHES = select(batches.c.id).where(batches.c.source_endpoint_id == bindparam("e"))
_LIVE_CLAIMS = select(U.batch_id, U.status).where(has_claim(), U.claimed_until >= bindparam("now"))
_TAKEN = select(U.id).where(
    U.id.in_(bindparam("ids", expanding=True)),
    U.claimed_by == bindparam("owner"),
    U.claimed_until == bindparam("until"),
)
"""Of these users, the ones claimed with this owner and lease (just taken)."""


@dataclass(frozen=True)
class ClaimRequest:
    """Take ``user_id`` (now in ``expect``) into ``status`` if the caps allow it."""

    user_id: int
    expect: UserStatus
    status: UserStatus
    incremental: bool
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class Caps:
    """The endpoint's limits: initial syncs, incremental syncs, both together."""

    initial: int
    incremental: int
    total: int


class UserRows(StateStore):
    def users(
        self,
        *,
        batch_id: int | None = None,
        statuses: Collection[UserStatus] | None = None,
        email_key: str | None = None,
        endpoint_id: int | None = None,
    ) -> list[MigrationUser]:
        query = user_query().order_by(U.batch_id, U.row, U.id)
        if batch_id is not None:
            query = query.where(U.batch_id == batch_id)
        if statuses is not None:
            query = query.where(U.status.in_([s.value for s in statuses]))
        if email_key is not None:
            query = query.where(U.email_key == email_key)
        if endpoint_id is not None:
            query = query.where(batches.c.source_endpoint_id == endpoint_id)
        with self._read("users") as connection:
            return [user_record(row) for row in connection.execute(query)]

    def user_by_id(self, user_id: int) -> MigrationUser | None:
        with self._read("user_by_id") as connection:
            row = connection.execute(_USER_BY_ID, {"b_id": user_id}).one_or_none()
        return None if row is None else user_record(row)

    def active_addresses(self) -> dict[str, str]:
        """Every address with a migration user, mapped to its batch's name."""
        query = select(U.email_address, batches.c.name).join(batches)
        with self._read("active_addresses") as connection:
            return {address: batch for address, batch in connection.execute(query)}

    def update_user(
        self,
        user_id: int,
        changes: Mapping[str, Any],
        *,
        expect: Collection[UserStatus] | None = None,
        owner: str | None = None,
    ) -> bool:
        """Apply ``changes`` if the user is (still) in ``expect`` and claimed by ``owner``
        (when given); False when the row no longer matches (someone else changed it)."""
        values = user_values(changes)
        statement = _update_statement(tuple(sorted(values)), expect is not None, owner is not None)
        params: dict[str, Any] = {f"v_{name}": value for name, value in values.items()}
        params["b_id"] = user_id
        if expect is not None:
            params["b_expect"] = [s.value for s in expect]
        if owner is not None:
            params["b_owner"] = owner
        return self._write("update_user", lambda c: c.execute(statement, params).rowcount == 1)

    def update_batch_users(
        self, batch_id: int, changes: Mapping[str, Any], expect: Collection[UserStatus]
    ) -> int:
        statement = (
            update(migration_users)
            .where(U.batch_id == batch_id, U.status.in_([s.value for s in expect]))
            .values(user_values(changes))
        )
        return self._write("update_batch_users", lambda c: int(c.execute(statement).rowcount))

    # -- claims ---------------------------------------------------------------------

    def live_claims(self, endpoint_id: int, now: dt.datetime) -> tuple[int, int]:
        """(initial, incremental) jobs holding a live claim on the endpoint."""
        with self._read("live_claims") as connection:
            return _count_claims(connection, endpoint_id, now)

    def claim(
        self,
        endpoint_id: int,
        requests: Sequence[ClaimRequest],
        caps: Caps,
        owner: str,
        now: dt.datetime,
        until: dt.datetime,
        *,
        beyond: Callable[[Connection], int] | None = None,
    ) -> list[int]:
        """Claim as many of ``requests`` (in order) as the caps allow; their ids.

        ``beyond`` (issue 10, ``service/connection_budget.claim_budget``): the endpoint's
        source connections in use beyond one per live claim (extra session pairs),
        counted in this transaction; they take from ``caps.total`` too."""

        def run(connection: Connection) -> list[int]:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(1, :e)"), {"e": endpoint_id})
            initial, incremental = _count_claims(connection, endpoint_id, now)
            extra = 0 if beyond is None else beyond(connection)
            chosen: list[ClaimRequest] = []
            for request in requests:
                if initial + incremental + extra >= caps.total:
                    break
                if request.incremental and incremental >= caps.incremental:
                    continue
                if not request.incremental and initial >= caps.initial:
                    continue
                chosen.append(request)
                incremental += request.incremental
                initial += not request.incremental
            return _take(connection, chosen, owner, now, until)

        return self._write("claim", run)

    def renew_claims(self, owner: str, until: dt.datetime) -> int:
        statement = update(migration_users).where(U.claimed_by == owner).values(claimed_until=until)
        return self._write("renew_claims", lambda c: int(c.execute(statement).rowcount))

    def stale_claims(
        self, now: dt.datetime, dead_owners: Collection[str], running: Collection[UserStatus]
    ) -> list[MigrationUser]:
        """Users claimed by an owner that is gone (expired lease or a known-dead owner),
        and users left in a ``running`` status without any claim. Two queries, each
        through an index: the claims, and the users in ``running`` statuses."""
        expired = or_(U.claimed_until < now, U.claimed_by.in_(list(dead_owners)))
        claimed = user_query().where(has_claim(), expired)
        in_running = user_query().where(U.status.in_([s.value for s in running]))
        with self._read("stale_claims") as connection:
            found = [user_record(row) for row in connection.execute(claimed)]
            found += [
                user
                for user in map(user_record, connection.execute(in_running))
                if user.claimed_by is None
            ]
        return found


_USER_BY_ID = user_query().where(U.id == bindparam("b_id"))


@functools.lru_cache(maxsize=512)
def _update_statement(columns: tuple[str, ...], expect: bool, owner: bool) -> Update:
    """``update_user``'s statement for these columns, built once (a job writes its user
    a handful of times, always the same few shapes; building costs more than running)."""
    values = {name: bindparam(f"v_{name}", type_=U[name].type) for name in columns}
    statement = update(migration_users).where(U.id == bindparam("b_id")).values(values)
    if expect:
        statement = statement.where(U.status.in_(bindparam("b_expect", expanding=True)))
    if owner:
        statement = statement.where(U.claimed_by == bindparam("b_owner"))
    return statement


def _count_claims(connection: Connection, endpoint_id: int, now: dt.datetime) -> tuple[int, int]:
    """Read through the claims index (as many rows as jobs run, whatever the number of
    users), the endpoint's batches matched here rather than by a join a planner could
    lead from the batches, over all their users."""
    endpoint_batches = set(connection.execute(_ENDPOINT_BATCHES, {"e": endpoint_id}).scalars())
    incremental = {s.value for s in INCREMENTAL_JOBS}
    counts = [0, 0]
    for batch_id, status in connection.execute(_LIVE_CLAIMS, {"now": now}):
        if batch_id in endpoint_batches:
            counts[status in incremental] += 1
    return counts[0], counts[1]


def _take(
    connection: Connection,
    requests: Sequence[ClaimRequest],
    owner: str,
    now: dt.datetime,
    until: dt.datetime,
) -> list[int]:
    """Take the users of ``requests`` that are still free and in the status expected:
    one UPDATE per kind of request (not one per user), then the ones taken read back
    (another worker may have got some first); their ids, in the requests' order."""
    if not requests:
        return []
    groups: dict[tuple[UserStatus, UserStatus, str], list[ClaimRequest]] = {}
    for request in requests:
        key = (request.expect, request.status, repr(sorted(request.changes.items())))
        groups.setdefault(key, []).append(request)
    free = or_(U.claimed_by.is_(None), U.claimed_until < now)
    for (expect, status, _changes), group in groups.items():
        values = {**group[0].changes, "status": status, "claimed_by": owner, "claimed_until": until}
        ids = [r.user_id for r in group]
        statement = (
            update(migration_users)
            .where(U.id.in_(ids), U.status == expect.value, free)
            .values(user_values(values))
        )
        connection.execute(statement)
    ids = [r.user_id for r in requests]
    params = {"ids": ids, "owner": owner, "until": until}
    taken = set(connection.execute(_TAKEN, params).scalars())
    return [user_id for user_id in ids if user_id in taken]
