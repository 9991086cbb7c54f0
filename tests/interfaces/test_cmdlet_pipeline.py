"""PowerShell's pipeline in a real shell: records a cmdlet writes when piped supply the
next cmdlet's ``-Identity`` (``interfaces/cli/cmdlet_pipeline.py``). bash runs the
installed ``mailferry`` console script on both sides of each ``|``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mailferry.interfaces.cli.cmdlet_parse import CmdletUsageError
from mailferry.interfaces.cli.cmdlet_pipeline import identities_of, per_identity
from mailferry.rig import DovecotServer
from tests.interfaces.cli_service_support import (
    USERS,
    Mailferry,
    make_mailferry,
    with_batch,
    write_csv,
)


@pytest.fixture
def mf(tmp_path: Path) -> Mailferry:
    made = with_batch(tmp_path)
    made.ok("batch", "start", "B1", "--no-wait")
    return made


def bash(mf: Mailferry, line: str, *, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in {**os.environ, **mf.env}.items() if v is not None}
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == code, done.stdout + done.stderr
    return done


def test_users_piped_into_their_statistics_and_a_table(mf: Mailferry) -> None:
    table = "Format-Table Identity,Status"
    done = bash(mf, f"mailferry Get-MigrationUser -BatchId B1 | "
                    f"mailferry Get-MigrationUserStatistics | {table}")  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert lines[0].split() == ["Identity", "Status"]
    assert [line.split()[:2] for line in lines[2:]] == [[a, "Queued"] for a, _, _ in USERS]
    records = bash(mf, "mailferry Get-MigrationUser -BatchId B1 | "
                       "mailferry Get-MigrationUserStatistics | cat").stdout  # fmt: skip
    stats = [json.loads(line) for line in records.splitlines()]
    assert [s["EmailAddress"] for s in stats] == [a for a, _, _ in USERS]
    assert all("TotalItemsInSourceMailboxCount" in s for s in stats)


def test_users_piped_into_an_action_and_the_worst_exit_code(mf: Mailferry) -> None:
    stopped = bash(mf, "mailferry Get-MigrationUser -BatchId B1 | mailferry Stop-MigrationUser "
                       "-Confirm:$false | Format-Table Identity,Status")  # fmt: skip
    assert [line.split()[1] for line in stopped.stdout.strip().splitlines()[2:]] == [
        "Stopped", "Stopped"
    ]  # fmt: skip
    again = bash(mf, "mailferry Get-MigrationUser -BatchId B1 | mailferry Stop-MigrationUser",
                 code=1)  # fmt: skip
    assert again.stderr.count("it is already Stopped") == 2


def test_nothing_piped_is_the_usual_missing_parameter(mf: Mailferry) -> None:
    done = bash(mf, "true | mailferry Get-MigrationUserStatistics", code=2)
    assert "missing required parameter -Identity" in done.stderr


def test_records_and_lines() -> None:
    assert identities_of(['{"Identity": "a@x"}\n', "\n", '{"Identity": "b@x"}'], "C") == [
        "a@x", "b@x",
    ]  # fmt: skip
    with pytest.raises(CmdletUsageError, match="line 1 piped in is not a record"):
        identities_of(["Identity Status\n"], "C")
    with pytest.raises(CmdletUsageError, match="record 1 piped in has no Identity"):
        identities_of(['{"Name": "B1"}'], "C")
    assert per_identity(["Stop-MigrationUser", "-Confirm:$false"], ["a@x"]) == [
        ["Stop-MigrationUser", "-Identity", "a@x", "-Confirm:$false"]
    ]


def test_errors_name_the_parameters_typed(mf: Mailferry, tmp_path: Path) -> None:
    missing = bash(mf, "mailferry New-MigrationBatch -Name B2 -SourceEndpoint E1 "
                       "-CSVData missing.csv", code=2)  # fmt: skip
    assert missing.stderr == (
        "New-MigrationBatch: Invalid value for '-CSVData': File 'missing.csv' does not exist.\n"
    )
    csv = write_csv(tmp_path / "more.csv", [("carol@contoso.example", "carol", "pw-c")])
    bad_time = bash(mf, f"mailferry New-MigrationBatch -Name B2 -SourceEndpoint E1 -CSVData {csv} "
                        "-CompleteAfter bogus", code=2)  # fmt: skip
    assert "'-CompleteAfter'" in bad_time.stderr and "--" not in bad_time.stderr
    native = bash(mf, "mailferry batch new --name B2 --source-endpoint E1 --csv missing.csv",
                  code=2)  # fmt: skip
    assert "'--csv'" in native.stderr  # the native command keeps its own words


def test_new_batch_auto_start_exits_1_when_the_batch_fails(
    tmp_path: Path, dovecot_source: DovecotServer
) -> None:
    """``New-MigrationBatch … -AutoStart`` runs the batch here (no service) and, like
    the native command, exits 1 when it ends Failed (every user's password is wrong)."""
    mf = make_mailferry(tmp_path)
    mf.ok("endpoint", "new", "--name", "Dovecot", "--remote-server", "127.0.0.1", "--port",
          str(dovecot_source.imap_port), "--security", "Tls", "--ca-file",
          str(dovecot_source.ca_pem_path))  # fmt: skip
    csv = write_csv(tmp_path / "wrong.csv", [("nobody@contoso.example", "nobody", "wrong-pw-1")])
    done = bash(mf, f"mailferry New-MigrationBatch -Name Bad -SourceEndpoint Dovecot "
                    f"-CSVData {csv} -AutoStart "
                    f"| cat", code=1)  # fmt: skip
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["Status"] == "Failed" and record["FailedCount"] == 1
