"""Database failures become mailferry errors."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from mailferry.errors import StateError, StateUnavailable
from mailferry.state import StateStore


def test_a_lock_held_past_the_busy_timeout_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = StateStore.open(f"sqlite:///{path}", busy_timeout=0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(StateUnavailable) as caught:
            store.mailbox_id("k")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert caught.value.transient
    assert caught.value.operation == "mailbox_id"
    assert 0.25 <= time.monotonic() - started < 10
    assert store.mailbox_id("k") == 1  # works once the lock is gone
    store.close()


def test_readers_are_not_blocked_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = StateStore.open(f"sqlite:///{path}", busy_timeout=0.3)
    mailbox = store.mailbox_id("k")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert store.folders(mailbox) == []  # WAL: reads go on during a write
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.close()


def test_unreachable_postgresql_is_unavailable() -> None:
    with pytest.raises(StateUnavailable):
        StateStore.open("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")


def test_errors_are_state_errors() -> None:
    assert issubclass(StateUnavailable, StateError)
