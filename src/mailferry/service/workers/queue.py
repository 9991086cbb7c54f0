"""The procrastinate app of the state database, and what a job carries.

A job is ``mailferry.user_job(user_id=N)``: ids only, never a secret (the worker reads
the user's encrypted logins from the database and decrypts them with ``MAILFERRY_KEY``).
Its queueing lock (``mailbox:N``) keeps at most one job per mailbox waiting in the
queue; one job per mailbox *running* is the claim's business (``worker``), since a lock
on running jobs would outlive a worker that was killed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Engine

from mailferry.errors import StateError
from mailferry.service.context import ServiceContext
from mailferry.state.job_queue import current_schema, job_queue_schema

TASK = "mailferry.user_job"
QUEUE = "mailferry"
DISPATCH = "/dispatch"
"""The end of the owner name of a scheduler that hands its claims to workers: a worker
takes over only such claims (never those of a ``serve`` running jobs itself)."""


def queueing_lock(user_id: int) -> str:
    return f"mailbox:{user_id}"


def one_connection_per_job(ctx: ServiceContext) -> None:
    """Jobs on workers copy over one session pair each: each process then counts every
    job as exactly one source connection, so MaxConcurrentMigrations bounds the
    source's connections across machines *and* that many mailboxes run at once (as
    Exchange does). With more pairs per job, each process would have to count the
    others' jobs at their most (``connection_budget``), halving the mailboxes."""
    ctx.settings = dataclasses.replace(ctx.settings, connections_per_mailbox=1)


def require_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise StateError(
            "open", "workers need a PostgreSQL state database (MAILFERRY_DB=postgresql://…)"
        )


def job_queue_app(engine: Engine, *, max_connections: int = 4) -> Any:
    """A procrastinate ``App`` (not opened) on the database of ``engine``, whose
    connections see procrastinate's schema (``state.job_queue``)."""
    require_postgresql(engine)
    import procrastinate

    with engine.connect() as connection:
        schema = job_queue_schema(current_schema(connection))
    url = engine.url.set(drivername="postgresql")
    connector = procrastinate.PsycopgConnector(
        conninfo=url.render_as_string(hide_password=False),
        min_size=1,
        max_size=max(2, max_connections),
        kwargs={"options": f"-c search_path={schema}"},
    )
    return procrastinate.App(connector=connector)
