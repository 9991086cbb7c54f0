"""The registered services (schedulers, workers) with the jobs they hold: one query.

``mailferry workers`` lists them; a job held is a user claimed by the service's owner
name (a worker's running jobs, a dispatching scheduler's jobs deferred and not yet
taken by a worker).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from mailferry.state.schema import migration_users, services


@dataclass(frozen=True)
class ServiceRow:
    owner: str
    host: str
    pid: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    jobs: int


def service_rows(engine: Engine) -> list[ServiceRow]:
    held = (
        select(migration_users.c.claimed_by, func.count().label("jobs"))
        .where(migration_users.c.claimed_by.is_not(None))
        .group_by(migration_users.c.claimed_by)
        .subquery()
    )
    query = (
        select(services, func.coalesce(held.c.jobs, 0))
        .outerjoin(held, held.c.claimed_by == services.c.owner)
        .order_by(services.c.host, services.c.started_at, services.c.owner)
    )
    with engine.connect() as connection:
        return [
            ServiceRow(str(o), str(h), int(p), s, b, int(j))
            for o, h, p, s, b, j in connection.execute(query)
        ]
