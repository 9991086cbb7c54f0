"""The SQLite state database is private to its owner: 0600, like the vault key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailferry.state.service_store import ServiceStore
from mailferry.state.store import StateStore


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022): what SQLite alone would turn into a 0644 file."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(path: Path) -> dict[str, int]:
    found = {}
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            found[suffix or "db"] = stat.S_IMODE(part.stat().st_mode)
    return found


@pytest.mark.parametrize("store_class", [StateStore, ServiceStore])
def test_database_and_its_wal_files_are_created_0600(
    store_class: type[StateStore], tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "home" / "migrate" / "state.db"
    store = store_class.open(f"sqlite:///{path}")
    try:
        store.mailbox_id("imap://a:143/u -> maildir:/m/u")  # a write: the WAL is in use
        found = modes(path)
        assert set(found) == {"db", "-wal", "-shm"}
        assert found == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        store.close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_an_existing_database_keeps_its_mode(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "shared.db"
    StateStore.open(f"sqlite:///{path}").close()
    path.chmod(0o640)  # the administrator shared it with a group on purpose
    StateStore.open(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
