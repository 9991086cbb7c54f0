"""Batch reports: built on demand (``batch report``) and e-mailed to the batch's
NotificationEmails when its initial sync finishes and every ``report_interval``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mailferry.errors import MailferryError
from mailferry.service.context import ServiceContext
from mailferry.service.migration_users import skipped_items
from mailferry.service.notifications import send_report
from mailferry.service.reports import batch_report, report_csv, report_json, report_text
from mailferry.service.statuses import BatchStatus
from mailferry.state.migration_records import Batch

B = BatchStatus
_REPORTED = frozenset(
    {B.SYNCED, B.SYNCED_WITH_ERRORS, B.INCREMENTAL_SYNCING, B.COMPLETED}
    | {B.COMPLETED_WITH_ERRORS, B.FAILED}
)


def build_batch_report(ctx: ServiceContext, batch: Batch) -> dict[str, Any]:
    users = ctx.store.users(batch_id=batch.id)
    skipped = {u.id: skipped_items(ctx, u) for u in users}
    return batch_report(batch, users, skipped, ctx.now())


def report_due(batch: Batch, now: dt.datetime, interval: dt.timedelta) -> bool:
    """First when the initial sync has finished, then every ``interval``."""
    if not batch.notification_emails or batch.status not in _REPORTED:
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
