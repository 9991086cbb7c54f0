"""The migration service: endpoints, batches, migration users, event log, services.

Revision ID: 0002_service
Revises: 0001_initial
Create Date: 2026-11-24

A frozen snapshot: later schema changes get their own revision, never an edit here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_service"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _stamp(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    _endpoints()
    _batches()
    _migration_users()
    _events()
    op.create_table(
        "services",
        _text("owner"),
        _text("host"),
        sa.Column("pid", sa.Integer(), nullable=False),
        _stamp("started_at", False),
        _stamp("heartbeat_at", False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_services")),
    )


def _endpoints() -> None:
    op.create_table(
        "endpoints",
        _id(),
        _text("name"),
        _text("name_key"),
        _text("remote_server"),
        sa.Column("port", sa.Integer(), nullable=False),
        _text("security"),
        _text("authentication"),
        sa.Column("max_concurrent_migrations", sa.Integer(), nullable=False),
        sa.Column("max_concurrent_incremental_syncs", sa.Integer(), nullable=False),
        sa.Column("accept_untrusted_certificates", sa.Boolean(), nullable=False),
        _text("ca_file", True),
        _stamp("created_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoints")),
        sa.UniqueConstraint("name_key", name=op.f("uq_endpoints_name_key")),
        sqlite_autoincrement=True,
    )


def _batches() -> None:
    op.create_table(
        "batches",
        _id(),
        _text("name"),
        _text("name_key"),
        _text("status"),
        _big("source_endpoint_id"),
        _text("target"),
        sa.Column("target_secret", sa.LargeBinary(), nullable=True),
        _text("exclude_folders"),
        _text("include_folders"),
        sa.Column("auto_start", sa.Boolean(), nullable=False),
        _stamp("start_after"),
        _stamp("complete_after"),
        _text("notification_emails"),
        _stamp("created_at", False),
        _stamp("started_at"),
        _stamp("initial_sync_finished_at"),
        _stamp("last_synced_at"),
        _stamp("mx_switched_at"),
        _stamp("completed_at"),
        _stamp("last_report_at"),
        _text("error", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.ForeignKeyConstraint(
            ["source_endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_batches_source_endpoint_id_endpoints"),
        ),
        sa.UniqueConstraint("name_key", name=op.f("uq_batches_name_key")),
        sqlite_autoincrement=True,
    )


def _migration_users() -> None:
    op.create_table(
        "migration_users",
        _id(),
        _big("batch_id"),
        sa.Column("row", sa.Integer(), nullable=False),
        _text("email_address"),
        _text("email_key"),
        _text("user_name"),
        _text("user_root", True),
        sa.Column("password_secret", sa.LargeBinary(), nullable=False),
        _text("status"),
        _text("error", True),
        _text("error_kind", True),
        _text("mailbox_key"),
        _big("total_items_in_source"),
        _big("synced_item_count"),
        _big("skipped_item_count"),
        _big("bytes_transferred"),
        sa.Column("queued_seconds", sa.Float(), nullable=False),
        sa.Column("in_progress_seconds", sa.Float(), nullable=False),
        _stamp("queued_since"),
        _stamp("started_at"),
        _stamp("last_successful_sync_at"),
        sa.Column("initial_sync_done", sa.Boolean(), nullable=False),
        _stamp("next_sync_at"),
        sa.Column("sync_requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _stamp("retry_at"),
        _text("claimed_by", True),
        _stamp("claimed_until"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_users")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_migration_users_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("email_key", name=op.f("uq_migration_users_email_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_migration_users_batch_id"), "migration_users", ["batch_id"])
    op.create_index(op.f("ix_migration_users_status"), "migration_users", ["status"])


def _events() -> None:
    op.create_table(
        "events",
        _id(),
        _stamp("at", False),
        _text("kind"),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("endpoint_id", sa.BigInteger(), nullable=True),
        _text("detail"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_batch_id"), "events", ["batch_id"])


def downgrade() -> None:
    for table in ("services", "events", "migration_users", "batches", "endpoints"):
        op.drop_table(table)
