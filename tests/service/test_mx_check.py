"""check_mx against a real authoritative DNS server on 127.0.0.1 (tests/dns_server.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from mailferry.service.mx.check import (
    MxCheckError,
    MxCheckResult,
    MxFailure,
    MxRecord,
    check_mx,
    domains_of,
)
from mailferry.service.mx.names import host_matches, parse_domain, parse_expected
from tests.dns_server import LoopbackDnsServer, SilentDnsServer

TARGET = "mx.new.example"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ZONE = """
$TTL 300
@                       SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@                       NS  ns.test.
switched.example.       MX  10 MX.New.Example.
old.example.            MX  10 mail.old.example.
mixed.example.          MX  10 mx.new.example.
mixed.example.          MX  20 backup.old.example.
mixed.example.          MX  30 mx2.new.example.
backup-only.example.    MX  10 mail.old.example.
backup-only.example.    MX  20 mx.new.example.
shared.example.         MX  10 mx.new.example.
shared.example.         MX  10 mail.old.example.
contoso.example.        MX  0  contoso-example.mail.protection.outlook.com.
implicit.example.       A   192.0.2.10
implicit6.example.      AAAA 2001:db8::10
nomail.example.         TXT "v=spf1 -all"
null.example.           MX  0 .
xn--bcher-kva.example.  MX  10 mx.new.example.
sub.tree.example.       MX  10 mx.new.example.
broken.example.         MX  10 mx.new.example.
"""
BIG = "".join(
    f"big.example. MX {n} mx{n}.padding-for-a-long-host-name.example.\n" for n in range(40)
)


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDnsServer]:
    with LoopbackDnsServer(ZONE + BIG, servfail=["broken.example"]) as running:
        yield running


def check(
    server: LoopbackDnsServer, domain: str, expected: Sequence[str] = (TARGET,), timeout: float = 3
) -> MxCheckResult:
    return asyncio.run(
        check_mx(
            domain,
            expected,
            nameservers=["127.0.0.1"],
            port=server.port,
            timeout=timeout,
            now=lambda: NOW,
        )
    )


def failure(server: LoopbackDnsServer, domain: str, expected: Sequence[str] = ()) -> MxCheckError:
    with pytest.raises(MxCheckError) as raised:
        check(server, domain, expected)
    return raised.value


def test_mx_pointing_at_the_target(server: LoopbackDnsServer) -> None:
    result = check(server, "switched.example")
    assert result.records == (MxRecord(10, TARGET),)  # lowercased, no trailing dot
    assert result.points_to_target
    assert result.domain == "switched.example"
    assert result.expected == (TARGET,)
    assert result.checked_at == NOW
    assert (
        result.detail
        == "MX of switched.example: 10 mx.new.example; all MX hosts point at the target"
    )
    assert not result.implicit_mx


def test_mx_pointing_elsewhere_lists_the_mx(server: LoopbackDnsServer) -> None:
    result = check(server, "old.example")
    assert not result.points_to_target
    assert result.detail == (
        "MX of old.example: 10 mail.old.example; the target (mx.new.example) is not among them"
    )


def test_lowest_preference_decides_and_backups_are_named(server: LoopbackDnsServer) -> None:
    result = check(server, "mixed.example", [TARGET, "mx2.new.example"])
    assert [r.preference for r in result.records] == [10, 20, 30]
    assert result.points_to_target
    assert result.detail.endswith(
        "the lowest-preference MX points at the target, but 20 backup.old.example still points"
        " elsewhere"
    )
    assert [result.is_target(r) for r in result.records] == [True, False, True]


def test_target_only_as_backup_is_not_switched(server: LoopbackDnsServer) -> None:
    result = check(server, "backup-only.example")
    assert not result.points_to_target
    assert "the target is only a backup" in result.detail
    assert "10 mail.old.example still points elsewhere" in result.detail


def test_target_sharing_the_lowest_preference_is_not_switched(server: LoopbackDnsServer) -> None:
    result = check(server, "shared.example")
    assert not result.points_to_target
    assert "shares the lowest preference 10 with 10 mail.old.example" in result.detail


def test_wildcard_expected_host(server: LoopbackDnsServer) -> None:
    assert check(server, "contoso.example", ["*.mail.protection.outlook.com"]).points_to_target
    assert not check(server, "contoso.example", ["*.protection.outlook.net"]).points_to_target
    assert not check(server, "contoso.example", ["mail.protection.outlook.com"]).points_to_target


def test_expected_host_ignores_case_and_trailing_dot(server: LoopbackDnsServer) -> None:
    result = check(server, "switched.example", ["MX.NEW.Example.", "mx.new.example"])
    assert result.points_to_target
    assert result.expected == (TARGET,)


def test_without_expected_hosts_it_resolves_but_does_not_claim_a_switch(
    server: LoopbackDnsServer,
) -> None:
    result = check(server, "switched.example", [])
    assert not result.points_to_target
    assert result.detail.endswith("no target given to compare with")


def test_nxdomain(server: LoopbackDnsServer) -> None:
    error = failure(server, "contoso.invalid")
    assert error.failure is MxFailure.NO_SUCH_DOMAIN
    assert str(error) == "domain contoso.invalid does not exist (NXDOMAIN)"
    assert not error.transient


def test_no_mx_but_an_address_is_the_implicit_mx(server: LoopbackDnsServer) -> None:
    for domain in ("implicit.example", "implicit6.example"):
        result = check(server, domain, [domain])
        assert result.implicit_mx
        assert result.records == (MxRecord(0, domain),)
        assert result.points_to_target
        assert "has no MX records; by RFC 5321 its own address receives mail" in result.detail
    assert not check(server, "implicit.example").points_to_target


def test_no_mx_and_no_address_means_no_mail(server: LoopbackDnsServer) -> None:
    error = failure(server, "nomail.example")
    assert error.failure is MxFailure.NO_MAIL_HOST
    assert "has no MX records and no A/AAAA address" in str(error)
    asked = [(q.name, q.rdtype) for q in server.queries if q.name == "nomail.example"]
    assert asked[-3:] == [("nomail.example", t) for t in ("MX", "A", "AAAA")]


def test_null_mx_accepts_no_mail(server: LoopbackDnsServer) -> None:
    result = check(server, "null.example")
    assert result.records == (MxRecord(0, "."),)
    assert not result.points_to_target
    assert "null MX (RFC 7505)" in result.detail


def test_servfail(server: LoopbackDnsServer) -> None:
    error = failure(server, "broken.example")
    assert error.failure is MxFailure.SERVER_FAILURE
    assert f"nameserver {server.address} answered SERVFAIL" in str(error)
    assert error.transient


def test_refused_by_a_server_for_another_zone() -> None:
    zone = "@ 300 SOA ns.test. h.test. 1 1 1 1 1\n@ 300 NS ns.test.\n"
    with LoopbackDnsServer(zone, origin="elsewhere.test.") as other:
        error = failure(other, "switched.example")
    assert error.failure is MxFailure.REFUSED
    assert str(error).startswith(f"nameserver {other.address} refused the MX query")


def test_silent_nameserver_times_out_naming_server_and_seconds() -> None:
    with SilentDnsServer() as silent:
        started = time.monotonic()
        with pytest.raises(MxCheckError) as raised:
            asyncio.run(
                check_mx(
                    "contoso.com", [], nameservers=["127.0.0.1"], port=silent.port, timeout=0.5
                )
            )
        elapsed = time.monotonic() - started
        assert silent.queries, "the query reached the silent server"
    error = raised.value
    assert error.failure is MxFailure.TIMEOUT
    assert str(error) == (
        f"no answer from nameserver {silent.address} within 0.5 s (MX query for contoso.com)"
    )
    assert error.nameservers == (silent.address,) and error.seconds == 0.5
    assert elapsed < 2.5


def test_idna_domain_is_queried_as_a_label(server: LoopbackDnsServer) -> None:
    for written in ("bücher.example", "BÜCHER.Example.", "xn--bcher-kva.example"):
        result = check(server, written)
        assert result.domain == "bücher.example"
        assert result.points_to_target
    assert server.queries[-1].name == "xn--bcher-kva.example"


def test_answer_too_big_for_udp_is_fetched_over_tcp(server: LoopbackDnsServer) -> None:
    result = check(server, "big.example", ["*.padding-for-a-long-host-name.example"])
    assert len(result.records) == 40
    assert result.points_to_target
    big = [q.transport for q in server.queries if q.name == "big.example"]
    assert big[-2:] == ["udp", "tcp"]


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("", "it is empty"),
        ("a..b", "empty label"),
        ("-bad.example", "hyphen"),
        ("user@contoso.com", "e-mail address"),
        ("192.0.2.1", "IP address"),
        ("under_score.example", "not allowed"),
        ("a b.example", "not allowed"),
        ("x" * 64 + ".example", "too long"),
        ("contoso.123", "all digits"),
    ],
)
def test_invalid_domain_is_refused_before_any_query(
    server: LoopbackDnsServer, domain: str, reason: str
) -> None:
    before = len(server.queries)
    error = failure(server, domain)
    assert error.failure is MxFailure.INVALID_INPUT
    assert str(error).startswith(f"invalid domain {domain!r}: ")
    assert reason.lower() in str(error).lower()
    assert len(server.queries) == before


def test_invalid_expected_host_and_nameserver_are_named() -> None:
    with pytest.raises(MxCheckError, match=r"invalid expected host 'mx\*.example'"):
        parse_expected(["mx*.example"])
    with pytest.raises(MxCheckError, match=r"invalid expected host 'a\.\.b'"):
        parse_expected(["a..b"])
    with pytest.raises(MxCheckError, match=r"invalid nameserver 'dns\.google': not an IP"):
        asyncio.run(check_mx("contoso.com", [], nameservers=["dns.google"]))


def test_host_matching_rules() -> None:
    assert host_matches("A.Mail.Protection.Outlook.com.", "*.mail.protection.outlook.com")
    assert not host_matches("mail.protection.outlook.com", "*.mail.protection.outlook.com")
    assert not host_matches("evilmail.protection.outlook.com", "*.mail.protection.outlook.com")
    assert parse_expected(["Bücher.example", "*.Bücher.example"]) == (
        "xn--bcher-kva.example",
        "*.xn--bcher-kva.example",
    )
    assert parse_domain("straße.de").ascii == "xn--strae-oqa.de"  # IDNA 2008, not 2003


def test_domains_of_addresses() -> None:
    addresses = [
        "Terry.Adams@Contoso.com",
        "ann@fabrikam.example",
        "bob@contoso.COM",
        "no-domain",
        "x@xn--bcher-kva.example",
        "y@Bücher.example",
        "z@bad..domain",
    ]
    assert domains_of(addresses) == [
        "contoso.com",
        "fabrikam.example",
        "bücher.example",
        "bad..domain",
    ]
