"""Fixtures: the façade opened on a fresh SQLite file and on a fresh PostgreSQL schema
(every use case runs on both), with a manual clock and a Maildir default target."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailferry.app import Mailferry, ServiceChanges
from mailferry.service.vault import Vault
from tests.service.service_support import ManualClock
from tests.state.conftest import BACKENDS, pg_database, pg_schema_url

__all__ = ["pg_database"]  # the session fixture, shared with the state tests

FAST = ServiceChanges(poll_seconds=0.2, retry_base_seconds=1.0, lease=dt.timedelta(seconds=10))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A home of its own, a vault key, the default target a Maildir in ``tmp_path``."""
    return {
        "MAILFERRY_HOME": str(tmp_path / "home"),
        "MAILFERRY_KEY": Vault.generate_key().decode(),
        "MAILFERRY_TARGET": f"maildir:{tmp_path / 'mail'}",
    }


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailferry.db'}"
        return
    with pg_schema_url(request.getfixturevalue("pg_database")) as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(db_url: str, env: dict[str, str], clock: ManualClock) -> Iterator[Mailferry]:
    with Mailferry.open(db_url, env, clock=clock, changes=FAST) as opened:
        yield opened
