"""``mailferry batch ...`` (Exchange's *-MigrationBatch).

Every command records its action through the service functions (the REST API calls
the same ones); ``batch_watch`` then decides whether this process carries it out.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click

from mailferry.connection.options import Security
from mailferry.interfaces.cli.record_options import (
    BATCH_COLUMNS,
    UTC_DATETIME,
    RecordFormat,
    record_options,
    split_or_none,
    split_values,
)
from mailferry.interfaces.cli.service_context import db_option, service_command
from mailferry.interfaces.cli.target_options import parse_target, target_secret
from mailferry.service.batches import manage as service
from mailferry.service.batches.manage import TARGET_LOGINS, BatchChanges, BatchRequest
from mailferry.service.batches.users import user_tallies
from mailferry.service.context import ServiceContext
from mailferry.service.properties import batch_tally_properties
from mailferry.service.reports.batch_report import REPORT_FORMATS, write_batch_report
from mailferry.service.service_errors import NotFound
from mailferry.service.statuses import BatchStatus
from mailferry.service.users_csv.file import read_csv_file
from mailferry.state.migration_records import Batch, TargetSettings

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
STATUS = click.Choice([s.value for s in BatchStatus], case_sensitive=False)
SECURITY = click.Choice([s.value for s in Security], case_sensitive=False)
WAIT_HELP = "Run the batch here until it settles (default: when no `mailferry serve` runs)."

CONTENT_FILTER_HELP = "Only mail received in a window, e.g. \"Received -gt '2020-08-23'\"."
wait_option = click.option("--wait/--no-wait", default=None, help=WAIT_HELP)


@click.group("batch")
@db_option
def batch() -> None:
    """Migration batches: a CSV of users copied from an endpoint to a target."""


@batch.command("new")
@click.option("--name", required=True, help="Unique, at most 64 characters.")
@click.option("--source-endpoint", required=True, help="The endpoint to copy from.")
@click.option("--csv", "csv_path", required=True, type=FILE, help="EmailAddress,UserName,Password")
@click.option("--target", help="maildir:PATH or imap://HOST:PORT (default: the service's).")
@click.option("--target-login", type=click.Choice(TARGET_LOGINS), help="Default: master-user.")
@click.option("--target-user", help="The target admin (master-user, admin-authzid).")
@click.option("--target-security", type=SECURITY, help="Default: None (imaps:// means Ssl).")
@click.option("--master-separator", default="*", show_default=True)
@click.option(
    "--target-password-file",
    type=FILE,
    help="Target admin password or token (else MAILFERRY_TARGET_PASSWORD).",
)
@click.option("--target-csv", type=FILE, help="Per-user target logins (EmailAddress,UserName,…).")
@click.option("--exclude-folders", multiple=True, help="Folder names (repeat, or comma lists).")
@click.option("--include-folders", multiple=True, help="Only these folders (and below).")
@click.option("--auto-start", is_flag=True, help="Start the batch once it is created.")
@click.option("--start-after", type=UTC_DATETIME, help="ISO time; UTC unless a zone is given.")
@click.option("--complete-after", type=UTC_DATETIME, help="ISO time; UTC unless a zone is given.")
@click.option("--notification-emails", multiple=True, help="Addresses that receive reports.")
@click.option("--allow-unknown-columns", is_flag=True)
@click.option("--content-filter", help=CONTENT_FILTER_HELP)
@wait_option
@record_options
@service_command
def new(
    ctx: ServiceContext,
    name: str,
    source_endpoint: str,
    csv_path: Path,
    target: str | None,
    target_login: str | None,
    target_user: str | None,
    target_security: str | None,
    master_separator: str,
    target_password_file: Path | None,
    target_csv: Path | None,
    exclude_folders: tuple[str, ...],
    include_folders: tuple[str, ...],
    auto_start: bool,
    start_after: dt.datetime | None,
    complete_after: dt.datetime | None,
    notification_emails: tuple[str, ...],
    allow_unknown_columns: bool,
    content_filter: str | None,
    wait: bool | None,
    output: RecordFormat,
) -> None:
    """Create a batch from a CSV of users (and start it with --auto-start)."""
    if target is None and (target_login or target_user or target_security or target_csv):
        raise click.UsageError("--target-login, --target-user, --target-security and "
                               "--target-csv describe a --target; give --target too")  # fmt: skip
    settings: TargetSettings | None = None
    if target is not None:
        settings = parse_target(
            target,
            login=target_login or "master-user",
            admin_user=target_user,
            security=target_security,
            separator=master_separator,
        )
    effective = settings or ctx.settings.default_target
    secret = None
    if effective is not None:
        secret = target_secret(effective, target_password_file, target_csv)
    request = BatchRequest(
        name=name,
        source_endpoint=source_endpoint,
        csv_data=read_csv_file(csv_path),
        csv_name=str(csv_path),
        target=settings,
        target_secret=secret,
        exclude_folders=split_values(exclude_folders),
        include_folders=split_values(include_folders),
        auto_start=auto_start,
        start_after=start_after,
        complete_after=complete_after,
        notification_emails=split_values(notification_emails),
        allow_unknown_columns=allow_unknown_columns,
        content_filter=content_filter,
    )
    created = service.new_batch(ctx, request)
    if auto_start:
        _carry_out(ctx, created, wait, starting=True)
    _print_batch(ctx, created.name, output)


@batch.command("get")
@click.argument("name", required=False)
@click.option("--status", type=STATUS, help="Only batches with this status.")
@click.option("--endpoint", help="Only batches using this source endpoint.")
@record_options
@service_command
def get(
    ctx: ServiceContext,
    name: str | None,
    status: str | None,
    endpoint: str | None,
    output: RecordFormat,
) -> None:
    """Show one batch, or all of them."""
    wanted = None if status is None else BatchStatus(status)
    found = service.get_batches(ctx, name, status=wanted, endpoint=endpoint)
    output.emit(_batch_records(ctx, found), single=name is not None, table_columns=BATCH_COLUMNS)


def _batch_records(ctx: ServiceContext, found: list[Batch]) -> list[dict[str, Any]]:
    """Get-MigrationBatch's views: the batches' counters in one aggregate query."""
    tallies, now = user_tallies(ctx, found), ctx.now()
    return [batch_tally_properties(b, tallies[b.id], now) for b in found]


def _action_command(
    verb: str, action: Callable[[ServiceContext, str], Batch], doc: str
) -> click.Command:
    @click.argument("name")
    @wait_option
    @record_options
    @service_command
    def run(ctx: ServiceContext, name: str, wait: bool | None, output: RecordFormat) -> None:
        changed = action(ctx, name)
        if verb == "complete":
            _warn_incomplete(ctx, changed)
        if _carry_out(ctx, changed, wait, starting=verb == "start"):
            _print_batch(ctx, changed.name, output)  # as the run here left it
        else:  # as the action left it (a service may already have moved it on)
            output.emit(_batch_records(ctx, [changed]), single=True, table_columns=BATCH_COLUMNS)

    run.__doc__ = doc
    return batch.command(verb)(run)


def _warn_incomplete(ctx: ServiceContext, batch: Batch) -> None:
    """Complete-MigrationBatch on users whose last sync left mail behind: say so (their
    final sync retries them; Remove stays refused while it is still incomplete)."""
    incomplete = service.incomplete_users(ctx.store.users(batch_id=batch.id))
    for user in incomplete[:10]:
        sys.stderr.write(
            f"warning: {user.email_address}: last sync was not complete: {user.error}\n"
        )
    if len(incomplete) > 10:
        sys.stderr.write(f"warning: and {len(incomplete) - 10} more user(s) not complete\n")


start = _action_command(
    "start", service.start_batch, "Start a Created batch, resume a Stopped one, retry failures."
)
stop = _action_command("stop", service.stop_batch, "Stop a batch's syncs (Start resumes them).")
complete = _action_command(
    "complete", service.complete_batch, "Run a final incremental sync, then stop syncing."
)


@batch.command("remove")
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove even if users synced before the MX switch.")
@wait_option
@record_options
@service_command
def remove(
    ctx: ServiceContext, name: str, force: bool, wait: bool | None, output: RecordFormat
) -> None:
    """Remove a batch, its users' state and every stored credential."""
    removing = service.remove_batch(ctx, name, force=force)
    _carry_out(ctx, removing, wait)
    try:
        _print_batch(ctx, removing.name, output)
    except NotFound:
        click.echo(f"Removed batch {removing.name}")


