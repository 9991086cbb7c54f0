"""Migration users through the façade: the paged listing (keyset on the address, a total
from one aggregate), one user and its statistics, Stop / Start / Remove of one user."""

from __future__ import annotations

import asyncio

import pytest

from mailferry.app import BatchRequest, EndpointRequest, Mailferry
from mailferry.errors import ActionNotAllowed, InvalidSetting, NotFound, UserActionNotAllowed
from tests.service.service_support import users_csv

USERS = [(f"user{n:03d}@contoso.example", f"u{n}", f"pw-{n}") for n in (7, 3, 11, 1, 5)]


@pytest.fixture
def app(app: Mailferry) -> Mailferry:
    asyncio.run(app.new_endpoint(EndpointRequest("E1", "imap.example"), skip_verification=True))
    app.new_batch(BatchRequest("B1", "E1", users_csv(USERS)))
    return app


def test_pages_in_address_order_with_a_total(app: Mailferry) -> None:
    many = [(f"m{n:04d}@fabrikam.example", f"m{n}", "pw") for n in range(120)]
    app.new_batch(BatchRequest("Big", "E1", users_csv(many[::-1])))  # CSV order reversed
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = app.get_users(batch="Big", after=after, limit=50)
        assert page["Total"] == 120
        seen += [u["Identity"] for u in page["Items"]]
        after = page["Next"]
        if after is None:
            break
    assert seen == sorted(address for address, _, _ in many)
    assert len(seen) == 120 and after is None
    exact = app.get_users(batch="Big", limit=120)
    assert exact["Next"] is None and len(exact["Items"]) == 120  # no empty page after it
    everything = app.get_users()
    assert everything["Total"] == 125 and everything["Next"] is None
    assert app.get_users(after="ZZZ@", limit=10)["Items"] == []
    with pytest.raises(InvalidSetting, match="limit 0 must be at least 1"):
        app.get_users(limit=0)
    with pytest.raises(NotFound, match="migration batch 'B9' was not found"):
        app.get_users(batch="B9")


def test_status_filters_what_is_shown(app: Mailferry) -> None:
    assert app.get_users(status="stopped", limit=2)["Total"] == 5  # never started: Stopped
    assert app.get_users(status="Queued")["Total"] == 0
    app.start_batch("B1")
    queued = app.get_users(batch="B1", status="Queued", limit=2)
    assert queued["Total"] == 5 and len(queued["Items"]) == 2
    assert queued["Next"] == queued["Items"][1]["Identity"] == "user003@contoso.example"
    with pytest.raises(InvalidSetting, match="user status 'Running' is not one of Queued"):
        app.get_users(status="Running")


def test_one_user_and_its_statistics(app: Mailferry) -> None:
    alice = app.get_user("USER007@contoso.example")  # addresses compare case-insensitively
    assert alice["Identity"] == "user007@contoso.example" and alice["BatchId"] == "B1"
    assert "pw-7" not in str(alice)
    stats = app.user_statistics("user007@contoso.example", include_skipped=True)
    assert stats["SkippedItems"] == [] and stats["TotalQueuedDuration"] == "00:00:00"
    app.start_batch("B1")
    app.stop_user("user007@contoso.example")
    report = app.user_statistics("user007@contoso.example", include_report=True)["Report"]
    assert [line.split(" ")[1] for line in report] == ["user_stopped:"]
    assert report[0].endswith("user_stopped: previous=Queued")
    with pytest.raises(NotFound, match=r"migration user 'nobody@contoso\.example' was not found"):
        app.get_user("nobody@contoso.example")


def test_stop_start_remove_and_sync_now(app: Mailferry) -> None:
    who = "user003@contoso.example"
    with pytest.raises(UserActionNotAllowed, match="has not been started"):
        app.stop_user(who)
    app.start_batch("B1")
    assert app.stop_user(who)["Status"] == "Stopped"  # queued: at once, no job to wait for
    assert app.wait_user(who) == app.get_user(who)  # nothing winding down: at once
    assert app.start_user(who)["Status"] == "Queued"
    with pytest.raises(ActionNotAllowed, match="SyncNow needs Synced"):
        app.sync_user(who)
    removed = app.remove_user(who)
    assert removed == {"EmailAddress": who, "BatchId": "B1", "Purged": True}
    with pytest.raises(NotFound):
        app.get_user(who)
    assert app.get_batch("B1")["TotalCount"] == 4


