"""``mailferry statistics`` (Get-MigrationStatistics): the service's roll-up of every
migration user, by status, with the items and bytes copied."""

from __future__ import annotations

import click

from mailferry.app import Mailferry
from mailferry.interfaces.cli.app_context import app_command
from mailferry.interfaces.cli.record_options import RecordFormat, record_options

COLUMNS = (
    "TotalCount", "ActiveCount", "StoppedCount", "SyncedCount", "FinalizedCount",
    "FailedCount", "PendingCount", "BatchCount", "BytesTransferred",
)  # fmt: skip


@click.command("statistics")
@record_options
@app_command
def statistics(app: Mailferry, output: RecordFormat) -> None:
    """Totals over every batch: users by status, items and bytes copied."""
    output.emit([app.migration_statistics()], single=True, table_columns=COLUMNS)
