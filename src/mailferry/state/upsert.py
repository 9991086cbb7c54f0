"""INSERT ... ON CONFLICT for the two supported databases (both spell it the same way;
SQLAlchemy builds it from the dialect's own ``insert``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, insert, update
from sqlalchemy.dialects import sqlite

from mailferry.state.schema import skipped_items
from mailferry.values.results import SkippedItem

_SKIPPED_KEY = ["mailbox_id", "folder", "source_uid", "kind"]
_SKIPPED_DETAILS = ["subject", "sender", "date", "size", "reason"]


def _dialect_insert(connection: Connection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # not imported by SQLite users (50 ms)

        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring(connection: Connection, table: Table, key: Sequence[str]) -> Any:
    """INSERT that does nothing when a row with the same unique ``key`` exists."""
    return _dialect_insert(connection, table).on_conflict_do_nothing(index_elements=list(key))


def insert_or_update(
    connection: Connection, table: Table, key: Sequence[str], columns: Sequence[str]
) -> Any:
    """INSERT that, on a unique ``key`` conflict, overwrites ``columns`` instead."""
    statement = _dialect_insert(connection, table)
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={name: statement.excluded[name] for name in columns}
    )


def skipped(connection: Connection, mailbox_id: int, items: Iterable[SkippedItem]) -> None:
    """Upsert skipped items (keys must be unique within ``items``).

    SQL unique constraints never match NULLs, so items without a source UID are
    looked up explicitly instead of relying on ON CONFLICT (on PostgreSQL two processes
    recording the same such item at the same instant could both insert it; SQLite
    serialises writers).
    """
    rows = [_skipped_row(mailbox_id, item) for item in items]
    with_uid = [row for row in rows if row["source_uid"] is not None]
    if with_uid:
        statement = insert_or_update(connection, skipped_items, _SKIPPED_KEY, _SKIPPED_DETAILS)
        connection.execute(statement, with_uid)
    for row in rows:
        if row["source_uid"] is None:
            _upsert_without_uid(connection, row)


def _upsert_without_uid(connection: Connection, row: dict[str, Any]) -> None:
    c = skipped_items.c
    where = and_(
        c.mailbox_id == row["mailbox_id"],
        c.folder == row["folder"],
        c.kind == row["kind"],
        c.source_uid.is_(None),
    )
    details = {name: row[name] for name in _SKIPPED_DETAILS}
    if connection.execute(update(skipped_items).where(where).values(details)).rowcount == 0:
        connection.execute(insert(skipped_items), row)


def _skipped_row(mailbox_id: int, item: SkippedItem) -> dict[str, Any]:
    return {
        "mailbox_id": mailbox_id,
        "folder": item.folder,
        "source_uid": item.source_uid,
        "kind": item.kind,
        "subject": item.subject,
        "sender": item.sender,
        "date": item.date,
        "size": item.size,
        "reason": item.reason,
    }
