"""Fixtures of the store tests: one real Dovecot for the session, fresh users per test."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailferry.connection.options import ConnectOptions, Security
from mailferry.rig.dovecot import DovecotServer, make_ca

MASTER_USER = "mfadmin"
MASTER_PASSWORD = "master-secret"
_users = itertools.count(1)


@pytest.fixture(scope="session")
def stores_base() -> Iterator[Path]:
    """A directory the Dovecot mail user can traverse (pytest's tmp dirs are 0700)."""
    base = Path(tempfile.mkdtemp(prefix="mailferry-stores-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(stores_base: Path) -> Iterator[DovecotServer]:
    ca = make_ca(stores_base / "ca")
    # quota on with a generous default; a test gives its own user a small one
    server = DovecotServer(stores_base / "dovecot", ca, name="stores", quota=True)
    server.add_master_user(MASTER_USER, MASTER_PASSWORD)
    with server:
        yield server


def connect_options(server: DovecotServer) -> ConnectOptions:
    return ConnectOptions(
        server.host,
        server.imaps_port,
        security=Security.SSL,
        ca_file=server.ca_pem_path,
        connect_timeout=10,
        command_timeout=30,
    )


def new_user(
    server: DovecotServer, prefix: str = "user", *, quota_mb: int | None = None
) -> tuple[str, str]:
    """A fresh user on ``server``: (address, password)."""
    address = f"{prefix}{next(_users)}@example.com"
    password = f"pw-{address}"
    server.add_user(address, password, quota_mb=quota_mb)
    return address, password
