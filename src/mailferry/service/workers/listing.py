"""``mailferry workers``: the schedulers and workers registered on this database."""

from __future__ import annotations

import socket
from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.jobs.recovery import alive
from mailferry.service.workers.queue import DISPATCH
from mailferry.state.worker_rows import ServiceRow, service_rows


def role(owner: str) -> str:
    kind = owner.split(":", 1)[0]
    if kind == "worker":
        return "Worker"
    if kind == "serve":
        return "Scheduler" if owner.endswith(DISPATCH) else "Service"
    return "Command"


def get_workers(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Each registered service: Role, Host, Pid, Started, Heartbeat, RunningJobs and
    whether it looks alive (fresh heartbeat; its process exists, when on this host)."""
    now, lease, here = ctx.now(), ctx.settings.lease, socket.gethostname()
    return [
        _view(row, now - row.heartbeat_at <= lease, here) for row in service_rows(ctx.store.engine)
    ]


def _view(row: ServiceRow, fresh: bool, here: str) -> dict[str, Any]:
    living = fresh and (row.host != here or alive(row.pid))
    return {
        "Identity": row.owner,
        "Role": role(row.owner),
        "Host": row.host,
        "Pid": row.pid,
        "Started": row.started_at,
        "Heartbeat": row.heartbeat_at,
        "RunningJobs": row.jobs,
        "Alive": living,
    }
