"""The per-batch report: one JSON document, a spreadsheet-safe CSV, a plain-text summary.

The JSON is ``{"Batch": <Get-MigrationBatch view>, "Users": [<statistics with skipped
items>]}``. The CSV holds two tables separated by a blank line: one row per user, then
one row per skipped item. Every text cell a spreadsheet could read as a formula (first
non-blank character ``= + - @``, or a leading TAB / CR) is prefixed with ``'``, as
OWASP's CSV-injection guidance says; numbers stay numbers.

``write_report_csv`` and ``write_report_json`` write as they are given rows (a
50,000-user report is never held in memory: ``reporting.write_batch_report`` feeds
them from the database); ``report_csv`` and ``report_json`` are the same text from a
report held in memory (the e-mailed attachments).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from mailferry.service.properties import (
    SKIPPED_ITEM_FIELDS,
    USER_STATISTICS_FIELDS,
    batch_properties,
    batch_started,
    user_statistics_properties,
)
from mailferry.state.migration_records import Batch, MigrationUser
from mailferry.values.results import SkippedItem

SKIPPED_TABLE_FIELDS: tuple[str, ...] = ("EmailAddress", *SKIPPED_ITEM_FIELDS)
FORMULA_STARTS = ("=", "+", "-", "@")
MAX_FAILED_IN_TEXT = 50  # the e-mail body stays readable; the attachments list them all

Cell = str | int | float
Row = Mapping[str, Any]


class TextSink(Protocol):
    def write(self, text: str, /) -> object: ...


def batch_report(
    b: Batch,
    users: Sequence[MigrationUser],
    skipped_by_user: Mapping[int, Sequence[SkippedItem]],
    now: dt.datetime,
) -> dict[str, Any]:
    """The whole report; ``skipped_by_user`` is keyed by ``MigrationUser.id``."""
    started = batch_started(b)
    return {
        "Batch": batch_properties(b, users, now),
        "Users": [
            user_statistics_properties(
                u, skipped_by_user.get(u.id, ()), now, True, batch_started=started
            )
            for u in users
        ],
    }


def report_json(report: Mapping[str, Any]) -> str:
    """``json.dumps(report, indent=2, ensure_ascii=False)``, written as the stream is."""
    out = io.StringIO()
    write_report_json(out, report["Batch"], report["Users"])
    return out.getvalue()


def report_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    users: Sequence[Row] = report["Users"]
    items = ((u["EmailAddress"], item) for u in users for item in u["SkippedItems"])
    write_report_csv(out, users, items)
    return out.getvalue()


def write_report_json(out: TextSink, batch: Row, users: Iterable[Row]) -> None:
    """The JSON report, a user at a time; the same text as ``json.dumps(..., indent=2)``
    of ``{"Batch": batch, "Users": [*users]}`` (each user's text is indented as a
    nested value would be: JSON strings hold no raw line feed)."""
    out.write('{\n  "Batch": ')
    out.write(_nested(batch, 2))
    out.write(',\n  "Users": ')
    first = True
    for row in users:
        out.write("[\n    " if first else ",\n    ")
        out.write(_nested(row, 4))
        first = False
    out.write("[]" if first else "\n  ]")
    out.write("\n}")


def write_report_csv(
    out: TextSink, users: Iterable[Row], skipped: Iterable[tuple[str, Row]]
) -> None:
    """The CSV report, a row at a time: the users' table (``SkippedItems`` holds each
    user's items or just their number), a blank line, then (address, item) rows."""
    values = ([row[field] for field in USER_STATISTICS_FIELDS] for row in users)
    write_report_csv_values(out, values, skipped)


def write_report_csv_values(
    out: TextSink, users: Iterable[Sequence[Any]], skipped: Iterable[tuple[str, Row]]
) -> None:
    """``write_report_csv`` from each user's values in ``USER_STATISTICS_FIELDS``' order
    (``properties.user_statistics_values``)."""
    writer = csv.writer(out)
    writer.writerow(USER_STATISTICS_FIELDS)
    for values in users:
        cells = _cells(values)
        cells[_SKIPPED_AT] = _count(values[_SKIPPED_AT])
        writer.writerow(cells)
    writer.writerow([])
    writer.writerow(SKIPPED_TABLE_FIELDS)
    for address, item in skipped:
        writer.writerow(_cells([address, *(item[field] for field in SKIPPED_ITEM_FIELDS)]))


