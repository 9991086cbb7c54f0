"""Every command line of Microsoft's IMAP-migration article (SPEC §3), typed after
``mailferry`` in bash, against the rig's real Dovecot servers: imap.contoso.com is
127.0.0.1, the ports are the rig's, the CSV is a path, and ``| Format-List`` is a real
pipe. No ``mailferry serve`` runs, so the batch commands do the work in-process.

The article's server has a publicly trusted certificate; here the rig's CA plays that
part through ``SSL_CERT_FILE`` (the trust store OpenSSL reads), so the command lines
stay exactly as written: no ``-AcceptUntrustedCertificates``, and without that trust
the same line fails on the certificate.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from mailferry.rig import DovecotServer
from tests.conftest import MASTER_USER
from tests.integration.cli_shell import (
    Shell,
    admin_login,
    append,
    bodies,
    leaks,
    new_shell,
    rig_mailbox,
)
from tests.integration.mailview import Login

MESSAGES = 20
_domains = itertools.count(1)


def records(text: str) -> list[dict[str, Any]]:
    """The JSON lines a cmdlet-named command writes into a pipe."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def listed(text: str) -> dict[str, str]:
    """``Name : value`` lines of Format-List, as a dict (names are padded to align)."""
    pairs = (line.split(" : ", 1) for line in text.splitlines() if " : " in line)
    return {name.strip(): value for name, value in pairs}


def article(sh: Shell, line: str, *, code: int = 0) -> str:
    """Run ``mailferry <line>`` exactly as the article writes it; its stdout."""
    return sh.run(f"mailferry {line}", code=code).stdout


