"""The JSON report of a one-shot migration (per user: folders, counts, skips, errors).

Field names follow Exchange's migration statistics where one exists
(TotalItemsInSourceMailboxCount, SyncedItemCount, SkippedItemCount...).
Passwords never enter it: rows are read field by field, never dumped whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailferry.engine.results import FolderResult, MailboxResult
from mailferry.service.migrate_run import MigrationRequest, UserOutcome
from mailferry.service.properties import skipped_item_properties
from mailferry.state.records import SkippedItem


def migration_report(request: MigrationRequest, outcomes: list[UserOutcome]) -> dict[str, Any]:
    failed = sum(1 for o in outcomes if o.failed)
    return {
        "Source": request.source.describe(),
        "Target": request.target.describe(),
        "DryRun": request.options.dry_run,
        "GeneratedAt": dt.datetime.now(dt.UTC).isoformat(),
        "TotalCount": len(outcomes),
        "SyncedCount": len(outcomes) - failed,
        "FailedCount": failed,
        "Users": [user_report(outcome) for outcome in outcomes],
    }


def user_report(outcome: UserOutcome) -> dict[str, Any]:
    row = outcome.row
    report: dict[str, Any] = {
        "EmailAddress": row.email_address,
        "UserName": row.user_name,
        "UserRoot": row.user_root,
        "Status": "Failed" if outcome.failed else "Synced",
        "Error": outcome.error,
        "ErrorType": outcome.error_kind,
        "StartTime": outcome.started_at.isoformat(),
        "DurationSeconds": round(outcome.duration, 3),
    }
    if outcome.result is not None:
        report.update(_result_fields(outcome.result))
    return report


def _result_fields(result: MailboxResult) -> dict[str, Any]:
    synced = sum(f.already_present + f.copied for f in result.folders)
    return {
        "TotalItemsInSourceMailboxCount": result.items,
        "SyncedItemCount": synced,
        "CopiedThisRunCount": result.copied,
        "FlagsUpdatedCount": result.flags_updated,
        "SkippedItemCount": result.skipped,
        "FilteredItemCount": result.filtered,
        "BytesTransferred": result.bytes_copied,
        "PercentageComplete": _percentage(synced, result.items, result.skipped + result.filtered),
        "Folders": [_folder(f) for f in result.folders],
        "SkippedFolders": [
            {"FolderName": f.source_name, "Reason": str(f.reason), "Detail": f.detail}
            for f in result.skipped_folders
        ],
        "SkippedItems": [_skipped(item) for item in result.skipped_items],
        "FolderErrors": result.errors,
    }


def _percentage(synced: int, items: int, left_out: int) -> int:
    """Synced out of what is to be migrated (not the skipped items, not what the
    content filter leaves out this run)."""
    wanted = items - left_out
    return 100 if wanted <= 0 else min(100, int(100 * synced / wanted))


def _folder(folder: FolderResult) -> dict[str, Any]:
    return {
        "SourceFolder": folder.source_folder,
        "TargetFolder": folder.target_folder,
        "Items": folder.items,
        "Copied": folder.copied,
        "AlreadyPresent": folder.already_present,
        "Adopted": folder.adopted,
        "Skipped": folder.skipped,
        "Filtered": folder.filtered,
        "DeletedNotCopied": folder.deleted,
        "FlagsUpdated": folder.flags_updated,
        "Forgotten": folder.forgotten,
        "Bytes": folder.bytes_copied,
        "Unchanged": folder.unchanged,
        "FlagsNotKept": list(folder.unkept_flags),
        "Note": folder.note,
        "Error": folder.error,
    }


def _skipped(item: SkippedItem) -> dict[str, Any]:
    """The service's SkippedItems fields, plus the reason (the one-shot report's reader
    has no other place to find it)."""
    return {**skipped_item_properties(item), "Reason": item.reason}
