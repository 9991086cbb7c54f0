"""Endpoints through the façade: New / Get / Set / Remove / Test against a real Dovecot,
and Test-MigrationServerAvailability of a server with and without a login."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import pytest

from mailferry.app import (
    BatchRequest,
    EndpointChanges,
    EndpointRequest,
    Mailferry,
    ServerTestRequest,
)
from mailferry.app.endpoints import exchange_message
from mailferry.app.endpoints import test_server as check_server
from mailferry.errors import (
    AlreadyExists,
    ConnectTimeout,
    InUse,
    InvalidSetting,
    NotFound,
    VerificationFailed,
)
from mailferry.rig import DovecotServer
from mailferry.service.endpoints.server_check import ServerCheckReport
from tests.conftest import MASTER_USER
from tests.service.service_support import users_csv


def dovecot(server: DovecotServer, name: str = "Src") -> EndpointRequest:
    return EndpointRequest(
        name=name,
        remote_server="127.0.0.1",
        port=server.imaps_port,
        security="ssl",  # checked case-insensitively
        ca_file=str(server.ca_pem_path),
        max_concurrent_migrations=5,
    )


def test_new_get_set_remove(app: Mailferry, dovecot_source: DovecotServer) -> None:
    created = asyncio.run(app.new_endpoint(dovecot(dovecot_source)))  # verified: it answers
    assert created["Identity"] == "Src" and created["Security"] == "Ssl"
    assert created["MaxConcurrentMigrations"] == 5
    assert created["MaxConcurrentIncrementalSyncs"] == 5  # the default follows the cap
    assert app.get_endpoint("src") == created  # names are case-insensitive
    assert [e["Name"] for e in app.get_endpoints()] == ["Src"]
    with pytest.raises(AlreadyExists):
        asyncio.run(app.new_endpoint(dovecot(dovecot_source, "SRC")))
    changed = asyncio.run(app.set_endpoint("Src", EndpointChanges(max_concurrent_migrations=9)))
    assert changed["MaxConcurrentMigrations"] == 9 and changed["Port"] == created["Port"]
    with pytest.raises(InvalidSetting, match="MaxConcurrentMigrations 101 is outside 1-100"):
        asyncio.run(app.set_endpoint("Src", EndpointChanges(max_concurrent_migrations=101)))
    app.new_batch(_batch("B", "Src"))
    app.start_batch("B")
    with pytest.raises(InUse, match="can't be changed while batch 'B'"):
        asyncio.run(app.set_endpoint("Src", EndpointChanges(port=1)))
    with pytest.raises(InUse, match="is used by batch 'B'"):
        app.remove_endpoint("Src")
    app.remove_batch("B", force=True)
    assert app.get_batch("B")["Status"] == "Removing"


def test_an_unreachable_server_is_refused_unless_verification_is_skipped(app: Mailferry) -> None:
    closed = _closed_port()
    request = EndpointRequest("Gone", "127.0.0.1", port=closed, security="None")
    with pytest.raises(VerificationFailed, match=f"can't reach 127.0.0.1:{closed} \\(tcp\\)"):
        asyncio.run(app.new_endpoint(request))
    assert app.get_endpoints() == []
    made = asyncio.run(app.new_endpoint(request, skip_verification=True))
    assert made["Port"] == closed
    app.remove_endpoint("Gone")
    with pytest.raises(NotFound, match="migration endpoint 'Gone' was not found"):
        app.get_endpoint("Gone")
    with pytest.raises(InvalidSetting, match="unknown security 'Tlss'"):
        asyncio.run(app.new_endpoint(EndpointRequest("X", "h", security="Tlss")))


def test_test_endpoint_and_test_server(app: Mailferry, dovecot_source: DovecotServer) -> None:
    asyncio.run(app.new_endpoint(dovecot(dovecot_source)))
    report = asyncio.run(app.test_endpoint("Src", timeout=5))
    assert report["Result"] == "Success" and report["Error"] is None
    assert [s["Step"] for s in report["Steps"]][:3] == ["dns", "tcp", "tls"]
    assert "IMAP4REV1" in {c.upper() for c in report["Capabilities"]}
    login = ServerTestRequest(
        "127.0.0.1", port=dovecot_source.imaps_port, ca_file=str(dovecot_source.ca_pem_path),
        user=MASTER_USER.name, password="not-the-password", timeout=5,
    )  # fmt: skip
    refused = asyncio.run(app.test_server(login))
    assert refused["Result"] == "Failed" and refused["FailedStep"] == "login"
    assert "not-the-password" not in str(refused)
    closed = _closed_port()
    gone = asyncio.run(check_server(ServerTestRequest("127.0.0.1", port=closed, security="None")))
    assert gone["FailedStep"] == "tcp" and gone["Error"]  # no database needed
    # Exchange's fields: Microsoft's words where it has some (DOC-TS)
    assert (report["Message"], report["ErrorDetail"], report["SupportsCutover"]) == (
        None, None, False,
    )  # fmt: skip
    assert report["ConnectionSettings"] == {
        "RemoteServer": "127.0.0.1", "Port": dovecot_source.imaps_port, "Security": "Ssl",
    }  # fmt: skip
    assert gone["Message"] == "The connection to the server 127.0.0.1 could not be completed."
    assert gone["ErrorDetail"] == gone["Error"] and refused["Message"] is None
    slow = ServerCheckReport("imap.contoso.com", 993, "Ssl", error=ConnectTimeout("tcp", 15))
    assert exchange_message(slow) == (
        "The connection to the server imap.contoso.com timed out after 00:00:15."
    )


def _batch(name: str, endpoint: str) -> BatchRequest:
    return BatchRequest(name, endpoint, users_csv([("a@contoso.example", "a", "pw-a")]))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_set_with_nothing_to_change_returns_the_endpoint_unchanged(app: Mailferry) -> None:
    created = asyncio.run(app.new_endpoint(_offline("Quiet"), skip_verification=True))
    assert asyncio.run(app.set_endpoint("Quiet", EndpointChanges())) == created


def test_an_internationalised_host_is_kept_in_its_ascii_form(app: Mailferry) -> None:
    request = dataclasses.replace(_offline("Idn"), remote_server="bücher.example")
    created = asyncio.run(app.new_endpoint(request, skip_verification=True))
    assert created["RemoteServer"] == "xn--bcher-kva.example"
    bad = dataclasses.replace(_offline("Bad"), remote_server="a\u200db.example")  # a joiner
    with pytest.raises(InvalidSetting, match=r"RemoteServer .* is not a valid host name"):
        asyncio.run(app.new_endpoint(bad, skip_verification=True))
    changes = EndpointChanges(remote_server="müller.example")
    changed = asyncio.run(app.set_endpoint("Idn", changes, skip_verification=True))
    assert changed["RemoteServer"] == "xn--mller-kva.example"


def _offline(name: str) -> EndpointRequest:
    return EndpointRequest(name=name, remote_server="127.0.0.1", port=1, security="None")


def test_endpoints_count_the_syncs_running_through_them(app: Mailferry) -> None:
    asyncio.run(app.new_endpoint(EndpointRequest("Busy", "imap.example"), skip_verification=True))
    rows = [(f"u{n}@contoso.example", f"u{n}", "pw") for n in range(4)]
    app.new_batch(BatchRequest("B", "Busy", users_csv(rows)))
    store = app._ctx.store
    for user, status in zip(store.users(), ["Syncing", "IncrementalSyncing", "Completing",
                                             "Synced"], strict=True):  # fmt: skip
        store.update_user(user.id, {"status": status})
    busy = app.get_endpoint("Busy")
    assert (busy["ActiveMigrationCount"], busy["ActiveIncrementalSyncCount"]) == (2, 1)
    listed = {e["Name"]: e for e in app.get_endpoints()}
    assert listed["Busy"]["ActiveMigrationCount"] == 2
    assert all(e["ActiveMigrationCount"] == 0 for name, e in listed.items() if name != "Busy")
