"""``/api/v1/events`` on a real uvicorn: the live SSE stream (``id:`` = event id, the
kind as ``event:``, ``retry:``, keep-alive comments, progress snapshots of working
batches), resuming with ``Last-Event-ID``, a batch filter, the JSON pages; and the
stream's cursor, which looks again for ids skipped over (PostgreSQL commits out of order)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mailferry.interfaces.http.sse import GAP_SECONDS, EventCursor, event_message
from tests.http.api_support import API, Api, SseReader, many_users_csv, open_api, upload

STREAM = {"Accept": "text/event-stream"}
ENDPOINT = {"Name": "Src", "RemoteServer": "127.0.0.1", "Port": 1}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with open_api(tmp_path) as opened:
        yield opened


def has(kinds: list[str]) -> object:
    return lambda reader: all(kind in reader.kinds() for kind in kinds)


def test_live_stream_and_resume(api: Api) -> None:
    http = api.client
    with http.stream("GET", f"{API}/events", headers=STREAM) as live:
        reader = SseReader(live)
        assert live.status_code == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        assert live.headers["cache-control"] == "no-store"
        reader.read(lambda r: r.comments >= 1, 5)  # idle: keep-alive comments
        assert reader.messages == [] and reader.retry == 2000
        assert http.post(f"{API}/endpoints?skipVerification=true", json=ENDPOINT).is_success
        assert upload(http, many_users_csv(2), Name="B", SourceEndpoint="Src").is_success
        assert http.post(f"{API}/batches/B/start").is_success
        reader.read(has(["endpoint_created", "batch_created", "batch_started", "progress"]), 10)

    events = [m for m in reader.messages if m.event != "progress"]
    assert [m.event for m in events] == ["endpoint_created", "batch_created", "batch_started"]
    ids = [int(m.id or 0) for m in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [m.json()["Id"] for m in events] == ids
    assert events[1].json()["Batch"] == "B" and events[1].json()["Detail"] == {"users": 2}
    progress = next(m for m in reader.messages if m.event == "progress")
    assert progress.id is None  # a snapshot, not history
    assert progress.json()["Name"] == "B" and progress.json()["Status"] == "Starting"

    not_ours = {**STREAM, "Last-Event-ID": str(2**70)}  # ignored: from ?after=
    with http.stream("GET", f"{API}/events", headers=not_ours, params={"after": ids[1]}) as odd:
        later = SseReader(odd)
        later.read(has(["batch_started"]), 5)
    assert [m.event for m in later.messages if m.id] == ["batch_started"]

    resume = {**STREAM, "Last-Event-ID": str(ids[0])}
    with http.stream("GET", f"{API}/events", headers=resume, params={"after": 0}) as again:
        resumed = SseReader(again)
        resumed.read(has(["batch_started"]), 5)
    assert [int(m.id or 0) for m in resumed.messages if m.id] == ids[1:]

    with api.reader().stream("GET", f"{API}/events", headers=STREAM, params={"after": 0}) as old:
        everything = SseReader(old)
        everything.read(has(["batch_started"]), 5)
    assert [m.event for m in everything.messages if m.id] == [m.event for m in events]


def test_batch_filter_and_pages(api: Api) -> None:
    http = api.client
    assert http.post(f"{API}/endpoints?skipVerification=true", json=ENDPOINT).is_success
    for name in ("A", "B"):
        assert upload(
            http, many_users_csv(1, name.lower()), Name=name, SourceEndpoint="Src"
        ).is_success
    with http.stream("GET", f"{API}/events", headers=STREAM, params={"batch": "B"}) as live:
        reader = SseReader(live)
        for name in ("A", "B"):
            assert http.post(f"{API}/batches/{name}/start").is_success
        reader.read(has(["batch_started"]), 5)
        assert http.post(f"{API}/batches/A/stop").is_success
        assert http.post(f"{API}/batches/B/stop").is_success
        reader.read(has(["batch_stopping"]), 5)
    assert {m.json().get("Batch", m.json().get("Name")) for m in reader.messages} == {"B"}
    missing = http.get(f"{API}/events", headers=STREAM, params={"batch": "Nope"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"

    page = http.get(f"{API}/events", params={"after": 0, "limit": 2}).json()
    assert [e["Kind"] for e in page["Items"]] == ["endpoint_created", "batch_created"]
    rest = http.get(f"{API}/events", params={"after": page["Next"], "limit": 1000}).json()
    assert rest["Items"][0]["Id"] == page["Next"] + 1
    only_b = http.get(f"{API}/events", params={"after": 0, "batch": "B"}).json()
    assert {e["Batch"] for e in only_b["Items"]} == {"B"} and len(only_b["Items"]) == 3
    assert http.get(f"{API}/events", params={"limit": 0}).status_code == 422
    assert http.get(f"{API}/events", params={"after": 2**70}).status_code == 422
    anonymous = httpx.get(f"{api.url}{API}/events", headers=STREAM)
    assert anonymous.status_code == 401


def test_cursor_looks_again_for_skipped_ids() -> None:
    cursor = EventCursor(10)
    assert [e["Id"] for e in cursor.take([row(11), row(13)], now=0.0)] == [11, 13]
    assert cursor.floor(now=1.0) == 11  # 12 may still commit: read from above 11
    assert [e["Id"] for e in cursor.take([row(12), row(13), row(14)], now=1.0)] == [12, 14]
    assert cursor.floor(now=1.0) == 14
    cursor.take([row(16)], now=2.0)
    assert cursor.floor(now=2.0 + GAP_SECONDS - 0.1) == 14
    assert cursor.floor(now=2.0 + GAP_SECONDS) == 16  # given up on 15
    assert cursor.take([row(15), row(16)], now=9.0) == []
    far = EventCursor(0)
    far.take([row(10_000)], now=0.0)
    assert far.floor(now=0.0) == 10_000 and len(far.gaps) == 0  # too far back to look for


def test_event_message_is_one_data_line() -> None:
    text = event_message(row(7, Kind="batch_status", Detail={"new": "Synced\n\nid: 99"}))
    lines = text.split("\n")
    assert lines[:2] == ["id: 7", "event: batch_status"]
    assert lines[2].startswith("data: ") and lines[3:] == ["", ""]
    assert json.loads(lines[2].removeprefix("data: "))["Detail"]["new"] == "Synced\n\nid: 99"


def row(number: int, **fields: object) -> dict[str, object]:
    return {"Id": number, "Kind": "k", "Batch": None, **fields}
