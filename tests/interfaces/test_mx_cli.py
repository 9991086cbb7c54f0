"""``mailferry mx check`` against a real DNS server on 127.0.0.1 (tests/dns_server.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from mailferry.interfaces.cli.mx import TARGET_ENV, mx, parse_nameserver
from tests.dns_server import LoopbackDnsServer, SilentDnsServer

REPO = Path(__file__).resolve().parents[2]
ZONE = """
$TTL 300
@                     SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@                     NS  ns.test.
switched.example.     MX  10 mx.new.example.
old.example.          MX  10 mail.old.example.
mixed.example.        MX  10 mx.new.example.
mixed.example.        MX  20 backup.old.example.
contoso.example.      MX  0  contoso-example.mail.protection.outlook.com.
implicit.example.     A   192.0.2.10
xn--bcher-kva.example. MX 10 mx.new.example.
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDnsServer]:
    with LoopbackDnsServer(ZONE) as running:
        yield running


def run(server: LoopbackDnsServer, *args: str, env: dict[str, str] | None = None) -> Result:
    environment = {TARGET_ENV: None, **(env or {})}
    return CliRunner().invoke(
        mx, ["check", *args, "--nameserver", server.address, "--timeout", "3"], env=environment
    )


def test_pointing_at_the_target_exits_0(server: LoopbackDnsServer) -> None:
    result = run(server, "switched.example", "--expect", "mx.new.example")
    assert result.exit_code == 0, result.output
    assert "10  mx.new.example  <- target" in result.stdout
    assert "Result: points at the target" in result.stdout
    assert result.stderr == ""


def test_pointing_elsewhere_exits_1_and_says_why_on_stderr(server: LoopbackDnsServer) -> None:
    result = run(server, "old.example", "--expect", "mx.new.example")
    assert result.exit_code == 1
    assert "10  mail.old.example" in result.stdout
    assert "does NOT point at the target" in result.stdout
    assert result.stderr.strip() == (
        "old.example does not point at the target: MX of old.example: 10 mail.old.example;"
        " the target (mx.new.example) is not among them"
    )


def test_mixed_preferences_name_the_backup_still_elsewhere(server: LoopbackDnsServer) -> None:
    result = run(server, "mixed.example", "--expect", "mx.new.example")
    assert result.exit_code == 0
    assert "but 20 backup.old.example still points elsewhere" in result.stdout


def test_wildcard_expect_and_several_expect_values(server: LoopbackDnsServer) -> None:
    ok = run(server, "contoso.example", "--expect", "a.example,*.mail.protection.outlook.com")
    assert ok.exit_code == 0, ok.output
    not_ok = run(server, "contoso.example", "--expect", "a.example", "--expect", "*.outlook.net")
    assert not_ok.exit_code == 1
    assert "the target (a.example or *.outlook.net) is not among them" in not_ok.stderr


def test_expected_hosts_default_to_the_environment(server: LoopbackDnsServer) -> None:
    env = {TARGET_ENV: " other.example , mx.new.example "}
    result = run(server, "switched.example", "--format", "json", env=env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["Expected"] == ["other.example", "mx.new.example"]
    failing = run(server, "old.example", env=env)
    assert failing.exit_code == 1


def test_without_any_target_a_working_lookup_exits_0(server: LoopbackDnsServer) -> None:
    result = run(server, "old.example")
    assert result.exit_code == 0
    assert "Result: resolved (no target given)" in result.stdout


def test_nxdomain_exits_1_with_the_reason(server: LoopbackDnsServer) -> None:
    result = run(server, "contoso.invalid", "--expect", "mx.new.example")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: MX check of contoso.invalid failed: domain contoso.invalid does not exist"
        " (NXDOMAIN)"
    )


def test_implicit_mx_is_shown(server: LoopbackDnsServer) -> None:
    result = run(server, "implicit.example", "--expect", "implicit.example")
    assert result.exit_code == 0
    assert "MX of implicit.example (implicit: the domain has no MX records)" in result.stdout


def test_silent_nameserver_times_out_within_the_given_seconds() -> None:
    with SilentDnsServer() as silent:
        started = time.monotonic()
        result = CliRunner().invoke(
            mx, ["check", "contoso.com", "--nameserver", silent.address, "--timeout", "0.5"]
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: MX check of contoso.com failed: no answer from nameserver {silent.address}"
        " within 0.5 s (MX query for contoso.com)"
    )
    assert elapsed < 2.5


