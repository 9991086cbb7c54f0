"""``mailferry user get|stats|sync-now|stop|start|remove`` (Get-MigrationUser,
Get-MigrationUserStatistics, Set-MigrationUser -SyncNow, Stop-, Start- and
Remove-MigrationUser)."""

from __future__ import annotations

import click

from mailferry.app import Mailferry
from mailferry.app.choices import user_statuses
from mailferry.interfaces.cli.app_context import app_command, db_option
from mailferry.interfaces.cli.record_options import (
    STATISTICS_COLUMNS,
    USER_COLUMNS,
    RecordFormat,
    record_options,
)
from mailferry.values.exchange_statuses import STATUS_SUMMARIES, USER_STATUS_NAMES
from mailferry.values.statuses import UserStatus

STATUS = click.Choice(USER_STATUS_NAMES, case_sensitive=False)
SUMMARY = click.Choice(tuple(STATUS_SUMMARIES), case_sensitive=False)
RESULT_SIZE = click.IntRange(min=1)
WINDING_DOWN = (UserStatus.STOPPING, UserStatus.REMOVING)


@click.group("user")
@db_option
def user() -> None:
    """Migration users: one mailbox of a batch, its status and statistics."""


@user.command("get")
@click.argument("email", required=False)
@click.option("--batch", "batch_name", help="Only the users of this batch.")
@click.option(
    "--status", type=STATUS, help="Only users with this status (ours, or Exchange's names)."
)
@click.option("--status-summary", type=SUMMARY, help="Only users of this StatusSummary.")
@click.option("--result-size", type=RESULT_SIZE, help="At most this many (default: all).")
@record_options
@app_command
def get(
    app: Mailferry,
    email: str | None,
    batch_name: str | None,
    status: str | None,
    status_summary: str | None,
    result_size: int | None,
    output: RecordFormat,
) -> None:
    """Show one migration user, or all of them (of a batch), by address."""
    if email is None:
        page = app.get_users(
            batch=batch_name, status=status, status_summary=status_summary, limit=result_size
        )
        records = page["Items"]
    else:
        one = app.get_user(email)
        records = [one] if _matches(one, status, status_summary) else []
    output.emit(records, single=email is not None, table_columns=USER_COLUMNS)


def _matches(user: dict[str, object], status: str | None, summary: str | None) -> bool:
    """Whether one user shows the status (ours or Exchange's) and summary asked for."""
    if status is None and summary is None:
        return True
    wanted = user_statuses(status, summary) or ()
    return str(user["Status"]) in {s.value for s in wanted}


@user.command("stats")
@click.argument("email")
@click.option("--include-skipped-items", is_flag=True, help="List every skipped item.")
@click.option(
    "--limit-skipped-items-to",
    type=click.IntRange(min=0),
    help="At most this many skipped items (with --include-skipped-items).",
)
@click.option("--include-report", is_flag=True, help="Add the user's timeline (Report).")
@record_options
@app_command
def stats(
    app: Mailferry,
    email: str,
    include_skipped_items: bool,
    limit_skipped_items_to: int | None,
    include_report: bool,
    output: RecordFormat,
) -> None:
    """A user's statistics: items in source, synced, skipped, bytes, durations."""
    record = app.user_statistics(
        email,
        include_skipped=include_skipped_items,
        skipped_limit=limit_skipped_items_to,
        include_report=include_report,
    )
    output.emit([record], single=True, table_columns=STATISTICS_COLUMNS)


run_here_option = click.option(
    "--wait/--no-wait",
    default=None,
    help="Run the sync here until it settles (default: when no `mailferry serve` runs).",
)
stopped_option = click.option(
    "--wait/--no-wait",
    default=True,
    help="Wait until a running sync of the user has stopped (default: wait).",
)


def _run_here(app: Mailferry, wait: bool | None, batch: str) -> None:
    """Run the scheduler here if no service does (imported only then: listings and
    statistics never pay the scheduler's and progress views' start-up)."""
    from mailferry.interfaces.cli.batch_watch import run_here, watch

    if run_here(app, wait):
        watch(app, {batch})


def _show(app: Mailferry, email: str, output: RecordFormat) -> None:
    output.emit([app.get_user(email)], single=True, table_columns=USER_COLUMNS)


@user.command("sync-now")
@click.argument("email")
@run_here_option
@record_options
@app_command
def sync_now(app: Mailferry, email: str, wait: bool | None, output: RecordFormat) -> None:
    """An incremental sync of one synced user, now."""
    asked = app.sync_user(email)
    _run_here(app, wait, asked["BatchId"])
    _show(app, email, output)


@user.command("stop")
@click.argument("email")
@stopped_option
@record_options
@app_command
def stop(app: Mailferry, email: str, wait: bool, output: RecordFormat) -> None:
    """Stop one user's syncs (start resumes it); the mail copied so far is kept."""
    stopped = app.stop_user(email)
    if wait and stopped["Status"] in WINDING_DOWN:
        _wait_for_job(app, email)
    _show(app, email, output)


@user.command("start")
@click.argument("email")
@run_here_option
@record_options
@app_command
def start(app: Mailferry, email: str, wait: bool | None, output: RecordFormat) -> None:
    """Resume a stopped user, or retry a failed one."""
    started = app.start_user(email)
    _run_here(app, wait, started["BatchId"])
    _show(app, email, output)


@user.command("remove")
@click.argument("email")
@click.option("--force", is_flag=True, help="Remove even if it synced before the MX switch.")
@stopped_option
@record_options
@app_command
def remove(app: Mailferry, email: str, force: bool, wait: bool, output: RecordFormat) -> None:
    """Remove a user: its password and sync state are purged (copied mail stays on the
    target); `batch add-users` can add the address again."""
    removal = app.remove_user(email, force=force)
    left = None if removal["Purged"] else removal["User"]
    if wait and left is not None:
        left = _wait_for_job(app, email)
    if left is None:
        click.echo(f"Removed user {removal['EmailAddress']} from batch {removal['BatchId']}")
        return
    click.echo(
        f"note: user {removal['EmailAddress']} is Removing: it is purged once its running "
        "sync has stopped",
        err=True,
    )
    output.emit([left], single=True, table_columns=USER_COLUMNS)


def _wait_for_job(app: Mailferry, email: str) -> dict[str, object] | None:
    """Wait (bounded) until the Stopping / Removing user's job has ended; the job is
    cancelled by the scheduler that runs it (`mailferry serve`, or another command's
    foreground run), a dead worker's when its claim's lease expires."""
    click.echo(f"waiting for the running sync of {email} to stop…", err=True)
    return app.wait_user(email)
