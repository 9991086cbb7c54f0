"""Migration users: time spent Synced (between syncs) and stalled (waiting to retry).

Revision ID: 0003_user_durations
Revises: 0002_service
Create Date: 2026-11-25

Get-MigrationUserStatistics reports four durations: queued, in progress, synced
and stalled. The last two are new here; existing users start them at zero.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_user_durations"
down_revision: str | None = "0002_service"
branch_labels: str | None = None
depends_on: str | None = None

_SECONDS = ("synced_seconds", "stalled_seconds")
_SINCE = ("synced_since", "stalled_since")


def upgrade() -> None:
    with op.batch_alter_table("migration_users") as table:
        for name in _SECONDS:
            table.add_column(sa.Column(name, sa.Float(), nullable=False, server_default="0"))
        for name in _SINCE:
            table.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL), not batch mode: on SQLite
    # that copies the table, and a dropped table's dependants cascade (see 0004).
    for name in (*_SINCE, *_SECONDS):
        op.drop_column("migration_users", name)