def test_exchange_status_names_and_summaries(app: Mailferry) -> None:
    """``-Status`` takes Exchange's 21 names (IncrementalSynced = Synced, Provisioning:
    nobody, IMAP has none) and ``-StatusSummary`` its roll-ups."""
    app.start_batch("B1")
    store = app._ctx.store
    stored = {"user001": "Synced", "user003": "IncrementalFailed", "user005": "Failed"}
    for user in store.users():
        status = stored.get(user.email_address.split("@")[0])
        if status is not None:
            store.update_user(user.id, {"status": status})

    def shown(**filters: str) -> list[str]:
        page = app.get_users(**filters)  # type: ignore[arg-type]
        assert page["Total"] == len(page["Items"])
        return [u["Identity"].split("@")[0] for u in page["Items"]]

    assert shown(status="IncrementalSynced") == shown(status="synced") == ["user001"]
    assert shown(status="CompletionFailed") == ["user005"]
    assert shown(status="Provisioning") == shown(status="Corrupted") == []
    assert shown(status_summary="Failed") == ["user003", "user005"]
    assert shown(status_summary="Active") == ["user007", "user011"]  # Queued in a started batch
    assert shown(status="Failed", status_summary="Failed") == ["user005"]
    assert shown(status="Queued", status_summary="Synced") == []
    with pytest.raises(InvalidSetting, match="status summary 'Busy' is not one of Active"):
        app.get_users(status_summary="Busy")


def test_migration_statistics_sum_every_batch(app: Mailferry) -> None:
    """Get-MigrationStatistics: B1's five users never started show Stopped; B2's are
    Queued in a started batch (Active, Pending) except one Synced with its copies."""
    app.new_batch(BatchRequest("B2", "E1", users_csv([(f"b{n}@fabrikam.example", f"b{n}", "pw")
                                                      for n in range(3)])))  # fmt: skip
    app.start_batch("B2")
    store = app._ctx.store
    synced = next(u for u in store.users() if u.email_address == "b0@fabrikam.example")
    copied = {"synced_item_count": 40, "skipped_item_count": 2, "bytes_transferred": 123_456}
    store.update_user(synced.id, {"status": "Synced", **copied})
    stats = app.migration_statistics()
    assert {k: stats[k] for k in ("TotalCount", "ActiveCount", "StoppedCount", "SyncedCount",
                                  "PendingCount", "FailedCount", "BatchCount")} == {
        "TotalCount": 8, "ActiveCount": 2, "StoppedCount": 5, "SyncedCount": 1,
        "PendingCount": 2, "FailedCount": 0, "BatchCount": 2,
    }  # fmt: skip
    assert stats["BatchesByStatus"] == {"Created": 1, "Starting": 1}
    assert (stats["SyncedItemCount"], stats["BytesTransferred"]) == (40, 123_456)


def test_the_exchange_report_has_the_admin_centers_columns(app: Mailferry) -> None:
    import csv
    import io

    from mailferry.service.reports.exchange_report import EXCHANGE_COLUMNS

    app.start_batch("B1")
    store = app._ctx.store
    counters = {
        "user001": {"status": "Synced", "synced_item_count": 50, "total_items_in_source": 50},
        "user003": {"status": "Synced", "synced_item_count": 48, "skipped_item_count": 2,
                    "total_items_in_source": 50},
        "user005": {"status": "Synced", "synced_item_count": 10, "skipped_item_count": 40,
                    "total_items_in_source": 50},
        "user007": {"status": "Failed", "error": "authentication failed; the password"},
    }  # fmt: skip
    for user in store.users():
        changes = counters.get(user.email_address.split("@")[0])
        if changes is not None:
            store.update_user(user.id, changes)
    out = io.StringIO()
    app.write_batch_report("B1", "exchange", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(EXCHANGE_COLUMNS)
    scores = {row[0].split("@")[0]: (row[1], row[4], row[6]) for row in rows[1:]}
    assert scores == {
        "user001": ("Synced", "Perfect", ""),
        "user003": ("Synced", "Good", ""),
        "user005": ("Synced", "Investigate", ""),
        "user007": ("Failed", "Poor", "authentication failed"),
        "user011": ("Queued", "Perfect", ""),
    }
