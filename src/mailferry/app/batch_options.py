"""New-/Set-MigrationBatch's options beyond the schedule, checked once (``BatchOptions``).

Limits one-shot ``migrate`` has had alone (maximum message size, item limit, include
deleted, propagate deletions) and Exchange's switches: -AutoComplete, -ReportInterval,
-SkipReports, -TimeZone, -ApproveSkippedItems. Set-MigrationBatch changes only what it
is given. mailferry never holds a batch back for its skipped items (each is listed
with its reason), so -ApproveSkippedItems records when it was given, for the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailferry.app.requests import BatchChanges, BatchRequest
from mailferry.errors import InvalidSetting

if TYPE_CHECKING:
    from mailferry.state.migration_records import BatchOptions

OPTION_FIELDS = (
    "max_message_size", "max_items", "include_deleted", "propagate_deletions",
    "auto_complete", "report_interval_hours", "skip_reports", "time_zone",
)  # fmt: skip


def new_options(req: BatchRequest) -> BatchOptions:
    from mailferry.state.migration_records import BatchOptions

    values = {name: getattr(req, name) for name in OPTION_FIELDS}
    _check(values)
    return BatchOptions(**values)


def changed_options(
    current: BatchOptions, changes: BatchChanges, now: dt.datetime
) -> BatchOptions | None:
    """The options after Set-MigrationBatch (None: none of them given)."""
    given = {n: getattr(changes, n) for n in OPTION_FIELDS if getattr(changes, n) is not None}
    approved = now.isoformat() if changes.approve_skipped_items else None
    if not given and approved is None:
        return None
    _check(given)
    updated = replace(current, **given)
    return updated if approved is None else replace(updated, skipped_items_approved_at=approved)


def time_zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone (``Europe/Copenhagen``; ``UTC``); ``InvalidSetting`` if unknown."""
    if name is None:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSetting(
            [f"TimeZone {name!r} is not a known time zone (an IANA name: Europe/Copenhagen)"]
        ) from None


def _check(values: dict[str, Any]) -> None:
    problems = []
    for name, what in (("max_message_size", "MaxMessageSize"), ("max_items", "ItemLimit")):
        value = values.get(name)
        if value is not None and value < 1:
            problems.append(f"{what} must be at least 1, not {value}")
    interval = values.get("report_interval_hours")
    if interval is not None and not 0 < interval <= 24 * 365:
        problems.append(f"ReportInterval must be more than 0 and at most a year, not {interval} h")
    if problems:
        raise InvalidSetting(problems)
    time_zone(values.get("time_zone"))
