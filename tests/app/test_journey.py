"""A batch's life through the façade against a real Dovecot source and a Maildir target,
run here (``run_here``): start, statistics, the event log, SyncNow, Complete, Remove."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from mailferry.app import BatchRequest, EndpointRequest, Mailferry
from mailferry.rig import DovecotServer
from tests.service.service_support import MakeUser, address, filled_user, users_csv


def test_a_batch_from_start_to_removal(
    app: Mailferry, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    good = filled_user(dovecot_source, make_user, seed=11, messages=8)
    wrong = filled_user(dovecot_source, make_user, seed=12, messages=2)
    endpoint = EndpointRequest(
        "Dovecot", "127.0.0.1", port=dovecot_source.imaps_port,
        ca_file=str(dovecot_source.ca_pem_path),
    )  # fmt: skip
    asyncio.run(app.new_endpoint(endpoint))
    csv = users_csv([(address(good), good.name, good.password),
                     (address(wrong), wrong.name, "not-the-password")])  # fmt: skip
    started = app.new_batch(BatchRequest("Wave1", "Dovecot", csv, auto_start=True))
    assert started["Status"] == "Starting" and not app.service_running()
    before = app.last_event_id()
    changes: list[int] = []
    asyncio.run(app.run_here(["Wave1"], lambda: changes.append(1)))
    assert changes  # the live view's callback ran

    batch = app.get_batch("Wave1")
    assert batch["Status"] == "SyncedWithErrors"
    assert (batch["SyncedCount"], batch["FailedCount"]) == (1, 1)
    progress = app.batch_progress(["Wave1", "gone"])
    assert [u["Status"] for u in progress[0]["Users"]] == ["Synced", "Failed"]
    stats = app.user_statistics(address(good), include_report=True)
    assert stats["SyncedItemCount"] == 8 == stats["TotalItemsInSourceMailboxCount"]
    assert stats["PercentageComplete"] == 100 and stats["Report"]
    failed = app.get_user(address(wrong))
    assert failed["Status"] == "Failed" and "authentication failed" in failed["Error"]
    files = list((tmp_path / "mail" / address(good)).rglob("cur/*"))
    assert len(files) == 8

    events = app.events(after=before, limit=1000)
    assert events and all(e["Id"] > before for e in events)
    assert [e["Id"] for e in events] == sorted(e["Id"] for e in events)
    assert {e["Batch"] for e in events} == {"Wave1"}
    assert address(good) in {e["User"] for e in events}
    assert app.events(after=events[0]["Id"], limit=1)[0]["Id"] == events[1]["Id"]
    assert "not-the-password" not in json.dumps(events)

    queued = app.sync_batch("Wave1")
    assert queued["UsersQueued"] == 1
    asyncio.run(app.run_here(["Wave1"]))
    assert app.sync_user(address(good))["Status"] == "Synced"
    asyncio.run(app.run_here(["Wave1"]))
    assert len(list((tmp_path / "mail" / address(good)).rglob("cur/*"))) == 8  # no duplicate
    assert app.complete_batch("Wave1")["Status"] == "Completing"
    asyncio.run(app.run_here(["Wave1"]))
    assert app.get_batch("Wave1")["Status"] == "CompletedWithErrors"
    report = io.StringIO()
    app.write_batch_report("Wave1", "json", report)
    assert [u["Status"] for u in json.loads(report.getvalue())["Users"]] == [
        "Completed",
        "Failed",
    ]

    app.remove_batch("Wave1")
    asyncio.run(app.run_here(["Wave1"]))
    assert app.get_batches() == []
    assert app.events(after=app.last_event_id()) == []
