"""Bring a state database to the newest schema with Alembic, programmatically.

No alembic.ini is needed: the script directory ships inside the package. Opening is
safe when several processes open the same database at once: the upgrade runs in one
write transaction that holds the database's write lock (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL an advisory transaction lock), and re-reads the version under that lock.
Alembic's ``context``/``op`` are module globals, so within one process upgrades also
take a thread lock, always after the database lock (no lock-order inversion).

A database with no tables at all is created without Alembic (importing it costs about a
quarter of a second of every first run): ``metadata.create_all`` plus the version row
Alembic would write. Tests check that the result is identical to the migrations' and
that Alembic upgrades it later as usual; any other database below head goes through
Alembic.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)

from mailferry.state.database import WRITE_OPTION
from mailferry.state.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD = "0011_batch_options"
"""The newest revision. Checked against the scripts by a test; lets an up-to-date
database open without importing Alembic (a CLI command starts noticeably faster)."""
_PG_LOCK_KEY = 0x6D61696C66657272  # "mailferr": one lock for all mailferry migrations
_ALEMBIC_LOCK = threading.Lock()
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
"""Alembic's own version table, as ``DefaultImpl.version_table_impl`` defines it."""


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


def create_at_head(connection: Connection) -> None:
    """In an empty database: the schema from the metadata, stamped with HEAD."""
    metadata.create_all(connection, checkfirst=False)
    _VERSION_TABLE.create(connection, checkfirst=False)
    connection.execute(_VERSION_TABLE.insert().values(version_num=HEAD))


def upgrade_to_head(engine: Engine) -> bool:
    """Upgrade unless already at head; True when the schema was created or migrated."""
    with engine.connect() as connection:
        if _at_head(connection):
            return False
        connection.rollback()
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            if not inspect(connection).get_table_names():
                create_at_head(connection)
                return True
            if _at_head(connection):  # another process got there first
                return False
            return _upgrade_with_alembic(connection)


def _upgrade_with_alembic(connection: Connection) -> bool:
    """Under the database lock, in its transaction: Alembic's upgrade, unless at head."""
    with _ALEMBIC_LOCK:
        if current_revisions(connection) == head_revisions():
            return False
        from alembic import command

        command.upgrade(alembic_config(connection), "head")
    return True
