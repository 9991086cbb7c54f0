"""Batches through the façade (no server needed: nothing here runs a job): New from CSV
bytes with every kind of target, Get with filters, Start / Stop / Set / AddUsers /
Remove, the report, and the errors of the one tree."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from mailferry.app import (
    BatchChanges,
    BatchRequest,
    EndpointRequest,
    Mailferry,
    TargetRequest,
)
from mailferry.errors import (
    ActionNotAllowed,
    AlreadyExists,
    CsvValidationError,
    InvalidSetting,
    NotFound,
)
from tests.service.service_support import users_csv

ROWS = [("alice@contoso.example", "alice", "pw-alice-1"), ("bob@contoso.example", "bob", "pw-b-2")]
CSV = users_csv(ROWS)


@pytest.fixture
def app(app: Mailferry) -> Mailferry:
    import asyncio

    asyncio.run(app.new_endpoint(EndpointRequest("E1", "imap.example"), skip_verification=True))
    return app


def test_new_get_and_filters(app: Mailferry, tmp_path: object) -> None:
    made = app.new_batch(BatchRequest("B1", "E1", CSV, csv_name="users.csv"))
    assert made["Status"] == "Created" and made["TotalCount"] == 2
    assert made["StoppedCount"] == 2  # a never-started batch's users show Stopped
    assert made["Target"].startswith("maildir:")  # MAILFERRY_TARGET, the default
    imap = TargetRequest("imaps://mail.example", admin_user="admin", secret="target-pw-9")
    other = BatchRequest("B2", "E1", users_csv([("c@contoso.example", "c", "pw")]), target=imap)
    assert app.new_batch(other)["Target"] == "imaps://mail.example:993"
    assert [b["Name"] for b in app.get_batches()] == ["B1", "B2"]
    assert [b["Name"] for b in app.get_batches(status="created", endpoint="e1")] == ["B1", "B2"]
    assert app.get_batches(status="Synced") == []
    with pytest.raises(InvalidSetting, match="batch status 'Nope' is not one of Created"):
        app.get_batches(status="Nope")
    with pytest.raises(NotFound, match="migration endpoint 'E9' was not found"):
        app.get_batches(endpoint="E9")
    assert app.get_batch("b1")["Name"] == "B1"
    with pytest.raises(AlreadyExists):
        app.new_batch(BatchRequest("b1", "E1", CSV))
    assert "target-pw-9" not in json.dumps(app.get_batches())


def test_targets_are_parsed_here(app: Mailferry, tmp_path: object) -> None:
    logins = users_csv([("alice@contoso.example", "alice-t", "tpw-1")])
    per_user = TargetRequest("imap://127.0.0.1:1143", login="per-user", logins_csv=logins)
    made = app.new_batch(BatchRequest("P", "E1", users_csv(ROWS[:1]), target=per_user))
    assert made["Target"] == "imap://127.0.0.1:1143"
    refusals = {
        "ftp://x": "is neither maildir:PATH nor imap://HOST:PORT",
        "imap://h:99999": "has an invalid port",
        "imap://h": "needs its password or token",
        "maildir:": "maildir: needs a path",
    }
    for target, words in refusals.items():
        request = TargetRequest(target, admin_user="admin")
        with pytest.raises(InvalidSetting, match=words):
            app.new_batch(BatchRequest("X", "E1", CSV, target=request))
    with pytest.raises(InvalidSetting, match="needs the target logins CSV"):
        app.new_batch(BatchRequest("X", "E1", CSV, target=TargetRequest("imap://h", "per-user")))
    assert [b["Name"] for b in app.get_batches()] == ["P"]


def test_a_bad_csv_names_every_row(app: Mailferry) -> None:
    bad = b"EmailAddress,UserName,Password\nnot-an-address,u,p\nok@contoso.example,,p\n"
    with pytest.raises(CsvValidationError) as refused:
        app.new_batch(BatchRequest("B", "E1", bad, csv_name="bad.csv"))
    assert [p.row for p in refused.value.problems] == [2, 3]
    assert str(refused.value).startswith("bad.csv was not imported: 2 problems.")
    with pytest.raises(InvalidSetting, match="ContentFilter: '3/4/2020' at character 14"):
        app.new_batch(BatchRequest("B", "E1", CSV, content_filter="Received -gt '3/4/2020'"))
    assert app.get_batches() == []


def test_actions_set_add_users_and_remove(app: Mailferry) -> None:
    app.new_batch(BatchRequest("B1", "E1", CSV))
    with pytest.raises(ActionNotAllowed, match="can't Stop batch 'B1': it has not been started"):
        app.stop_batch("B1")
    started = app.start_batch("B1")
    assert started["Status"] == "Starting" and started["StartDateTime"] is not None
    assert started["ActiveCount"] == 2  # Queued in a started batch
    assert app.stop_batch("B1")["Status"] == "Stopping"
    later = dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.UTC)
    changes = BatchChanges(complete_after=later, notification_emails=("ops@contoso.example",))
    changed = app.set_batch("B1", changes)
    assert changed["CompleteAfter"] == "2030-01-02T03:04:00Z"
    assert changed["NotificationEmails"] == ["ops@contoso.example"]
    assert (
        app.set_batch("B1", BatchChanges(content_filter="Received -gt '2020-08-23'"))[
            "ContentFilter"
        ]
        == "Received -gt '2020-08-23'"
    )
    added = app.add_users("B1", users_csv([("carol@contoso.example", "carol", "pw-c")]), "more")
    assert added["UsersAdded"] == 1 and added["TotalCount"] == 3
    with pytest.raises(CsvValidationError, match="already"):
        app.add_users("B1", users_csv(ROWS[:1]), "again.csv")
    with pytest.raises(ActionNotAllowed, match="SyncNow"):
        app.sync_batch("B1")
    assert app.incomplete_users("B1") == []
    assert app.remove_batch("B1")["Status"] == "Removing"
    with pytest.raises(ActionNotAllowed, match="Remove"):
        app.remove_batch("B1")


def test_report_streams_csv_and_json(app: Mailferry) -> None:
    app.new_batch(BatchRequest("B1", "E1", CSV))
    out = io.StringIO()
    app.write_batch_report("B1", "csv", out)
    lines = out.getvalue().splitlines()
    assert lines[0].split(",")[:4] == ["Identity", "EmailAddress", "BatchId", "Status"]
    assert [line.split(",")[0] for line in lines[1:3]] == [r[0] for r in ROWS]
    out = io.StringIO()
    app.write_batch_report("B1", "json", out)
    document = json.loads(out.getvalue())
    assert document["Batch"]["Name"] == "B1"
    assert [u["Status"] for u in document["Users"]] == ["Stopped", "Stopped"]
    assert not any(r[2] in out.getvalue() for r in ROWS)  # never a password
    with pytest.raises(InvalidSetting, match="report format 'xml'"):
        app.write_batch_report("B1", "xml", io.StringIO())
    with pytest.raises(NotFound):
        app.write_batch_report("nope", "csv", io.StringIO())
