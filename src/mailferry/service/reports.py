"""The per-batch report: one JSON document, a spreadsheet-safe CSV, a plain-text summary.

The JSON is ``{"Batch": <Get-MigrationBatch view>, "Users": [<statistics with skipped
items>]}``. The CSV holds two tables separated by a blank line: one row per user, then
one row per skipped item. Every text cell a spreadsheet could read as a formula (first
non-blank character ``= + - @``, or a leading TAB / CR) is prefixed with ``'``, as
OWASP's CSV-injection guidance says; numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mailferry.service.properties import (
    SKIPPED_ITEM_FIELDS,
    USER_STATISTICS_FIELDS,
    batch_properties,
    user_statistics_properties,
)
from mailferry.state.migration_records import Batch, MigrationUser
from mailferry.state.records import SkippedItem

SKIPPED_TABLE_FIELDS: tuple[str, ...] = ("EmailAddress", *SKIPPED_ITEM_FIELDS)
FORMULA_STARTS = ("=", "+", "-", "@")
MAX_FAILED_IN_TEXT = 50  # the e-mail body stays readable; the attachments list them all

Cell = str | int | float


def batch_report(
    b: Batch,
    users: Sequence[MigrationUser],
    skipped_by_user: Mapping[int, Sequence[SkippedItem]],
    now: dt.datetime,
) -> dict[str, Any]:
    """The whole report; ``skipped_by_user`` is keyed by ``MigrationUser.id``."""
    return {
        "Batch": batch_properties(b, users, now),
        "Users": [
            user_statistics_properties(u, skipped_by_user.get(u.id, ()), now, True) for u in users
        ],
    }


def report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def report_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(USER_STATISTICS_FIELDS)
    for row in report["Users"]:
        writer.writerow([_user_cell(row, field) for field in USER_STATISTICS_FIELDS])
    writer.writerow([])
    writer.writerow(SKIPPED_TABLE_FIELDS)
    for row in report["Users"]:
        for item in row["SkippedItems"]:
            cells = [safe_cell(row["EmailAddress"])]
            cells += [safe_cell(item[field]) for field in SKIPPED_ITEM_FIELDS]
            writer.writerow(cells)
    return out.getvalue()


def safe_cell(value: Any) -> Cell:
    """A CSV cell a spreadsheet shows as text or a number, never runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        return safe_text("; ".join(str(part) for part in value))
    return safe_text(str(value))


def safe_text(text: str) -> str:
    if text[:1] in ("\t", "\r") or text.lstrip().startswith(FORMULA_STARTS):
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


def _user_cell(row: Mapping[str, Any], field: str) -> Cell:
    if field == "SkippedItems":
        return len(row[field])
    return safe_cell(row[field])


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
