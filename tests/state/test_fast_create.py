"""A new database is created from the metadata without Alembic (faster start-up): it must
be identical to one the Alembic migrations build, and Alembic must take it over later."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from mailferry.state import StateStore
from mailferry.state.database import create_state_engine
from mailferry.state.migrate import (
    HEAD,
    alembic_config,
    current_revisions,
    head_revisions,
    upgrade_to_head,
)
from tests.state.conftest import alembic_upgrade, pg_schema_url, with_alembic


@pytest.fixture
def other_url(
    db_url: str, request: pytest.FixtureRequest, tmp_path: os.PathLike[str]
) -> Iterator[str]:
    """A second empty database on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/other.db"
        return
    with pg_schema_url(request.getfixturevalue("pg_database")) as url:
        yield url


def _downgrade_to_first(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0001_initial")


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything the two ways of creating a database could differ in."""
    inspector = inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        tables[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table),
            "fks": _sorted(inspector.get_foreign_keys(table)),
            "uniques": _sorted(inspector.get_unique_constraints(table)),
            "indexes": _sorted(inspector.get_indexes(table)),
            "checks": _sorted(inspector.get_check_constraints(table)),
        }
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        ddl = _sqlite_ddl(connection) if engine.dialect.name == "sqlite" else []
    return {"tables": tables, "versions": [tuple(row) for row in versions], "ddl": ddl}


def _sorted(items: list[Any]) -> list[str]:
    return sorted(repr(sorted(item.items())) for item in items)


def _sqlite_ddl(connection: Connection) -> list[tuple[str, str, str]]:
    """SQLite keeps each CREATE statement: compared as written, except for blanks and the
    order of the table constraints (which carries no meaning and differs: the metadata's
    column-level foreign keys come after its unique constraints)."""
    rows = connection.execute(
        text("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    ).all()
    return sorted(
        (kind, name, _constraints_sorted(" ".join(sql.split()))) for kind, name, sql in rows
    )


def _constraints_sorted(sql: str) -> str:
    if not sql.endswith(" )"):
        return sql
    columns, *constraints = sql[: -len(" )")].split(", CONSTRAINT ")
    return ", CONSTRAINT ".join([columns, *sorted(constraints)]) + " )"


def test_a_new_database_is_created_without_importing_alembic(db_url: str) -> None:
    code = (
        "import sys; from mailferry.state import StateStore; "
        f"StateStore.open({db_url!r}).close(); "
        "print(sorted({name.split('.')[0] for name in sys.modules}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "'sqlalchemy'" in done.stdout  # the probe ran
    assert "'alembic'" not in done.stdout
    engine = create_state_engine(db_url)
    with engine.connect() as connection:
        assert current_revisions(connection) == {HEAD}
    assert upgrade_to_head(engine) is False
    engine.dispose()


def test_the_fast_way_is_identical_to_the_alembic_migrations(db_url: str, other_url: str) -> None:
    StateStore.open(db_url).close()
    alembic_upgrade(other_url)
    fast, migrated = create_state_engine(db_url), create_state_engine(other_url)
    fast_shape, migrated_shape = snapshot(fast), snapshot(migrated)
    fast.dispose()
    migrated.dispose()
    assert fast_shape["versions"] == [(HEAD,)]
    assert {"message_pairs", "alembic_version"} <= set(fast_shape["tables"])
    assert fast_shape == migrated_shape


def test_alembic_takes_over_a_database_created_the_fast_way(db_url: str, other_url: str) -> None:
    StateStore.open(db_url).close()
    engine = create_state_engine(db_url)
    with engine.connect() as connection:
        assert current_revisions(connection) == head_revisions() == {HEAD}
    before = snapshot(engine)
    alembic_upgrade(db_url)  # a no-op at head
    with_alembic(db_url, _downgrade_to_first)  # down to the first revision...
    with engine.connect() as connection:
        assert current_revisions(connection) == {"0001_initial"}
    assert upgrade_to_head(engine) is True  # ...and up again, through Alembic
    assert snapshot(engine) == before
    engine.dispose()


def test_a_database_with_other_tables_goes_through_alembic(db_url: str) -> None:
    """Only a database with no tables at all is created the fast way."""
    alembic_upgrade(db_url, "0001_initial")
    engine = create_state_engine(db_url)
    assert upgrade_to_head(engine) is True
    with engine.connect() as connection:
        assert current_revisions(connection) == {HEAD}
    assert upgrade_to_head(engine) is False
    engine.dispose()
