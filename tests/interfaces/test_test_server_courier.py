"""``mailferry test-server`` against a real Courier IMAP: the capabilities it reports
are the ones Courier announces at each stage (its greeting's CAPABILITY code in
plaintext, a new list after STARTTLS: ``AUTH=PLAIN`` appears and ``STARTTLS`` goes), and
the admin login succeeds, over STARTTLS and over implicit TLS."""

from __future__ import annotations

import imaplib
import json

from mailferry.rig import CourierServer
from tests.conftest import COURIER_ADMIN
from tests.interfaces.test_test_server_cli import run_test_server, steps


def _announced(server: CourierServer, *, implicit: bool) -> tuple[list[str], list[str]]:
    """What imaplib reads: the first list, and the one after (STARTTLS or nothing)."""
    if implicit:
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            server.host, server.imaps_port, ssl_context=server.ssl_context(), timeout=10
        )
        first = after = sorted(client.capabilities)
    else:
        client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        first = sorted(client.capabilities)
        client.starttls(ssl_context=server.ssl_context())
        after = sorted(client.capabilities)
    client.logout()
    return first, after


def _run(server: CourierServer, port: int, security: str) -> dict[str, object]:
    code, report = run_test_server(
        "--remote-server", "127.0.0.1", "--port", str(port), "--security", security,
        "--ca-file", str(server.ca_pem_path), "--user", COURIER_ADMIN.name, "--password-stdin",
        password=COURIER_ADMIN.password + "\n",
    )  # fmt: skip
    assert code == 0 and report["Result"] == "Success", report
    assert COURIER_ADMIN.password not in json.dumps(report)
    assert isinstance(report, dict)
    return report


def test_starttls_reports_the_lists_before_and_after_tls(courier_server: CourierServer) -> None:
    report = _run(courier_server, courier_server.imap_port, "Tls")
    assert steps(report) == ["dns", "tcp", "greeting", "capabilities", "starttls", "login"]
    before, after = _announced(courier_server, implicit=False)
    by_step = {step["Step"]: step for step in report["Steps"]}
    assert by_step["greeting"]["Detail"].startswith("OK Courier-IMAP ready.")
    assert by_step["capabilities"]["Detail"].split() == before
    assert report["Capabilities"] == after
    assert "STARTTLS" in before and "AUTH=PLAIN" not in before
    assert "AUTH=PLAIN" in after and "STARTTLS" not in after
    assert {"NAMESPACE", "UIDPLUS", "ACL2=UNION", "UTF8=ACCEPT"} <= set(after)
    assert by_step["login"]["Detail"] == f"as {COURIER_ADMIN.name}"


def test_implicit_tls_reports_the_one_list(courier_server: CourierServer) -> None:
    report = _run(courier_server, courier_server.imaps_port, "Ssl")
    assert steps(report) == ["dns", "tcp", "tls", "greeting", "capabilities", "login"]
    announced, _ = _announced(courier_server, implicit=True)
    assert report["Capabilities"] == announced
    assert "AUTH=PLAIN" in announced and "STARTTLS" not in announced
