"""The hot writes of a migration (intents, outcomes, folders and checkpoints), as plain
SQL on SQLite.

A migration writes one intent and one outcome row per message, and a folder row and
checkpoints per folder. Through SQLAlchemy Core each row pays for parameter
construction and type processing (about 60 µs), each statement for its compilation
and cache lookup (about 1 ms), more than SQLite's own work; on SQLite these
statements are therefore sent as driver SQL
(``exec_driver_sql``: same connection, same transaction, same error wrapping) with the
values converted here exactly as the column types would (``UtcDateTime`` as naive UTC
text). Other databases keep the Core statements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from mailferry.state.records import DONE, PENDING, FolderRecord, PairIntent, flags_to_text
from mailferry.state.schema import message_pairs, utc_reader

_INSERT_SQL = (
    "INSERT INTO message_pairs (folder_id, source_uid, target_uid, state, fingerprint, size,"
    " internaldate, flags, target_uidnext_before) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)"
)
_DONE_SQL = (
    "UPDATE message_pairs SET target_uid = ?, state = ? WHERE folder_id = ? AND source_uid = ?"
)


def insert_intents(connection: Connection, folder_id: int, intents: Sequence[PairIntent]) -> None:
    """Insert the intents as 'pending' pairs."""
    if connection.dialect.name == "sqlite":
        rows = [
            (
                folder_id,
                i.source_uid,
                PENDING,
                i.fingerprint,
                i.size,
                sqlite_utc_text(i.internaldate),
                flags_to_text(i.flags),
                i.target_uidnext_before,
            )
            for i in intents
        ]
        connection.exec_driver_sql(_INSERT_SQL, rows)
        return
    core_rows = [
        {
            "folder_id": folder_id,
            "source_uid": i.source_uid,
            "target_uid": None,
            "state": PENDING,
            "fingerprint": i.fingerprint,
            "size": i.size,
            "internaldate": i.internaldate,
            "flags": flags_to_text(i.flags),
            "target_uidnext_before": i.target_uidnext_before,
        }
        for i in intents
    ]
    connection.execute(insert(message_pairs), core_rows)


def mark_done(connection: Connection, folder_id: int, outcomes: Mapping[int, int | None]) -> int:
    """Mark the pairs 'done' with their target UIDs; how many rows changed."""
    if connection.dialect.name == "sqlite":
        rows = [(target, DONE, folder_id, uid) for uid, target in outcomes.items()]
        result: Any = connection.exec_driver_sql(_DONE_SQL, rows)
        return int(result.rowcount)
    statement = (
        update(message_pairs)
        .where(message_pairs.c.folder_id == bindparam("b_folder"))
        .where(message_pairs.c.source_uid == bindparam("b_uid"))
        .values(target_uid=bindparam("b_value"), state=DONE)
    )
    params = [{"b_folder": folder_id, "b_uid": u, "b_value": t} for u, t in outcomes.items()]
    return int(connection.execute(statement, params).rowcount)


_UPSERT_FOLDER_SQL = (
    "INSERT INTO folders (mailbox_id, source_folder, target_folder) VALUES (?, ?, ?)"
    " ON CONFLICT (mailbox_id, source_folder) DO UPDATE SET target_folder = excluded.target_folder"
)
_FOLDER_SQL = (
    "SELECT id, mailbox_id, source_folder, target_folder, source_uidvalidity, source_uidnext,"
    " source_highestmodseq, source_messages, target_uidvalidity, last_synced_at, scope"
    " FROM folders WHERE mailbox_id = ? AND source_folder = ?"
)
_CHECKPOINT_SQL = (
    "UPDATE folders SET source_uidvalidity = ?, source_uidnext = ?, source_highestmodseq = ?,"
    " source_messages = ?, target_uidvalidity = ?, last_synced_at = ?, scope = ? WHERE id = ?"
)


def sqlite_upsert_folder(
    connection: Connection, mailbox_id: int, source_folder: str, target_folder: str
) -> FolderRecord:
    """SQLite: create the folder or change its target folder; its row as it is now."""
    connection.exec_driver_sql(_UPSERT_FOLDER_SQL, (mailbox_id, source_folder, target_folder))
    row = connection.exec_driver_sql(_FOLDER_SQL, (mailbox_id, source_folder)).one()
    folder_id, mailbox, source, target, validity, uidnext, modseq, messages, target_v = row[:9]
    synced = utc_reader(connection.dialect)(row[9])
    return FolderRecord(
        folder_id, mailbox, source, target, validity, uidnext, modseq, messages, target_v, synced,
        scope=row[10],
    )  # fmt: skip


def sqlite_save_checkpoint(
    connection: Connection,
    folder_id: int,
    counters: tuple[int | None, ...],
    scope: str,
    now: dt.datetime,
) -> int:
    """SQLite: set the five checkpoint counters, the scope and ``last_synced_at``; rows
    changed."""
    params = (*counters, sqlite_utc_text(now), scope, folder_id)
    result: Any = connection.exec_driver_sql(_CHECKPOINT_SQL, params)
    return int(result.rowcount)


def sqlite_utc_text(value: dt.datetime) -> str:
    """What ``UtcDateTime`` stores on SQLite: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``.
    A naive datetime raises ValueError, as the column type does."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
