"""``mailferry user get|stats|sync-now|stop|start|remove`` (Get-MigrationUser,
Get-MigrationUserStatistics, Set-MigrationUser -SyncNow, Stop-, Start- and
Remove-MigrationUser)."""

from __future__ import annotations

import time

import click

from mailferry.interfaces.cli.record_options import (
    STATISTICS_COLUMNS,
    USER_COLUMNS,
    RecordFormat,
    record_options,
)
from mailferry.interfaces.cli.service_context import db_option, service_command
from mailferry.service.batches.user_actions import (
    finish_user_action,
    remove_user,
    start_user,
    stop_user,
)
from mailferry.service.batches.users import (
    get_user,
    list_users,
    listed_user,
    skipped_items,
    user_report,
    user_sync_now,
)
from mailferry.service.context import ServiceContext
from mailferry.service.properties import user_properties, user_statistics_properties
from mailferry.service.statuses import UserStatus
from mailferry.state.migration_records import MigrationUser
from mailferry.state.records import SkippedItem

STATUS = click.Choice([s.value for s in UserStatus], case_sensitive=False)
WINDING_DOWN = (UserStatus.STOPPING, UserStatus.REMOVING)
_GRACE_SECONDS = 10.0
"""How long past the claim lease Stop / Remove wait for a job to end (a dead worker's
job ends when its lease expires)."""


@click.group("user")
@db_option
def user() -> None:
    """Migration users: one mailbox of a batch, its status and statistics."""


@user.command("get")
@click.argument("email", required=False)
@click.option("--batch", "batch_name", help="Only the users of this batch.")
@click.option("--status", type=STATUS, help="Only users with this status.")
@record_options
@service_command
def get(
    ctx: ServiceContext,
    email: str | None,
    batch_name: str | None,
    status: str | None,
    output: RecordFormat,
) -> None:
    """Show one migration user, or all of them (of a batch)."""
    wanted = None if status is None else UserStatus(status)
    found = list_users(ctx, email, batch=batch_name, status=wanted)
    records = [user_properties(f.user, batch_started=f.batch_started) for f in found]
    output.emit(records, single=email is not None, table_columns=USER_COLUMNS)


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
@service_command
def stats(
    ctx: ServiceContext,
    email: str,
    include_skipped_items: bool,
    limit_skipped_items_to: int | None,
    include_report: bool,
    output: RecordFormat,
) -> None:
    """A user's statistics: items in source, synced, skipped, bytes, durations."""
    found = listed_user(ctx, email)
    skipped: list[SkippedItem] = []
    if include_skipped_items:
        skipped = skipped_items(ctx, found.user, limit_skipped_items_to)
    record = user_statistics_properties(
        found.user, skipped, ctx.now(), include_skipped_items, batch_started=found.batch_started
    )
    if include_report:
        record["Report"] = user_report(ctx, found.user)
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


def _run_here(ctx: ServiceContext, wait: bool | None, batch_id: int) -> None:
    """Run the scheduler here if no service does (imported only then: listings and
    statistics never pay the scheduler's and progress views' start-up)."""
    from mailferry.interfaces.cli.batch_watch import run_here, watch

    if run_here(ctx, wait):
        watch(ctx, {batch_id})


def _show(ctx: ServiceContext, email: str, output: RecordFormat) -> None:
    found = listed_user(ctx, email)
    record = user_properties(found.user, batch_started=found.batch_started)
    output.emit([record], single=True, table_columns=USER_COLUMNS)


@user.command("sync-now")
@click.argument("email")
@run_here_option
@record_options
@service_command
def sync_now(ctx: ServiceContext, email: str, wait: bool | None, output: RecordFormat) -> None:
    """An incremental sync of one synced user, now."""
    asked = user_sync_now(ctx, email)
    _run_here(ctx, wait, asked.batch_id)
    _show(ctx, email, output)


@user.command("stop")
@click.argument("email")
@stopped_option
@record_options
@service_command
def stop(ctx: ServiceContext, email: str, wait: bool, output: RecordFormat) -> None:
    """Stop one user's syncs (start resumes it); the mail copied so far is kept."""
    stopped = stop_user(ctx, email)
    if wait and stopped.status in WINDING_DOWN:
        wait_for_job(ctx, stopped)
    _show(ctx, email, output)


@user.command("start")
@click.argument("email")
@run_here_option
@record_options
@service_command
def start(ctx: ServiceContext, email: str, wait: bool | None, output: RecordFormat) -> None:
    """Resume a stopped user, or retry a failed one."""
    started = start_user(ctx, email)
    _run_here(ctx, wait, started.batch_id)
    _show(ctx, email, output)


@user.command("remove")
@click.argument("email")
@click.option("--force", is_flag=True, help="Remove even if it synced before the MX switch.")
@stopped_option
@record_options
@service_command
def remove(ctx: ServiceContext, email: str, force: bool, wait: bool, output: RecordFormat) -> None:
    """Remove a user: its password and sync state are purged (copied mail stays on the
    target); `batch add-users` can add the address again."""
    user_id = get_user(ctx, email).id
    removal = remove_user(ctx, email, force=force)
    left = None if removal.purged else ctx.store.user_by_id(user_id)
    if wait and left is not None:
        left = wait_for_job(ctx, left)
    if left is None:
        click.echo(f"Removed user {removal.email_address} from batch {removal.batch}")
        return
    click.echo(
        f"note: user {removal.email_address} is Removing: it is purged once its running "
        "sync has stopped",
        err=True,
    )
    output.emit([user_properties(left)], single=True, table_columns=USER_COLUMNS)


def wait_for_job(ctx: ServiceContext, user: MigrationUser) -> MigrationUser | None:
    """Wait (bounded) until the Stopping / Removing user's job has ended, finishing its
    Stop or Remove then; the user as it is (None once purged). The job is cancelled by
    the scheduler that runs it (`mailferry serve`, or another command's foreground run);
    a dead worker's job ends when its claim's lease expires."""
    click.echo(f"waiting for the running sync of {user.email_address} to stop…", err=True)
    deadline = time.monotonic() + ctx.settings.lease.total_seconds() + _GRACE_SECONDS
    current: MigrationUser | None = user
    while True:
        current = finish_user_action(ctx, user.id)
        if current is None or current.status not in WINDING_DOWN:
            return current
        if time.monotonic() >= deadline:
            return current
        time.sleep(ctx.settings.poll_seconds)
