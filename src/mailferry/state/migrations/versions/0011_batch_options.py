"""Batch options, the users' estimated transfer size, and the service's own settings.

Revision ID: 0011_batch_options
Revises: 0010_batch_activity
Create Date: 2026-12-03

- ``batches.options``: New-/Set-MigrationBatch's settings that one-shot ``migrate``
  had alone and Exchange's other batch switches, as JSON (``BatchOptions``): maximum
  message size, item limit, include deleted, propagate deletions, AutoComplete,
  ReportInterval, SkipReports, TimeZone, the time skipped items were approved. NULL
  for existing batches (every option at its default).
- ``migration_users.estimated_total_bytes``: the source's bytes in scope, as the last
  sync planned it (EstimatedTotalTransferSize); NULL until a sync has planned one.
- ``service_config``: Set-MigrationConfig's values (one row, JSON), over the defaults
  and the environment's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011_batch_options"
down_revision: str | None = "0010_batch_activity"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.add_column(sa.Column("options", sa.Text(), nullable=True))
    with op.batch_alter_table("migration_users") as table:
        table.add_column(sa.Column("estimated_total_bytes", sa.BigInteger(), nullable=True))
    op.create_table(
        "service_config",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_config")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("service_config")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL), not batch mode (see 0003).
    op.drop_column("migration_users", "estimated_total_bytes")
    op.drop_column("batches", "options")
