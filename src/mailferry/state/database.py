"""Engines for the state database: SQLite (default) and PostgreSQL (scale-out).

SQLite is shared by several processes (the CLI and a running service), so every
connection gets WAL, ``synchronous=FULL`` (each COMMIT fsynced; the store relaxes it to
NORMAL for the writes that may be lost to a power loss, see ``state.store``), foreign
keys and a 30 s busy timeout. Write transactions start with
``BEGIN IMMEDIATE``: they take the write lock up front and wait for it, instead of
failing when a read transaction later tries to upgrade to a write.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from mailferry.errors import (
    StateConflict,
    StateError,
    StateNotFound,
    StateUnavailable,
)

BUSY_TIMEOUT_SECONDS = 30
WRITE_OPTION = "mailferry_write"
"""Connection execution option: the next transaction is a write (BEGIN IMMEDIATE on SQLite)."""

SUPPORTED = ("sqlite", "postgresql")
_SYNCHRONOUS = "mailferry_synchronous"


def create_state_engine(url: str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Engine:
    """An Engine for ``url`` (``sqlite:///path.db``, ``sqlite://`` in memory, or
    ``postgresql+psycopg://...``), configured as described in the module docstring.
    ``busy_timeout`` (seconds) is how long SQLite waits for another process's lock."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateError("open", f"not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StateError("open", f"unsupported database {backend!r} (use sqlite or postgresql)")
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        engine = create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        _create_private(Path(database).expanduser())
        engine = create_engine(parsed, connect_args={"timeout": busy_timeout})
    _configure_sqlite(engine, busy_timeout)
    return engine


def _create_private(path: Path) -> None:
    """Create the SQLite file (and missing parent directories) readable by its owner
    only, before SQLite does: it would create it 0644 under the usual umask. SQLite
    gives the ``-wal`` and ``-shm`` files the database file's mode. An existing file
    is left as it is."""
    try:
        missing: list[Path] = []
        directory = path.parent
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for created in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another process made it first
                created.mkdir(mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StateError("open", f"cannot create {path}: {exc.strerror or exc}") from None


def is_memory(engine: Engine) -> bool:
    return isinstance(engine.pool, StaticPool)


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the sqlite3 module, emit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _use_wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous = FULL")  # see set_synchronous
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA secure_delete = ON")  # purged rows leave no bytes behind
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _use_wal(cursor: Any, busy_timeout: float) -> None:
    """Switch to WAL unless already in it. The switch needs an exclusive lock, and SQLite
    fails it at once, without its busy handler, when another connection is switching the
    same new file at that moment: retried here until ``busy_timeout``."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def set_synchronous(connection: Connection, *, full: bool) -> None:
    """SQLite: fsync at COMMIT (FULL) or not (NORMAL) for this connection's next writes.

    Set on the driver connection outside any transaction; the current value is kept in
    the pooled connection's ``info`` so it costs nothing when unchanged.
    """
    if connection.dialect.name != "sqlite":
        return
    pooled = connection.connection
    wanted = "FULL" if full else "NORMAL"
    if pooled.info.get(_SYNCHRONOUS) != wanted:
        pooled.driver_connection.execute(f"PRAGMA synchronous = {wanted}")  # type: ignore[union-attr]
        pooled.info[_SYNCHRONOUS] = wanted


def translate(operation: str, exc: DBAPIError) -> StateError:
    """A mailferry error for a database error (the driver's words kept as detail)."""
    detail = str(exc.orig) if exc.orig is not None else str(exc)
    detail = detail.strip().splitlines()[0] if detail.strip() else type(exc).__name__
    if isinstance(exc, IntegrityError):
        if _is_foreign_key_violation(exc):
            return StateNotFound(operation, f"refers to a missing row ({detail})")
        return StateConflict(operation, detail)
    if isinstance(exc, OperationalError) and _is_unavailable(exc):
        return StateUnavailable(operation, detail)
    return StateError(operation, detail)


def _is_unavailable(exc: OperationalError) -> bool:
    """SQLite: locked/busy past the timeout (not e.g. "no such table"); PostgreSQL:
    psycopg's OperationalError means the server or connection failed."""
    if isinstance(exc.orig, sqlite3.Error):
        text = str(exc.orig).lower()
        return "locked" in text or "busy" in text
    return True


def _is_foreign_key_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23503")
    return "FOREIGN KEY" in str(exc.orig).upper()
