"""``mailferry test-server --endpoint NAME`` (Test-MigrationServerAvailability -Endpoint):
the stored endpoint's settings are tested against a real Dovecot."""

from __future__ import annotations

import json
from pathlib import Path

from mailferry.rig import DovecotServer
from tests.interfaces.cli_service_support import make_mailferry


def test_an_endpoints_stored_settings_are_tested(
    dovecot_source: DovecotServer, tmp_path: Path
) -> None:
    mf = make_mailferry(tmp_path)
    mf.ok("endpoint", "new", "--name", "Src", "--remote-server", "127.0.0.1",
          "--port", str(dovecot_source.imap_port), "--security", "Tls",
          "--ca-file", str(dovecot_source.ca_pem_path))  # fmt: skip
    report = json.loads(mf.ok("test-server", "--endpoint", "Src", "--format", "json").stdout)
    assert report["Result"] == "Success"
    assert report["Port"] == dovecot_source.imap_port and report["Security"] == "Tls"
    assert "starttls" in [step["Step"] for step in report["Steps"]]

    assert "migration endpoint 'Nope' was not found" in mf.fails(
        "test-server", "--endpoint", "Nope"
    )
    both = mf.run("test-server", "--endpoint", "Src", "--remote-server", "127.0.0.1")
    assert both.exit_code == 2 and "either --remote-server or --endpoint" in both.output