def safe_cell(value: Any) -> Cell:
    """A CSV cell a spreadsheet shows as text or a number, never runs as a formula."""
    if isinstance(value, str):
        return safe_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        return safe_text("; ".join(str(part) for part in value))
    return safe_text(str(value))


WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(
    map(chr, range(0x2000, 0x200B))
)
WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"
"""Every character ``str.isspace`` is true for (what ``str.lstrip`` strips)."""
_LOOK_FURTHER = frozenset("".join(FORMULA_STARTS) + WHITESPACE)


def safe_text(text: str) -> str:
    """``'`` before text whose first non-blank character is ``= + - @``, or that starts
    with a TAB or CR. (Most text starts with none of these: one set lookup.)"""
    first = text[:1]
    if first in _LOOK_FURTHER and (first in "\t\r" or text.lstrip().startswith(FORMULA_STARTS)):
        return "'" + text
    return text


def report_text(report: Mapping[str, Any]) -> str:
    """A short summary for an e-mail body (the CSV and JSON go as attachments)."""
    batch: Mapping[str, Any] = report["Batch"]
    users: Sequence[Mapping[str, Any]] = report["Users"]
    lines = [
        f'Migration batch "{batch["Name"]}": {batch["Status"]}',
        f"Source endpoint: {batch['SourceEndpoint']}",
        f"Target: {batch['Target']}",
        "Users: {TotalCount} total, {ActiveCount} active, {SyncedCount} synced, "
        "{FinalizedCount} completed, {StoppedCount} stopped, {FailedCount} failed".format(**batch),
        f"Progress: {batch['PercentageComplete']}% complete",
        f"Items: {_total(users, 'SyncedItemCount')} synced, "
        f"{_total(users, 'SkippedItemCount')} skipped",
    ]
    lines += _times(batch)
    if batch["Error"]:
        lines.append(f"Error: {_one_line(batch['Error'])}")
    lines += _failed_lines(users)
    return "\n".join(lines) + "\n"


_SKIPPED_AT = USER_STATISTICS_FIELDS.index("SkippedItems")


def _cells(values: Iterable[Any]) -> list[Cell]:
    """``safe_cell`` of each value, the common cases inline (a report has a million
    cells): integers, and text that starts harmlessly, are written as they are."""
    cells: list[Cell] = []
    append = cells.append
    for value in values:
        kind = value.__class__
        if kind is int or (kind is str and value[:1] not in _LOOK_FURTHER):
            append(value)
        else:
            append(safe_cell(value))
    return cells


def _count(items: int | Sequence[object]) -> int:
    """The users' table shows the number of skipped items (the second table lists them)."""
    return items if isinstance(items, int) else len(items)


def _nested(value: Row, indent: int) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * indent)


def _total(users: Sequence[Mapping[str, Any]], field: str) -> int:
    return sum(int(u[field]) for u in users)


def _times(batch: Mapping[str, Any]) -> list[str]:
    labels = (
        ("Created", "CreationDateTime"),
        ("Started", "StartDateTime"),
        ("Initial sync duration", "InitialSyncDuration"),
        ("Last synced", "LastSyncedDateTime"),
        ("MX switched", "MxSwitchedDateTime"),
        ("Completed", "CompletedDateTime"),
    )
    return [f"{label}: {batch[key]}" for label, key in labels if batch[key] is not None]


def _failed_lines(users: Sequence[Mapping[str, Any]]) -> list[str]:
    failed = [u for u in users if u["Status"] in ("Failed", "IncrementalFailed")]
    if not failed:
        return []
    lines = ["", f"Failed users ({len(failed)}):"]
    for u in failed[:MAX_FAILED_IN_TEXT]:
        error = _one_line(u["Error"]) if u["Error"] else "no error recorded"
        lines.append(f"  {u['EmailAddress']} ({u['Status']}): {error}")
    if len(failed) > MAX_FAILED_IN_TEXT:
        lines.append(f"  ... and {len(failed) - MAX_FAILED_IN_TEXT} more (see the attached report)")
    return lines


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
