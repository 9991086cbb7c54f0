"""Options shared by the record-printing commands, and the parameter types they use.

``--format table|list|json|jsonl`` and ``--property P`` (repeatable, comma lists,
``*``/``?`` wildcards) go to ``output.emit``. A table without ``--property`` shows a
few columns, as PowerShell's default views do; list and JSON show every property.
Times typed without a zone are UTC (Exchange Online's rule).
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click

from mailferry.interfaces.cli.output import FORMATS, emit
from mailferry.values.exchange_times import EXAMPLE, parse_exchange_time

F = TypeVar("F", bound=Callable[..., Any])

ENDPOINT_COLUMNS = ("Identity", "EndpointType", "RemoteServer", "Port", "Security")
BATCH_COLUMNS = ("Identity", "Status", "MigrationType", "TotalCount", "PercentageComplete")
USER_COLUMNS = ("Identity", "BatchId", "Status", "ItemsSynced", "ItemsSkipped")
STATISTICS_COLUMNS = (
    "Identity",
    "BatchId",
    "Status",
    "SyncedItemCount",
    "SkippedItemCount",
    "PercentageComplete",
)


@dataclass(frozen=True)
class RecordFormat:
    """What ``--format`` and ``--property`` asked for."""

    fmt: str = "table"
    properties: tuple[str, ...] = ()

    def emit(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        single: bool = False,
        table_columns: Sequence[str] = (),
    ) -> None:
        """Print ``records``; ``table_columns`` are the table's default columns."""
        properties = self.properties
        if not properties and self.fmt == "table":
            properties = tuple(table_columns)
        emit(records, self.fmt, properties, single=single, stream=sys.stdout)


def record_options(command: F) -> F:
    """Add ``--format`` and ``--property``; the command receives ``output: RecordFormat``."""
    command = click.option(
        "--property",
        "properties",
        multiple=True,
        metavar="P[,P...]",
        help="Properties to show (repeatable; wildcards: Max*, *Count).",
    )(command)
    command = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS, case_sensitive=False),
        default="table",
        show_default=True,
    )(command)
    return _pack_output(command)


def _pack_output(command: F) -> F:
    @functools.wraps(command)
    def run(*args: Any, fmt: str, properties: tuple[str, ...], **kwargs: Any) -> Any:
        return command(*args, output=RecordFormat(fmt.lower(), properties), **kwargs)

    return cast(F, run)


class UtcDateTime(click.ParamType[dt.datetime]):
    """ISO 8601 date or date-time; without a zone it is UTC."""

    name = "ISO-DATETIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 time such as 2026-11-24T22:00 "
                "(UTC unless a zone like +01:00 is given)",
                param,
                ctx,
            )
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)


UTC_DATETIME = UtcDateTime()


class WallClockTime(click.ParamType[dt.datetime]):
    """-StartAfter / -CompleteAfter as Microsoft's pages write them (ISO 8601 or
    ``12/15/2026 6:00 PM``); without a zone, read in the batch's --time-zone (else UTC)
    by the façade (``values.exchange_times``)."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        parsed = parse_exchange_time(str(value))
        if parsed is None:
            self.fail(
                f"{value!r} is not a time such as {EXAMPLE} (in --time-zone, else UTC, "
                "unless a zone like +01:00 is given)",
                param,
                ctx,
            )
        return parsed


WALL_CLOCK_TIME = WallClockTime()


def split_values(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated options whose values may also be comma lists: ``"A,B" "C"`` → A, B, C."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def split_or_none(values: Iterable[str]) -> tuple[str, ...] | None:
    """Like split_values, but None when the option was not given at all (Set: unchanged)."""
    given = tuple(values)
    return split_values(given) if given else None
