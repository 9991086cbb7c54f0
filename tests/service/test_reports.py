"""The per-batch report: JSON, spreadsheet-safe CSV (two tables) and the e-mail text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest

from mailferry.service.properties import USER_STATISTICS_FIELDS
from mailferry.service.reports.formats import (
    SKIPPED_TABLE_FIELDS,
    batch_report,
    report_csv,
    report_json,
    report_text,
    safe_cell,
)
from mailferry.state.migration_records import MigrationUser
from mailferry.values.statuses import BatchStatus, UserStatus
from tests.service.records_factory import T0, batch, skipped, user

U = UserStatus
HOSTILE = [
    '=HYPERLINK("http://x")',
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "  =cmd|' /C calc'!A0",
]


def _users() -> list[MigrationUser]:
    return [
        user(
            1,
            "terrya@contoso.edu",
            status=U.SYNCED,
            initial_sync_done=True,
            total_items_in_source=120,
            synced_item_count=118,
            skipped_item_count=2,
            bytes_transferred=4096,
            last_successful_sync_at=T0,
        ),
        user(
            2,
            "annb@contoso.edu",
            status=U.FAILED,
            error="authentication failed:\n[AUTHENTICATIONFAILED] bad password",
        ),
        user(3, "paulc@contoso.edu", status=U.SYNCING, total_items_in_source=10),
    ]


def _report() -> dict[str, Any]:
    skipped_by_user = {
        1: [
            skipped('Quarterly "numbers", draft\nsecond line'),
            skipped(HOSTILE[0], kind="CorruptItem", folder="Sent Items", size=None),
        ]
    }
    b = batch(status=BatchStatus.SYNCED_WITH_ERRORS, started_at=T0)
    return batch_report(b, _users(), skipped_by_user, T0 + dt.timedelta(hours=1))


def test_batch_report_shape() -> None:
    report = _report()
    assert list(report) == ["Batch", "Users"]
    batch_part = report["Batch"]
    assert isinstance(batch_part, dict)
    assert (batch_part["TotalCount"], batch_part["FailedCount"]) == (3, 1)
    users = report["Users"]
    assert isinstance(users, list)
    assert [u["EmailAddress"] for u in users] == [
        "terrya@contoso.edu", "annb@contoso.edu", "paulc@contoso.edu"
    ]  # fmt: skip
    assert [len(u["SkippedItems"]) for u in users] == [2, 0, 0]
    assert users[0]["SkippedItems"][1]["Kind"] == "CorruptItem"


def test_report_json_round_trips_and_keeps_unicode() -> None:
    report = batch_report(batch(name="Bølge-1"), [user(email="søren@contoso.dk")], {}, T0)
    text = report_json(report)
    assert "Bølge-1" in text and "søren@contoso.dk" in text  # not \u escapes
    assert text.startswith('{\n  "Batch": {\n    "Identity"')
    assert json.loads(text) == report
    assert "PASSWORD" not in text and "TARGET-CIPHERTEXT" not in text


def _tables(text: str) -> tuple[list[list[str]], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    blank = rows.index([])
    return rows[:blank], rows[blank + 1 :]


def test_csv_has_user_table_then_skipped_table() -> None:
    users_table, skipped_table = _tables(report_csv(_report()))
    assert users_table[0] == list(USER_STATISTICS_FIELDS)
    assert len(users_table) == 4
    row = dict(zip(users_table[0], users_table[1], strict=True))
    assert row["EmailAddress"] == "terrya@contoso.edu"
    assert row["Status"] == "Synced"
    assert row["SyncedItemCount"] == "118"
    assert row["SkippedItems"] == "2"  # a count, not a nested list
    assert row["PercentageComplete"] == "100"
    assert row["Error"] == ""  # None is an empty cell
    assert row["LastSuccessfulSyncTimestamp"] == "2026-11-24T10:00:00Z"
    failed = dict(zip(users_table[0], users_table[2], strict=True))
    assert failed["Error"] == "authentication failed:\n[AUTHENTICATIONFAILED] bad password"
    assert skipped_table[0] == list(SKIPPED_TABLE_FIELDS)
    assert len(skipped_table) == 3
    first = dict(zip(skipped_table[0], skipped_table[1], strict=True))
    assert first["EmailAddress"] == "terrya@contoso.edu"
    assert first["Subject"] == 'Quarterly "numbers", draft\nsecond line'  # survives quoting
    assert first["DateReceived"] == "2025-03-01T08:30:15Z"
    assert first["MessageSize"] == "160000000"
    second = dict(zip(skipped_table[0], skipped_table[2], strict=True))
    assert (second["FolderName"], second["MessageSize"]) == ("Sent Items", "")


def test_csv_with_no_users_still_has_both_headers() -> None:
    users_table, skipped_table = _tables(report_csv(batch_report(batch(), [], {}, T0)))
    assert users_table == [list(USER_STATISTICS_FIELDS)]
    assert skipped_table == [list(SKIPPED_TABLE_FIELDS)]


@pytest.mark.parametrize("subject", HOSTILE)
def test_hostile_cells_are_neutralised_and_round_trip(subject: str) -> None:
    hostile_user = user(9, "eve@contoso.edu", status=U.FAILED, user_name=subject, error=subject)
    report = batch_report(batch(), [hostile_user], {9: [skipped(subject, sender=subject)]}, T0)
    users_table, skipped_table = _tables(report_csv(report))
    row = dict(zip(users_table[0], users_table[1], strict=True))
    item = dict(zip(skipped_table[0], skipped_table[1], strict=True))
    for cell in (row["Error"], item["Subject"], item["Sender"]):
        assert cell == "'" + subject  # the exact text, made inert
    for table in (users_table, skipped_table):
        for cells in table:
            for cell in cells:
                assert not cell.lstrip().startswith(("=", "+", "-", "@"))
                assert not cell.startswith(("\t", "\r"))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "True"),
        (0, 0),
        (-2, -2),  # a number stays a number, even negative
        (2.5, 2.5),
        ("-2", "'-2"),  # text that looks like a formula does not
        ("plain text", "plain text"),
        ("a=b", "a=b"),  # only the first non-blank character matters
        (" @x", "' @x"),
        ("\n=1", "'\n=1"),
        ("", ""),
        (["Inbox", "=evil"], "Inbox; =evil"),
        (["=evil"], "'=evil"),
    ],
)
def test_safe_cell(value: object, cell: object) -> None:
    assert safe_cell(value) == cell
    assert type(safe_cell(value)) is type(cell)


def test_numbers_are_written_unquoted() -> None:
    text = report_csv(_report())
    data_line = text.splitlines()[1]
    assert ",118,2,2,4096,0,0,100," in data_line


def test_report_text_summary() -> None:
    text = report_text(_report())
    lines = text.splitlines()
    assert lines[0] == 'Migration batch "Wave1": SyncedWithErrors'
    assert "Source endpoint: contoso-imap" in lines
    assert "Target: maildir:/srv/mail" in lines
    assert "Users: 3 total, 1 active, 1 synced, 0 completed, 0 stopped, 1 failed" in lines
    assert "Progress: 33% complete" in lines  # (100 + 0 + 0) // 3
    assert "Items: 118 synced, 2 skipped" in lines
    assert "Started: 2026-11-24T10:00:00Z" in lines
    assert "Failed users (1):" in lines
    assert (
        "  annb@contoso.edu (Failed): authentication failed: [AUTHENTICATIONFAILED] bad password"
        in lines
    )
    assert "terrya@contoso.edu" not in text
    assert "Completed:" not in text  # unset times are left out


def test_report_text_caps_the_failed_list() -> None:
    users = [user(i, f"u{i}@x.org", status=U.INCREMENTAL_FAILED, error=None) for i in range(60)]
    text = report_text(batch_report(batch(), users, {}, T0))
    assert "Failed users (60):" in text
    assert "  u0@x.org (IncrementalFailed): no error recorded" in text
    assert "u49@x.org" in text and "u50@x.org" not in text
    assert "... and 10 more" in text


def test_report_text_without_failures_has_no_failed_section() -> None:
    text = report_text(batch_report(batch(error=None), [user(status=U.SYNCED)], {}, T0))
    assert "Failed users" not in text
    assert text.endswith("\n")
