"""The state database's tables (SQLAlchemy Core), portable to SQLite and PostgreSQL.

The Alembic revisions in ``migrations/versions`` are the source of truth for the DDL;
this metadata must match them (a test compares the two on both databases): a new,
empty database is created from this metadata, not by the migrations (``state.migrate``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import event as sqlalchemy_event
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
    # revision 0004: the content filter the checkpoint was made under ('' for none)
    Column("scope", Text, nullable=False, server_default=""),
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

# -- the migration service: endpoints, batches, migration users, event log ---------

endpoints = Table(
    "endpoints",
    metadata,
    _id_column(),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),  # casefolded: names are case-insensitive
    Column("remote_server", Text, nullable=False),
    Column("port", Integer, nullable=False),
    Column("security", Text, nullable=False),
    Column("authentication", Text, nullable=False),
    Column("max_concurrent_migrations", Integer, nullable=False),
    Column("max_concurrent_incremental_syncs", Integer, nullable=False),
    Column("accept_untrusted_certificates", Boolean, nullable=False),
    Column("ca_file", Text),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("name_key"),
    sqlite_autoincrement=True,
)

batches = Table(
    "batches",
    metadata,
    _id_column(),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("source_endpoint_id", BigInteger, ForeignKey("endpoints.id"), nullable=False),
    Column("target", Text, nullable=False),  # TargetSettings as JSON (no secrets)
    Column("target_secret", LargeBinary),  # the vault's ciphertext
    Column("exclude_folders", Text, nullable=False),  # JSON arrays
    Column("include_folders", Text, nullable=False),
    Column("auto_start", Boolean, nullable=False),
    Column("start_after", UtcDateTime),
    Column("complete_after", UtcDateTime),
    Column("notification_emails", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("initial_sync_finished_at", UtcDateTime),
    Column("last_synced_at", UtcDateTime),
    Column("mx_switched_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    Column("last_report_at", UtcDateTime),
    Column("error", Text),
    Column("content_filter", Text),  # revision 0004: -ContentFilter as given
    # revision 0010: the clean-up's clocks (service/batches/cleanup.py): when an
    # administrator last acted on the batch, when settle_batch last moved its status
    # (Stopped, Failed, Completed are entered only there), when the clean-up last
    # refused to remove it (the MX-switch guard)
    Column("last_admin_activity_at", UtcDateTime),
    Column("settled_at", UtcDateTime),
    Column("cleanup_refused_at", UtcDateTime),
    Column("options", Text),  # revision 0011: BatchOptions as JSON (NULL: the defaults)
    UniqueConstraint("name_key"),
    # revision 0005: batches by status and StartAfter / CompleteAfter (the scheduler)
    Index("ix_batches_status_start_after", "status", "start_after"),
    Index("ix_batches_status_complete_after", "status", "complete_after"),
    # revision 0010: batches by status and the clean-up's clocks
    Index("ix_batches_status_last_admin_activity_at", "status", "last_admin_activity_at"),
    Index("ix_batches_status_settled_at", "status", "settled_at"),
    sqlite_autoincrement=True,
)

migration_users = Table(
    "migration_users",
    metadata,
    _id_column(),
    Column("batch_id", BigInteger, ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
    Column("row", Integer, nullable=False),
    Column("email_address", Text, nullable=False),
    Column("email_key", Text, nullable=False),  # one active migration per address
    Column("user_name", Text, nullable=False),
    Column("user_root", Text),
    Column("password_secret", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("error_kind", Text),
    Column("mailbox_key", Text, nullable=False),
    Column("total_items_in_source", BigInteger, nullable=False),
    Column("synced_item_count", BigInteger, nullable=False),
    Column("skipped_item_count", BigInteger, nullable=False),
    Column("bytes_transferred", BigInteger, nullable=False),
    Column("queued_seconds", Float, nullable=False),
    Column("in_progress_seconds", Float, nullable=False),
    Column("queued_since", UtcDateTime),
    Column("started_at", UtcDateTime),
    Column("last_successful_sync_at", UtcDateTime),
    Column("initial_sync_done", Boolean, nullable=False),
    Column("next_sync_at", UtcDateTime),
    Column("sync_requested", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("retry_at", UtcDateTime),
    Column("claimed_by", Text),
    Column("claimed_until", UtcDateTime),
    # revision 0003 (appended, so the metadata's column order is the migrations')
    Column("synced_seconds", Float, nullable=False, server_default="0"),
    Column("stalled_seconds", Float, nullable=False, server_default="0"),
    Column("synced_since", UtcDateTime),
    Column("stalled_since", UtcDateTime),
    Column("target_user_name", Text),  # revision 0007: the CSV's TargetUserName
    Column("estimated_total_bytes", BigInteger),  # revision 0011
    UniqueConstraint("email_key"),
    Index("ix_migration_users_batch_id", "batch_id"),
    Index("ix_migration_users_status", "status"),
    # revision 0005: the scheduler's queries (state/scheduler_queries.py)
    Index("ix_migration_users_batch_id_status_row_id", "batch_id", "status", "row", "id"),
    Index(
        "ix_migration_users_status_sync_requested_batch_id_row_id",
        "status",
        "sync_requested",
        "batch_id",
        "row",
        "id",
    ),
    Index("ix_migration_users_status_next_sync_at", "status", "next_sync_at"),
    Index("ix_migration_users_retry_at", "retry_at"),
    Index("ix_migration_users_claimed_by", "claimed_by"),
    sqlite_autoincrement=True,
)

events = Table(
    "events",
    metadata,
    _id_column(),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", Text, nullable=False),
    Column("batch_id", BigInteger),  # no foreign keys: the log outlives what it names
    Column("user_id", BigInteger),
    Column("endpoint_id", BigInteger),
    Column("detail", Text, nullable=False),  # JSON, never a secret
    Index("ix_events_batch_id", "batch_id"),
)

services = Table(
    "services",
    metadata,
    Column("owner", Text, primary_key=True),  # "host:pid:start"
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

# revision 0006: bearer tokens of the REST API (state/token_rows.py)
api_tokens = Table(
    "api_tokens",
    metadata,
    _id_column(),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),  # casefolded, like endpoint and batch names
    Column("lookup_id", Text, nullable=False),  # the token's non-secret part
    Column("secret_hash", Text, nullable=False),  # SHA-256 hex of the whole token text
    Column("read_only", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("name_key"),
    UniqueConstraint("lookup_id"),
    sqlite_autoincrement=True,
)

# revision 0008: the web console's administrators (state/admin_rows.py)
console_admins = Table(
    "console_admins",
    metadata,
    _id_column(),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),  # casefolded
    Column("password_hash", Text, nullable=False),  # scrypt$n$r$p$salt$hash (service/admins)
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_signin_at", UtcDateTime),
    UniqueConstraint("name_key"),
    sqlite_autoincrement=True,
)


# revision 0009: procrastinate's job queue (PostgreSQL only, in a schema of its own:
# state/job_queue.py), also when a new database is created from this metadata.
def _create_job_queue(_target: MetaData, connection: Any, **_kw: Any) -> None:
    from mailferry.state.job_queue import create_job_queue

    create_job_queue(connection)


sqlalchemy_event.listen(metadata, "after_create", _create_job_queue)


# revision 0011: Set-MigrationConfig's values, one row of JSON (service/config.py)
service_config = Table(
    "service_config",
    metadata,
    _id_column(),
    Column("settings", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)
