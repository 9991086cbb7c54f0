"""Exchange-named, JSON-able views of endpoints, batches and migration users.

The interfaces and reports show these dicts as they are, so a script written against
``Get-MigrationBatch`` / ``Get-MigrationUserStatistics`` finds the names it expects:
PascalCase keys in a stable order, datetimes as ISO 8601 UTC strings
(``2026-11-24T10:00:00Z``, whole seconds), durations as Exchange's TimeSpan text
(``00:05:03``, ``1.02:03:04``), ``None`` kept as ``None``. Secrets never appear:
records are read field by field, never dumped whole.

Statuses are shown as stored, except that the users of a batch that was never started
show **Stopped** (stored Queued, what the scheduler claims once the batch starts):
Microsoft documents Queued as "in a running batch, not started yet" and describes a
never-started batch as Stopped; Stopped is in Get-MigrationUser's -Status list, rolls
up to StatusSummary Stopped, and counts in the batch's StoppedCount (not ActiveCount).
``shown_status`` is that rule and ``status_filter`` its inverse (``-Status`` filters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from mailferry.state.listing_queries import StatusWhere, UserTally, batch_was_started
from mailferry.state.migration_records import Batch, BatchOptions, Endpoint, MigrationUser
from mailferry.values.results import SkippedItem
from mailferry.values.statuses import UserStatus

U = UserStatus

ACTIVE_USER = frozenset(
    {U.QUEUED, U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING, U.COMPLETING, U.STOPPING}
)
"""Users counted in a batch's ActiveCount: waiting for or doing work."""

FAILED_USER = frozenset({U.FAILED, U.INCREMENTAL_FAILED})

STATUS_SUMMARY: dict[UserStatus, str] = {
    **{status: "Active" for status in ACTIVE_USER},
    U.SYNCED: "Synced",
    U.COMPLETED: "Completed",
    U.FAILED: "Failed",
    U.INCREMENTAL_FAILED: "Failed",
    U.STOPPED: "Stopped",
    U.REMOVING: "Stopped",
}
"""Get-MigrationUser's StatusSummary roll-up (Microsoft doesn't document theirs).

It matches the batch counters: Active = ActiveCount's statuses (Stopping included: the
user is still winding down), Failed = both failures (an IncrementalFailed user needs
attention just like a Failed one), and Removing counts as Stopped: no sync runs for it.
"""


def shown_status(stored: UserStatus, batch_started: bool) -> UserStatus:
    """The status a user shows: Stopped for a Queued user of a never-started batch."""
    if stored == U.QUEUED and not batch_started:
        return U.STOPPED
    return stored


def status_filter(shown: UserStatus) -> tuple[StatusWhere, ...]:
    """The stored statuses (and batch conditions) of the users that show ``shown``."""
    if shown == U.STOPPED:
        return ((U.STOPPED, None), (U.QUEUED, False))
    if shown == U.QUEUED:
        return ((U.QUEUED, True),)
    return ((shown, None),)


def batch_started(b: Batch) -> bool:
    return batch_was_started(b.status, b.started_at)


class UserStatisticsSource(Protocol):
    """What Get-MigrationUserStatistics reads of a user: a ``MigrationUser``, or the
    ``UserStatisticsRow`` a report reads in bulk."""

    @property
    def email_address(self) -> str: ...
    @property
    def batch(self) -> str: ...
    @property
    def status(self) -> UserStatus: ...
    @property
    def error(self) -> str | None: ...
    @property
    def total_items_in_source(self) -> int: ...
    @property
    def estimated_total_bytes(self) -> int | None: ...
    @property
    def synced_item_count(self) -> int: ...
    @property
    def skipped_item_count(self) -> int: ...
    @property
    def bytes_transferred(self) -> int: ...
    @property
    def percentage_complete(self) -> int: ...
    @property
    def queued_seconds(self) -> float: ...
    @property
    def in_progress_seconds(self) -> float: ...
    @property
    def synced_seconds(self) -> float: ...
    @property
    def stalled_seconds(self) -> float: ...
    @property
    def queued_since(self) -> dt.datetime | None: ...
    @property
    def started_at(self) -> dt.datetime | None: ...
    @property
    def synced_since(self) -> dt.datetime | None: ...
    @property
    def stalled_since(self) -> dt.datetime | None: ...
    @property
    def retry_at(self) -> dt.datetime | None: ...
    @property
    def last_successful_sync_at(self) -> dt.datetime | None: ...


