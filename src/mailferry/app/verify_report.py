"""A verification as JSON-ready data: per user its status, totals and every folder's
differences (``verify --report``, and the API's answer). Never a secret: users are
named by address and login name; errors are words already."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailferry.service.oneshot.verify import UserVerification
    from mailferry.values.verify_report import FolderVerification, MessageRef, VerifyReport

MATCH, DIFFERENCES, FAILED = "Match", "Differences", "Failed"


def user_status(outcome: UserVerification) -> str:
    if outcome.report is None:
        return FAILED
    return MATCH if outcome.report.ok else DIFFERENCES


def folder_status(folder: FolderVerification) -> str:
    if folder.error is not None:
        return FAILED
    return MATCH if folder.ok else DIFFERENCES


def verification_report(
    outcomes: Sequence[UserVerification], source: str, target: str
) -> dict[str, object]:
    """The whole verification as JSON-ready data."""
    statuses = [user_status(o) for o in outcomes]
    return {
        "Result": MATCH if all(s == MATCH for s in statuses) else DIFFERENCES,
        "Source": source,
        "Target": target,
        "Users": [_user_dict(o, s) for o, s in zip(outcomes, statuses, strict=True)],
    }


def _user_dict(outcome: UserVerification, status: str) -> dict[str, object]:
    row, report = outcome.row, outcome.report
    found: dict[str, object] = {
        "EmailAddress": row.email_address,
        "UserName": row.user_name,
        "UserRoot": row.user_root,
        "Status": status,
        "Error": outcome.error,
        "ErrorKind": outcome.error_kind,
        "Seconds": round(outcome.duration, 3),
    }
    if report is not None:
        found["Totals"] = _totals(report)
        found["Folders"] = [_folder_dict(f) for f in report.folders]
        found["SkippedFolders"] = [
            {"SourceFolder": s.source_name, "Reason": str(s.reason), "Detail": s.detail}
            for s in report.skipped_folders
        ]
    return found


def _totals(report: VerifyReport) -> dict[str, int]:
    folders = report.folders
    return {
        "Folders": len(folders),
        "SourceItems": sum(f.source_count for f in folders),
        "Expected": sum(f.expected for f in folders),
        "TargetItems": sum(f.target_count for f in folders),
        "Missing": report.missing,
        "Unexpected": report.unexpected,
        "FlagMismatches": report.flag_mismatches,
        "DateMismatches": report.date_mismatches,
        "PolicySkipped": sum(len(f.policy_skipped) for f in folders),
        "Filtered": sum(f.filtered for f in folders),
        "FolderErrors": len(report.errors),
    }


def _folder_dict(folder: FolderVerification) -> dict[str, object]:
    return {
        "SourceFolder": folder.source_folder,
        "TargetFolder": folder.target_folder,
        "TargetExists": folder.target_exists,
        "Status": folder_status(folder),
        "Error": folder.error,
        "SourceItems": folder.source_count,
        "Expected": folder.expected,
        "TargetItems": folder.target_count,
        "ExpectedBytes": folder.expected_bytes,
        "TargetBytes": folder.target_bytes,
        "Missing": [_message_dict(m) for m in folder.missing],
        "Unexpected": [_message_dict(m) for m in folder.unexpected],
        "FlagMismatches": [
            {
                "SourceUid": f.source_uid,
                "TargetUid": f.target_uid,
                "MissingFlags": list(f.missing),
                "ExtraFlags": list(f.extra),
            }
            for f in folder.flag_mismatches
        ],
        "DateMismatches": [
            {
                "SourceUid": d.source_uid,
                "TargetUid": d.target_uid,
                "SourceDate": _date(d.source_date),
                "TargetDate": _date(d.target_date),
            }
            for d in folder.date_mismatches
        ],
        "PolicySkipped": [
            {
                "Uid": p.uid,
                "Kind": p.kind,
                "Size": p.size,
                "InternalDate": _date(p.internaldate),
                "OnTarget": p.on_target,
            }
            for p in folder.policy_skipped
        ],
    }


def _message_dict(message: MessageRef) -> dict[str, object]:
    return {
        "Uid": message.uid,
        "Size": message.size,
        "InternalDate": _date(message.internaldate),
        "Subject": message.subject,
    }


def _date(value: dt.datetime) -> str:
    return value.isoformat()
