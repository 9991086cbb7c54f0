"""``batch report --format exchange``: one CSV row per user under the column names the
Exchange admin center shows for a batch's users (DOC-USERS, ``shared/reference/
m365-imap-migration.md`` §7), for administrators whose spreadsheets expect them. The
layout of Microsoft's own downloadable CSV is not documented (UNCONFIRMED there); these
are the EAC's names, and the Data Consistency Score is worked out as Microsoft
describes the score: Perfect (nothing skipped), Good (a few items skipped), Investigate
(many), Poor (the user failed, a sync that left mail behind included).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from mailferry.service.properties import (
    FAILED_USER,
    error_summary,
    iso_utc,
    shown_status,
    timespan,
)
from mailferry.service.reports.formats import TextSink, safe_cell
from mailferry.state.listing_queries import UserStatisticsRow

EXCHANGE_COLUMNS = (
    "Identity", "Status", "Items Synced", "Items Skipped", "Data Consistency Score",
    "Last Successful Sync Date", "Error", "Queued Duration", "In-Progress Duration",
    "Synced Duration", "Stalled Duration",
)  # fmt: skip
GOOD_SHARE = 0.001
"""Skipped items up to this share of the mailbox (or 10) still score Good."""


def consistency_score(user: UserStatisticsRow) -> str:
    if user.status in FAILED_USER:  # a sync that left mail behind is Failed too
        return "Poor"
    skipped = user.skipped_item_count
    if skipped == 0:
        return "Perfect"
    return "Good" if skipped <= max(10, GOOD_SHARE * user.total_items_in_source) else "Investigate"


def exchange_rows(users: Iterator[UserStatisticsRow], now: dt.datetime) -> Iterator[list[Any]]:
    from mailferry.service.properties import (
        _in_progress_seconds,
        _queued_seconds,
        _stalled_seconds,
        _synced_seconds,
    )

    for u in users:
        yield [
            u.email_address,
            shown_status(u.status, u.batch_started).value,
            u.synced_item_count,
            u.skipped_item_count,
            consistency_score(u),
            iso_utc(u.last_successful_sync_at),
            error_summary(u.error),
            timespan(_queued_seconds(u, now)),
            timespan(_in_progress_seconds(u, now)),
            timespan(_synced_seconds(u, now)),
            timespan(_stalled_seconds(u, now)),
        ]


def write_exchange_csv(out: TextSink, rows: Iterator[list[Any]]) -> None:
    writer = csv.writer(out)
    writer.writerow(EXCHANGE_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
