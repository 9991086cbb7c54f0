"""``mailferry test-server`` run as a real command against real servers and real failures."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailferry.rig.dovecot import DovecotServer

MAILFERRY = [sys.executable, "-m", "mailferry"]


def run_test_server(
    *args: str, password: str | None = None, timeout: float = 60
) -> tuple[int, Any]:
    """Run ``mailferry test-server ... --format json``; return (exit code, parsed JSON)."""
    command = [*MAILFERRY, "test-server", *args, "--format", "json"]
    done = subprocess.run(
        command, input=password, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def steps(report: dict[str, Any]) -> list[str]:
    return [step["Step"] for step in report["Steps"]]


@pytest.fixture(scope="module")
def user(dovecot_source: DovecotServer) -> tuple[str, str]:
    dovecot_source.add_user("cli.tester", "right-password")
    return "cli.tester", "right-password"


def test_starttls_and_login_succeed_with_every_step_timed(
    dovecot_source: DovecotServer, user: tuple[str, str]
) -> None:
    code, report = run_test_server(
        "--remote-server", "127.0.0.1", "--port", str(dovecot_source.imap_port),
        "--security", "Tls", "--ca-file", str(dovecot_source.ca_pem_path),
        "--user", user[0], "--password-stdin",
        password=user[1] + "\n",
    )  # fmt: skip
    assert code == 0, report
    assert report["Result"] == "Success"
    assert steps(report) == ["dns", "tcp", "greeting", "capabilities", "starttls", "login"]
    assert all(step["Ok"] and step["Seconds"] >= 0 for step in report["Steps"])
    tls = next(s for s in report["Steps"] if s["Step"] == "starttls")["Detail"]
    assert "TLSv1." in tls and "issuer" in tls and "expires" in tls
    assert user[1] not in json.dumps(report)


def test_implicit_tls_reports_certificate_facts(dovecot_source: DovecotServer) -> None:
    code, report = run_test_server(
        "--remote-server", "127.0.0.1", "--port", str(dovecot_source.imaps_port),
        "--security", "Ssl", "--ca-file", str(dovecot_source.ca_pem_path),
    )  # fmt: skip
    assert code == 0, report
    assert steps(report) == ["dns", "tcp", "tls", "greeting", "capabilities"]
    assert "verified" in report["Steps"][2]["Detail"]


def test_untrusted_ca_fails_with_the_verification_reason(dovecot_source: DovecotServer) -> None:
    code, report = run_test_server(
        "--remote-server", "127.0.0.1", "--port", str(dovecot_source.imaps_port),
        "--security", "Ssl",
    )  # fmt: skip
    assert code == 1
    assert report["FailedStep"] == "tls"
    assert "certificate verify failed" in report["Error"]
    assert "issuer" in report["Error"] or "self" in report["Error"] or "local" in report["Error"]


def test_untrusted_ca_accepted_when_asked(dovecot_source: DovecotServer) -> None:
    code, report = run_test_server(
        "--remote-server", "127.0.0.1", "--port", str(dovecot_source.imaps_port),
        "--security", "Ssl", "--accept-untrusted-certificates",
    )  # fmt: skip
    assert code == 0, report
    assert "NOT verified" in report["Steps"][2]["Detail"]


def test_wrong_password_is_authentication_failed(
    dovecot_source: DovecotServer, user: tuple[str, str]
) -> None:
    code, report = run_test_server(
        "--remote-server", "127.0.0.1", "--port", str(dovecot_source.imap_port),
        "--security", "None", "--user", user[0], "--password-stdin",
        password="wrong-password\n",
    )  # fmt: skip
    assert code == 1
    assert report["FailedStep"] == "login"
    assert report["Error"].startswith("authentication failed")
    assert "wrong-password" not in json.dumps(report)


def test_closed_port_is_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, report = run_test_server("--remote-server", "127.0.0.1", "--port", str(port),
                               "--security", "None")  # fmt: skip
    assert code == 1
    assert report["FailedStep"] == "tcp"
    assert "connection refused" in report["Error"]


@pytest.fixture
def blackholed() -> Iterator[tuple[str, int]]:
    """An address in 127.0.0.0/8 whose SYNs go unanswered: a listener with a full backlog."""
    listener = socket.socket()
    listener.bind(("127.0.0.77", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(4):  # fill the accept queue; later SYNs are dropped by the kernel
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    yield address
    for sock in [*fillers, listener]:
        sock.close()


def test_unanswered_address_times_out(blackholed: tuple[str, int]) -> None:
    host, port = blackholed
    code, report = run_test_server("--remote-server", host, "--port", str(port), "--security",
                               "None", "--timeout", "2")  # fmt: skip
    assert code == 1
    assert report["FailedStep"] == "tcp"
    assert report["Error"] == "TCP connect timed out after 2 s"


def test_default_connect_timeout_is_15_seconds() -> None:
    from mailferry.connection.options import ConnectOptions

    assert ConnectOptions("h", 1).connect_timeout == 15.0
    done = subprocess.run([*MAILFERRY, "test-server", "--help"], capture_output=True, text=True)
    assert "default: 15.0" in done.stdout


def test_starttls_not_offered(plain_dovecot: DovecotServer) -> None:
    code, report = run_test_server("--remote-server", "127.0.0.1", "--port",
                               str(plain_dovecot.imap_port), "--security", "Tls")  # fmt: skip
    assert code == 1
    assert report["FailedStep"] == "starttls"
    assert "STARTTLS not offered" in report["Error"]


def test_login_disabled_is_reported(login_disabled_dovecot: DovecotServer) -> None:
    login_disabled_dovecot.add_user("locked", "pw")
    code, report = run_test_server(
        "--remote-server", "127.0.0.1", "--port", str(login_disabled_dovecot.imap_port),
        "--security", "None", "--user", "locked", "--password-stdin", password="pw\n",
    )  # fmt: skip
    assert code == 1
    assert report["FailedStep"] == "login"
    assert "LOGINDISABLED" in report["Error"]


RESOLVER = textwrap.dedent(
    """
    import socket
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    sock.settimeout(20)
    for _ in range(8):  # bounded: answer NXDOMAIN to a few queries, then stop
        try:
            data, peer = sock.recvfrom(512)
        except TimeoutError:
            break
        flags = bytes([0x81, 0x83])  # response, recursion available, rcode 3 = NXDOMAIN
        sock.sendto(data[:2] + flags + data[4:6] + b"\\0\\0\\0\\0\\0\\0" + data[12:], peer)
    """
)


def test_unknown_name_is_name_not_found(tmp_path: Path) -> None:
    """In a private network namespace whose resolver (on its loopback) says NXDOMAIN."""
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.1\noptions attempts:1\n")
    (tmp_path / "resolver.py").write_text(RESOLVER)
    script = (
        "ip link set lo up && mount --bind {conf} /etc/resolv.conf && "
        "({py} {resolver} >/dev/null 2>&1 &) && sleep 0.5 && "
        "{py} -m mailferry test-server --remote-server imap.nonexistent.example "
        "--security None --format json"
    ).format(conf=tmp_path / "resolv.conf", resolver=tmp_path / "resolver.py", py=sys.executable)
    done = subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-c", script],
        capture_output=True, text=True, timeout=60, check=False, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["FailedStep"] == "dns"
    assert report["Error"] == "DNS: 'imap.nonexistent.example' name not found"