def test_the_articles_command_lines_run_as_written(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, tmp_path: Path
) -> None:
    domain = f"article{os.getpid()}x{next(_domains)}.example"
    terry, ann = (
        rig_mailbox(dovecot_source, dovecot_target, f"{name}@{domain}", messages=MESSAGES, seed=s)
        for name, s in (("terry.adams", 951), ("ann.beebe", 952))
    )
    (tmp_path / "IMAPmigration_1.csv").write_text(
        "EmailAddress,UserName,Password\n"
        f"{terry.name},{terry.name},{terry.password}\n"
        f"{ann.name},{ann.name}*{MASTER_USER.name},{MASTER_USER.password}\n"
    )
    sh = new_shell(
        tmp_path,
        SSL_CERT_FILE=str(dovecot_source.ca_pem_path),
        MAILFERRY_TARGET=f"imaps://127.0.0.1:{dovecot_target.imaps_port}",
        MAILFERRY_TARGET_USER=MASTER_USER.name,
        MAILFERRY_TARGET_PASSWORD=MASTER_USER.password,
    )
    ssl, tls = dovecot_source.imaps_port, dovecot_source.imap_port
    test = (
        f"Test-MigrationServerAvailability -IMAP -RemoteServer 127.0.0.1 -Port {ssl} -Security Ssl"
    )

    untrusted = sh.run(f"mailferry {test}", code=1, env={"SSL_CERT_FILE": os.devnull})
    assert "certificate" in untrusted.stdout.lower(), untrusted.stdout
    available = json.loads(article(sh, test))
    assert [available[k] for k in ("Result", "Port", "Security")] == ["Success", ssl, "Ssl"]

    first = article(sh, f"New-MigrationEndpoint -IMAP -Name IMAPEndpoint -RemoteServer 127.0.0.1 "
                        f"-Port {ssl} -Security Ssl")  # fmt: skip
    assert [(r["Name"], r["Port"]) for r in records(first)] == [("IMAPEndpoint", ssl)]
    second = article(sh, f"New-MigrationEndpoint -IMAP -Name IMAPEndpoint2 -RemoteServer 127.0.0.1 "
                         f"-Port {tls} -Security Tls -MaxConcurrentMigrations 50 "
                         "-MaxConcurrentIncrementalSyncs 25")  # fmt: skip
    assert [(r["Name"], r["Security"]) for r in records(second)] == [("IMAPEndpoint2", "Tls")]
    shown = "EndpointType,RemoteServer,Port,Security,Max*"
    for name, port, security, caps in (
        ("IMAPEndpoint", ssl, "Ssl", ("20", "10")), ("IMAPEndpoint2", tls, "Tls", ("50", "25"))
    ):  # fmt: skip
        text = article(sh, f"Get-MigrationEndpoint {name} | Format-List {shown}")
        assert listed(text) == {
            "EndpointType": "IMAP", "RemoteServer": "127.0.0.1", "Port": str(port),
            "Security": security, "MaxConcurrentMigrations": caps[0],
            "MaxConcurrentIncrementalSyncs": caps[1],
        }, text  # fmt: skip
        assert text.splitlines()[-1].startswith("MaxConcurrentIncrementalSyncs : ")

    created = sh.run(
        "mailferry New-MigrationBatch -Name IMAPBatch1 -SourceEndpoint IMAPEndpoint "
        "-CSVData IMAPmigration_1.csv -AutoStart"
    )
    assert [r["Status"] for r in records(created.stdout)] == ["Synced"], created.stderr
    assert "batch IMAPBatch1: Synced" in created.stderr
    check_copied(dovecot_source, dovecot_target, [terry.name, ann.name])

    # The article's next line, as written: Start on a Synced batch retries failed users
    # (none here) and the batch settles back to Synced.
    article(sh, "Start-MigrationBatch -Identity IMAPBatch1")
    assert listed(article(sh, "Get-MigrationBatch IMAPBatch1 | Format-List Status")) == {
        "Status": "Synced"
    }
    # Start also resumes a stopped batch: pause it, let new mail arrive, start it again.
    article(sh, "Stop-MigrationBatch -Identity IMAPBatch1")
    assert listed(article(sh, "Get-MigrationBatch IMAPBatch1 | Format-List Status")) == {
        "Status": "Stopped"
    }
    append(dovecot_source, Login(terry.name, terry.password), [b"Subject: later\r\n\r\nhi\r\n"])
    article(sh, "Start-MigrationBatch -Identity IMAPBatch1")

    everything = article(sh, "Get-MigrationBatch -Identity IMAPBatch1 | Format-List")
    fields = listed(everything)
    assert (fields["Identity"], fields["Status"], fields["SourceEndpoint"]) == (
        "IMAPBatch1", "Synced", "IMAPEndpoint"
    )  # fmt: skip
    assert (fields["TotalCount"], fields["SyncedCount"], fields["PercentageComplete"]) == (
        "2", "2", "100"
    )  # fmt: skip
    assert len(fields) >= 20, everything
    assert article(sh, "Get-MigrationBatch -Identity IMAPBatch1 | Format-List Status") == (
        "Status : Synced\n"
    )
    statistics = article(
        sh, f"Get-MigrationUserStatistics -Identity {terry.name} | Format-List Status,*ItemCount"
    )
    assert listed(statistics) == {
        "Status": "Synced", "SyncedItemCount": str(MESSAGES + 1), "SkippedItemCount": "0"
    }, statistics  # fmt: skip
    check_copied(dovecot_source, dovecot_target, [terry.name, ann.name])

    removed = article(sh, "Remove-MigrationBatch -Identity IMAPBatch1")
    assert "Removed batch IMAPBatch1" in removed  # no service runs: removed in-process
    gone = sh.run("mailferry Get-MigrationBatch IMAPBatch1", code=1)
    assert gone.stderr == "error: migration batch 'IMAPBatch1' was not found\n"
    db = tmp_path / "home" / "mailferry.db"
    assert db.exists()
    passwords = [terry.password, MASTER_USER.password]
    assert leaks(passwords, [tmp_path / "IMAPmigration_1.csv"], []) != []  # the scan sees them
    assert leaks(passwords, list(db.parent.glob("mailferry.db*")), sh.transcript) == []


def check_copied(source: DovecotServer, target: DovecotServer, addresses: list[str]) -> None:
    """Each target mailbox holds exactly its source's messages, once each."""
    for address in addresses:
        copied = bodies(target, admin_login(address, MASTER_USER))
        assert copied == bodies(source, admin_login(address, MASTER_USER)), address
        assert len(copied) >= MESSAGES
