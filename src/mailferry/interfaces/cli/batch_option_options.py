"""``batch new`` / ``batch set`` options for a batch's ``BatchOptions``
(``app.batch_options``): limits one-shot ``migrate`` has too, and Exchange's
-AutoComplete, -ReportInterval, -SkipReports, -TimeZone (and, for ``set``,
-ApproveSkippedItems and -Update).

On ``set`` every switch is three-way (``--auto-complete`` / ``--no-auto-complete`` /
not given: unchanged)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
SWITCHES = ("include_deleted", "propagate_deletions", "auto_complete", "skip_reports")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class TimeSpan(click.ParamType[float]):
    """Exchange's TimeSpan (``1.00:00:00``, ``12:00:00``, ``06:30``) as hours."""

    name = "TIMESPAN"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        found = _TIMESPAN.match(str(value).strip())
        if found is None:
            self.fail(f"{value!r} is not a TimeSpan such as 1.00:00:00 or 12:00:00", param, ctx)
        days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
        return days * 24 + hours + minutes / 60 + seconds / 3600


def batch_option_options(*, changes: bool) -> Callable[[F], F]:
    """The options; ``changes``: ``batch set``'s (three-way switches, and the two
    Set-MigrationBatch switches)."""

    def switch(name: str, text: str) -> Callable[[F], F]:
        flag = name.replace("_", "-")
        if changes:
            return click.option(f"--{flag}/--no-{flag}", name, default=None, help=text)
        return click.option(f"--{flag}", name, is_flag=True, help=text)

    def add(command: F) -> F:
        options = [
            click.option("--max-message-size", type=click.IntRange(min=1),
                         help="Bytes; larger messages are skipped as LargeItem (35 MB)."),
            click.option("--max-items", type=click.IntRange(min=1),
                         help="Items per mailbox, the newest kept (500,000)."),
            switch("include_deleted", "Also copy messages flagged \\Deleted."),
            switch("propagate_deletions", "Delete on the target what the source deleted."),
            switch("auto_complete", "Complete the batch once its initial sync is done."),
            click.option("--report-interval", type=TimeSpan(),
                         help="How often the report is mailed (TimeSpan, e.g. 1.00:00:00)."),
            switch("skip_reports", "Mail no reports for this batch."),
            click.option("--time-zone", help="IANA zone of --start-after/--complete-after."),
            click.option("--locale", help="The target's folder names in this language (da-DK)."),
        ]  # fmt: skip
        if changes:
            options += [
                click.option("--approve-skipped-items", is_flag=True,
                             help="Record that the skipped items were reviewed."),
                click.option("--update", is_flag=True,
                             help="Record -Update (jobs read the settings as they start)."),
            ]  # fmt: skip
        for option in reversed(options):
            command = option(command)
        return command

    return add


def batch_option_fields(params: dict[str, Any]) -> dict[str, Any]:
    """The ``BatchRequest`` / ``BatchChanges`` fields from the command's parameters."""
    fields = {
        "max_message_size": params.pop("max_message_size"),
        "max_items": params.pop("max_items"),
        "report_interval_hours": params.pop("report_interval"),
        "time_zone": params.pop("time_zone"),
        "locale": params.pop("locale"),
        **{name: params.pop(name) for name in SWITCHES},
    }
    for name in ("approve_skipped_items", "update"):
        if name in params:
            fields[name] = params.pop(name)
    return fields
