"""``/api/v1/endpoints`` over httpx against a real Dovecot: create (verified, and with
skipVerification), list, get, change, test, remove, and the refusals with their codes."""

from __future__ import annotations

import socket
from pathlib import Path

from mailferry.rig import DovecotServer
from tests.http.api_support import API, open_api, source_endpoint


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_endpoint_lifecycle(dovecot_source: DovecotServer, tmp_path: Path) -> None:
    with open_api(tmp_path) as api:
        http = api.client
        created = http.post(f"{API}/endpoints", json=source_endpoint(dovecot_source))
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"{API}/endpoints/Src"
        view = created.json()
        assert view["Identity"] == "Src" and view["Port"] == dovecot_source.imaps_port
        assert view["Security"] == "Ssl" and view["MaxConcurrentMigrations"] == 20
        assert "CaFile" not in view

        listed = http.get(f"{API}/endpoints")
        assert listed.status_code == 200 and [e["Name"] for e in listed.json()] == ["Src"]
        assert http.get(f"{API}/endpoints/Src").json() == view

        changed = http.patch(
            f"{API}/endpoints/Src",
            json={"MaxConcurrentMigrations": 30, "MaxConcurrentIncrementalSyncs": 15},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["MaxConcurrentMigrations"] == 30
        assert changed.json()["MaxConcurrentIncrementalSyncs"] == 15

        tested = http.post(f"{API}/endpoints/Src/test")
        assert tested.status_code == 200, tested.text
        assert tested.json()["Result"] == "Success"
        assert any(step["Step"] for step in tested.json()["Steps"])

        assert http.delete(f"{API}/endpoints/Src").status_code == 204
        gone = http.get(f"{API}/endpoints/Src")
        assert gone.status_code == 404
        assert gone.json()["code"] == "not_found"
        assert gone.json()["details"] == {"kind": "migration endpoint", "name": "Src"}


def test_endpoint_refusals(dovecot_source: DovecotServer, tmp_path: Path) -> None:
    with open_api(tmp_path) as api:
        http = api.client
        assert http.post(f"{API}/endpoints", json=source_endpoint(dovecot_source)).is_success
        again = http.post(f"{API}/endpoints", json=source_endpoint(dovecot_source))
        assert again.status_code == 409 and again.json()["code"] == "already_exists"

        nobody = {**source_endpoint(dovecot_source, "Dead"), "Port": free_port()}
        refused = http.post(f"{API}/endpoints", json=nobody)
        assert refused.status_code == 422 and refused.json()["code"] == "verification_failed"
        assert refused.json()["details"]["failed_step"]
        assert http.get(f"{API}/endpoints/Dead").status_code == 404
        skipped = http.post(f"{API}/endpoints", params={"skipVerification": "true"}, json=nobody)
        assert skipped.status_code == 201, skipped.text

        typo = http.post(
            f"{API}/endpoints", json={**source_endpoint(dovecot_source, "X"), "Prot": 1}
        )
        assert typo.status_code == 422 and typo.json()["code"] == "invalid_request"
        assert typo.json()["details"]["problems"][0]["location"] == "body.Prot"
        broken = http.post(
            f"{API}/endpoints", content=b'{"Name": ', headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 422 and broken.json()["code"] == "invalid_request"
        out_of_range = http.patch(f"{API}/endpoints/Src", json={"MaxConcurrentMigrations": 500})
        assert out_of_range.status_code == 422 and out_of_range.json()["code"] == "invalid_setting"
        assert http.post(f"{API}/endpoints/Nope/test").status_code == 404

        reader = api.reader()
        assert reader.get(f"{API}/endpoints").status_code == 200
        forbidden = reader.delete(f"{API}/endpoints/Src")
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
        anonymous = http.get(f"{API}/endpoints", headers={"Authorization": ""})
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
        assert http.get(f"{API}/endpoints/Src").status_code == 200  # nothing was removed
