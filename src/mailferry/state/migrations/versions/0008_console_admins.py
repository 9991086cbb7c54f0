"""The web console's administrators (issue 13).

Revision ID: 0008_console_admins
Revises: 0007_target_user_name
Create Date: 2026-12-03

A new table only. A password is kept as its scrypt hash with its own salt and cost
parameters (``service/admins/passwords``), never in clear; names are unique without
regard to case.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_console_admins"
down_revision: str | None = "0007_target_user_name"
branch_labels: str | None = None
depends_on: str | None = None


def _stamp(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "console_admins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        _stamp("created_at", False),
        _stamp("last_signin_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_admins")),
        sa.UniqueConstraint("name_key", name=op.f("uq_console_admins_name_key")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("console_admins")
