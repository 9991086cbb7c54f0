"""``POST /api/v1/batches`` with ``TargetPreset``, ``MaxBytesPerSecond`` and
``EndpointMaxBytesPerSecond``: kept on the batch's target and shown with it; bad values
refused with what was wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.api_support import API, Api, many_users_csv, open_api, upload

ENDPOINT = {"Name": "Src", "RemoteServer": "127.0.0.1", "Port": 1}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with open_api(tmp_path) as opened:
        made = opened.client.post(f"{API}/endpoints?skipVerification=true", json=ENDPOINT)
        assert made.status_code == 201, made.text
        yield opened


def test_a_batch_keeps_its_preset_and_caps(api: Api) -> None:
    made = upload(
        api.client, many_users_csv(2), Name="M365", SourceEndpoint="Src",
        TargetPreset="m365", MaxBytesPerSecond=262144, EndpointMaxBytesPerSecond=1048576,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["Target"].endswith(
        " [preset m365, 262144 B/s per mailbox, 1048576 B/s per endpoint]"
    )
    plain = upload(api.client, many_users_csv(1, "p"), Name="Plain", SourceEndpoint="Src")
    assert plain.status_code == 201, plain.text
    assert "[" not in plain.json()["Target"]


def test_bad_values_are_refused(api: Api) -> None:
    unknown = upload(
        api.client, many_users_csv(1), Name="X", SourceEndpoint="Src", TargetPreset="gmail9"
    )
    assert unknown.status_code in (400, 422) and "gmail9" in unknown.text
    slow = upload(
        api.client, many_users_csv(1), Name="Y", SourceEndpoint="Src", MaxBytesPerSecond=5
    )
    assert slow.status_code == 422 and "MaxBytesPerSecond" in slow.text