USER_STATISTICS_FIELDS: tuple[str, ...] = (
    "Identity",
    "EmailAddress",
    "BatchId",
    "Status",
    "Error",
    "ErrorSummary",
    "TotalItemsInSourceMailboxCount",
    "EstimatedTotalTransferSize",
    "EstimatedTotalTransferCount",
    "SyncedItemCount",
    "SkippedItemCount",
    "SkippedItems",
    "BytesTransferred",
    "BytesTransferredPerMinute",
    "SyncedItemsPerMinute",
    "PercentageComplete",
    "TotalQueuedDuration",
    "TotalInProgressDuration",
    "TotalSyncedDuration",
    "TotalStalledDuration",
    "LastSuccessfulSyncTimestamp",
)
"""The keys of ``user_statistics_properties``, in order (the report's CSV columns)."""

SKIPPED_ITEM_FIELDS: tuple[str, ...] = (
    "Kind",
    "FolderName",
    "Subject",
    "Sender",
    "DateReceived",
    "MessageSize",
)


def iso_utc(value: dt.datetime | None) -> str | None:
    """``2026-11-24T10:00:00Z``; a naive datetime is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    two = _TWO_DIGITS  # a report formats 70,000 of these: 3x faster than isoformat()
    date = f"{value.year:04d}-{two[value.month]}-{two[value.day]}"
    return f"{date}T{two[value.hour]}:{two[value.minute]}:{two[value.second]}Z"


def timespan(value: dt.timedelta | float | None) -> str | None:
    """Exchange's TimeSpan text, whole seconds: ``00:05:03``, ``1.02:03:04``.

    A negative span (clocks moved backwards) shows as zero rather than nonsense.
    """
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else value
    if seconds < 1:
        return "00:00:00"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{_TWO_DIGITS[hours]}:{_TWO_DIGITS[minutes]}:{_TWO_DIGITS[secs]}"
    return f"{days}.{clock}" if days else clock


_TWO_DIGITS = [f"{n:02d}" for n in range(60)]  # a report formats 300,000 of these


def endpoint_properties(e: Endpoint, active: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """Get-MigrationEndpoint's view; ``active``: the syncs running through it now
    (initial or final, incremental)."""
    return {
        "Identity": e.name,
        "Name": e.name,
        "EndpointType": e.endpoint_type,
        "RemoteServer": e.remote_server,
        "Port": e.port,
        "Security": e.security,
        "Authentication": e.authentication,
        "MaxConcurrentMigrations": e.max_concurrent_migrations,
        "MaxConcurrentIncrementalSyncs": e.max_concurrent_incremental_syncs,
        "ActiveMigrationCount": active[0],
        "ActiveIncrementalSyncCount": active[1],
        "AcceptUntrustedCertificates": e.accept_untrusted_certificates,
        "CreationDateTime": iso_utc(e.created_at),
    }


def batch_option_properties(o: BatchOptions) -> dict[str, Any]:
    """A batch's options as New-MigrationBatch names them (None: the service's default)."""
    interval = None if o.report_interval_hours is None else o.report_interval_hours * 3600
    return {
        "AutoComplete": o.auto_complete,
        "ReportInterval": timespan(interval),
        "SkipReports": o.skip_reports,
        "TimeZone": o.time_zone,
        "MaxMessageSize": o.max_message_size,
        "ItemLimit": o.max_items,
        "IncludeDeleted": o.include_deleted,
        "PropagateDeletions": o.propagate_deletions,
        "SkippedItemsApprovedDateTime": o.skipped_items_approved_at,
    }


def batch_properties(b: Batch, users: Sequence[MigrationUser], now: dt.datetime) -> dict[str, Any]:
    """Get-MigrationBatch's view of a batch and its loaded users."""
    return batch_tally_properties(b, UserTally.of(users), now)