def test_idna_domain(server: LoopbackDnsServer) -> None:
    result = run(server, "Bücher.example", "--expect", "MX.NEW.EXAMPLE.", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["Domain"] == "bücher.example"
    assert document["Expected"] == ["mx.new.example"]


@pytest.mark.parametrize("domain", ["a..b", "", "user@contoso.com", "under_score.example"])
def test_invalid_domain_is_a_usage_error_naming_it(server: LoopbackDnsServer, domain: str) -> None:
    result = run(server, domain, "--expect", "mx.new.example")
    assert result.exit_code == 2
    assert f"invalid domain {domain!r}" in result.stderr


def test_invalid_options_are_usage_errors(server: LoopbackDnsServer) -> None:
    bad_expect = run(server, "old.example", "--expect", "mx*.example")
    assert bad_expect.exit_code == 2
    assert "invalid expected host 'mx*.example'" in bad_expect.stderr
    bad_server = CliRunner().invoke(mx, ["check", "old.example", "--nameserver", "dns.google"])
    assert bad_server.exit_code == 2
    assert "'dns.google' is not an IP address" in bad_server.stderr
    bad_timeout = CliRunner().invoke(mx, ["check", "old.example", "--timeout", "0"])
    assert bad_timeout.exit_code == 2


def test_parse_nameserver_forms() -> None:
    assert parse_nameserver("127.0.0.1") == (["127.0.0.1"], 53)
    assert parse_nameserver("127.0.0.1:5353") == (["127.0.0.1"], 5353)
    assert parse_nameserver("::1") == (["::1"], 53)
    assert parse_nameserver("[::1]:5353") == (["::1"], 5353)
    for bad in ("127.0.0.1:0", "127.0.0.1:x", "[::1]x", "host.example:53"):
        with pytest.raises(click.BadParameter):
            parse_nameserver(bad)


def test_json_fields(server: LoopbackDnsServer) -> None:
    result = run(server, "mixed.example", "--expect", "mx.new.example", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["Domain"] == "mixed.example"
    assert document["Result"] == "PointsToTarget"
    assert document["PointsToTarget"] is True
    assert document["Records"] == [
        {"Preference": 10, "Exchange": "mx.new.example", "IsTarget": True},
        {"Preference": 20, "Exchange": "backup.old.example", "IsTarget": False},
    ]
    assert document["ImplicitMx"] is False
    assert document["CheckedAt"].endswith("+00:00")
    assert document["Error"] is None
    assert "lowest-preference MX points at the target" in document["Detail"]


def test_json_on_failure_carries_the_reason(server: LoopbackDnsServer) -> None:
    result = run(server, "contoso.invalid", "--expect", "x.example", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["Result"] == "Failed"
    assert document["Reason"] == "NoSuchDomain"
    assert document["Error"] == "domain contoso.invalid does not exist (NXDOMAIN)"
    assert document["Nameservers"] == [server.address]


def test_runs_as_a_module_in_a_subprocess(server: LoopbackDnsServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailferry.interfaces.cli.mx", "check", "old.example",
         "--expect", "mx.new.example", "--nameserver", server.address, "--format", "json"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert json.loads(done.stdout)["Result"] == "PointsElsewhere"
    assert "old.example does not point at the target" in done.stderr


DRIVER = textwrap.dedent(
    """
    import subprocess, sys
    from tests.dns_server import LoopbackDnsServer
    with LoopbackDnsServer(open(sys.argv[1]).read(), port=53):
        done = subprocess.run(
            [sys.executable, "-m", "mailferry.interfaces.cli.mx", "check", "switched.example",
             "--expect", "mx.new.example", "--timeout", "5", "--format", "json"],
            timeout=30,
        )
    sys.exit(done.returncode)
    """
)


def run_in_namespace(tmp_path: Path, resolv_conf: str) -> subprocess.CompletedProcess[str]:
    """DRIVER in a private network namespace whose /etc/resolv.conf is ``resolv_conf``."""
    (tmp_path / "resolv.conf").write_text(resolv_conf)
    (tmp_path / "zone.txt").write_text(ZONE)
    (tmp_path / "driver.py").write_text(DRIVER)
    script = "ip link set lo up && mount --bind {conf} /etc/resolv.conf && {py} {driver} {zone}"
    script = script.format(
        conf=tmp_path / "resolv.conf",
        py=sys.executable,
        driver=tmp_path / "driver.py",
        zone=tmp_path / "zone.txt",
    )
    return subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-c", script],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_without_nameserver_the_system_resolver_is_used(tmp_path: Path) -> None:
    done = run_in_namespace(tmp_path, "nameserver 127.0.0.1\noptions attempts:1\n")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["PointsToTarget"] is True
    assert document["Records"][0]["Exchange"] == "mx.new.example"


def test_a_system_without_nameservers_is_reported(tmp_path: Path) -> None:
    done = run_in_namespace(tmp_path, "options attempts:1\n")
    assert done.returncode == 1
    assert json.loads(done.stdout)["Reason"] == "NoNameservers"
    assert "no nameserver is configured in /etc/resolv.conf" in done.stderr
