"""``mailferry worker``, ``mailferry workers`` and ``mailferry db upgrade`` (issue 14).

``worker`` runs the user jobs a ``mailferry serve --runner procrastinate`` defers, from
the PostgreSQL database named by ``MAILFERRY_DB`` (or ``--db``), with the secrets'
key from ``MAILFERRY_KEY``: start as many as the machines allow, each with
``--concurrency`` jobs at once. SIGTERM stops it cleanly (its running jobs record
where they stopped and go back to the queue). ``workers`` lists the schedulers and
workers registered on the database. ``db upgrade`` brings the database to the newest
schema (procrastinate's job queue included, on PostgreSQL) and says where it stands.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import click

from mailferry.app import Mailferry, ServiceChanges
from mailferry.interfaces.cli.api import say
from mailferry.interfaces.cli.app_context import app_command, db_option, open_app
from mailferry.interfaces.cli.durations import DURATION
from mailferry.interfaces.cli.failures import cli_errors
from mailferry.interfaces.cli.record_options import RecordFormat, record_options

WORKER_COLUMNS = ("Role", "Host", "Pid", "Started", "Heartbeat", "RunningJobs", "Alive")


@click.command("worker")
@db_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    default=4,
    show_default=True,
    help="User jobs this worker runs at once.",
)
@click.option(
    "--queues",
    metavar="NAME[,NAME…]",
    default="",
    help="Only jobs of these queues (default: every queue; mailferry defers to 'mailferry').",
)
@click.option(
    "--lease",
    type=DURATION,
    default="60s",
    show_default=True,
    help="How long a job's claim lasts without a heartbeat: the same as serve's --lease.",
)
@click.option(
    "--incremental-interval",
    type=DURATION,
    default="24h",
    show_default=True,
    help="Time between incremental syncs of a synced user (as serve's).",
)
@click.option(
    "--retry-base",
    type=DURATION,
    default="30s",
    show_default=True,
    help="First backoff after a transient error (as serve's).",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Transient failures in a row before a user fails (as serve's).",
)
def worker(
    concurrency: int,
    queues: str,
    lease: dt.timedelta,
    incremental_interval: dt.timedelta,
    retry_base: dt.timedelta,
    max_attempts: int,
) -> None:
    """Run the user jobs deferred by `mailferry serve --runner procrastinate`
    (PostgreSQL: MAILFERRY_DB; the secrets' key: MAILFERRY_KEY)."""
    names = [name.strip() for name in queues.split(",") if name.strip()]
    changes = ServiceChanges(
        lease=lease,
        incremental_interval=incremental_interval,
        retry_base_seconds=retry_base.total_seconds(),
        max_attempts=max_attempts,
    )

    def started(view: dict[str, Any]) -> None:
        say(f"mailferry worker: running (pid {view['Pid']}, concurrency {concurrency})")

    with cli_errors(), open_app(changes=changes) as app:
        run = app.run_worker(concurrency=concurrency, queues=names, on_start=started)
        done = asyncio.run(run)
    say(f"mailferry worker: stopped after {done['JobsRun']} jobs")


@click.command("workers")
@record_options
@app_command
def workers(app: Mailferry, /, output: RecordFormat) -> None:
    """List the schedulers and workers on this database (host, pid, started,
    heartbeat, running jobs)."""
    output.emit(app.get_workers(), table_columns=WORKER_COLUMNS)


@click.group("db")
@db_option
def db() -> None:
    """The state database."""


@db.command("upgrade")
@app_command
def upgrade(app: Mailferry, /) -> None:
    """Bring the database to the newest schema (opening it does; this says so)."""
    info = app.database_info()
    queue = info["JobQueueSchema"]
    where = f", job queue in schema {queue}" if queue else ""
    click.echo(f"{info['Backend']} database at revision {info['Revision']}{where}")
