"""Bearer tokens of the REST API.

Revision ID: 0006_api_tokens
Revises: 0005_scheduler_indexes
Create Date: 2026-12-05

A new table only (no existing row changes). A token is kept as the SHA-256 of its text,
never the text itself; ``lookup_id`` is the token's non-secret part, so a check finds
its row by an index and then compares hashes in constant time. A revoked token keeps
its row (``revoked_at`` set) so the listing shows it; its name may be reused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_api_tokens"
down_revision: str | None = "0005_scheduler_indexes"
branch_labels: str | None = None
depends_on: str | None = None


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def _stamp(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        _text("name"),
        _text("name_key"),
        _text("lookup_id"),
        _text("secret_hash"),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        _stamp("created_at", False),
        _stamp("last_used_at"),
        _stamp("revoked_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name_key", name=op.f("uq_api_tokens_name_key")),
        sa.UniqueConstraint("lookup_id", name=op.f("uq_api_tokens_lookup_id")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
