"""``mailferry migrate``: a whole CSV from a source to a target, in the foreground."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mailferry.app import MigrationRequest, MigrationRun
from mailferry.interfaces.cli.durations import DURATION
from mailferry.interfaces.cli.failures import cli_errors
from mailferry.interfaces.cli.gmail_options import gmail_options
from mailferry.interfaces.cli.migration_options import (
    folder_list,
    migration_options,
    source_request,
    target_request,
    users_csv,
)
from mailferry.interfaces.cli.progress_view import MigrationProgress
from mailferry.interfaces.cli.safe_text import rich_text
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK, describe

if TYPE_CHECKING:
    from mailferry.app.oneshot import UserOutcome

DEFAULT_MAX_ATTEMPTS = 5


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
    default=DEFAULT_MAX_ATTEMPTS,
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
@gmail_options
def migrate(**params: Any) -> None:
    """Migrate every user of --csv from the source server to --target.

    Users run concurrently (--max-concurrent in all), spread over --processes
    worker processes; one failing user never stops the others. Progress bars
    show messages, bytes, rates and ETA; a summary table and an optional JSON
    report follow. Exit code 1 if any user failed or is incomplete (a folder or a
    message left behind: the summary names each folder and why).
    """
    console = Console(highlight=False, soft_wrap=True)
    with cli_errors():
        request = _request(params)
        run = _run(console, request)
    _print_summary(console, run)
    if params["report_path"] is not None:
        report = run.report()
        params["report_path"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
        console.print(f"Report written to {escape(str(params['report_path']))}")
    sys.exit(EXIT_OK if run.ok else EXIT_FAILED)


def _request(params: dict[str, Any]) -> MigrationRequest:
    csv_data, csv_name = users_csv(params)
    state: Path | None = params["state_path"]
    return MigrationRequest(
        source=source_request(params),
        target=target_request(params),
        csv_data=csv_data,
        csv_name=csv_name,
        state_path=None if state is None else str(state),
        include_folders=folder_list(params["include_folders"]),
        exclude_folders=folder_list(params["exclude_folders"]),
        content_filter=params["content_filter"],
        max_message_size=params["max_message_size"],
        max_items=params["max_items"],
        include_deleted=params["include_deleted"],
        propagate_deletions=params["propagate_deletions"],
        dry_run=params["dry_run"],
        source_kind=params["source_kind"],
        gmail_labels=params["gmail_labels"],
        max_concurrent=params["max_concurrent"],
        connections_per_mailbox=params["connections_per_mailbox"],
        processes=params["processes"],
        max_attempts=params["max_attempts"],
        retry_base_seconds=params["retry_base"].total_seconds(),
    )


def _run(console: Console, request: MigrationRequest) -> MigrationRun:
    """The run, with progress bars; a line per user as it finishes. The users are
    counted from the CSV's rows before the run (the façade parses them)."""
    from mailferry.app.oneshot import migrate as run_migration

    def done(outcome: UserOutcome) -> None:
        if outcome.status == "Failed":
            status = f"[red]FAILED[/] {rich_text(outcome.error or '')}"
        elif outcome.result is not None and outcome.status == "Incomplete":
            status = f"[red]INCOMPLETE[/] {rich_text(outcome.result.incomplete_reason() or '')}"
        else:
            status = "[green]ok[/]"
        console.print(f"{rich_text(outcome.row.email_address)}: {status}")

    with MigrationProgress(console) as progress:
        return asyncio.run(
            run_migration(
                request,
                os.environ,
                on_event=progress.on_event,
                on_user_done=done,
                describe=describe,
            )
        )


def _print_summary(console: Console, run: MigrationRun) -> None:
    outcomes = run.outcomes
    title = "Dry run (nothing written)" if run.dry_run else "Migration summary"
    table = Table(title=f"{title}: {run.source} -> {run.target}")
    window = run.content_filter
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
            f"Content filter {escape(window)}: {left_out} message(s) received "
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
