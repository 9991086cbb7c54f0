"""Revision 0005 (the scheduler's indexes) on a database that already holds a batch and
its users: they survive the upgrade, the indexes appear, the scheduler's queries read
the users through them, and a downgrade takes exactly those indexes away again."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import inspect

from mailferry.state.database import create_state_engine
from mailferry.state.migrate import alembic_config
from mailferry.state.migration_records import TargetSettings
from mailferry.state.service_store import ServiceStore
from mailferry.values.statuses import BatchStatus, UserStatus
from tests.state.conftest import with_alembic

USER_INDEXES = {
    "ix_migration_users_batch_id_status_row_id",
    "ix_migration_users_status_sync_requested_batch_id_row_id",
    "ix_migration_users_status_next_sync_at",
    "ix_migration_users_retry_at",
    "ix_migration_users_claimed_by",
}
BATCH_INDEXES = {"ix_batches_status_start_after", "ix_batches_status_complete_after"}
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def indexes(url: str) -> set[str]:
    engine = create_state_engine(url)
    try:
        inspector = inspect(engine)
        tables = ("migration_users", "batches")
        return {i["name"] or "" for t in tables for i in inspector.get_indexes(t)}
    finally:
        engine.dispose()


def fill(store: ServiceStore) -> int:
    """An endpoint, a synced batch of three users (one asked for a sync); its id."""
    endpoint = store.add_endpoint(
        {
            "name": "Old", "remote_server": "127.0.0.1", "port": 1, "security": "None",
            "authentication": "Basic", "max_concurrent_migrations": 20,
            "max_concurrent_incremental_syncs": 10, "accept_untrusted_certificates": False,
            "ca_file": None, "created_at": NOW,
        }
    )  # fmt: skip
    batch = {
        "name": "Old", "status": BatchStatus.SYNCED, "source_endpoint_id": endpoint.id,
        "target": TargetSettings(kind="maildir", maildir_root="/srv/mail"),
        "target_secret": None, "exclude_folders": (), "include_folders": (),
        "auto_start": False, "start_after": None, "complete_after": NOW + dt.timedelta(days=2),
        "notification_emails": (), "created_at": NOW,
    }  # fmt: skip
    users = [
        {
            "row": n,
            "email_address": f"u{n}@x.org",
            "email_key": f"u{n}@x.org",
            "user_name": f"u{n}",
            "user_root": None,
            "password_secret": b"secret",
            "mailbox_key": f"old/{n}",
            "status": UserStatus.SYNCED.value,
            "next_sync_at": NOW + dt.timedelta(hours=n),
            "sync_requested": n == 2,
        }
        for n in (1, 2, 3)
    ]
    return store.add_batch(batch, users).id


def test_an_existing_batch_survives_revision_0005(db_url: str) -> None:
    store = ServiceStore.open(db_url)
    batch_id = fill(store)
    endpoint_id = store.batch_by_id(batch_id).source_endpoint_id  # type: ignore[union-attr]
    store.close()

    with_alembic(db_url, lambda c: command.downgrade(alembic_config(c), "0004_content_filter"))
    assert not (USER_INDEXES | BATCH_INDEXES) & indexes(db_url)
    with_alembic(db_url, lambda c: command.upgrade(alembic_config(c), "head"))
    assert indexes(db_url) >= USER_INDEXES | BATCH_INDEXES

    store = ServiceStore.open(db_url)
    try:
        assert [u.email_address for u in store.users()] == ["u1@x.org", "u2@x.org", "u3@x.org"]
        ids = store.batches_by_ids([batch_id])
        assert [b.name for b in ids] == ["Old"]
        asked = store.requested_syncs(endpoint_id, {BatchStatus.SYNCED}, NOW, 10)
        assert [(u.row, u.status) for u in asked] == [(2, UserStatus.SYNCED)]
        due = store.timed_syncs(endpoint_id, {BatchStatus.SYNCED}, NOW + dt.timedelta(hours=2), 10)
        assert [u.row for u in due] == [1, 2]
        later = NOW + dt.timedelta(hours=2)  # the next sync then: u3's
        assert store.next_due(set(), {BatchStatus.SYNCED}, later) == NOW + dt.timedelta(hours=3)
        # u1's sync comes before the batch's CompleteAfter; after the syncs, it is next
        assert store.next_due(set(), {BatchStatus.SYNCED}, NOW) == NOW + dt.timedelta(hours=1)
        assert store.next_due(set(), set(), NOW + dt.timedelta(hours=4)) is None
        assert store.next_due(set(), {BatchStatus.SYNCED}, NOW + dt.timedelta(hours=4)) == (
            NOW + dt.timedelta(days=2)
        )
    finally:
        store.close()
