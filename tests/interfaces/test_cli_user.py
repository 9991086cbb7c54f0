"""``mailferry user get|stats|sync-now``: records, filters, errors, no passwords."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interfaces.cli_service_support import (
    PASSWORDS,
    Mailferry,
    new_batch,
    with_batch,
    write_csv,
)


@pytest.fixture
def mf(tmp_path: Path) -> Mailferry:
    made = with_batch(tmp_path)
    other = write_csv(tmp_path / "other.csv", [("carol@contoso.example", "carol", "carol-pw-4")])
    new_batch(made, other, "B2")
    return made


def test_get_all_and_filters(mf: Mailferry) -> None:
    table = mf.ok("user", "get").stdout.splitlines()
    assert table[0].split() == ["Identity", "BatchId", "Status", "ItemsSynced", "ItemsSkipped"]
    assert [line.split()[:3] for line in table[2:]] == [  # never started: Stopped
        ["alice@contoso.example", "B1", "Stopped"],
        ["bob@contoso.example", "B1", "Stopped"],
        ["carol@contoso.example", "B2", "Stopped"],
    ]
    in_b2 = mf.json("user", "get", "--batch", "b2")
    assert [u["EmailAddress"] for u in in_b2] == ["carol@contoso.example"]
    assert mf.json("user", "get", "--status", "synced") == []
    assert len(mf.json("user", "get", "--status", "Stopped", "--batch", "B1")) == 2
    assert mf.json("user", "get", "--status", "Queued") == []  # filters what is shown
    mf.ok("batch", "start", "B2", "--no-wait")
    queued = mf.json("user", "get", "--status", "queued")
    assert [(u["Identity"], u["StatusSummary"]) for u in queued] == [
        ("carol@contoso.example", "Active")
    ]
    assert mf.json("user", "get", "alice@contoso.example", "--status", "Queued") == []
    assert "migration batch 'B9' was not found" in mf.fails("user", "get", "--batch", "B9")
    mf.assert_never_printed(*PASSWORDS, "carol-pw-4")


def test_get_one_in_every_format(mf: Mailferry) -> None:
    one = mf.json("user", "get", "ALICE@contoso.example")
    assert one["Identity"] == "alice@contoso.example"
    assert (one["UserName"], one["StatusSummary"], one["BatchId"]) == ("alice", "Stopped", "B1")
    assert "Password" not in one and not any("password" in key.lower() for key in one)
    listed = mf.ok("user", "get", "alice@contoso.example", "--format", "list",
                   "--property", "User*,Status*").stdout  # fmt: skip
    assert listed.splitlines() == [
        "UserName      : alice",
        "UserRoot      :",
        "Status        : Stopped",
        "StatusSummary : Stopped",
    ]
    jsonl = mf.ok("user", "get", "--format", "jsonl", "--property", "Identity").stdout
    assert jsonl.splitlines() == [
        '{"Identity":"alice@contoso.example"}',
        '{"Identity":"bob@contoso.example"}',
        '{"Identity":"carol@contoso.example"}',
    ]
    assert mf.fails("user", "get", "nobody@contoso.example") == (
        "error: migration user 'nobody@contoso.example' was not found\n"
    )
    mf.assert_never_printed(*PASSWORDS, "carol-pw-4")


def test_stats(mf: Mailferry) -> None:
    stats = mf.json("user", "stats", "bob@contoso.example", "--include-skipped-items")
    assert stats["Identity"] == "bob@contoso.example" and stats["Status"] == "Stopped"
    assert (stats["TotalItemsInSourceMailboxCount"], stats["SyncedItemCount"]) == (0, 0)
    assert stats["SkippedItems"] == [] and stats["TotalInProgressDuration"] == "00:00:00"
    table = mf.ok("user", "stats", "bob@contoso.example").stdout.splitlines()
    assert table[0].split() == ["Identity", "BatchId", "Status", "SyncedItemCount",
                                "SkippedItemCount", "PercentageComplete"]  # fmt: skip
    assert table[2].split() == ["bob@contoso.example", "B1", "Stopped", "0", "0", "0"]
    durations = mf.json("user", "stats", "bob@contoso.example", "--property", "*Duration")
    assert set(durations) == {
        "TotalQueuedDuration", "TotalInProgressDuration", "TotalSyncedDuration",
        "TotalStalledDuration",
    }  # fmt: skip
    reported = mf.json("user", "stats", "bob@contoso.example", "--include-report",
                       "--include-skipped-items", "--limit-skipped-items-to", "0")  # fmt: skip
    assert reported["Report"] == [] and reported["SkippedItems"] == []  # nothing ran yet
    assert "Report" not in stats
    assert "was not found" in mf.fails("user", "stats", "nobody@contoso.example")
    mf.assert_never_printed(*PASSWORDS)


def test_sync_now_needs_a_synced_user(mf: Mailferry) -> None:
    error = mf.fails("user", "sync-now", "alice@contoso.example", "--no-wait")
    assert error.startswith("error: can't SyncNow batch 'B1': it has not been started")
    assert "user alice@contoso.example is Stopped; SyncNow needs Synced" in error
    assert "was not found" in mf.fails("user", "sync-now", "nobody@contoso.example")
