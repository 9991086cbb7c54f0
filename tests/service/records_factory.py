"""Hand-built Endpoint / Batch / MigrationUser / SkippedItem records for service tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from mailferry.state.migration_records import Batch, Endpoint, MigrationUser, TargetSettings
from mailferry.values.results import SkippedItem
from mailferry.values.statuses import BatchStatus, UserStatus

T0 = dt.datetime(2026, 11, 24, 10, 0, 0, tzinfo=dt.UTC)


def endpoint(**changes: Any) -> Endpoint:
    base = Endpoint(
        id=1,
        name="contoso-imap",
        remote_server="imap.contoso.edu",
        port=993,
        security="Ssl",
        authentication="Basic",
        max_concurrent_migrations=20,
        max_concurrent_incremental_syncs=10,
        accept_untrusted_certificates=False,
        ca_file=None,
        created_at=T0,
    )
    return replace(base, **changes)


def batch(**changes: Any) -> Batch:
    base = Batch(
        id=7,
        name="Wave1",
        status=BatchStatus.SYNCING,
        source_endpoint_id=1,
        source_endpoint="contoso-imap",
        target=TargetSettings(kind="maildir", maildir_root="/srv/mail"),
        exclude_folders=("Junk",),
        include_folders=(),
        auto_start=True,
        start_after=None,
        complete_after=None,
        notification_emails=("admin@contoso.edu",),
        created_at=T0,
        started_at=None,
        initial_sync_finished_at=None,
        last_synced_at=None,
        mx_switched_at=None,
        completed_at=None,
        last_report_at=None,
        error=None,
        target_secret=b"TARGET-CIPHERTEXT",
    )
    return replace(base, **changes)


def user(id: int = 1, email: str = "terrya@contoso.edu", **changes: Any) -> MigrationUser:
    base = MigrationUser(
        id=id,
        batch_id=7,
        batch="Wave1",
        row=id + 1,
        email_address=email,
        user_name=email.split("@")[0],
        user_root=None,
        status=UserStatus.QUEUED,
        error=None,
        error_kind=None,
        mailbox_key=email,
        total_items_in_source=0,
        synced_item_count=0,
        skipped_item_count=0,
        bytes_transferred=0,
        queued_seconds=0.0,
        in_progress_seconds=0.0,
        queued_since=None,
        started_at=None,
        last_successful_sync_at=None,
        initial_sync_done=False,
        next_sync_at=None,
        sync_requested=False,
        attempts=0,
        retry_at=None,
        claimed_by=None,
        claimed_until=None,
        password_secret=b"PASSWORD-CIPHERTEXT",
    )
    return replace(base, **changes)


def skipped(subject: str = "Big one", **changes: Any) -> SkippedItem:
    base = SkippedItem(
        folder="INBOX",
        source_uid=42,
        kind="LargeItem",
        subject=subject,
        sender="bob@contoso.edu",
        date=dt.datetime(2025, 3, 1, 8, 30, 15, tzinfo=dt.UTC),
        size=160_000_000,
        reason="over the 150 MB limit",
    )
    return replace(base, **changes)
