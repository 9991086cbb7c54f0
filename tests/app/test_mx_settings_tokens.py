"""The MX check (a real DNS server on loopback) recorded on the batches of its domain;
the settings read from the environment; API tokens through ``app.tokens``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailferry.app import BatchRequest, EndpointRequest, Mailferry
from mailferry.app.mx import lookup_mx
from mailferry.app.settings import database_url, has_database, smtp_settings
from mailferry.errors import InvalidSetting, MailferryError
from tests.dns_server import LoopbackDnsServer
from tests.service.service_support import users_csv

ZONE = """
$TTL 300
@                     SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@                     NS  ns.test.
contoso.example.      MX  10 mx.new.example.
old.example.          MX  10 mail.old.example.
"""


@pytest.fixture(scope="module")
def dns() -> Iterator[LoopbackDnsServer]:
    with LoopbackDnsServer(ZONE) as running:
        yield running


def test_check_mx_records_the_switch_once(app: Mailferry, dns: LoopbackDnsServer) -> None:
    asyncio.run(app.new_endpoint(EndpointRequest("E1", "imap.example"), skip_verification=True))
    app.new_batch(BatchRequest("B1", "E1", users_csv([("a@contoso.example", "a", "pw")])))
    app.new_batch(BatchRequest("B2", "E1", users_csv([("b@old.example", "b", "pw")])))
    ns = dns.address
    found = asyncio.run(app.check_mx("contoso.example", ["mx.new.example"], nameserver=ns))
    assert found["Result"] == "PointsToTarget" and found["RecordedOn"] == ["B1"]
    assert found["Records"] == [{"Preference": 10, "Exchange": "mx.new.example", "IsTarget": True}]
    assert app.get_batch("B1")["MxSwitchedDateTime"] is not None
    assert app.get_batch("B2")["MxSwitchedDateTime"] is None
    again = asyncio.run(app.check_mx("contoso.example", ["mx.new.example"], nameserver=ns))
    assert again["RecordedOn"] == []  # the first time seen is what counts
    elsewhere = asyncio.run(app.check_mx("old.example", ["mx.new.example"], nameserver=ns))
    assert elsewhere["Result"] == "PointsElsewhere" and elsewhere["RecordedOn"] == []


def test_lookup_needs_no_database(dns: LoopbackDnsServer) -> None:
    failed = asyncio.run(lookup_mx("contoso.invalid", ["x.example"], nameserver=dns.address))
    assert failed["Result"] == "Failed" and failed["Reason"] == "NoSuchDomain"
    assert "does not exist" in failed["Error"]
    with pytest.raises(InvalidSetting, match="invalid domain"):
        asyncio.run(lookup_mx("bad..domain", nameserver=dns.address))
    with pytest.raises(InvalidSetting, match=r"'dns\.google' is not an IP address"):
        asyncio.run(lookup_mx("contoso.example", nameserver="dns.google"))
    no_target = asyncio.run(lookup_mx("contoso.example", nameserver=f"{dns.address}"))
    assert no_target["Result"] == "NoTargetGiven" and no_target["PointsToTarget"] is False


def test_settings_from_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"MAILFERRY_HOME": str(home)}
    assert not has_database(env)
    assert database_url(None, env) == f"sqlite:///{home.resolve() / 'mailferry.db'}"
    assert home.is_dir() and (home.stat().st_mode & 0o777) == 0o700
    assert database_url("sqlite:///x.db", {"MAILFERRY_DB": "sqlite:///y.db"}) == "sqlite:///x.db"
    assert has_database({"MAILFERRY_DB": "sqlite:///y.db"})
    smtp = smtp_settings("mail.example", "Tls", "u", "f@x", {"MAILFERRY_SMTP_PASSWORD": "s"})
    assert smtp is not None and (smtp.port, smtp.password) == (587, "s")
    with pytest.raises(InvalidSetting, match="the port must be a number"):
        smtp_settings("mail.example:x", "None", None, "f@x", {})
    bad = {
        "MAILFERRY_CA_FILE": str(tmp_path / "missing.pem"),
        "MAILFERRY_TARGET": "nowhere",
        "MAILFERRY_KEY": "not-a-key",
    }
    for name, value in bad.items():
        with pytest.raises(MailferryError, match=name if name != "MAILFERRY_KEY" else "key"):
            Mailferry.open(f"sqlite:///{tmp_path / 'x.db'}", {**env, name: value})


def test_tokens_through_the_facade(app: Mailferry) -> None:
    secret, view = app.tokens.new("ci", read_only=True)
    assert view["Name"] == "ci" and view["ReadOnly"] is True
    assert secret not in str(app.tokens.list())
    checked = app.tokens.check(secret)
    assert checked is not None and checked["Name"] == "ci"
    app.tokens.revoke("ci")
    assert app.tokens.check(secret) is None
