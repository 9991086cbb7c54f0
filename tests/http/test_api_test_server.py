"""``POST /api/v1/test-server`` against a real Dovecot: every step with a login, a wrong
password as a Failed result naming the login step (not an HTTP error), an unreachable
port, and the password never in the answer."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from mailferry.rig import DovecotServer
from tests.conftest import STANDARD_USERS
from tests.http.api_support import API, open_api

ALICE = STANDARD_USERS[0]


def server(dovecot: DovecotServer, **more: Any) -> dict[str, Any]:
    return {
        "RemoteServer": "127.0.0.1",
        "Port": dovecot.imaps_port,
        "Security": "Ssl",
        "CaFile": str(dovecot.ca_pem_path),
        **more,
    }


def test_a_server_tested_by_address(dovecot_source: DovecotServer, tmp_path: Path) -> None:
    with open_api(tmp_path) as api:
        http = api.client
        ok = http.post(
            f"{API}/test-server",
            json=server(dovecot_source, User=ALICE.name, Password=ALICE.password),
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["Result"] == "Success"
        assert "login" in [step["Step"] for step in ok.json()["Steps"]]

        wrong = http.post(
            f"{API}/test-server",
            json=server(dovecot_source, User=ALICE.name, Password="not-" + ALICE.password),
        )
        assert wrong.status_code == 200, wrong.text
        assert wrong.json()["Result"] == "Failed" and wrong.json()["FailedStep"] == "login"
        assert ALICE.password not in wrong.text

        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            closed = sock.getsockname()[1]
        refused = http.post(f"{API}/test-server", json={**server(dovecot_source), "Port": closed})
        assert refused.status_code == 200 and refused.json()["FailedStep"] == "tcp"

        bad = http.post(f"{API}/test-server", json={"RemoteServer": "no spaces allowed"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
