"""Batch reports: written on demand (``batch report``) and e-mailed to the batch's
NotificationEmails when its initial sync finishes and every ``report_interval``.

Both read the batch in a fixed number of queries (its tally, its users, the skipped
items of all of them), never a query per user; ``write_batch_report`` writes rows as
they are read, so a 50,000-user report is never held in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from mailferry.errors import MailferryError
from mailferry.service.context import ServiceContext
from mailferry.service.properties import (
    batch_tally_properties,
    skipped_item_properties,
    user_statistics_properties,
    user_statistics_values,
)
from mailferry.service.reports.exchange_report import exchange_rows, write_exchange_csv
from mailferry.service.reports.formats import (
    TextSink,
    report_csv,
    report_json,
    report_text,
    write_report_csv_values,
    write_report_json,
)
from mailferry.service.reports.notifications import send_report
from mailferry.service.statuses import BatchStatus
from mailferry.state.listing_queries import ReportReader, UserStatisticsRow
from mailferry.state.migration_records import Batch
from mailferry.values.results import SkippedItem

B = BatchStatus
_REPORTED = frozenset(
    {B.SYNCED, B.SYNCED_WITH_ERRORS, B.INCREMENTAL_SYNCING, B.COMPLETED}
    | {B.COMPLETED_WITH_ERRORS, B.FAILED}
)
REPORT_FORMATS = ("csv", "json", "exchange")


def build_batch_report(ctx: ServiceContext, batch: Batch) -> dict[str, Any]:
    """The whole report in memory (for the e-mail: its text and attachments)."""
    now = ctx.now()
    with ctx.store.report_reader(batch.id) as reader:
        return {
            "Batch": batch_tally_properties(batch, reader.tally(), now),
            "Users": list(_users_with_items(reader, now)),
        }


def write_batch_report(ctx: ServiceContext, batch: Batch, fmt: str, out: TextSink) -> None:
    """``batch report``: the CSV or JSON report written to ``out`` as it is read;
    ``exchange``: the users under the Exchange admin center's column names."""
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    now = ctx.now()
    with ctx.store.report_reader(batch.id) as reader:
        if fmt == "csv":
            items = ((a, skipped_item_properties(i)) for a, i in reader.skipped())
            write_report_csv_values(out, _users_counted(reader, now), items)
        elif fmt == "exchange":
            users = (user for user, _count in reader.users())
            write_exchange_csv(out, exchange_rows(users, now))
        else:
            summary = batch_tally_properties(batch, reader.tally(), now)
            write_report_json(out, summary, _users_with_items(reader, now))


def _users_counted(reader: ReportReader, now: dt.datetime) -> Iterator[tuple[Any, ...]]:
    """Statistics values whose SkippedItems is just the number of items (the CSV's cell)."""
    for user, count in reader.users():
        yield user_statistics_values(user, count, now, user.batch_started)


def _users_with_items(reader: ReportReader, now: dt.datetime) -> Iterator[dict[str, Any]]:
    for user, items in reader.users_with_items():
        yield _statistics(user, items, now)


def _statistics(
    user: UserStatisticsRow, items: Sequence[SkippedItem], now: dt.datetime
) -> dict[str, Any]:
    started = user.batch_started
    return user_statistics_properties(user, items, now, True, batch_started=started)


def report_interval(batch: Batch, default: dt.timedelta) -> dt.timedelta:
    """The batch's -ReportInterval, else the service's; zero for -SkipReports (never)."""
    if batch.options.skip_reports:
        return dt.timedelta(0)
    hours = batch.options.report_interval_hours
    return default if hours is None else dt.timedelta(hours=hours)


def report_due(batch: Batch, now: dt.datetime, interval: dt.timedelta) -> bool:
    """First when the initial sync has finished, then every ``interval`` (never with
    -SkipReports)."""
    if not batch.notification_emails or batch.status not in _REPORTED:
        return False
    if batch.options.skip_reports:
        return False
    if batch.initial_sync_finished_at is None:
        return False
    if batch.last_report_at is None:
        return True
    return interval > dt.timedelta(0) and batch.last_report_at + interval <= now


async def send_due_reports(ctx: ServiceContext, batches: Sequence[Batch]) -> None:
    smtp = ctx.settings.smtp
    if smtp is None:
        return
    now = ctx.now()
    for batch in batches:
        if not report_due(batch, now, ctx.settings.report_interval):
            continue
        # Recorded first: a failing SMTP server is retried next interval, not every pass.
        ctx.store.update_batch(batch.id, {"last_report_at": now})
        report = build_batch_report(ctx, batch)
        attachments = [
            (f"{batch.name}.csv", "text/csv", report_csv(report).encode()),
            (f"{batch.name}.json", "application/json", report_json(report).encode()),
        ]
        subject = f"mailferry: batch {batch.name} is {batch.status.value}"
        try:
            await send_report(
                smtp, batch.notification_emails, subject, report_text(report), attachments
            )
        except MailferryError as error:
            ctx.store.add_event("report_failed", now, batch_id=batch.id, error=str(error))
        else:
            ctx.store.add_event(
                "report_sent", now, batch_id=batch.id, to=list(batch.notification_emails)
            )
