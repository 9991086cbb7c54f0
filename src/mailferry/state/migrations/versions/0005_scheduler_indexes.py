"""Indexes for the scheduler: a pass reads what is due or running, not every user.

Revision ID: 0005_scheduler_indexes
Revises: 0004_content_filter
Create Date: 2026-12-03

Which query each index serves is in ``state/scheduler_queries.py``: a batch's users by
status in CSV order; incremental syncs asked for (``sync_requested``) in batch order;
incremental syncs by due time (``next_sync_at``); the next retry (``retry_at``); claims
(``claimed_by``); batches by status and StartAfter / CompleteAfter. Indexes only: no row
changes, so existing databases keep every row.
"""

from __future__ import annotations

from alembic import op

revision: str = "0005_scheduler_indexes"
down_revision: str | None = "0004_content_filter"
branch_labels: str | None = None
depends_on: str | None = None

INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ix_migration_users_batch_id_status_row_id", "migration_users",
     ("batch_id", "status", "row", "id")),
    ("ix_migration_users_status_sync_requested_batch_id_row_id", "migration_users",
     ("status", "sync_requested", "batch_id", "row", "id")),
    ("ix_migration_users_status_next_sync_at", "migration_users", ("status", "next_sync_at")),
    ("ix_migration_users_retry_at", "migration_users", ("retry_at",)),
    ("ix_migration_users_claimed_by", "migration_users", ("claimed_by",)),
    ("ix_batches_status_start_after", "batches", ("status", "start_after")),
    ("ix_batches_status_complete_after", "batches", ("status", "complete_after")),
)  # fmt: skip


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
