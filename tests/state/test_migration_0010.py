"""Revision 0010: the clean-up's clocks on existing batches, filled from the event log
(else their completed or created time), on SQLite and PostgreSQL, and back."""

from __future__ import annotations

import datetime as dt
import json

from alembic import command
from sqlalchemy import Connection, insert, inspect, select

from mailferry.state.database import create_state_engine
from mailferry.state.migrate import alembic_config
from mailferry.state.schema import batches, endpoints, events
from mailferry.state.service_store import ServiceStore
from mailferry.values.statuses import BatchStatus
from tests.state.conftest import alembic_upgrade, with_alembic

T0 = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
NEW = ["last_admin_activity_at", "settled_at", "cleanup_refused_at"]


def _batch(name: str, status: str, created: dt.datetime, **more: object) -> dict[str, object]:
    return {
        "name": name, "name_key": name.casefold(), "status": status, "source_endpoint_id": 1,
        "target": json.dumps({"kind": "maildir"}), "exclude_folders": "[]",
        "include_folders": "[]", "auto_start": False, "notification_emails": "[]",
        "created_at": created, **more,
    }  # fmt: skip


def _event(batch_id: int, kind: str, at: dt.datetime) -> dict[str, object]:
    return {"batch_id": batch_id, "kind": kind, "at": at, "detail": "{}"}


def _fill(connection: Connection) -> None:
    endpoint = {
        "name": "E", "name_key": "e", "remote_server": "127.0.0.1", "port": 993,
        "security": "Ssl", "authentication": "Basic", "max_concurrent_migrations": 20,
        "max_concurrent_incremental_syncs": 10, "accept_untrusted_certificates": False,
        "created_at": T0,
    }  # fmt: skip
    execute = connection.execute
    execute(insert(endpoints).values(endpoint))
    execute(insert(batches).values(_batch("Logged", "Stopped", T0)))
    execute(insert(batches).values(_batch("Done", "Completed", T0, completed_at=T0 + 2 * DAY)))
    execute(insert(batches).values(_batch("Quiet", "Created", T0 + DAY)))
    execute(
        insert(events),
        [
            _event(1, "batch_created", T0),
            _event(1, "batch_started", T0 + DAY),
            _event(1, "batch_changed", T0 + 5 * DAY),
            _event(1, "batch_status", T0 + 7 * DAY),
            _event(1, "user_started", T0 + 9 * DAY),  # not an administrator's
            _event(9, "batch_status", T0 + 8 * DAY),  # a batch long gone
        ],
    )


def _columns(url: str) -> list[str]:
    engine = create_state_engine(url)
    try:
        return [c["name"] for c in inspect(engine).get_columns("batches")]
    finally:
        engine.dispose()


def test_revision_0010_fills_the_clocks_and_goes_back(db_url: str) -> None:
    alembic_upgrade(db_url, "0009_workers")
    with_alembic(db_url, _fill)
    alembic_upgrade(db_url, "0010_batch_activity")
    assert _columns(db_url)[-3:] == NEW
    engine = create_state_engine(db_url)
    try:
        query = select(batches.c.name, *(batches.c[n] for n in NEW)).order_by(batches.c.id)
        with engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(query)]
    finally:
        engine.dispose()
    assert rows == [
        ("Logged", T0 + 5 * DAY, T0 + 7 * DAY, None),
        ("Done", T0, T0 + 2 * DAY, None),
        ("Quiet", T0 + DAY, T0 + DAY, None),
    ]
    with_alembic(db_url, lambda c: command.downgrade(alembic_config(c), "0009_workers"))
    assert not set(NEW) & set(_columns(db_url))


def test_cleanup_queries_on_both_databases(db_url: str) -> None:
    alembic_upgrade(db_url, "0009_workers")
    with_alembic(db_url, _fill)
    store = ServiceStore.open(db_url)
    assert isinstance(store, ServiceStore)
    try:
        stopped = {BatchStatus.STOPPED}
        assert store.cleanup_candidates(stopped, "settled_at", T0 + 7 * DAY - SECOND) == []
        [row] = store.cleanup_candidates(stopped, "settled_at", T0 + 7 * DAY)
        assert (row.batch.name, row.last_admin_activity_at) == ("Logged", T0 + 5 * DAY)
        assert row.settled_at == T0 + 7 * DAY and row.cleanup_refused_at is None
        done = {BatchStatus.COMPLETED, BatchStatus.CREATED}
        assert store.earliest_clock_after(done, "settled_at", T0 + DAY) == T0 + 2 * DAY
        assert store.earliest_clock_after(done, "last_admin_activity_at", T0 + DAY) is None
    finally:
        store.close()
