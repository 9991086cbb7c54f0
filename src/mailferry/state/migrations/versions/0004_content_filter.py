"""The content filter (-ContentFilter): on batches, and the scope of folder checkpoints.

Revision ID: 0004_content_filter
Revises: 0003_user_durations
Create Date: 2026-11-27

``batches.content_filter`` holds New-MigrationBatch's ``-ContentFilter`` as given (None:
no filter). ``folders.scope`` is the filter a folder's checkpoint was made under, in its
canonical form ('' for none, so existing checkpoints, made without a filter, stay valid):
a run under another filter lists the folder in full instead of trusting the checkpoint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_content_filter"
down_revision: str | None = "0003_user_durations"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("folders") as table:
        table.add_column(sa.Column("scope", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("batches") as table:
        table.add_column(sa.Column("content_filter", sa.Text(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that copies each table into a new one and drops the
    # old, and dropping ``folders`` (or ``batches``) cascades to every message pair (or
    # migration user) that references it. ALTER TABLE ... DROP COLUMN (SQLite 3.35+,
    # PostgreSQL) keeps the rows.
    op.drop_column("batches", "content_filter")
    op.drop_column("folders", "scope")
