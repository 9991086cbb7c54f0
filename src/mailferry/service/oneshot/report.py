"""The JSON report of a one-shot migration (per user: folders, counts, skips, errors).

Field names follow Exchange's migration statistics where one exists
(TotalItemsInSourceMailboxCount, SyncedItemCount, SkippedItemCount...).
Passwords never enter it: rows are read field by field, never dumped whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailferry.service.oneshot.migrate import MigrationRequest, UserOutcome
from mailferry.service.properties import skipped_item_properties
from mailferry.values.results import FolderResult, MailboxResult, SkippedItem


def migration_report(request: MigrationRequest, outcomes: list[UserOutcome]) -> dict[str, Any]:
    failed = sum(1 for o in outcomes if o.failed)
    incomplete = sum(1 for o in outcomes if o.status == "Incomplete")
    return {
        "Source": request.source.describe(),
        "Target": request.target.describe(),
        "DryRun": request.options.dry_run,
        "GeneratedAt": dt.datetime.now(dt.UTC).isoformat(),
        "TotalCount": len(outcomes),
        "SyncedCount": len(outcomes) - failed - incomplete,
        "IncompleteCount": incomplete,
        "FailedCount": failed,
        "Users": [user_report(outcome) for outcome in outcomes],
    }


def user_report(outcome: UserOutcome) -> dict[str, Any]:
    row = outcome.row
    report: dict[str, Any] = {
        "EmailAddress": row.email_address,
        "UserName": row.user_name,
        "UserRoot": row.user_root,
        "Status": outcome.status,
        "Error": outcome.error,
        "ErrorType": outcome.error_kind,
        "StartTime": outcome.started_at.isoformat(),
        "DurationSeconds": round(outcome.duration, 3),
    }
    if outcome.result is not None:
        report.update(_result_fields(outcome.result))
    return report


def _result_fields(result: MailboxResult) -> dict[str, Any]:
    """TotalItemsInSourceMailboxCount = SyncedItemCount + SkippedItemCount + MissingItemCount
    (every message but those the content filter leaves out); SkippedItemCount counts
    every skipped item the state holds, SkippedItems lists the ones found this run."""
    return {
        "TotalItemsInSourceMailboxCount": result.in_scope,
        "SyncedItemCount": result.synced,
        "CopiedThisRunCount": result.copied,
        "FlagsUpdatedCount": result.flags_updated,
        "SkippedItemCount": result.skipped_total,
        "MissingItemCount": result.missing,
        "FilteredItemCount": result.filtered,
        "BytesTransferred": result.bytes_copied,
        "PercentageComplete": _percentage(result),
        "Folders": [_folder(f) for f in result.folders],
        "SkippedFolders": [
            {"FolderName": f.source_name, "Reason": str(f.reason), "Detail": f.detail}
            for f in result.skipped_folders
        ],
        "SkippedItems": [_skipped(item) for item in result.skipped_items],
        "FolderErrors": result.errors,
    }


def _percentage(result: MailboxResult) -> int:
    """Synced and skipped out of what is in scope; 100 only when the sync is complete."""
    if result.complete:
        return 100
    done = result.synced + result.skipped_total
    return 0 if result.in_scope <= 0 else min(99, int(100 * done / result.in_scope))


def _folder(folder: FolderResult) -> dict[str, Any]:
    return {
        "SourceFolder": folder.source_folder,
        "TargetFolder": folder.target_folder,
        "Items": folder.items,
        "Synced": folder.synced,
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
        "Missing": folder.missing,
    }


def _skipped(item: SkippedItem) -> dict[str, Any]:
    """The service's SkippedItems fields, plus the reason (the one-shot report's reader
    has no other place to find it)."""
    return {**skipped_item_properties(item), "Reason": item.reason}