def batch_tally_properties(b: Batch, tally: UserTally, now: dt.datetime) -> dict[str, Any]:
    """Get-MigrationBatch's view from the users' tally (``ServiceStore.user_tallies``).
    ``now`` is reserved for live durations (none yet)."""
    del now  # every field here is a stored fact or a count
    started = batch_started(b)
    shown: dict[UserStatus, int] = {}
    for stored, count in tally.counts.items():
        status = shown_status(stored, started)
        shown[status] = shown.get(status, 0) + count
    total = tally.total
    return {
        "Identity": b.name,
        "Name": b.name,
        "Status": b.status.value,
        "MigrationType": "IMAP",
        "SourceEndpoint": b.source_endpoint,
        "Target": b.target.display(),
        "SourceKind": b.target.source_kind,
        "GmailLabels": b.target.gmail_labels,
        "Locale": b.target.locale,
        "ContentFilter": b.content_filter,
        **batch_option_properties(b.options),
        "TotalCount": total,
        "ActiveCount": _count(shown, ACTIVE_USER),
        "StoppedCount": shown.get(U.STOPPED, 0),
        "SyncedCount": shown.get(U.SYNCED, 0),
        "FinalizedCount": shown.get(U.COMPLETED, 0),
        "FailedCount": _count(shown, FAILED_USER),
        "ExcludedFolders": list(b.exclude_folders),
        "IncludedFolders": list(b.include_folders),
        "AutoStart": b.auto_start,
        "StartAfter": iso_utc(b.start_after),
        "CompleteAfter": iso_utc(b.complete_after),
        "NotificationEmails": list(b.notification_emails),
        "CreationDateTime": iso_utc(b.created_at),
        "StartDateTime": iso_utc(b.started_at),
        "InitialSyncDuration": _initial_sync_duration(b),
        "LastSyncedDateTime": iso_utc(b.last_synced_at),
        "MxSwitchedDateTime": iso_utc(b.mx_switched_at),
        "CompletedDateTime": iso_utc(b.completed_at),
        # the mean, rounded down: a batch shows 100 only when every user is at 100
        "PercentageComplete": tally.percentage_sum // total if total else 0,
        "Error": b.error,
    }


def user_properties(u: MigrationUser, *, batch_started: bool = True) -> dict[str, Any]:
    """Get-MigrationUser's view (never the password, not even its ciphertext)."""
    status = shown_status(u.status, batch_started)
    return {
        "Identity": u.email_address,
        "EmailAddress": u.email_address,
        "BatchId": u.batch,
        "Status": status.value,
        "StatusSummary": STATUS_SUMMARY[status],
        "UserName": u.user_name,
        "UserRoot": u.user_root,
        "TargetUserName": u.target_user_name,
        "Error": u.error,
        "ItemsSynced": u.synced_item_count,
        "ItemsSkipped": u.skipped_item_count,
        "LastSuccessfulSyncTimestamp": iso_utc(u.last_successful_sync_at),
    }


def user_statistics_properties(
    u: UserStatisticsSource,
    skipped: Sequence[SkippedItem],
    now: dt.datetime,
    include_skipped_items: bool,
    *,
    batch_started: bool = True,
) -> dict[str, Any]:
    """Get-MigrationUserStatistics' view; ``SkippedItems`` is empty unless asked for.

    Durations include the running stretch: time queued so far while the user is
    Queued, and the current job's time while one runs (``started_at`` set).
    """
    items = [skipped_item_properties(item) for item in skipped] if include_skipped_items else []
    values = user_statistics_values(u, items, now, batch_started)
    return dict(zip(USER_STATISTICS_FIELDS, values, strict=True))