@batch.command("sync-now")
@click.argument("name")
@wait_option
@record_options
@service_command
def sync_now(ctx: ServiceContext, name: str, wait: bool | None, output: RecordFormat) -> None:
    """An incremental sync of the batch's synced users, now."""
    asked = service.sync_now(ctx, name)
    click.echo(f"SyncNow requested for {asked} user(s) of batch {name}", err=True)
    _carry_out(ctx, service.get_batch(ctx, name), wait)
    _print_batch(ctx, name, output)


@batch.command("add-users")
@click.argument("name")
@click.option("--csv", "csv_path", required=True, type=FILE)
@click.option("--allow-unknown-columns", is_flag=True)
@record_options
@service_command
def add_users(
    ctx: ServiceContext,
    name: str,
    csv_path: Path,
    allow_unknown_columns: bool,
    output: RecordFormat,
) -> None:
    """Add the users of a CSV to an existing batch."""
    added = service.add_users(
        ctx,
        name,
        read_csv_file(csv_path),
        str(csv_path),
        allow_unknown_columns=allow_unknown_columns,
    )
    click.echo(f"Added {added} user(s) to batch {name}", err=True)
    _print_batch(ctx, name, output)


@batch.command("set")
@click.argument("name")
@click.option("--start-after", type=UTC_DATETIME)
@click.option("--complete-after", type=UTC_DATETIME)
@click.option("--notification-emails", multiple=True)
@click.option("--exclude-folders", multiple=True)
@click.option("--include-folders", multiple=True)
@click.option("--content-filter", help=CONTENT_FILTER_HELP + ' "" removes it.')
@record_options
@service_command
def set_(
    ctx: ServiceContext,
    name: str,
    start_after: dt.datetime | None,
    complete_after: dt.datetime | None,
    notification_emails: tuple[str, ...],
    exclude_folders: tuple[str, ...],
    include_folders: tuple[str, ...],
    content_filter: str | None,
    output: RecordFormat,
) -> None:
    """Change a batch's times, notification addresses, folder or content filters
    (a broader content filter takes effect at each user's next sync: SyncNow)."""
    changes = BatchChanges(
        start_after=start_after,
        complete_after=complete_after,
        notification_emails=split_or_none(notification_emails),
        exclude_folders=split_or_none(exclude_folders),
        include_folders=split_or_none(include_folders),
        content_filter=content_filter,
    )
    changed = service.set_batch(ctx, name, changes)
    _print_batch(ctx, changed.name, output)


