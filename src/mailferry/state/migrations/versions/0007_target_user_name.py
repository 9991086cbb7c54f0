"""Migration users: the name the target knows each mailbox by, from the CSV.

Revision ID: 0007_target_user_name
Revises: 0006_api_tokens
Create Date: 2026-12-03

A CSV may carry a ``TargetUserName`` column for targets that know a mailbox under
another name than its address (no virtual domains, an old login scheme). It overrides
the batch's ``--target-user-format`` for that row. Existing users have none (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_target_user_name"
down_revision: str | None = "0006_api_tokens"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("migration_users") as table:
        table.add_column(sa.Column("target_user_name", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL), not batch mode (see 0003).
    op.drop_column("migration_users", "target_user_name")
