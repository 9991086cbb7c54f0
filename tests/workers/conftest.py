"""Fixtures of the scale-out tests: a PostgreSQL schema per test (as tests/state)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.state.conftest import pg_database, pg_schema_url

__all__ = ["pg_database"]


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema."""
    with pg_schema_url(pg_database) as url:
        yield url
