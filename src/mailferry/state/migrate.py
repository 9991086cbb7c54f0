"""Bring a state database to the newest schema with Alembic, programmatically.

No alembic.ini is needed: the script directory ships inside the package. Opening is
safe when several processes open the same database at once: the upgrade runs in one
write transaction that holds the database's write lock (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL an advisory transaction lock), and re-reads the version under that lock.
Alembic's ``context``/``op`` are module globals, so within one process upgrades also
take a thread lock, always after the database lock (no lock-order inversion).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from mailferry.state.database import WRITE_OPTION

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD = "0002_service"
"""The newest revision. Checked against the scripts by a test; lets an up-to-date
database open without importing Alembic (a CLI command starts noticeably faster)."""
_PG_LOCK_KEY = 0x6D61696C66657272  # "mailferr": one lock for all mailferry migrations
_ALEMBIC_LOCK = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def _at_head(connection: Connection) -> bool:
    """Without Alembic: does ``alembic_version`` hold exactly HEAD?"""
    if not inspect(connection).has_table("alembic_version"):
        return False
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return set(versions) == {HEAD}


def upgrade_to_head(engine: Engine) -> bool:
    """Upgrade unless already at head; True when a migration ran."""
    with engine.connect() as connection:
        if _at_head(connection):
            return False
        connection.rollback()
        heads = head_revisions()
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            if current_revisions(connection) == heads:
                return False
            with _ALEMBIC_LOCK:
                from alembic import command

                command.upgrade(alembic_config(connection), "head")
    return True
