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

from mailferry.app import REPORT_FORMATS, BatchChanges, BatchRequest, Mailferry, TargetRequest
from mailferry.app.files import read_csv
from mailferry.app.targets import TARGET_LOGINS
from mailferry.errors import NotFound
from mailferry.interfaces.cli.app_context import app_command, db_option
from mailferry.interfaces.cli.batch_option_options import batch_option_fields, batch_option_options
from mailferry.interfaces.cli.gmail_options import gmail_options
from mailferry.interfaces.cli.oauth_options import (
    oauth_fields,
    oauth_options,
    oauth_setting_values,
)
from mailferry.interfaces.cli.record_options import (
    BATCH_COLUMNS,
    WALL_CLOCK_TIME,
    RecordFormat,
    record_options,
    split_or_none,
    split_values,
)
from mailferry.interfaces.cli.target_limit_options import (
    target_change_options,
    target_limit_fields,
    target_limit_options,
)
from mailferry.interfaces.cli.words import EXIT_FAILED
from mailferry.values.connection import Security
from mailferry.values.statuses import BatchStatus

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
STATUS = click.Choice([s.value for s in BatchStatus], case_sensitive=False)
SECURITY = click.Choice([s.value for s in Security], case_sensitive=False)
WAIT_HELP = "Run the batch here until it settles (default: when no `mailferry serve` runs)."

TIME_HELP = "2026-12-15T18:00 or 12/15/2026 6:00 PM; in --time-zone, else UTC."
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
    "--target-user-format",
    help="How the target knows each mailbox: {address} (default), {local}, or a template "
    "of {address}, {local}, {domain} (master-user, admin-authzid, xoauth2).",
)
@click.option(
    "--target-password-file",
    type=FILE,
    help="Target admin password or token (else MAILFERRY_TARGET_PASSWORD).",
)
@click.option("--target-csv", type=FILE, help="Per-user target logins (EmailAddress,UserName,…).")
@oauth_options
@target_limit_options
@click.option("--exclude-folders", multiple=True, help="Folder names (repeat, or comma lists).")
@click.option("--include-folders", multiple=True, help="Only these folders (and below).")
@click.option("--auto-start", is_flag=True, help="Start the batch once it is created.")
@click.option("--start-after", type=WALL_CLOCK_TIME, help=TIME_HELP)
@click.option("--complete-after", type=WALL_CLOCK_TIME, help=TIME_HELP)
@click.option("--notification-emails", multiple=True, help="Addresses that receive reports.")
@click.option(
    "--allow-unknown-columns", is_flag=True, help="Accept columns mailferry does not know."
)
@click.option("--content-filter", help=CONTENT_FILTER_HELP)
@gmail_options
@batch_option_options(changes=False)
@wait_option
@record_options
@app_command
def new(
    app: Mailferry,
    /,
    name: str,
    source_endpoint: str,
    csv_path: Path,
    target: str | None,
    target_login: str | None,
    target_user: str | None,
    target_security: str | None,
    master_separator: str,
    target_user_format: str | None,
    target_password_file: Path | None,
    target_csv: Path | None,
    oauth_provider: str | None,
    oauth_setting: tuple[str, ...],
    oauth_settings_file: Path | None,
    target_preset: str | None,
    max_bytes_per_second: int | None,
    endpoint_max_bytes_per_second: int | None,
    exclude_folders: tuple[str, ...],
    include_folders: tuple[str, ...],
    auto_start: bool,
    start_after: dt.datetime | None,
    complete_after: dt.datetime | None,
    notification_emails: tuple[str, ...],
    allow_unknown_columns: bool,
    content_filter: str | None,
    source_kind: str,
    gmail_labels: str,
    wait: bool | None,
    output: RecordFormat,
    **batch_options: Any,
) -> None:
    """Create a batch from a CSV of users (and start it with --auto-start)."""
    if target is None and (target_login or target_user or target_security or target_csv):
        raise click.UsageError("--target-login, --target-user, --target-security and "
                               "--target-csv describe a --target; give --target too")  # fmt: skip
    target_request = TargetRequest(
        target=target,
        login=target_login or "master-user",
        admin_user=target_user,
        security=target_security,
        separator=master_separator,
        user_format=target_user_format,
        secret=None if target_password_file is None else read_secret(target_password_file),
        logins_csv=None if target_csv is None else read_csv(target_csv),
        logins_csv_name=str(target_csv),
        **oauth_fields(oauth_provider, oauth_setting, oauth_settings_file),
        **target_limit_fields(
            {
                "target_preset": target_preset,
                "max_bytes_per_second": max_bytes_per_second,
                "endpoint_max_bytes_per_second": endpoint_max_bytes_per_second,
            }
        ),
    )
    request = BatchRequest(
        name=name,
        source_endpoint=source_endpoint,
        csv_data=read_csv(csv_path),
        csv_name=str(csv_path),
        target=target_request,
        exclude_folders=split_values(exclude_folders),
        include_folders=split_values(include_folders),
        auto_start=auto_start,
        start_after=start_after,
        complete_after=complete_after,
        notification_emails=split_values(notification_emails),
        allow_unknown_columns=allow_unknown_columns,
        content_filter=content_filter,
        source_kind=source_kind,
        gmail_labels=gmail_labels,
        **batch_option_fields(batch_options),
    )
    created = app.new_batch(request)
    ran_here = auto_start and _carry_out(app, created, wait, starting=True)
    _print_batch(app, created["Identity"], output, ran_here=ran_here)


