"""``mailferry migrate``: a whole CSV from a source to a target, in the foreground."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mailferry.engine.planner import SyncOptions
from mailferry.errors import MailferryError
from mailferry.interfaces.cli.durations import DURATION
from mailferry.interfaces.cli.home import mailferry_home
from mailferry.interfaces.cli.migration_options import (
    folder_list,
    migration_options,
    source_spec,
    target_spec,
    users,
)
from mailferry.interfaces.cli.progress_view import MigrationProgress
from mailferry.interfaces.cli.safe_text import rich_text
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK, EXIT_USAGE, describe
from mailferry.service.oneshot.migrate import MigrationRequest, UserOutcome, run_migration
from mailferry.service.oneshot.retry import RetrySettings
from mailferry.service.oneshot.state_file import default_state_path


@click.command("migrate")
@migration_options
@click.option("--max-concurrent", type=click.IntRange(1, 100), default=4, show_default=True)
@click.option(
    "--connections-per-mailbox",
    type=click.IntRange(1, 10),
    default=2,
    show_default=True,
    help="Session pairs per user; folders are then copied in parallel (2 halves the small "
    "bench corpus's time on Dovecot; most servers allow 10 connections per user).",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    help="Worker processes the users run in, so their CPU spreads over the cores "
    "[default: half the CPUs, at most one per user; 1 = all in this process]. "
    "--max-concurrent stays the total of users at once.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 100),
    default=RetrySettings.max_attempts,
    show_default=True,
    help="Attempts per user when throttled or disconnected (as mailferry serve retries).",
)
@click.option(
    "--retry-base",
    type=DURATION,
    default="30s",
    show_default=True,
    help="First wait after a transient error the server suggests no time for (doubles each "
    "time, at most 1h); a suggested time is obeyed, at least 1s (or --retry-base if less).",
)
@click.option("--dry-run", is_flag=True, help="List and plan; write nothing to the target.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
    help="State database file; run again with the same one for an incremental sync "
    "[default: <MAILFERRY_HOME>/migrate/<hash of source and target>.db, one per "
    "source and target; MAILFERRY_HOME defaults to ~/.local/share/mailferry].",
)  # fmt: skip
@click.option("--max-message-size", type=click.IntRange(0), default=36_700_160, show_default=True)
@click.option("--max-items", type=click.IntRange(0), default=500_000, show_default=True)
@click.option("--include-deleted", is_flag=True, help="Also copy messages flagged \\Deleted.")
@click.option(
    "--propagate-deletions", is_flag=True, help="Delete on the target what the source expunged."
)
def migrate(**params: Any) -> None:
    """Migrate every user of --csv from the source server to --target.

    Users run concurrently (--max-concurrent in all), spread over --processes
    worker processes; one failing user never stops the others. Progress bars
    show messages, bytes, rates and ETA; a summary table and an optional JSON
    report follow. Exit code 1 if any user failed or is incomplete (a folder or a
    message left behind: the summary names each folder and why).
    """
    console = Console(highlight=False, soft_wrap=True)
    try:
        request = _request(params)
    except MailferryError as error:
        console.print(f"[red]error:[/] {rich_text(describe(error))}")
        sys.exit(EXIT_USAGE)
    outcomes = _run(console, request)
    _print_summary(console, outcomes, request)
    if params["report_path"] is not None:
        from mailferry.service.oneshot.report import migration_report

        report = migration_report(request, outcomes)
        params["report_path"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
        console.print(f"Report written to {escape(str(params['report_path']))}")
    sys.exit(EXIT_OK if all(o.status == "Synced" for o in outcomes) else EXIT_FAILED)


def _request(params: dict[str, Any]) -> MigrationRequest:
    options = SyncOptions(
        max_message_size=params["max_message_size"],
        max_items=params["max_items"],
        include_deleted=params["include_deleted"],
        propagate_deletions=params["propagate_deletions"],
        dry_run=params["dry_run"],
        received=params["content_filter"],
    )
    rows = users(params)
    source, target = source_spec(params), target_spec(params)
    home = mailferry_home(os.environ)
    state_path = params["state_path"] or default_state_path(home, source, target)
    return MigrationRequest(
        source=source,
        target=target,
        users=rows,
        state_url=f"sqlite:///{state_path.resolve()}",
        include_folders=folder_list(params["include_folders"]),
        exclude_folders=folder_list(params["exclude_folders"]),
        options=options,
        max_concurrent=params["max_concurrent"],
        connections_per_mailbox=params["connections_per_mailbox"],
        processes=params["processes"] or default_processes(len(rows)),
        retry=retry_settings(params["max_attempts"], params["retry_base"]),
    )


def retry_settings(max_attempts: int, base: dt.timedelta) -> RetrySettings:
    seconds = base.total_seconds()
    return RetrySettings(max_attempts, seconds, min_seconds=min(1.0, seconds))


def default_processes(users: int) -> int:
    """Half the CPUs this process may run on, at most one per user.

    Half, because the rest of the machine works too (the kernel's TCP and TLS, often
    a server): on 2 cores with both Dovecots local, 2 workers were slower than one
    (bench small corpus 5.3 s vs 4.75 s; each spawned worker also imports ~0.8 CPU-s).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cpus = os.cpu_count() or 1
    return max(1, min(cpus // 2, users))


def _run(console: Console, request: MigrationRequest) -> list[UserOutcome]:
    def done(outcome: UserOutcome) -> None:
        if outcome.status == "Failed":
            status = f"[red]FAILED[/] {rich_text(outcome.error or '')}"
        elif outcome.result is not None and outcome.status == "Incomplete":
            status = f"[red]INCOMPLETE[/] {rich_text(outcome.result.incomplete_reason() or '')}"
        else:
            status = "[green]ok[/]"
        console.print(f"{rich_text(outcome.row.email_address)}: {status}")

    with MigrationProgress(console, len(request.users)) as progress:
        return asyncio.run(
            run_migration(request, on_event=progress.on_event, on_user_done=done, describe=describe)
        )


def _print_summary(
    console: Console, outcomes: list[UserOutcome], request: MigrationRequest
) -> None:
    title = "Dry run (nothing written)" if request.options.dry_run else "Migration summary"
    table = Table(title=f"{title}: {request.source.describe()} -> {request.target.describe()}")
    window = request.options.received
    columns = ["user", "status", "folders", "in source", "synced", "copied", "skipped",
               *(["filtered"] if window is not None else []), "MB", "seconds", "error"]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("user", "status", "error")
                         else "right")  # fmt: skip
    for outcome in outcomes:
        row = _row(outcome)
        if window is not None:
            filtered = "" if outcome.result is None else str(outcome.result.filtered)
            row.insert(7, filtered)
        table.add_row(*row)
    console.print(table)
    if window is not None:
        left_out = sum(o.result.filtered for o in outcomes if o.result is not None)
        console.print(
            f"Content filter {escape(window.text())}: {left_out} message(s) received "
            "outside it were not migrated (folders found unchanged are not counted)."
        )
    failed = sum(1 for o in outcomes if o.failed)
    incomplete = sum(1 for o in outcomes if o.status == "Incomplete")
    synced = len(outcomes) - failed - incomplete
    console.print(f"{synced} synced, {incomplete} incomplete, {failed} failed.")


def _row(outcome: UserOutcome) -> list[str]:
    name = rich_text(outcome.row.email_address)
    seconds = f"{outcome.duration:.1f}"
    result = outcome.result
    if result is None:
        return [
            name,
            "[red]Failed[/]",
            "",
            "",
            "",
            "",
            "",
            "",
            seconds,
            rich_text(outcome.error or ""),
        ]
    errors = "; ".join(f"{k}: {v}" for k, v in result.errors.items())
    status = "[green]Synced[/]" if result.complete else "[red]Incomplete[/]"
    return [
        name, status, str(len(result.folders)), str(result.in_scope), str(result.synced),
        str(result.copied), str(result.skipped_total), f"{result.bytes_copied / 1e6:.1f}",
        seconds, rich_text(errors),
    ]  # fmt: skip
