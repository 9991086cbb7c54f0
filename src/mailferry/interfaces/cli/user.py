"""``mailferry user get|stats|sync-now`` (Get-MigrationUser, Get-MigrationUserStatistics,
Set-MigrationUser -SyncNow)."""

from __future__ import annotations

import click

from mailferry.interfaces.cli.batch_watch import run_here, watch
from mailferry.interfaces.cli.record_options import (
    STATISTICS_COLUMNS,
    USER_COLUMNS,
    RecordFormat,
    record_options,
)
from mailferry.interfaces.cli.service_context import db_option, service_command
from mailferry.service.context import ServiceContext
from mailferry.service.migration_users import (
    get_user,
    get_users,
    user_report,
    user_statistics,
    user_sync_now,
)
from mailferry.service.properties import user_properties, user_statistics_properties
from mailferry.service.statuses import UserStatus

STATUS = click.Choice([s.value for s in UserStatus], case_sensitive=False)


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
    found = get_users(ctx, email, batch=batch_name, status=wanted)
    records = [user_properties(u) for u in found]
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
    found, skipped = user_statistics(ctx, email)
    if limit_skipped_items_to is not None:
        skipped = skipped[:limit_skipped_items_to]
    record = user_statistics_properties(found, skipped, ctx.now(), include_skipped_items)
    if include_report:
        record["Report"] = user_report(ctx, found)
    output.emit([record], single=True, table_columns=STATISTICS_COLUMNS)


@user.command("sync-now")
@click.argument("email")
@click.option(
    "--wait/--no-wait",
    default=None,
    help="Run the sync here until it settles (default: when no `mailferry serve` runs).",
)
@record_options
@service_command
def sync_now(ctx: ServiceContext, email: str, wait: bool | None, output: RecordFormat) -> None:
    """An incremental sync of one synced user, now."""
    asked = user_sync_now(ctx, email)
    if run_here(ctx, wait):
        watch(ctx, {asked.batch_id})
    record = user_properties(get_user(ctx, email))
    output.emit([record], single=True, table_columns=USER_COLUMNS)
