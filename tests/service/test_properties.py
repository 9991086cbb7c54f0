"""Exchange-named property dicts: names, order, formats and every computed field."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mailferry.service.properties import (
    STATUS_SUMMARY,
    USER_STATISTICS_FIELDS,
    batch_properties,
    endpoint_properties,
    iso_utc,
    timespan,
    user_properties,
    user_statistics_properties,
)
from mailferry.state.migration_records import MigrationUser, TargetSettings
from mailferry.values.statuses import BatchStatus, UserStatus
from tests.service.records_factory import T0, batch, endpoint, skipped, user

U = UserStatus
CEST = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (T0, "2026-11-24T10:00:00Z"),
        (dt.datetime(2026, 11, 24, 12, 0, 0, 999_999, tzinfo=CEST), "2026-11-24T10:00:00Z"),
        (dt.datetime(2026, 11, 24, 10, 0, 0), "2026-11-24T10:00:00Z"),  # naive = UTC
    ],
)
def test_iso_utc(value: dt.datetime | None, text: str | None) -> None:
    assert iso_utc(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (0, "00:00:00"),
        (303, "00:05:03"),
        (303.9, "00:05:03"),
        (dt.timedelta(days=1, hours=2, minutes=3, seconds=4), "1.02:03:04"),
        (dt.timedelta(days=12, seconds=59), "12.00:00:59"),
        (dt.timedelta(hours=23, minutes=59, seconds=59), "23:59:59"),
        (-5, "00:00:00"),
    ],
)
def test_timespan(value: dt.timedelta | float | None, text: str | None) -> None:
    assert timespan(value) == text


def test_endpoint_properties_order_and_values() -> None:
    props = endpoint_properties(endpoint(accept_untrusted_certificates=True))
    assert list(props) == [
        "Identity",
        "Name",
        "EndpointType",
        "RemoteServer",
        "Port",
        "Security",
        "Authentication",
        "MaxConcurrentMigrations",
        "MaxConcurrentIncrementalSyncs",
        "ActiveMigrationCount",
        "ActiveIncrementalSyncCount",
        "AcceptUntrustedCertificates",
        "CreationDateTime",
    ]
    assert props["Identity"] == props["Name"] == "contoso-imap"
    assert props["EndpointType"] == "IMAP"
    assert (props["RemoteServer"], props["Port"], props["Security"]) == (
        "imap.contoso.edu",
        993,
        "Ssl",
    )
    assert props["MaxConcurrentMigrations"] == 20
    assert props["MaxConcurrentIncrementalSyncs"] == 10
    assert props["AcceptUntrustedCertificates"] is True
    assert props["CreationDateTime"] == "2026-11-24T10:00:00Z"
    json.dumps(props)


def _mixed_users() -> list[MigrationUser]:
    statuses = [
        U.QUEUED, U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING, U.COMPLETING, U.STOPPING,
        U.STOPPED, U.STOPPED, U.SYNCED, U.SYNCED, U.SYNCED, U.COMPLETED,
        U.FAILED, U.INCREMENTAL_FAILED, U.REMOVING,
    ]  # fmt: skip
    return [user(i, f"u{i}@contoso.edu", status=s) for i, s in enumerate(statuses)]


def test_batch_counts() -> None:
    props = batch_properties(batch(), _mixed_users(), T0)
    assert props["TotalCount"] == 15
    assert props["ActiveCount"] == 6
    assert props["StoppedCount"] == 2
    assert props["SyncedCount"] == 3
    assert props["FinalizedCount"] == 1
    assert props["FailedCount"] == 2


def test_batch_fields_and_formats() -> None:
    b = batch(
        status=BatchStatus.SYNCED_WITH_ERRORS,
        target=TargetSettings(kind="imap", host="mail.new.edu", port=143),
        include_folders=("Inbox", "Sent Items"),
        start_after=T0 + dt.timedelta(hours=1),
        complete_after=T0 + dt.timedelta(days=3),
        started_at=T0 + dt.timedelta(hours=1),
        initial_sync_finished_at=T0 + dt.timedelta(days=1, hours=3, minutes=3, seconds=4),
        last_synced_at=T0 + dt.timedelta(days=2),
        mx_switched_at=T0 + dt.timedelta(days=2, hours=5),
        error="2 users failed",
    )
    props = batch_properties(b, [], T0)
    assert props["Identity"] == props["Name"] == "Wave1"
    assert props["Status"] == "SyncedWithErrors"
    assert props["MigrationType"] == "IMAP"
    assert props["SourceEndpoint"] == "contoso-imap"
    assert props["Target"] == "imap://mail.new.edu:143"
    assert props["ExcludedFolders"] == ["Junk"]
    assert props["IncludedFolders"] == ["Inbox", "Sent Items"]
    assert props["AutoStart"] is True
    assert props["StartAfter"] == "2026-11-24T11:00:00Z"
    assert props["CompleteAfter"] == "2026-11-27T10:00:00Z"
    assert props["NotificationEmails"] == ["admin@contoso.edu"]
    assert props["StartDateTime"] == "2026-11-24T11:00:00Z"
    assert props["InitialSyncDuration"] == "1.02:03:04"
    assert props["LastSyncedDateTime"] == "2026-11-26T10:00:00Z"
    assert props["MxSwitchedDateTime"] == "2026-11-26T15:00:00Z"
    assert props["CompletedDateTime"] is None
    assert props["Error"] == "2 users failed"
    assert props["TotalCount"] == 0
    assert props["PercentageComplete"] == 0
    assert "TARGET-CIPHERTEXT" not in json.dumps(props)
    assert list(props)[:6] == [
        "Identity", "Name", "Status", "MigrationType", "SourceEndpoint", "Target"
    ]  # fmt: skip


def test_initial_sync_duration_is_none_until_finished() -> None:
    running = batch(started_at=T0)
    assert batch_properties(running, [], T0 + dt.timedelta(hours=5))["InitialSyncDuration"] is None
    finished = batch(started_at=T0, initial_sync_finished_at=T0 + dt.timedelta(seconds=303))
    assert batch_properties(finished, [], T0)["InitialSyncDuration"] == "00:05:03"


def test_batch_percentage_is_the_mean_rounded_down() -> None:
    users = [
        user(1, "a@x.org", status=U.SYNCED, initial_sync_done=True),  # 100
        user(2, "b@x.org", status=U.SYNCING, total_items_in_source=200, synced_item_count=100),
        user(3, "c@x.org", status=U.SYNCING, total_items_in_source=3, synced_item_count=1),  # 33
    ]
    assert [u.percentage_complete for u in users] == [100, 50, 33]
    assert batch_properties(batch(), users, T0)["PercentageComplete"] == 61  # 183 / 3
    almost = [users[0], user(4, "d@x.org", status=U.SYNCED, initial_sync_done=True), users[2]]
    assert batch_properties(batch(), almost[:2], T0)["PercentageComplete"] == 100
    assert batch_properties(batch(), almost, T0)["PercentageComplete"] == 77


def test_user_properties_never_show_the_password() -> None:
    u = user(
        status=U.INCREMENTAL_FAILED,
        user_root="/users/terry.adams",
        error="authentication failed: [AUTHENTICATIONFAILED] Authentication failed.",
        synced_item_count=1200,
        skipped_item_count=3,
        last_successful_sync_at=T0,
    )
    props = user_properties(u)
    assert list(props) == [
        "Identity",
        "EmailAddress",
        "BatchId",
        "Status",
        "StatusSummary",
        "UserName",
        "UserRoot",
        "TargetUserName",
        "Error",
        "ItemsSynced",
        "ItemsSkipped",
        "LastSuccessfulSyncTimestamp",
    ]
    assert props["Identity"] == props["EmailAddress"] == "terrya@contoso.edu"
    assert props["BatchId"] == "Wave1"
    assert props["Status"] == "IncrementalFailed"
    assert props["StatusSummary"] == "Failed"
    assert props["UserName"] == "terrya"
    assert props["UserRoot"] == "/users/terry.adams"
    assert (props["ItemsSynced"], props["ItemsSkipped"]) == (1200, 3)
    assert props["LastSuccessfulSyncTimestamp"] == "2026-11-24T10:00:00Z"
    text = json.dumps(props)
    assert "PASSWORD" not in text and "Password" not in text


@pytest.mark.parametrize(
    ("status", "summary"),
    [
        (U.QUEUED, "Active"),
        (U.SYNCING, "Active"),
        (U.STOPPING, "Active"),
        (U.SYNCED, "Synced"),
        (U.COMPLETED, "Completed"),
        (U.FAILED, "Failed"),
        (U.INCREMENTAL_FAILED, "Failed"),
        (U.STOPPED, "Stopped"),
        (U.REMOVING, "Stopped"),
    ],
)
def test_status_summary(status: UserStatus, summary: str) -> None:
    assert user_properties(user(status=status))["StatusSummary"] == summary


def test_status_summary_covers_every_status_with_exchange_values() -> None:
    assert set(STATUS_SUMMARY) == set(UserStatus)
    assert set(STATUS_SUMMARY.values()) == {"Active", "Completed", "Failed", "Stopped", "Synced"}


def test_user_statistics_fields_and_counts() -> None:
    u = user(
        status=U.SYNCING,
        error=None,
        total_items_in_source=1000,
        synced_item_count=400,
        skipped_item_count=2,
        bytes_transferred=52_428_800,
    )
    props = user_statistics_properties(u, [skipped()], T0, include_skipped_items=False)
    assert tuple(props) == USER_STATISTICS_FIELDS
    assert props["Identity"] == props["EmailAddress"] == "terrya@contoso.edu"
    assert props["BatchId"] == "Wave1"
    assert props["Status"] == "Syncing"
    assert props["TotalItemsInSourceMailboxCount"] == 1000
    assert props["SyncedItemCount"] == 400
    assert props["SkippedItemCount"] == 2
    assert props["SkippedItems"] == []
    assert props["BytesTransferred"] == 52_428_800
    assert props["PercentageComplete"] == 40
    assert props["LastSuccessfulSyncTimestamp"] is None
    assert "PASSWORD" not in json.dumps(props)


def test_skipped_items_only_when_requested() -> None:
    items = [skipped(), skipped("No date", date=None, size=None, kind="CorruptItem", folder="Sent")]
    props = user_statistics_properties(user(), items, T0, include_skipped_items=True)
    assert props["SkippedItems"] == [
        {
            "Kind": "LargeItem",
            "FolderName": "INBOX",
            "Subject": "Big one",
            "Sender": "bob@contoso.edu",
            "DateReceived": "2025-03-01T08:30:15Z",
            "MessageSize": 160_000_000,
        },
        {
            "Kind": "CorruptItem",
            "FolderName": "Sent",
            "Subject": "No date",
            "Sender": "bob@contoso.edu",
            "DateReceived": None,
            "MessageSize": None,
        },
    ]
    json.dumps(props)


def test_queued_duration_adds_the_running_wait_only_while_queued() -> None:
    now = T0 + dt.timedelta(minutes=5, seconds=3)
    waiting = user(status=U.QUEUED, queued_seconds=60.0, queued_since=T0)
    props = user_statistics_properties(waiting, [], now, include_skipped_items=False)
    assert props["TotalQueuedDuration"] == "00:06:03"
    moved_on = user(status=U.SYNCING, queued_seconds=60.0, queued_since=T0)
    props = user_statistics_properties(moved_on, [], now, include_skipped_items=False)
    assert props["TotalQueuedDuration"] == "00:01:00"
    never = user(status=U.QUEUED, queued_since=None)
    props = user_statistics_properties(never, [], now, include_skipped_items=False)
    assert props["TotalQueuedDuration"] == "00:00:00"


def test_in_progress_duration_adds_the_running_job() -> None:
    now = T0 + dt.timedelta(days=1, hours=2, minutes=3, seconds=4)
    running = user(status=U.SYNCING, in_progress_seconds=10.0, started_at=T0)
    props = user_statistics_properties(running, [], now, include_skipped_items=False)
    assert props["TotalInProgressDuration"] == "1.02:03:14"
    idle = user(status=U.SYNCED, in_progress_seconds=3600.0, started_at=None)
    props = user_statistics_properties(idle, [], now, include_skipped_items=False)
    assert props["TotalInProgressDuration"] == "01:00:00"


def test_synced_duration_runs_only_while_synced_and_idle() -> None:
    now = T0 + dt.timedelta(hours=2)
    waiting = user(status=U.SYNCED, synced_seconds=30.0, synced_since=T0)
    props = user_statistics_properties(waiting, [], now, include_skipped_items=False)
    assert props["TotalSyncedDuration"] == "02:00:30"
    for other in (
        user(status=U.STOPPED, synced_seconds=30.0, synced_since=T0),
        user(status=U.SYNCED, synced_seconds=30.0, synced_since=T0, started_at=T0),
    ):
        props = user_statistics_properties(other, [], now, include_skipped_items=False)
        assert props["TotalSyncedDuration"] == "00:00:30"


def test_stalled_duration_runs_while_a_retry_is_awaited() -> None:
    now = T0 + dt.timedelta(minutes=10)
    later = now + dt.timedelta(minutes=5)
    for status in (U.QUEUED, U.SYNCED, U.COMPLETING):
        waiting = user(status=status, stalled_seconds=5.0, stalled_since=T0, retry_at=later)
        props = user_statistics_properties(waiting, [], now, include_skipped_items=False)
        assert props["TotalStalledDuration"] == "00:10:05", status
    asked = user(status=U.SYNCED, stalled_seconds=5.0, stalled_since=T0, retry_at=None)
    stopped = user(status=U.STOPPED, stalled_seconds=5.0, stalled_since=T0, retry_at=later)
    for other in (asked, stopped):
        props = user_statistics_properties(other, [], now, include_skipped_items=False)
        assert props["TotalStalledDuration"] == "00:00:05"


def test_durations_mix_naive_and_aware_datetimes() -> None:
    naive_start = user(status=U.SYNCING, started_at=T0.replace(tzinfo=None))
    now = (T0 + dt.timedelta(seconds=90)).astimezone(CEST)
    props = user_statistics_properties(naive_start, [], now, include_skipped_items=False)
    assert props["TotalInProgressDuration"] == "00:01:30"


def test_failed_user_percentage_and_error() -> None:
    u = user(
        status=U.FAILED,
        initial_sync_done=True,
        total_items_in_source=10,
        synced_item_count=5,
        error="mailbox 'x' not found",
        last_successful_sync_at=T0,
    )
    props = user_statistics_properties(u, [], T0, include_skipped_items=False)
    assert props["PercentageComplete"] == 50
    assert props["Error"] == "mailbox 'x' not found"
    assert props["LastSuccessfulSyncTimestamp"] == "2026-11-24T10:00:00Z"


def test_error_summary_and_rates() -> None:
    from mailferry.service.properties import error_summary, per_minute

    assert error_summary(None) is None and error_summary("") is None
    long = "2 folder(s) not fully synced (3 message(s) missing): INBOX: why; Work: " + "x" * 200
    assert error_summary(long) == "2 folder(s) not fully synced (3 message(s) missing): INBOX: why"
    assert len(error_summary("y" * 500) or "") == 120
    assert per_minute(6_000, 120.0) == 3_000 and per_minute(5, 0.5) == 0