@batch.command("report")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="csv")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path))
@service_command
def report(ctx: ServiceContext, name: str, fmt: str, output_path: Path | None) -> None:
    """The batch's report: per-user statistics and skipped items (CSV or JSON).

    Written as it is read from the database; ``--output`` appears complete or not at
    all (written beside it, then renamed)."""
    found = service.get_batch(ctx, name)
    if output_path is None:
        _write_report(ctx, found, fmt, sys.stdout)
        sys.stdout.flush()
        return
    partial = output_path.with_name(output_path.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            _write_report(ctx, found, fmt, out)
        partial.replace(output_path)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Report written to {output_path}", err=True)


def _write_report(ctx: ServiceContext, found: Batch, fmt: str, out: TextIO) -> None:
    write_batch_report(ctx, found, fmt, out)
    if fmt == "json":
        out.write("\n")


def _carry_out(
    ctx: ServiceContext, changed: Batch, wait: bool | None, *, starting: bool = False
) -> bool:
    """Run the scheduler here when no service does (and waiting is wanted); whether it
    ran here."""
    # Imported here: the scheduler and the progress views cost listings and reports
    # (commands that never run jobs) a third of their start-up.
    from mailferry.interfaces.cli.batch_watch import future_start, run_here, watch

    if wait is False or (starting and future_start(ctx, changed)):
        return False
    if run_here(ctx, wait):
        watch(ctx, {changed.id})
        return True
    return False


def _print_batch(ctx: ServiceContext, name: str, output: RecordFormat) -> None:
    found = service.get_batch(ctx, name)
    output.emit(_batch_records(ctx, [found]), single=True, table_columns=BATCH_COLUMNS)
