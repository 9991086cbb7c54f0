"""Revision 0006 (API tokens) on a database made at 0005: existing rows survive, the
table appears with its unique constraints, tokens work after the upgrade, and a
downgrade takes exactly the table away again."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import inspect

from mailferry.state.database import create_state_engine
from mailferry.state.migrate import alembic_config
from mailferry.state.service_store import ServiceStore
from tests.state.conftest import alembic_upgrade, with_alembic

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def shape(url: str) -> tuple[set[str], set[str]]:
    """The tables, and api_tokens' unique constraints (empty if it has none)."""
    engine = create_state_engine(url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        if "api_tokens" not in tables:
            return tables, set()
        uniques = {u["name"] or "" for u in inspector.get_unique_constraints("api_tokens")}
        return tables, uniques
    finally:
        engine.dispose()


def test_revision_0006_adds_and_removes_only_the_token_table(db_url: str) -> None:
    alembic_upgrade(db_url, "0005_scheduler_indexes")
    tables_at_5, _ = shape(db_url)
    assert "api_tokens" not in tables_at_5
    with_alembic(db_url, lambda c: command.upgrade(alembic_config(c), "0006_api_tokens"))
    tables, uniques = shape(db_url)
    assert tables == tables_at_5 | {"api_tokens"}
    assert uniques == {"uq_api_tokens_name_key", "uq_api_tokens_lookup_id"}

    store = ServiceStore.open(db_url)  # upgrades to the head
    try:
        endpoint = store.add_endpoint(
            {
                "name": "Old", "remote_server": "127.0.0.1", "port": 1, "security": "None",
                "authentication": "Basic", "max_concurrent_migrations": 20,
                "max_concurrent_incremental_syncs": 10, "accept_untrusted_certificates": False,
                "ca_file": None, "created_at": NOW,
            }
        )  # fmt: skip
        token = store.add_token(
            {"name": "Ci", "lookup_id": "0123456789ab", "secret_hash": "f" * 64,
             "read_only": True, "created_at": NOW}
        )  # fmt: skip
        assert (token.name, token.read_only, token.created_at) == ("Ci", True, NOW)
        assert store.token("ci") == store.token_by_lookup("0123456789ab") == token
    finally:
        store.close()

    with_alembic(db_url, lambda c: command.downgrade(alembic_config(c), "0005_scheduler_indexes"))
    assert shape(db_url) == (tables_at_5, set())
    store = ServiceStore.open(db_url)  # upgrades again: the endpoint is still there
    try:
        assert store.endpoint("old") == endpoint
        assert store.tokens() == []
    finally:
        store.close()
