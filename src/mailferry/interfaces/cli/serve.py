"""``mailferry serve``: the embedded service (scheduler and workers in this process), and
with ``--http HOST:PORT`` the REST API beside it, in the same event loop.

It runs until SIGINT/SIGTERM; then the API stops accepting (open requests get a few
seconds), running copies are cancelled, each records where it stopped, and the next
``serve`` resumes them. A ``kill -9`` is survived too: the next ``serve`` finds the dead
process's claims and resumes those jobs (the engine reconciles half-done appends, so
nothing is lost or duplicated). The API's listening rules (loopback unless
``--allow-remote``; remote only over TLS unless ``--allow-plain-http``) are ``api``'s.

Status changes are printed as lines on stderr (never a secret).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mailferry.app import Mailferry, ServiceChanges
from mailferry.interfaces.cli.api import api_server, http_options, say
from mailferry.interfaces.cli.app_context import db_option, open_app
from mailferry.interfaces.cli.durations import DURATION
from mailferry.interfaces.cli.failures import cli_errors
from mailferry.interfaces.http.server import HttpServer, Listen, run_together


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
@click.option(
    "--runner",
    type=click.Choice(["local", "procrastinate"]),
    default="local",
    show_default=True,
    help="Where jobs run: in this process (local), or deferred to `mailferry worker`s "
    "(procrastinate; PostgreSQL; one of several such serves acts at a time).",
)
@http_options(default=None)
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
    runner: str,
    listen: Listen | None,
) -> None:
    """Run the migration service: batches started from the CLI or API are copied here
    (with --http, the REST API is served too)."""
    changes = ServiceChanges(
        incremental_interval=incremental_interval,
        report_interval=report_interval,
        poll_seconds=poll.total_seconds(),
        lease=lease,
        retry_base_seconds=retry_base.total_seconds(),
        max_attempts=max_attempts,
        smtp_server=smtp_server,
        smtp_security=smtp_security,
        smtp_user=smtp_user,
        smtp_from=smtp_from,
    )
    clock = _offset_clock(clock_offset_file) if clock_offset_file is not None else None
    with cli_errors(), open_app(changes=changes, clock=clock) as app:
        server = api_server(app, listen) if listen is not None else None
        asyncio.run(_serve(app, server, runner))


async def _serve(app: Mailferry, server: HttpServer | None, runner: str = "local") -> None:
    seen: dict[str, str] = {}
    say(f"mailferry serve: running (pid {os.getpid()})")
    if server is not None:
        say(f"mailferry serve: REST API listening on {server.url}")

    def report(batches: list[dict[str, Any]]) -> None:
        """A line per status change. A pass returns the batches it looked at (a working
        batch always): one seen Removing and no longer there was removed."""
        for batch in batches:
            name, status = str(batch["Identity"]), str(batch["Status"])
            if seen.get(name) != status:
                say(f"batch {name}: {status}")
                seen[name] = status
        for gone in set(seen) - {str(b["Identity"]) for b in batches}:
            if seen[gone] == "Removing":
                del seen[gone]
                say(f"batch {gone}: removed")

    def acting() -> None:
        say("mailferry serve: acting scheduler (jobs go to mailferry worker)")

    async def schedule() -> None:
        try:
            if runner == "procrastinate":
                say("mailferry serve: waiting for the scheduler lock")
                await app.serve_with_workers(on_pass=report, on_acting=acting)
            else:
                await app.serve(on_pass=report)
        except asyncio.CancelledError:
            say("mailferry serve: stopped; running copies saved where they were")

    await run_together(server, schedule())


def _offset_clock(path: Path) -> Callable[[], dt.datetime]:
    def now() -> dt.datetime:
        try:
            offset = float(path.read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)

    return now
