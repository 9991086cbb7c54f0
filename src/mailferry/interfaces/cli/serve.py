"""``mailferry serve``: the embedded service (scheduler and workers in this process).

It runs until SIGINT/SIGTERM; then running copies are cancelled, each records where it
stopped, and the next ``serve`` resumes them. A ``kill -9`` is survived too: the next
``serve`` finds the dead process's claims and resumes those jobs (the engine
reconciles half-done appends, so nothing is lost or duplicated).

Status changes are printed as lines on stderr (never a secret).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import signal
import sys
from pathlib import Path

import click

from mailferry.interfaces.cli.durations import DURATION
from mailferry.interfaces.cli.service_context import (
    build_context,
    chosen_db_url,
    cli_errors,
    db_option,
    smtp_settings,
)
from mailferry.interfaces.cli.words import describe
from mailferry.service.context import Clock, ServiceContext, system_clock
from mailferry.service.jobs.scheduler import Scheduler
from mailferry.state.migration_records import Batch


@click.command()
@db_option
@click.option(
    "--incremental-interval",
    type=DURATION,
    default="24h",
    show_default=True,
    help="Time between incremental syncs of a synced user.",
)
@click.option(
    "--report-interval",
    type=DURATION,
    default="24h",
    show_default=True,
    help="Time between e-mailed batch reports (0 = only the first).",
)
@click.option(
    "--poll",
    type=DURATION,
    default="1s",
    show_default=True,
    help="How often the scheduler looks for work.",
)
@click.option(
    "--lease",
    type=DURATION,
    default="60s",
    show_default=True,
    help="How long a job's claim lasts without a heartbeat (another worker "
    "resumes the job after that).",
)
@click.option(
    "--retry-base",
    type=DURATION,
    default="30s",
    show_default=True,
    help="First backoff after a transient error (doubles each time).",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Transient failures in a row before a user fails.",
)
@click.option("--smtp-server", metavar="HOST[:PORT]", help="SMTP server for e-mailed reports.")
@click.option(
    "--smtp-security", type=click.Choice(["None", "Ssl", "Tls"]), default="None", show_default=True
)
@click.option("--smtp-user", help="SMTP login (password from MAILFERRY_SMTP_PASSWORD).")
@click.option("--smtp-from", default="mailferry@localhost", show_default=True)
@click.option(
    "--clock-offset-file",
    type=click.Path(dir_okay=False, path_type=Path),
    hidden=True,
    help="Testing aid: seconds added to the clock, read each time.",
)
def serve(
    incremental_interval: dt.timedelta,
    report_interval: dt.timedelta,
    poll: dt.timedelta,
    lease: dt.timedelta,
    retry_base: dt.timedelta,
    max_attempts: int,
    smtp_server: str | None,
    smtp_security: str,
    smtp_user: str | None,
    smtp_from: str,
    clock_offset_file: Path | None,
) -> None:
    """Run the migration service: batches started from the CLI or API are copied here."""
    with cli_errors():
        ctx = build_context(chosen_db_url(), os.environ)
        ctx.settings = dataclasses.replace(
            ctx.settings,
            incremental_interval=incremental_interval,
            report_interval=report_interval,
            poll_seconds=poll.total_seconds(),
            lease=lease,
            retry_base_seconds=retry_base.total_seconds(),
            max_attempts=max_attempts,
            smtp=smtp_settings(smtp_server, smtp_security, smtp_user, smtp_from, os.environ)
            or ctx.settings.smtp,
        )
        if clock_offset_file is not None:
            ctx.clock = _offset_clock(clock_offset_file)
        try:
            asyncio.run(_serve(ctx))
        finally:
            ctx.store.close()


async def _serve(ctx: ServiceContext) -> None:
    scheduler = Scheduler(ctx, describe=describe)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    seen: dict[int, tuple[str, str]] = {}
    _say(f"mailferry serve: running (pid {os.getpid()})")

    def report(batches: list[Batch]) -> bool:
        """A line per status change. A pass returns the batches it looked at (a working
        batch always): one seen Removing and no longer there was removed."""
        for batch in batches:
            if seen.get(batch.id, ("", ""))[1] != batch.status.value:
                _say(f"batch {batch.name}: {batch.status.value}")
                seen[batch.id] = (batch.name, batch.status.value)
        for gone in set(seen) - {b.id for b in batches}:
            name, status = seen[gone]
            if status == "Removing":
                del seen[gone]
                _say(f"batch {name}: removed")
        return False

    try:
        await scheduler.run(until=report)
    except asyncio.CancelledError:
        _say("mailferry serve: stopped; running copies saved where they were")


def _say(text: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {text}", file=sys.stderr, flush=True)


def _offset_clock(path: Path) -> Clock:
    def now() -> dt.datetime:
        try:
            offset = float(path.read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return system_clock() + dt.timedelta(seconds=offset)

    return now