def user_statistics_values(
    u: UserStatisticsSource, skipped_items: object, now: dt.datetime, batch_started: bool
) -> tuple[Any, ...]:
    """``user_statistics_properties``' values in ``USER_STATISTICS_FIELDS``' order, with
    ``skipped_items`` as SkippedItems (a report's CSV row: 50,000 of them, no dicts)."""
    working = _in_progress_seconds(u, now)
    return (
        u.email_address,
        u.email_address,
        u.batch,
        shown_status(u.status, batch_started).value,
        u.error,
        error_summary(u.error),
        u.total_items_in_source,
        u.estimated_total_bytes,
        u.total_items_in_source,
        u.synced_item_count,
        u.skipped_item_count,
        skipped_items,
        u.bytes_transferred,
        per_minute(u.bytes_transferred, working),
        per_minute(u.synced_item_count, working),
        u.percentage_complete,
        timespan(_queued_seconds(u, now)),
        timespan(working),
        timespan(_synced_seconds(u, now)),
        timespan(_stalled_seconds(u, now)),
        iso_utc(u.last_successful_sync_at),
    )


def skipped_item_properties(item: SkippedItem) -> dict[str, Any]:
    return {
        "Kind": item.kind,
        "FolderName": item.folder,
        "Subject": item.subject,
        "Sender": item.sender,
        "DateReceived": iso_utc(item.date),
        "MessageSize": item.size,
    }


def _initial_sync_duration(b: Batch) -> str | None:
    if b.started_at is None or b.initial_sync_finished_at is None:
        return None
    return timespan(_utc(b.initial_sync_finished_at) - _utc(b.started_at))


def _count(shown: dict[UserStatus, int], statuses: frozenset[UserStatus]) -> int:
    return sum(n for status, n in shown.items() if status in statuses)


def _queued_seconds(u: UserStatisticsSource, now: dt.datetime) -> float:
    running = u.queued_since if u.status == U.QUEUED else None
    return u.queued_seconds + _elapsed(running, now)


SUMMARY_LENGTH = 120


def error_summary(error: str | None) -> str | None:
    """ErrorSummary: the error's first clause, at most ``SUMMARY_LENGTH`` characters."""
    if not error:
        return None
    first = error.splitlines()[0].split("; ")[0].strip()
    return first if len(first) <= SUMMARY_LENGTH else first[: SUMMARY_LENGTH - 1] + "…"


def per_minute(amount: int, seconds: float) -> int:
    """A rate over the time spent syncing (0 before any): BytesTransferredPerMinute,
    SyncedItemsPerMinute (ours: Exchange shows no item rate)."""
    return int(amount * 60 / seconds) if seconds >= 1 else 0


def _in_progress_seconds(u: UserStatisticsSource, now: dt.datetime) -> float:
    return u.in_progress_seconds + _elapsed(u.started_at, now)


def _synced_seconds(u: UserStatisticsSource, now: dt.datetime) -> float:
    """Time Synced between syncs (a Stop ends the stretch: a Stopped user isn't synced)."""
    running = u.synced_since if u.status == U.SYNCED and u.started_at is None else None
    return u.synced_seconds + _elapsed(running, now)


def _stalled_seconds(u: UserStatisticsSource, now: dt.datetime) -> float:
    """Time waiting to retry after a transient error (throttling, a lost connection…)."""
    waiting = u.retry_at is not None and u.started_at is None and u.status in _RETRY_WAITS
    return u.stalled_seconds + _elapsed(u.stalled_since if waiting else None, now)


_RETRY_WAITS = frozenset({U.QUEUED, U.SYNCED, U.COMPLETING})


def _elapsed(since: dt.datetime | None, now: dt.datetime) -> float:
    """Seconds from ``since`` to ``now``, 0 when there is no running stretch."""
    return 0.0 if since is None else max(0.0, (_utc(now) - _utc(since)).total_seconds())


def _utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC (naive values are UTC already), so naive and aware ones subtract."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
