"""procrastinate's job queue, for ``mailferry worker`` (issue 14).

Revision ID: 0009_workers
Revises: 0008_console_admins
Create Date: 2026-12-03

PostgreSQL only: procrastinate's schema (tables, types, functions) is created in a
PostgreSQL schema of its own beside ours (``state/job_queue.py``); on SQLite this
revision changes nothing. No table of ours changes: workers register in ``services``
and hold their jobs through the users' claims, as ``serve`` does.
"""

from __future__ import annotations

from alembic import op

from mailferry.state.job_queue import create_job_queue, drop_job_queue

revision: str = "0009_workers"
down_revision: str | None = "0008_console_admins"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_job_queue(op.get_bind())


def downgrade() -> None:
    drop_job_queue(op.get_bind())
