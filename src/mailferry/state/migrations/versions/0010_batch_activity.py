"""Batches: the clocks of the automatic clean-up (issue 15, house-keeping).

Revision ID: 0010_batch_activity
Revises: 0009_workers
Create Date: 2026-12-03

As Microsoft's service does, Synced batches with no administrator activity for 60 days
are stopped, Stopped or Failed batches removed after 90 days, Completed ones after 60
(``service/batches/cleanup.py``). Three columns and two indexes serve its queries:

- ``last_admin_activity_at``: the last time an administrator acted on the batch; existing
  batches get their latest administrator event from the log, else their created time;
- ``settled_at``: when the scheduler last moved the batch's status (``settle_batch``);
  existing batches get their latest ``batch_status`` event, else their completed or
  created time;
- ``cleanup_refused_at``: when the clean-up last refused to remove the batch (the
  MX-switch guard), so it says so once, not every pass; NULL for existing batches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010_batch_activity"
down_revision: str | None = "0009_workers"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = ("last_admin_activity_at", "settled_at", "cleanup_refused_at")
_INDEXES = (
    ("ix_batches_status_last_admin_activity_at", ("status", "last_admin_activity_at")),
    ("ix_batches_status_settled_at", ("status", "settled_at")),
)
ADMIN_EVENTS = (
    "batch_created", "batch_started", "batch_stopping", "batch_completing",
    "batch_sync_now", "batch_users_added", "batch_changed",
)  # fmt: skip
"""The event kinds ``service/batches/manage.py`` records for an administrator's action."""


def upgrade() -> None:
    with op.batch_alter_table("batches") as table:
        for name in _COLUMNS:
            table.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    kinds = ", ".join(f"'{kind}'" for kind in ADMIN_EVENTS)
    op.execute(
        "UPDATE batches SET last_admin_activity_at = COALESCE((SELECT MAX(e.at) FROM events e"
        f" WHERE e.batch_id = batches.id AND e.kind IN ({kinds})), created_at)"
    )
    op.execute(
        "UPDATE batches SET settled_at = COALESCE((SELECT MAX(e.at) FROM events e"
        " WHERE e.batch_id = batches.id AND e.kind = 'batch_status'), completed_at, created_at)"
    )
    for name, columns in _INDEXES:
        op.create_index(name, "batches", list(columns))


def downgrade() -> None:
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="batches")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL), not batch mode (see 0003).
    for name in reversed(_COLUMNS):
        op.drop_column("batches", name)