def read_secret(path: Path) -> str:
    """A password or token file's text, without its line ending."""
    return path.read_text(encoding="utf-8").strip("\r\n")


@batch.command("get")
@click.argument("name", required=False)
@click.option("--status", type=STATUS, help="Only batches with this status.")
@click.option("--endpoint", help="Only batches using this source endpoint.")
@click.option("--result-size", type=click.IntRange(min=1), help="At most this many.")
@click.option("--include-report", is_flag=True, help="Add the batch's timeline (Report).")
@click.option(
    "--diagnostic-info", is_flag=True, help="Add DiagnosticInfo (stored status, jobs, options)."
)
@record_options
@app_command
def get(
    app: Mailferry,
    name: str | None,
    status: str | None,
    endpoint: str | None,
    result_size: int | None,
    include_report: bool,
    diagnostic_info: bool,
    output: RecordFormat,
) -> None:
    """Show one batch, or all of them."""
    if name is None:
        if include_report or diagnostic_info:
            raise click.UsageError("--include-report and --diagnostic-info need a batch name")
        found = app.get_batches(status=status, endpoint=endpoint)[:result_size]
    else:
        one = app.get_batch(name, include_report=include_report, diagnostic=diagnostic_info)
        found = [one] if status is None or one["Status"].lower() == status.lower() else []
    output.emit(found, single=name is not None, table_columns=BATCH_COLUMNS)


def _action_command(
    verb: str, action: Callable[[Mailferry, str], dict[str, Any]], doc: str
) -> click.Command:
    @click.argument("name")
    @wait_option
    @record_options
    @app_command
    def run(app: Mailferry, name: str, wait: bool | None, output: RecordFormat) -> None:
        changed = action(app, name)
        if verb == "complete":
            _warn_incomplete(app, name)
        if _carry_out(app, changed, wait, starting=verb == "start"):
            _print_batch(app, changed["Identity"], output, ran_here=True)  # as the run left it
        else:  # as the action left it (a service may already have moved it on)
            output.emit([changed], single=True, table_columns=BATCH_COLUMNS)

    run.__doc__ = doc
    return batch.command(verb)(run)


def _warn_incomplete(app: Mailferry, name: str) -> None:
    """Complete-MigrationBatch on users whose last sync left mail behind: say so (their
    final sync retries them; Remove stays refused while it is still incomplete)."""
    incomplete = app.incomplete_users(name)
    for user in incomplete[:10]:
        sys.stderr.write(
            f"warning: {user['EmailAddress']}: last sync was not complete: {user['Error']}\n"
        )
    if len(incomplete) > 10:
        sys.stderr.write(f"warning: and {len(incomplete) - 10} more user(s) not complete\n")


start = _action_command(
    "start", Mailferry.start_batch, "Start a Created batch, resume a Stopped one, retry failures."
)
stop = _action_command("stop", Mailferry.stop_batch, "Stop a batch's syncs (Start resumes them).")
complete = _action_command(
    "complete", Mailferry.complete_batch, "Run a final incremental sync, then stop syncing."
)


@batch.command("remove")
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove even if users synced before the MX switch.")
@wait_option
@record_options
@app_command
def remove(app: Mailferry, name: str, force: bool, wait: bool | None, output: RecordFormat) -> None:
    """Remove a batch, its users' state and every stored credential."""
    removing = app.remove_batch(name, force=force)
    _carry_out(app, removing, wait)
    try:
        _print_batch(app, removing["Identity"], output)
    except NotFound:
        click.echo(f"Removed batch {removing['Identity']}")


@batch.command("sync-now")
@click.argument("name")
@wait_option
@record_options
@app_command
def sync_now(app: Mailferry, name: str, wait: bool | None, output: RecordFormat) -> None:
    """An incremental sync of the batch's synced users, now."""
    asked = app.sync_batch(name)
    click.echo(f"SyncNow requested for {asked['UsersQueued']} user(s) of batch {name}", err=True)
    ran_here = _carry_out(app, asked, wait)
    _print_batch(app, name, output, ran_here=ran_here)


@batch.command("add-users")
@click.argument("name")
@click.option("--csv", "csv_path", required=True, type=FILE)
@click.option(
    "--allow-unknown-columns", is_flag=True, help="Accept columns mailferry does not know."
)
@record_options
@app_command
def add_users(
    app: Mailferry,
    name: str,
    csv_path: Path,
    allow_unknown_columns: bool,
    output: RecordFormat,
) -> None:
    """Add the users of a CSV to an existing batch."""
    added = app.add_users(
        name, read_csv(csv_path), str(csv_path), allow_unknown_columns=allow_unknown_columns
    )
    click.echo(f"Added {added['UsersAdded']} user(s) to batch {name}", err=True)
    _print_batch(app, name, output)


