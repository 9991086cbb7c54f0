"""Fixtures: every state test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL: the server at MAILFERRY_TEST_PG_URL (default: the local one, trust auth).
The session creates a uniquely named database and drops it at the end; each test
gets its own schema in it (through ``search_path``), so each starts empty.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from mailferry.state import StateStore
from mailferry.state.database import WRITE_OPTION, create_state_engine
from mailferry.state.migrate import alembic_config

PG_URL = os.environ.get(
    "MAILFERRY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def alembic_upgrade(url: str, revision: str = "head") -> None:
    """What ``upgrade_to_head`` did for every new database before the fast path."""
    with_alembic(url, lambda connection: command.upgrade(alembic_config(connection), revision))


def with_alembic(url: str, action: Callable[[Connection], object]) -> None:
    """``action`` in a write transaction on ``url``, as ``upgrade_to_head`` runs Alembic."""
    engine = create_state_engine(url)
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            action(connection)
    engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this session's run; its URL."""
    name = f"mailferry_test_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def pg_schema_url(pg_database: str) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema (dropped afterwards)."""
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_database).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema."""
    with pg_schema_url(pg_database) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[StateStore]:
    opened = StateStore.open(db_url)
    try:
        yield opened
    finally:
        opened.close()
