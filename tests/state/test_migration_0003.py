"""Revision 0003 (synced and stalled durations) on a database that already holds a
migration user: the user survives the upgrade with the new durations at zero, and a
downgrade takes exactly those columns away again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from mailferry.service.batches import manage as batches
from mailferry.service.context import ServiceContext, ServiceSettings
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint
from mailferry.service.vault import Vault
from mailferry.state.database import create_state_engine
from mailferry.state.migrate import alembic_config
from mailferry.state.migration_records import TargetSettings
from mailferry.state.service_store import ServiceStore
from tests.service.service_support import users_csv
from tests.state.conftest import with_alembic

NEW_COLUMNS = {"synced_seconds", "stalled_seconds", "synced_since", "stalled_since"}


def user_columns(url: str) -> set[str]:
    engine = create_state_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("migration_users")}
    finally:
        engine.dispose()


def test_an_existing_user_survives_revision_0003(db_url: str, tmp_path: Path) -> None:
    target = TargetSettings(kind="maildir", maildir_root=str(tmp_path / "mail"))
    ctx = ServiceContext(
        store=ServiceStore.open(db_url),
        vault=Vault(Vault.generate_key()),
        settings=ServiceSettings(default_target=target),
    )
    changes = EndpointChanges(remote_server="127.0.0.1", port=1, security="None")
    asyncio.run(new_endpoint(ctx, "Old", changes, skip_verification=True))
    batches.new_batch(ctx, batches.BatchRequest("Old", "Old", users_csv([("a@x.org", "a", "p")])))
    ctx.store.close()

    with_alembic(db_url, lambda c: command.downgrade(alembic_config(c), "0002_service"))
    assert not NEW_COLUMNS & user_columns(db_url)
    with_alembic(db_url, lambda c: command.upgrade(alembic_config(c), "head"))
    assert user_columns(db_url) >= NEW_COLUMNS

    store = ServiceStore.open(db_url)
    try:
        (user,) = store.users()
    finally:
        store.close()
    assert user.email_address == "a@x.org"
    assert (user.synced_seconds, user.stalled_seconds) == (0.0, 0.0)
    assert user.synced_since is None and user.stalled_since is None