@batch.command("set")
@click.argument("name")
@click.option("--start-after", type=WALL_CLOCK_TIME, help=TIME_HELP)
@click.option("--complete-after", type=WALL_CLOCK_TIME, help=TIME_HELP)
@click.option("--notification-emails", multiple=True, help="Addresses that receive reports.")
@click.option("--exclude-folders", multiple=True, help="Folder names (repeat, or comma lists).")
@click.option("--include-folders", multiple=True, help="Only these folders (and below).")
@click.option("--content-filter", help=CONTENT_FILTER_HELP + ' "" removes it.')
@target_change_options
@batch_option_options(changes=True)
@record_options
@app_command
def set_(
    app: Mailferry,
    /,
    name: str,
    start_after: dt.datetime | None,
    complete_after: dt.datetime | None,
    notification_emails: tuple[str, ...],
    exclude_folders: tuple[str, ...],
    include_folders: tuple[str, ...],
    content_filter: str | None,
    target_preset: str | None,
    max_bytes_per_second: int | None,
    endpoint_max_bytes_per_second: int | None,
    oauth_setting: tuple[str, ...],
    oauth_settings_file: Path | None,
    output: RecordFormat,
    **batch_options: Any,
) -> None:
    """Change a batch's times, notification addresses, folder or content filters
    (a broader content filter takes effect at each user's next sync: SyncNow), its
    target's preset and caps, or its OAuth2 settings (e.g. the refresh tokens of users
    added with add-users). Jobs that start from now on use them."""
    target = None
    oauth = oauth_setting_values(oauth_setting, oauth_settings_file)
    limits = (target_preset, max_bytes_per_second, endpoint_max_bytes_per_second)
    if oauth or any(value is not None for value in limits):
        target = TargetRequest(
            preset=None if target_preset is None else target_preset.lower(),
            max_bytes_per_second=max_bytes_per_second,
            endpoint_max_bytes_per_second=endpoint_max_bytes_per_second,
            oauth_settings=oauth or None,
        )
    changes = BatchChanges(
        start_after=start_after,
        complete_after=complete_after,
        notification_emails=split_or_none(notification_emails),
        exclude_folders=split_or_none(exclude_folders),
        include_folders=split_or_none(include_folders),
        content_filter=content_filter,
        target=target,
        **batch_option_fields(batch_options),
    )
    changed = app.set_batch(name, changes)
    _print_batch(app, changed["Identity"], output)


@batch.command("report")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="csv")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path))
@app_command
def report(app: Mailferry, name: str, fmt: str, output_path: Path | None) -> None:
    """The batch's report: per-user statistics and skipped items (CSV or JSON).

    Written as it is read from the database; ``--output`` appears complete or not at
    all (written beside it, then renamed)."""
    app.get_batch(name)  # a batch that does not exist leaves no file behind
    if output_path is None:
        _write_report(app, name, fmt, sys.stdout)
        sys.stdout.flush()
        return
    partial = output_path.with_name(output_path.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            _write_report(app, name, fmt, out)
        partial.replace(output_path)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Report written to {output_path}", err=True)


def _write_report(app: Mailferry, name: str, fmt: str, out: TextIO) -> None:
    app.write_batch_report(name, fmt, out)
    if fmt == "json":
        out.write("\n")


def _carry_out(
    app: Mailferry, changed: dict[str, Any], wait: bool | None, *, starting: bool = False
) -> bool:
    """Run the scheduler here when no service does (and waiting is wanted); whether it
    ran here."""
    # Imported here: the scheduler and the progress views cost listings and reports
    # (commands that never run jobs) a third of their start-up.
    from mailferry.interfaces.cli.batch_watch import future_start, run_here, watch

    if wait is False or (starting and future_start(app, changed)):
        return False
    if run_here(app, wait):
        watch(app, {changed["Identity"]})
        return True
    return False


def _print_batch(
    app: Mailferry, name: str, output: RecordFormat, *, ran_here: bool = False
) -> None:
    """The batch as it is now; after a run here that left it Failed (or with failed
    users), exit 1 once it is printed."""
    found = app.get_batch(name)
    output.emit([found], single=True, table_columns=BATCH_COLUMNS)
    if ran_here and ended_failed(found):
        raise click.exceptions.Exit(EXIT_FAILED)


def ended_failed(view: dict[str, Any]) -> bool:
    """Failed, or SyncedWithErrors / CompletedWithErrors with failed users."""
    status = view["Status"]
    if status == BatchStatus.FAILED:
        return True
    with_errors = (BatchStatus.SYNCED_WITH_ERRORS, BatchStatus.COMPLETED_WITH_ERRORS)
    return status in with_errors and int(view["FailedCount"]) > 0
