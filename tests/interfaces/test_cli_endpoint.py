"""``mailferry endpoint new|get|set|remove``: formats, errors and real verification."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from mailferry.interfaces.cli import main as main_module
from mailferry.rig.dovecot import DovecotServer
from tests.interfaces.cli_service_support import (
    USERS,
    Mailferry,
    endpoint,
    make_mailferry,
    new_batch,
    write_csv,
)


@pytest.fixture
def mf(tmp_path: Path) -> Mailferry:
    return make_mailferry(tmp_path)


def test_new_prints_the_endpoint_with_exchange_defaults(mf: Mailferry) -> None:
    created = endpoint(mf)
    assert created["Identity"] == "E1"
    assert created["EndpointType"] == "IMAP"
    assert (created["Port"], created["Security"]) == (993, "Ssl")
    assert created["Authentication"] == "Basic"
    assert created["MaxConcurrentMigrations"] == 20
    assert created["MaxConcurrentIncrementalSyncs"] == 10
    assert created["AcceptUntrustedCertificates"] is False
    tls = endpoint(mf, "E2", "--security", "tls", "--max-concurrent-migrations", "5")
    assert (tls["Port"], tls["Security"]) == (143, "Tls")
    assert tls["MaxConcurrentIncrementalSyncs"] == 5  # the default follows a smaller cap


def test_format_list_with_wildcard_properties_as_in_the_article(mf: Mailferry) -> None:
    mf.ok("endpoint", "new", "--name", "IMAPEndpoint", "--remote-server", "imap.contoso.com",
          "--port", "143", "--security", "Tls", "--max-concurrent-migrations", "50",
          "--max-concurrent-incremental-syncs", "25", "--skip-verification")  # fmt: skip
    shown = mf.ok(
        "endpoint", "get", "IMAPEndpoint", "--format", "list",
        "--property", "EndpointType,RemoteServer,Port,Security,Max*",
    ).stdout  # fmt: skip
    assert shown.splitlines() == [
        "EndpointType                  : IMAP",
        "RemoteServer                  : imap.contoso.com",
        "Port                          : 143",
        "Security                      : Tls",
        "MaxConcurrentMigrations       : 50",
        "MaxConcurrentIncrementalSyncs : 25",
    ]


def test_get_all_in_table_jsonl_and_repeated_properties(mf: Mailferry) -> None:
    endpoint(mf, "Zeta")
    endpoint(mf, "alpha", "--port", "1993")
    table = mf.ok("endpoint", "get").stdout.splitlines()
    assert table[0].split() == ["Identity", "EndpointType", "RemoteServer", "Port", "Security"]
    assert [line.split()[0] for line in table[2:]] == ["alpha", "Zeta"]
    lines = mf.ok("endpoint", "get", "--format", "jsonl", "--property", "Name",
                  "--property", "p?rt").stdout.splitlines()  # fmt: skip
    assert [json.loads(line) for line in lines] == [
        {"Name": "alpha", "Port": 1993},
        {"Name": "Zeta", "Port": 993},
    ]
    assert json.loads(mf.ok("endpoint", "get", "--format", "json").stdout)[1]["Name"] == "Zeta"


def test_unknown_property_is_a_usage_error(mf: Mailferry) -> None:
    endpoint(mf)
    error = mf.fails("endpoint", "get", "E1", "--property", "Nope*", code=2)
    assert "no property matches Nope*" in error and "RemoteServer" in error


def test_errors_are_one_line_and_exit_1_or_2_for_bad_input(mf: Mailferry) -> None:
    endpoint(mf)
    duplicate = mf.fails("endpoint", "new", "--name", "e1", "--remote-server", "x",
                         "--skip-verification")  # fmt: skip
    assert duplicate == "error: the migration endpoint 'e1' already exists\n"
    assert mf.fails("endpoint", "get", "nope") == (
        "error: migration endpoint 'nope' was not found\n"
    )
    too_many = mf.fails(
        "endpoint", "new", "--name", "E2", "--remote-server", "x", "--skip-verification",
        "--max-concurrent-migrations", "10", "--max-concurrent-incremental-syncs", "11", code=2,
    )  # fmt: skip
    assert too_many == (
        "error: MaxConcurrentIncrementalSyncs (11) can't be greater than "
        "MaxConcurrentMigrations (10)\n"
    )
    out_of_range = mf.fails("endpoint", "new", "--name", "E3", "--remote-server", "x",
                            "--skip-verification", "--max-concurrent-migrations",
                            "101", code=2)  # fmt: skip
    assert "MaxConcurrentMigrations 101 is outside 1-100" in out_of_range
    assert [e["Name"] for e in mf.json("endpoint", "get")] == ["E1"]


def test_usage_errors_exit_2(mf: Mailferry) -> None:
    bad = mf.fails("endpoint", "new", "--name", "E", "--remote-server", "x", "--security",
                   "Starttls", code=2)  # fmt: skip
    assert "'Starttls' is not one of" in bad
    assert "Missing option '--remote-server'" in mf.fails("endpoint", "new", "--name", "E", code=2)


def test_set_changes_only_what_is_given(mf: Mailferry) -> None:
    endpoint(mf, "E1", "--accept-untrusted-certificates")
    changed = mf.json(
        "endpoint", "set", "E1", "--port", "10993", "--max-concurrent-migrations", "40",
        "--max-concurrent-incremental-syncs", "30", "--no-accept-untrusted-certificates",
        "--skip-verification",
    )  # fmt: skip
    assert (changed["Port"], changed["MaxConcurrentMigrations"]) == (10993, 40)
    assert changed["MaxConcurrentIncrementalSyncs"] == 30
    assert changed["AcceptUntrustedCertificates"] is False
    assert changed["RemoteServer"] == "imap.contoso.example"
    error = mf.fails("endpoint", "set", "E1", "--max-concurrent-migrations", "20", code=2)
    assert "MaxConcurrentIncrementalSyncs (30) can't be greater" in error
    assert "was not found" in mf.fails("endpoint", "set", "E9", "--port", "1")


def test_set_and_remove_are_refused_while_a_batch_uses_it(mf: Mailferry, tmp_path: Path) -> None:
    endpoint(mf)
    new_batch(mf, write_csv(tmp_path / "u.csv", USERS))
    mf.ok("batch", "start", "B1", "--no-wait")
    refused = mf.fails("endpoint", "set", "E1", "--port", "143")
    assert refused.startswith("error: migration endpoint 'E1' can't be changed while batch 'B1'")
    assert "stop the batch first" in refused
    in_use = mf.fails("endpoint", "remove", "E1")
    assert in_use == (
        "error: migration endpoint 'E1' is used by batch 'B1'; remove the batch first\n"
    )


def test_remove(mf: Mailferry) -> None:
    endpoint(mf)
    assert mf.ok("endpoint", "remove", "E1").stdout == "Removed migration endpoint E1\n"
    assert "was not found" in mf.fails("endpoint", "remove", "E1")
    assert mf.json("endpoint", "get") == []


def test_db_option_on_group_and_command(mf: Mailferry, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    mf.ok("endpoint", "--db", other, "new", "--name", "Other", "--remote-server", "x",
          "--skip-verification")  # fmt: skip
    assert [e["Name"] for e in mf.json("endpoint", "get", "--db", other)] == ["Other"]
    assert mf.json("endpoint", "get") == []  # MAILFERRY_DB still holds nothing


def test_bad_vault_key_is_a_clear_error(mf: Mailferry) -> None:
    result = mf.run("endpoint", "get", env={"MAILFERRY_KEY": "not-a-key"})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the vault key is not a valid Fernet key")


def test_key_file_is_created_when_no_key_is_given(mf: Mailferry) -> None:
    mf.ok("endpoint", "get", env={"MAILFERRY_KEY": None})
    key_file = mf.home / "secret.key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert len(key_file.read_bytes().strip()) == 44


# -- verification against a real Dovecot -------------------------------------------------


def test_new_verifies_a_plain_port(mf: Mailferry, dovecot_source: DovecotServer) -> None:
    port = str(dovecot_source.imap_port)
    created = mf.json("endpoint", "new", "--name", "Dovecot", "--remote-server", "127.0.0.1",
                      "--port", port, "--security", "None")  # fmt: skip
    assert (created["Port"], created["Security"]) == (dovecot_source.imap_port, "None")


def test_new_verifies_starttls_with_the_ca_file(
    mf: Mailferry, dovecot_source: DovecotServer
) -> None:
    args = ["endpoint", "new", "--remote-server", "127.0.0.1", "--port"]
    untrusted = mf.fails(*args, str(dovecot_source.imaps_port), "--name", "Ssl")
    assert "certificate" in untrusted.lower() and "SkipVerification" in untrusted
    created = mf.json(*args, str(dovecot_source.imap_port), "--name", "Tls", "--security", "Tls",
                      "--ca-file", str(dovecot_source.ca_pem_path))  # fmt: skip
    assert created["Security"] == "Tls"
    accepted = mf.json(*args, str(dovecot_source.imaps_port), "--name", "Ssl",
                       "--accept-untrusted-certificates")  # fmt: skip
    assert accepted["AcceptUntrustedCertificates"] is True


def test_new_fails_on_a_closed_port_and_creates_nothing(mf: Mailferry) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    error = mf.fails("endpoint", "new", "--name", "Closed", "--remote-server", "127.0.0.1",
                     "--port", str(closed), "--security", "None")  # fmt: skip
    assert error.startswith(f"error: can't reach 127.0.0.1:{closed} (tcp)")
    assert "refused" in error.lower()
    assert mf.json("endpoint", "get") == []


def test_set_verifies_a_changed_server(mf: Mailferry, dovecot_source: DovecotServer) -> None:
    mf.ok("endpoint", "new", "--name", "D", "--remote-server", "127.0.0.1", "--port",
          str(dovecot_source.imap_port), "--security", "None")  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert "can't reach" in mf.fails("endpoint", "set", "D", "--port", str(closed))
    assert mf.json("endpoint", "get", "D")["Port"] == dovecot_source.imap_port


# -- cmdlet names through main() -----------------------------------------------------------


def test_cmdlet_names_run_the_native_commands(
    mf: Mailferry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in mf.env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    def run(*argv: str) -> int:
        monkeypatch.setattr(sys, "argv", ["mailferry", *argv])
        with pytest.raises(SystemExit) as stopped:
            main_module.main()
        return int(stopped.value.code or 0)

    assert run("New-MigrationEndpoint", "-IMAP", "-Name", "IMAPEndpoint", "-RemoteServer",
               "imap.contoso.com", "-Port", "143", "-Security", "Tls",
               "-MaxConcurrentMigrations", "50", "-MaxConcurrentIncrementalSyncs", "25",
               "-SkipVerification") == 0  # fmt: skip
    capsys.readouterr()
    assert run("Get-MigrationEndpoint", "IMAPEndpoint") == 0
    piped = capsys.readouterr().out  # captured stdout is no TTY: records as JSON lines
    record = json.loads(piped)
    assert (record["Port"], record["MaxConcurrentIncrementalSyncs"]) == (143, 25)
    assert run("Get-MigrationEndpoint", "-Bogus", "x") == 2
    assert "-Bogus" in capsys.readouterr().err
