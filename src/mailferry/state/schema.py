"""The state database's tables (SQLAlchemy Core), portable to SQLite and PostgreSQL.

The Alembic revisions in ``migrations/versions`` are the source of truth for the DDL;
this metadata must match them (a test compares the two on both databases).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores TIMESTAMP WITH TIME ZONE. SQLite has no time zones: values are
    stored as naive UTC text and come back with ``tzinfo=UTC``. Naive input is refused,
    since guessing its zone would silently shift times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        return utc_reader(dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        result: dt.datetime | None = utc_reader(dialect)(value)
        return result


def utc_reader(dialect: Dialect) -> Callable[[Any], Any]:
    """Turns what the driver returns for a UtcDateTime column into an aware UTC datetime,
    None into None (also used on raw DBAPI rows, the fast path of ``StateStore.pairs``)."""
    return _parse_sqlite_utc if dialect.name == "sqlite" else _aware_to_utc


def _parse_sqlite_utc(value: str | None) -> dt.datetime | None:
    """SQLite text as written by SQLAlchemy ("2024-01-31 12:00:00.000000"), read as UTC."""
    return None if value is None else dt.datetime.fromisoformat(value + "+00:00")


def _aware_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # TIMESTAMP WITHOUT TIME ZONE: we only ever write UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _id_column() -> Column[int]:
    """BIGINT primary key; INTEGER on SQLite so it is the rowid. Callers hold mailbox and
    folder ids, so those tables use AUTOINCREMENT on SQLite: a purged id is never reused
    (PostgreSQL sequences never reuse either)."""
    return Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

mailboxes = Table(
    "mailboxes",
    metadata,
    _id_column(),
    Column("key", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("key"),
    sqlite_autoincrement=True,
)

folders = Table(
    "folders",
    metadata,
    _id_column(),
    Column(
        "mailbox_id", BigInteger, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False
    ),
    Column("source_folder", Text, nullable=False),
    Column("target_folder", Text, nullable=False),
    Column("source_uidvalidity", BigInteger),
    Column("source_uidnext", BigInteger),
    Column("source_highestmodseq", BigInteger),
    Column("source_messages", BigInteger),
    Column("target_uidvalidity", BigInteger),
    Column("last_synced_at", UtcDateTime),
    UniqueConstraint("mailbox_id", "source_folder"),
    sqlite_autoincrement=True,
)

message_pairs = Table(
    "message_pairs",
    metadata,
    _id_column(),
    Column("folder_id", BigInteger, ForeignKey("folders.id", ondelete="CASCADE"), nullable=False),
    Column("source_uid", BigInteger, nullable=False),
    Column("target_uid", BigInteger),
    Column("state", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("internaldate", UtcDateTime, nullable=False),
    Column("flags", Text, nullable=False),
    Column("target_uidnext_before", BigInteger),
    UniqueConstraint("folder_id", "source_uid"),
    CheckConstraint("state IN ('pending', 'done')", name="state"),
    Index("ix_message_pairs_folder_id_fingerprint", "folder_id", "fingerprint"),
)

skipped_items = Table(
    "skipped_items",
    metadata,
    _id_column(),
    Column(
        "mailbox_id", BigInteger, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False
    ),
    Column("folder", Text, nullable=False),
    Column("source_uid", BigInteger),
    Column("kind", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("date", UtcDateTime),
    Column("size", BigInteger),
    Column("reason", Text, nullable=False),
    UniqueConstraint("mailbox_id", "folder", "source_uid", "kind"),
)
