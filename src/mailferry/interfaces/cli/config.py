"""``mailferry config get|set`` (Get-MigrationConfig, Set-MigrationConfig): the
service-wide settings kept in the database (``service/config.py``)."""

from __future__ import annotations

from typing import Any

import click

from mailferry.app import Mailferry
from mailferry.interfaces.cli.app_context import app_command, db_option
from mailferry.interfaces.cli.record_options import RecordFormat, record_options

OPTIONS = {
    "MaxNumberOfBatches": ("--max-number-of-batches", int, "Batches that may exist."),
    "IncrementalSyncIntervalHours": ("--incremental-sync-interval-hours", float, "24 h."),
    "ReportIntervalHours": ("--report-interval-hours", float, "Between e-mailed reports."),
    "ConnectionsPerMailbox": ("--connections-per-mailbox", int, "Session pairs per user."),
    "StopSyncedAfterDays": ("--stop-synced-after-days", float, "Idle Synced batches (0: never)."),
    "RemoveStoppedAfterDays": ("--remove-stopped-after-days", float, "Stopped/Failed (0: never)."),
    "RemoveCompletedAfterDays": ("--remove-completed-after-days", float, "Completed (0: never)."),
}  # fmt: skip


@click.group("config")
@db_option
def config() -> None:
    """Service-wide settings (Get-MigrationConfig / Set-MigrationConfig)."""


@config.command("get")
@record_options
@app_command
def get(app: Mailferry, /, output: RecordFormat) -> None:
    """The settings in effect, and which an administrator set."""
    output.emit([app.get_config()], single=True)


def _set_options(command: Any) -> Any:
    for name, (flag, kind, text) in reversed(OPTIONS.items()):
        command = click.option(flag, name, type=kind, help=text)(command)
    return click.option(
        "--reset", multiple=True, type=click.Choice(tuple(OPTIONS), case_sensitive=False),
        help="Back to the environment's value or the default (repeat).",
    )(command)  # fmt: skip


@config.command("set")
@_set_options
@record_options
@app_command
def set_(app: Mailferry, /, reset: tuple[str, ...], output: RecordFormat, **given: Any) -> None:
    """Store settings; a running service uses them at its next pass."""
    changes: dict[str, float | None] = {k: v for k, v in given.items() if v is not None}
    canonical = {name.lower(): name for name in OPTIONS}
    changes.update(dict.fromkeys((canonical[r.lower()] for r in reset), None))
    if not changes:
        raise click.UsageError("give a setting to change (see --help), or --reset NAME")
    output.emit([app.set_config(changes)], single=True)
