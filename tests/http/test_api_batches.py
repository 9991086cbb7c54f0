"""``/api/v1/batches`` over httpx (no scheduler: actions only record intent): a batch
from a multipart upload and from a raw text/csv body, filters, changes, actions refused
by status, adding users, removal, and the report downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.api_support import API, Api, many_users_csv, open_api, upload, users_csv

ENDPOINT = {"Name": "Src", "RemoteServer": "127.0.0.1", "Port": 1}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with open_api(tmp_path) as opened:
        made = opened.client.post(f"{API}/endpoints?skipVerification=true", json=ENDPOINT)
        assert made.status_code == 201, made.text
        yield opened


def test_new_batch_multipart_and_text_csv(api: Api) -> None:
    http = api.client
    made = upload(
        http, many_users_csv(3), Name="Wave1", SourceEndpoint="Src", AutoStart=False,
        NotificationEmails=["a@example.com", "b@example.com"], ExcludeFolders=["Junk", "Trash"],
        StartAfter="2030-01-01T10:00:00",
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{API}/batches/Wave1"
    view = made.json()
    assert (view["Status"], view["TotalCount"], view["StoppedCount"]) == ("Created", 3, 3)
    assert view["NotificationEmails"] == ["a@example.com", "b@example.com"]
    assert view["ExcludedFolders"] == ["Junk", "Trash"]
    assert view["StartAfter"] == "2030-01-01T10:00:00Z"  # no zone: UTC

    raw = http.post(
        f"{API}/batches",
        params=[("Name", "Wave 2"), ("SourceEndpoint", "Src"), ("IncludeFolders", "INBOX")],
        content=many_users_csv(2, "v"),
        headers={"Content-Type": "text/csv"},
    )
    assert raw.status_code == 201, raw.text
    assert raw.headers["location"] == f"{API}/batches/Wave%202"
    assert raw.json()["IncludedFolders"] == ["INBOX"] and raw.json()["TotalCount"] == 2

    as_text = http.post(  # curl -F 'csv=<users.csv': the CSV as a text part, no file name
        f"{API}/batches",
        data={"Name": "Wave3", "SourceEndpoint": "Src"},
        files={"csv": (None, many_users_csv(1, "t"))},
    )
    assert as_text.status_code == 201, as_text.text
    assert http.delete(f"{API}/batches/Wave3").status_code == 202

    names = [b["Name"] for b in http.get(f"{API}/batches").json() if b["Status"] == "Created"]
    assert sorted(names) == ["Wave 2", "Wave1"]
    created = http.get(f"{API}/batches", params={"status": "Created", "endpoint": "Src"})
    assert sorted(b["Name"] for b in created.json()) == ["Wave 2", "Wave1"]
    assert http.get(f"{API}/batches", params={"status": "Synced"}).json() == []
    assert http.get(f"{API}/batches", params={"endpoint": "Other"}).status_code == 404
    bad_status = http.get(f"{API}/batches", params={"status": "Sideways"})
    assert bad_status.status_code == 422 and bad_status.json()["code"] == "invalid_request"
    assert http.get(f"{API}/batches/Wave 2").json()["TotalCount"] == 2

    again = upload(http, many_users_csv(1, "w"), Name="Wave1", SourceEndpoint="Src")
    assert again.status_code == 409 and again.json()["code"] == "already_exists"
    no_endpoint = upload(http, many_users_csv(1, "w"), Name="W3", SourceEndpoint="Nope")
    assert no_endpoint.status_code == 404 and no_endpoint.json()["details"]["name"] == "Nope"


def test_refused_uploads(api: Api) -> None:
    http = api.client
    bad = b"EmailAddress,UserName,Password\r\nok@x.com,ok,pw\r\nnot-an-email,u,pw\r\nz@x.com,z,\r\n"
    refused = upload(http, bad, Name="Bad", SourceEndpoint="Src")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "csv_rejected"
    problems = body["details"]["problems"]
    assert [(p["row"], p["column"], p["code"]) for p in problems] == [
        (3, "EmailAddress", "invalid_email"),
        (4, "Password", "empty_password"),
    ]
    assert all(p["message"].startswith(f"Row {p['row']}:") for p in problems)
    assert http.get(f"{API}/batches/Bad").status_code == 404

    no_header = http.post(
        f"{API}/batches?Name=B&SourceEndpoint=Src",
        content=b"",
        headers={"Content-Type": "text/csv"},
    )
    assert no_header.status_code == 422 and no_header.json()["code"] == "csv_rejected"
    assert no_header.json()["details"]["problems"][0]["row"] is None

    missing = http.post(
        f"{API}/batches", data={"Name": "B", "SourceEndpoint": "Src"}, files={"x": ("a", b"1")}
    )
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_request"
    assert missing.json()["details"]["problems"][0]["location"] == "body.csv"
    unnamed = upload(http, many_users_csv(1), SourceEndpoint="Src")
    assert unnamed.status_code == 422
    assert [p["location"] for p in unnamed.json()["details"]["problems"]] == ["body.Name"]
    unnamed_raw = http.post(
        f"{API}/batches?SourceEndpoint=Src",
        content=many_users_csv(1),
        headers={"Content-Type": "text/csv"},
    )
    assert unnamed_raw.json()["details"]["problems"][0]["location"] == "query.Name"
    typo = upload(http, many_users_csv(1), Name="B", SourceEndpoint="Src", AutoStrat="true")
    assert (
        typo.status_code == 422
        and typo.json()["details"]["problems"][0]["location"] == "body.AutoStrat"
    )
    as_json = http.post(f"{API}/batches", json={"Name": "B", "SourceEndpoint": "Src"})
    assert as_json.status_code == 415 and as_json.json()["code"] == "unsupported_media_type"
    bad_time = upload(http, many_users_csv(1), Name="B", SourceEndpoint="Src", StartAfter="soon")
    assert bad_time.status_code == 422 and bad_time.json()["code"] == "invalid_request"
    bad_filter = upload(http, many_users_csv(1), Name="B", SourceEndpoint="Src", ContentFilter="(")
    assert bad_filter.status_code == 422 and bad_filter.json()["code"] == "invalid_setting"
    assert http.get(f"{API}/batches").json() == []


def test_changes_actions_and_removal(api: Api) -> None:
    http = api.client
    assert upload(http, many_users_csv(3), Name="B", SourceEndpoint="Src").status_code == 201
    changed = http.patch(
        f"{API}/batches/B",
        json={
            "NotificationEmails": ["ops@example.com"],
            "CompleteAfter": "2031-05-01T08:00:00+02:00",
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["NotificationEmails"] == ["ops@example.com"]
    assert changed.json()["CompleteAfter"] == "2031-05-01T06:00:00Z"
    assert http.patch(f"{API}/batches/B", json={"Colour": "red"}).status_code == 422

    for action in ("stop", "complete", "sync"):
        refused = http.post(f"{API}/batches/B/{action}")
        assert refused.status_code == 409, action
        assert refused.json()["code"] == "action_not_allowed"
        assert refused.json()["details"]["status"] == "Created"
    started = http.post(f"{API}/batches/B/start")
    assert started.status_code == 200 and started.json()["Status"] == "Starting"
    assert started.json()["ActiveCount"] == 3
    stopping = http.post(f"{API}/batches/B/stop")
    assert stopping.json()["Status"] == "Stopping"
    assert http.post(f"{API}/batches/B/start").json()["details"]["status"] == "Stopping"

    added = http.post(
        f"{API}/batches/B/users", files={"csv": ("more.csv", many_users_csv(2, "n"), "text/csv")}
    )
    assert added.status_code == 200, added.text
    assert added.json()["UsersAdded"] == 2 and added.json()["TotalCount"] == 5
    clash = http.post(
        f"{API}/batches/B/users",
        content=many_users_csv(1, "n"),
        headers={"Content-Type": "text/csv"},
    )
    assert clash.status_code == 422 and clash.json()["code"] == "csv_rejected"
    extra = b"EmailAddress,UserName,Password,Colour\r\nx@example.com,x,pw,red\r\n"
    unknown = http.post(
        f"{API}/batches/B/users", content=extra, headers={"Content-Type": "text/csv"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["details"]["problems"][0]["code"] == "unknown_column"
    allowed = http.post(
        f"{API}/batches/B/users?AllowUnknownColumns=true", content=extra,
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert allowed.status_code == 200 and allowed.json()["UsersAdded"] == 1

    removing = http.delete(f"{API}/batches/B")
    assert removing.status_code == 202 and removing.json()["Status"] == "Removing"
    assert (
        http.post(
            f"{API}/batches/B/users", content=extra, headers={"Content-Type": "text/csv"}
        ).status_code
        == 409
    )
    assert http.delete(f"{API}/batches/Nope").status_code == 404
    assert http.delete(f"{API}/batches/Nope", params={"force": "maybe"}).status_code == 422


def test_report_downloads(api: Api) -> None:
    http = api.client
    rows = [(f"r{i}@example.com", f"r{i}", "pw") for i in range(3)] + [
        ("=cmd@example.com", "x", "pw")
    ]
    assert upload(http, users_csv(rows), Name="Report me", SourceEndpoint="Src").status_code == 201
    as_csv = http.get(f"{API}/batches/Report me/report", params={"format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = as_csv.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Report_me-report.csv"')
    assert "filename*=UTF-8''Report%20me-report.csv" in disposition
    users_table = as_csv.text.split("\r\n\r\n")[0]
    table = list(csv.DictReader(io.StringIO(users_table)))
    assert sorted(r["EmailAddress"] for r in table) == sorted(
        ["r0@example.com", "r1@example.com", "r2@example.com", "'=cmd@example.com"]
    )

    as_json = http.get(f"{API}/batches/Report me/report", params={"format": "json"})
    assert as_json.headers["content-type"] == "application/json"
    report = as_json.json()
    assert report["Batch"]["Name"] == "Report me" and len(report["Users"]) == 4

    assert http.get(f"{API}/batches/Report me/report", params={"format": "xml"}).status_code == 422
    missing = http.get(f"{API}/batches/Nope/report")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    assert missing.json()["code"] == "not_found"


def test_batch_options_and_time_zone(api: Api) -> None:
    http = api.client
    settings = {"StartAfter": "2026-12-15T18:00", "TimeZone": "Europe/Copenhagen",
                "AutoComplete": True, "MaxMessageSize": 1048576}  # fmt: skip
    made = upload(http, many_users_csv(2, "z"), Name="Zoned", SourceEndpoint="Src", **settings)
    assert made.status_code == 201, made.text
    view = made.json()
    assert (view["StartAfter"], view["TimeZone"]) == ("2026-12-15T17:00:00Z", "Europe/Copenhagen")
    assert (view["AutoComplete"], view["MaxMessageSize"]) == (True, 1048576)
    patched = http.patch(f"{API}/batches/Zoned", json={"SkipReports": True,
                                                       "ApproveSkippedItems": True})  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["SkipReports"] is True
    assert patched.json()["SkippedItemsApprovedDateTime"] is not None
    bad = upload(
        http, many_users_csv(1, "q"), Name="Bad", SourceEndpoint="Src", TimeZone="Mars/Olympus"
    )
    assert bad.status_code in (400, 422) and "Mars/Olympus" in bad.text
