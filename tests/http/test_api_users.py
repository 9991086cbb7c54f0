"""Migration users over httpx: keyset pages of a batch's users (Next, NextLink, the Link
header, Total, a status filter), ``/users``, one user's view and statistics, the user
actions refused by status, and removal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.api_support import API, Api, many_users_csv, open_api, upload

USERS = 250


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with open_api(tmp_path) as opened:
        endpoint = {"Name": "Src", "RemoteServer": "127.0.0.1", "Port": 1}
        assert opened.client.post(f"{API}/endpoints?skipVerification=1", json=endpoint).is_success
        assert upload(
            opened.client, many_users_csv(USERS), Name="Big", SourceEndpoint="Src"
        ).is_success
        assert upload(
            opened.client, many_users_csv(3, "s"), Name="Small", SourceEndpoint="Src"
        ).is_success
        yield opened


def test_pages_of_a_batch(api: Api) -> None:
    http = api.client
    seen: list[str] = []
    path: str | None = f"{API}/batches/Big/users?limit=100"
    pages = 0
    while path is not None and pages < 10:
        page = http.get(path)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["Total"] == USERS and len(body["Items"]) <= 100
        seen += [u["EmailAddress"] for u in body["Items"]]
        path = body["NextLink"]
        if path is not None:
            assert page.headers["link"] == f'<{path}>; rel="next"'
            assert body["Next"] == body["Items"][-1]["EmailAddress"]
        else:
            assert body["Next"] is None and "link" not in page.headers
        pages += 1
    assert pages == 3
    assert seen == sorted(seen) == [f"u{i:05d}@example.com" for i in range(USERS)]
    assert {u["BatchId"] for u in http.get(f"{API}/batches/Big/users").json()["Items"]} == {"Big"}

    after = http.get(f"{API}/batches/Big/users", params={"after": "u00247@example.com"}).json()
    assert [u["EmailAddress"] for u in after["Items"]] == [
        "u00248@example.com",
        "u00249@example.com",
    ]
    stopped = http.get(f"{API}/batches/Big/users", params={"status": "Stopped", "limit": 1}).json()
    assert stopped["Total"] == USERS  # a never-started batch's users show Stopped
    assert http.get(f"{API}/batches/Big/users", params={"status": "Synced"}).json()["Total"] == 0

    everyone = http.get(f"{API}/users", params={"limit": 1000}).json()
    assert everyone["Total"] == USERS + 3 and everyone["Next"] is None
    small = http.get(f"{API}/users", params={"batch": "Small"}).json()
    assert [u["EmailAddress"] for u in small["Items"]] == [
        f"s{i:05d}@example.com" for i in range(3)
    ]

    for bad in ({"limit": 0}, {"limit": 1001}, {"status": "Asleep"}, {"after": "x" * 400}):
        refused = http.get(f"{API}/batches/Big/users", params=bad)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_request", bad
    missing = http.get(f"{API}/batches/Nope/users")
    assert missing.status_code == 404 and missing.json()["details"]["kind"] == "migration batch"


def test_one_user(api: Api) -> None:
    http = api.client
    email = "s00001@example.com"
    view = http.get(f"{API}/users/{email}").json()
    assert (view["Identity"], view["BatchId"], view["Status"]) == (email, "Small", "Stopped")
    assert view["StatusSummary"] == "Stopped" and view["UserName"] == "s00001"

    stats = http.get(f"{API}/users/{email}/statistics").json()
    assert stats["SyncedItemCount"] == 0 and stats["SkippedItems"] == []
    assert "Report" not in stats
    full = http.get(
        f"{API}/users/{email}/statistics",
        params={"includeSkippedItems": True, "includeReport": True},
    ).json()
    assert full["Report"] == [] and full["TotalQueuedDuration"] == "00:00:00"

    for action in ("start", "stop"):
        refused = http.post(f"{API}/users/{email}/{action}")
        assert refused.status_code == 409 and refused.json()["code"] == "user_action_not_allowed"
        assert refused.json()["details"]["user"] == email
    assert http.post(f"{API}/users/{email}/sync").status_code == 409

    assert http.post(f"{API}/batches/Small/start").json()["Status"] == "Starting"
    assert http.get(f"{API}/users/{email}").json()["Status"] == "Queued"
    stopped = http.post(f"{API}/users/{email}/stop")
    assert stopped.status_code == 200 and stopped.json()["Status"] == "Stopped"
    resumed = http.post(f"{API}/users/{email}/start")
    assert resumed.status_code == 200 and resumed.json()["Status"] == "Queued"

    removed = http.delete(f"{API}/users/{email}")
    assert removed.status_code == 200
    assert removed.json()["Purged"] is True and removed.json()["BatchId"] == "Small"
    for path in (f"/users/{email}", f"/users/{email}/statistics"):
        gone = http.get(API + path)
        assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert http.delete(f"{API}/users/{email}").status_code == 404
    assert http.post(f"{API}/users/nobody@example.com/start").status_code == 404
    assert http.get(f"{API}/batches/Small").json()["TotalCount"] == 2


def test_exchange_status_names_filter_too(api: Api) -> None:
    http = api.client
    url = f"{API}/batches/Small/users"
    assert http.get(url, params={"status": "IncrementalStopped"}).json()["Total"] == 3
    assert http.get(url, params={"status": "Provisioning"}).json()["Total"] == 0
    assert http.get(url, params={"statusSummary": "Stopped"}).json()["Total"] == 3
    assert http.get(url, params={"statusSummary": "Active"}).json()["Total"] == 0
    refused = http.get(url, params={"status": "Running"})
    assert refused.status_code == 422 and "IncrementalSynced" in refused.text


def test_statistics_roll_up_every_batch(api: Api) -> None:
    stats = api.client.get(f"{API}/statistics")
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert (body["TotalCount"], body["StoppedCount"], body["BatchCount"]) == (
        USERS + 3,
        USERS + 3,
        2,
    )


def test_config_get_and_patch(api: Api) -> None:
    http = api.client
    assert http.get(f"{API}/config").json()["MaxNumberOfBatches"] is None
    patched = http.patch(f"{API}/config", json={"MaxNumberOfBatches": 2})
    assert patched.status_code == 200 and patched.json()["MaxNumberOfBatches"] == 2
    full = upload(http, many_users_csv(1, "x"), Name="Third", SourceEndpoint="Src")
    assert full.status_code == 409 and full.json()["code"] == "limit_reached"
    reset = http.patch(f"{API}/config", json={"MaxNumberOfBatches": None})
    assert reset.json()["MaxNumberOfBatches"] is None
    assert http.patch(f"{API}/config", json={"ConnectionsPerMailbox": 0}).status_code == 422
