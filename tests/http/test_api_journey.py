"""The seed journey over HTTP, against real Dovecot servers, with the scheduler running
beside the API in one event loop (as ``mailferry serve --http`` runs them): an endpoint,
a batch from a CSV upload into the target Dovecot as its master user, start, watch the
event stream until the batch is Synced, the users' statistics, the report download,
removal (the scheduler purges it), and the endpoint removed."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from mailferry.rig import DovecotServer
from tests.conftest import MASTER_USER
from tests.http.api_support import (
    API,
    SseReader,
    api_env,
    open_api,
    source_endpoint,
    upload,
    users_csv,
    wait_for,
)
from tests.service.service_support import MakeUser, address, filled_user

MESSAGES = (12, 7)


def target_messages(server: DovecotServer, user: str) -> int:
    out = server.doveadm("mailbox", "status", "-u", user, "messages", "*").stdout
    return sum(int(n) for n in re.findall(r"messages=(\d+)", out))


def settled(reader: SseReader) -> str | None:
    """The status the batch settled in, as the stream told (None: not yet)."""
    for m in reader.messages:
        if m.event == "batch_status" and m.json()["Batch"] == "Journey":
            new = m.json()["Detail"].get("new")
            if new in ("Synced", "SyncedWithErrors", "Failed", "Stopped"):
                return str(new)
    return None


def test_seed_journey_over_http(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    people = [
        filled_user(dovecot_source, make_user, seed=70 + i, messages=n)
        for i, n in enumerate(MESSAGES)
    ]
    for person in people:
        dovecot_target.add_user(address(person), "unused")  # the master user logs in to it
    rows = [(address(p), p.name, p.password) for p in people]
    env = api_env(tmp_path, MAILFERRY_CA_FILE=str(dovecot_target.ca_pem_path))
    with open_api(tmp_path, env, scheduler=True) as api:
        http = api.client
        made = http.post(f"{API}/endpoints", json=source_endpoint(dovecot_source, "IMAPEndpoint"))
        assert made.status_code == 201, made.text

        with http.stream("GET", f"{API}/events", headers={"Accept": "text/event-stream"}) as live:
            reader = SseReader(live)
            batch = upload(
                http, users_csv(rows), Name="Journey", SourceEndpoint="IMAPEndpoint",
                Target=f"imaps://127.0.0.1:{dovecot_target.imaps_port}",
                TargetUser=MASTER_USER.name, TargetPassword=MASTER_USER.password,
            )  # fmt: skip
            assert batch.status_code == 201, batch.text
            started = http.post(f"{API}/batches/Journey/start")
            assert started.status_code == 200 and started.json()["Status"] == "Starting"
            reader.read(lambda r: settled(r) is not None, 60)
        assert settled(reader) == "Synced", reader.messages

        kinds = reader.kinds()
        assert (
            kinds.index("batch_created") < kinds.index("batch_started") < kinds.index("job_started")
        )
        assert kinds.count("job_finished") == len(people)
        percentages = [
            m.json()["PercentageComplete"] for m in reader.messages if m.event == "progress"
        ]
        assert percentages and percentages == sorted(percentages)

        view = http.get(f"{API}/batches/Journey").json()
        assert (view["Status"], view["SyncedCount"], view["FailedCount"]) == ("Synced", 2, 0)
        assert view["PercentageComplete"] == 100
        for person, count in zip(people, MESSAGES, strict=True):
            stats = http.get(f"{API}/users/{address(person)}/statistics").json()
            assert stats["Status"] == "Synced"
            assert stats["SyncedItemCount"] == count == stats["TotalItemsInSourceMailboxCount"]
            assert stats["BytesTransferred"] > 0 and stats["LastSuccessfulSyncTimestamp"]
            assert target_messages(dovecot_target, address(person)) == count

        report = http.get(f"{API}/batches/Journey/report", params={"format": "csv"})
        assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
        table = list(csv.DictReader(io.StringIO(report.text.split("\r\n\r\n")[0])))
        assert sorted(
            (r["EmailAddress"], r["Status"], r["SyncedItemCount"]) for r in table
        ) == sorted((address(p), "Synced", str(n)) for p, n in zip(people, MESSAGES, strict=True))

        removing = http.delete(f"{API}/batches/Journey")
        assert removing.status_code == 202 and removing.json()["Status"] == "Removing"
        wait_for(lambda: http.get(f"{API}/batches/Journey").status_code == 404, 30, "the purge")
        assert http.get(f"{API}/users/{address(people[0])}").status_code == 404
        assert http.delete(f"{API}/endpoints/IMAPEndpoint").status_code == 204
        kinds_after = [
            e["Kind"] for e in http.get(f"{API}/events?after=0&limit=1000").json()["Items"]
        ]
        assert "batch_removed" in kinds_after
