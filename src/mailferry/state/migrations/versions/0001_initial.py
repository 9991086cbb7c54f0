"""Initial schema: mailboxes, folders (checkpoints), message_pairs, skipped_items.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01

A frozen snapshot: later schema changes get their own revision, never an edit here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _stamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        _id(),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("created_at", _stamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("key", name=op.f("uq_mailboxes_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "folders",
        _id(),
        sa.Column("mailbox_id", sa.BigInteger(), nullable=False),
        sa.Column("source_folder", sa.Text(), nullable=False),
        sa.Column("target_folder", sa.Text(), nullable=False),
        sa.Column("source_uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("source_uidnext", sa.BigInteger(), nullable=True),
        sa.Column("source_highestmodseq", sa.BigInteger(), nullable=True),
        sa.Column("source_messages", sa.BigInteger(), nullable=True),
        sa.Column("target_uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_synced_at", _stamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folders")),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_folders_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "mailbox_id", "source_folder", name=op.f("uq_folders_mailbox_id_source_folder")
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "message_pairs",
        _id(),
        sa.Column("folder_id", sa.BigInteger(), nullable=False),
        sa.Column("source_uid", sa.BigInteger(), nullable=False),
        sa.Column("target_uid", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("internaldate", _stamp(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("target_uidnext_before", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_pairs")),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folders.id"],
            name=op.f("fk_message_pairs_folder_id_folders"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "folder_id", "source_uid", name=op.f("uq_message_pairs_folder_id_source_uid")
        ),
        sa.CheckConstraint("state IN ('pending', 'done')", name=op.f("ck_message_pairs_state")),
    )
    op.create_index(
        op.f("ix_message_pairs_folder_id_fingerprint"),
        "message_pairs",
        ["folder_id", "fingerprint"],
    )
    op.create_table(
        "skipped_items",
        _id(),
        sa.Column("mailbox_id", sa.BigInteger(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("source_uid", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("date", _stamp(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_items")),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_skipped_items_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "mailbox_id",
            "folder",
            "source_uid",
            "kind",
            name=op.f("uq_skipped_items_mailbox_id_folder_source_uid_kind"),
        ),
    )


def downgrade() -> None:
    op.drop_table("skipped_items")
    op.drop_index(op.f("ix_message_pairs_folder_id_fingerprint"), table_name="message_pairs")
    op.drop_table("message_pairs")
    op.drop_table("folders")
    op.drop_table("mailboxes")
