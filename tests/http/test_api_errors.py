"""Every error answers ``{code, message, details}`` with a stable code: unknown paths and
methods, bodies over the caps (declared and chunked), bad JSON, values that are never
echoed back, and an unexpected exception (500 ``internal``, no internals)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http.api_support import API, Api, many_users_csv, open_api

UPLOAD_MAX = 64 * 1024
JSON_MAX = 4 * 1024


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with open_api(tmp_path, upload_max=UPLOAD_MAX, json_max=JSON_MAX) as opened:
        yield opened


def is_error(response: httpx.Response, status: int, code: str) -> bool:
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["message"], str) and body["message"]
    return response.status_code == status and body["code"] == code


def chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def test_unknown_paths_and_methods(api: Api) -> None:
    http = api.client
    assert is_error(http.get(f"{API}/nothing"), 404, "not_found")
    assert is_error(http.get("/elsewhere"), 404, "not_found")
    assert is_error(http.put(f"{API}/endpoints"), 405, "method_not_allowed")
    assert is_error(http.get(f"{API}/batches/X/start"), 405, "method_not_allowed")
    assert http.get("/api/openapi.json").json()["info"]["title"] == "mailferry"
    docs = http.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_bodies_over_the_caps(api: Api) -> None:
    http = api.client
    endpoint = {"Name": "E", "RemoteServer": "h" * (JSON_MAX + 10)}
    assert is_error(http.post(f"{API}/endpoints", json=endpoint), 413, "too_large")
    streamed = http.post(
        f"{API}/endpoints",
        content=chunks(JSON_MAX * 4),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in streamed.request.headers
    assert is_error(streamed, 413, "too_large")

    big_csv = many_users_csv(3000)
    assert len(big_csv) > UPLOAD_MAX
    files = {"csv": ("users.csv", big_csv, "text/csv")}
    multipart = http.post(f"{API}/batches", data={"Name": "B", "SourceEndpoint": "E"}, files=files)
    assert is_error(multipart, 413, "too_large")
    assert multipart.json()["details"]["limit"] == UPLOAD_MAX
    raw = http.post(
        f"{API}/batches?Name=B&SourceEndpoint=E",
        content=chunks(UPLOAD_MAX * 2),
        headers={"Content-Type": "text/csv"},
    )
    assert is_error(raw, 413, "too_large")
    fits = http.post(
        f"{API}/batches?Name=B&SourceEndpoint=E", content=many_users_csv(10),
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert is_error(fits, 404, "not_found")  # past the cap: the endpoint E doesn't exist


def test_bad_json_and_values(api: Api) -> None:
    http = api.client
    for body in (b"{", b"[1, 2]", b'"text"', b"\xff\xfe"):
        sent = http.post(
            f"{API}/endpoints", content=body, headers={"Content-Type": "application/json"}
        )
        assert is_error(sent, 422, "invalid_request"), body
    wrong_type = http.post(
        f"{API}/endpoints", json={"Name": "E", "RemoteServer": "h", "Port": "hunter2-secret"}
    )
    assert is_error(wrong_type, 422, "invalid_request")
    assert "hunter2-secret" not in wrong_type.text  # a value sent is never echoed back
    assert wrong_type.json()["details"]["problems"][0]["location"] == "body.Port"
    missing = http.patch(
        f"{API}/batches/B", content=b"", headers={"Content-Type": "application/json"}
    )
    assert is_error(missing, 422, "invalid_request")
    form = http.post(f"{API}/endpoints", data={"Name": "E"})
    assert form.status_code == 422


def test_unexpected_exception_is_internal(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    def explode() -> None:
        raise RuntimeError("the connection string is postgres://u:pw-internal@db")

    api.app.add_api_route(f"{API}/explode", explode)  # a route of this test only
    answer = api.client.get(f"{API}/explode")
    assert is_error(answer, 500, "internal")
    assert "pw-internal" not in answer.text and "RuntimeError" not in answer.text
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)
