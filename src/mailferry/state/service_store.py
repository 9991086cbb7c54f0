"""ServiceStore: the repository of the migration service (endpoints, batches, users,
event log, running services) over the same database as the engine's state.

It *is* a StateStore, so one object serves both the service and the engines it runs;
removing a batch purges its users' engine state in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Select,
    and_,
    delete,
    insert,
    literal,
    or_,
    select,
    update,
)

from mailferry.state.admin_rows import AdminRows
from mailferry.state.cleanup_queries import CleanupQueries
from mailferry.state.config_rows import ConfigRows
from mailferry.state.event_queries import EventQueries
from mailferry.state.listing_queries import ListingQueries
from mailferry.state.migration_records import Batch, Endpoint, Event
from mailferry.state.scheduler_queries import SchedulerQueries
from mailferry.state.schema import (
    batches,
    endpoints,
    events,
    folders,
    mailboxes,
    message_pairs,
    migration_users,
    services,
    skipped_items,
)
from mailferry.state.service_rows import (
    batch_query,
    batch_record,
    batch_values,
    endpoint_query,
    endpoint_record,
    event_record,
    new_user_row,
)
from mailferry.state.token_rows import TokenRows
from mailferry.state.user_rows import UserRows
from mailferry.values.statuses import BatchStatus, UserStatus

B = batches.c


def name_key(name: str) -> str:
    """Endpoint and batch names are unique without regard to case."""
    return name.casefold()


class ServiceStore(
    UserRows,
    ListingQueries,
    EventQueries,
    SchedulerQueries,
    TokenRows,
    AdminRows,
    CleanupQueries,
    ConfigRows,
):
    # -- endpoints ------------------------------------------------------------------

    def add_endpoint(self, values: Mapping[str, Any]) -> Endpoint:
        row = {**values, "name_key": name_key(values["name"])}

        def run(connection: Connection) -> int:
            return _inserted_id(connection.execute(insert(endpoints).values(row)))

        return self._endpoint_where(endpoints.c.id == self._write("add_endpoint", run))

    def endpoint(self, name: str) -> Endpoint | None:
        return self._endpoint_or_none(endpoints.c.name_key == name_key(name))

    def endpoint_by_id(self, endpoint_id: int) -> Endpoint | None:
        return self._endpoint_or_none(endpoints.c.id == endpoint_id)

    def endpoints(self) -> list[Endpoint]:
        with self._read("endpoints") as connection:
            rows = connection.execute(endpoint_query().order_by(endpoints.c.name_key))
            return [endpoint_record(row) for row in rows]

    def update_endpoint(self, endpoint_id: int, changes: Mapping[str, Any]) -> Endpoint:
        statement = update(endpoints).where(endpoints.c.id == endpoint_id).values(dict(changes))
        self._write("update_endpoint", lambda c: c.execute(statement))
        return self._endpoint_where(endpoints.c.id == endpoint_id)

    def delete_endpoint(self, endpoint_id: int) -> None:
        statement = delete(endpoints).where(endpoints.c.id == endpoint_id)
        self._write("delete_endpoint", lambda c: c.execute(statement))

    def _endpoint_or_none(self, condition: Any) -> Endpoint | None:
        with self._read("endpoint") as connection:
            row = connection.execute(endpoint_query().where(condition)).one_or_none()
        return None if row is None else endpoint_record(row)

    def _endpoint_where(self, condition: Any) -> Endpoint:
        found = self._endpoint_or_none(condition)
        assert found is not None
        return found

    # -- batches --------------------------------------------------------------------

    def add_batch(self, values: Mapping[str, Any], users: Sequence[Mapping[str, Any]]) -> Batch:
        """The batch and its users in one transaction."""
        row = {**batch_values(values), "name_key": name_key(values["name"])}

        def run(connection: Connection) -> int:
            batch_id = _inserted_id(connection.execute(insert(batches).values(row)))
            _insert_users(connection, batch_id, users)
            return batch_id

        batch_id = self._write("add_batch", run)
        found = self.batch_by_id(batch_id)
        assert found is not None
        return found

    def add_users(self, batch_id: int, users: Sequence[Mapping[str, Any]]) -> None:
        self._write("add_users", lambda c: _insert_users(c, batch_id, users))

    def batch(self, name: str) -> Batch | None:
        return self._batch_or_none(B.name_key == name_key(name))

    def batch_by_id(self, batch_id: int) -> Batch | None:
        return self._batch_or_none(B.id == batch_id)

    def batches(
        self,
        *,
        statuses: Collection[BatchStatus] | None = None,
        endpoint_id: int | None = None,
    ) -> list[Batch]:
        query = batch_query().order_by(B.created_at, B.id)
        if statuses is not None:
            query = query.where(B.status.in_([s.value for s in statuses]))
        if endpoint_id is not None:
            query = query.where(B.source_endpoint_id == endpoint_id)
        with self._read("batches") as connection:
            return [batch_record(row) for row in connection.execute(query)]

    def update_batch(
        self,
        batch_id: int,
        changes: Mapping[str, Any],
        *,
        expect: Collection[BatchStatus] | None = None,
    ) -> bool:
        """Apply ``changes`` if the batch is (still) in ``expect``; False otherwise."""
        statement = update(batches).where(B.id == batch_id).values(batch_values(changes))
        if expect is not None:
            statement = statement.where(B.status.in_([s.value for s in expect]))
        return self._write("update_batch", lambda c: c.execute(statement).rowcount == 1)

    def delete_batch(self, batch_id: int) -> None:
        """The batch, its users (with their encrypted passwords) and their engine state."""

        def run(connection: Connection) -> None:
            keys = select(migration_users.c.mailbox_key).where(
                migration_users.c.batch_id == batch_id
            )
            _purge_mailboxes(connection, keys)
            connection.execute(
                delete(migration_users).where(migration_users.c.batch_id == batch_id)
            )
            connection.execute(delete(batches).where(B.id == batch_id))

        self._write("delete_batch", run)

    def delete_user(self, user_id: int, now: dt.datetime) -> bool:
        """One migration user (its encrypted password with it) and its engine state, if
        it is Removing and no job holds a live claim on it; whether it was deleted.

        One transaction: a job can't be claimed for the user in between (a claim
        expects Queued, Synced or Completing, never Removing)."""
        users = migration_users.c

        def run(connection: Connection) -> bool:
            free = or_(users.claimed_by.is_(None), users.claimed_until < now)
            mine = and_(users.id == user_id, users.status == UserStatus.REMOVING.value, free)
            key = connection.execute(select(users.mailbox_key).where(mine)).scalar_one_or_none()
            if key is None:
                return False
            _purge_mailboxes(connection, select(literal(key)))
            return bool(connection.execute(delete(migration_users).where(mine)).rowcount == 1)

        return self._write("delete_user", run)

    def _batch_or_none(self, condition: Any) -> Batch | None:
        with self._read("batch") as connection:
            row = connection.execute(batch_query().where(condition)).one_or_none()
        return None if row is None else batch_record(row)

    # -- event log ------------------------------------------------------------------

    def add_event(
        self,
        kind: str,
        at: dt.datetime,
        *,
        batch_id: int | None = None,
        user_id: int | None = None,
        endpoint_id: int | None = None,
        **detail: Any,
    ) -> None:
        row = {
            "kind": kind,
            "at": at,
            "batch_id": batch_id,
            "user_id": user_id,
            "endpoint_id": endpoint_id,
            "detail": json.dumps(detail, default=str),
        }
        self._write("add_event", lambda c: c.execute(insert(events).values(row)))

    def events(
        self,
        *,
        batch_id: int | None = None,
        kinds: Collection[str] | None = None,
        user_id: int | None = None,
        of_users: bool = True,
    ) -> list[Event]:
        """The events, oldest first; ``of_users=False``: only those of no user (a batch's
        own, for Get-MigrationBatch -IncludeReport)."""
        query = select(events).order_by(events.c.id)
        if batch_id is not None:
            query = query.where(events.c.batch_id == batch_id)
        if not of_users:
            query = query.where(events.c.user_id.is_(None))
        if user_id is not None:
            query = query.where(events.c.user_id == user_id)
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        with self._read("events") as connection:
            return [event_record(row) for row in connection.execute(query)]

    # -- running services -----------------------------------------------------------

    def heartbeat(self, owner: str, host: str, pid: int, now: dt.datetime) -> None:
        def run(connection: Connection) -> None:
            found = connection.execute(
                update(services).where(services.c.owner == owner).values(heartbeat_at=now)
            )
            if found.rowcount == 0:
                connection.execute(
                    insert(services).values(
                        owner=owner, host=host, pid=pid, started_at=now, heartbeat_at=now
                    )
                )

        self._write("heartbeat", run)

    def remove_service(self, owner: str) -> None:
        statement = delete(services).where(services.c.owner == owner)
        self._write("remove_service", lambda c: c.execute(statement))

    def services(self) -> list[tuple[str, str, int, dt.datetime]]:
        """(owner, host, pid, last heartbeat) of every service that registered."""
        query = select(services.c.owner, services.c.host, services.c.pid, services.c.heartbeat_at)
        with self._read("services") as connection:
            return [tuple(row) for row in connection.execute(query)]


def _inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _purge_mailboxes(connection: Connection, keys: Select[Any]) -> None:
    """The engine state (folders, message pairs, skipped items) of the mailbox keys."""
    boxes = select(mailboxes.c.id).where(mailboxes.c.key.in_(keys))
    folder_ids = select(folders.c.id).where(folders.c.mailbox_id.in_(boxes))
    connection.execute(delete(message_pairs).where(message_pairs.c.folder_id.in_(folder_ids)))
    connection.execute(delete(folders).where(folders.c.mailbox_id.in_(boxes)))
    connection.execute(delete(skipped_items).where(skipped_items.c.mailbox_id.in_(boxes)))
    connection.execute(delete(mailboxes).where(mailboxes.c.id.in_(boxes)))


def _insert_users(
    connection: Connection, batch_id: int, users: Sequence[Mapping[str, Any]]
) -> None:
    if users:
        connection.execute(insert(migration_users), [new_user_row(batch_id, u) for u in users])
