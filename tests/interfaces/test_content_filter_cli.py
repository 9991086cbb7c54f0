"""``--content-filter`` on ``mailferry migrate`` and ``mailferry verify`` as real commands:
a real Dovecot source migrated into a Maildir, only the mail received in the window;
the summary says how much the filter left out; verify with the same filter matches
(without it, the old mail is missing); a bad filter is a usage error naming the option
and the problem."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import imapclient
import pytest

from mailferry.rig import DovecotServer, RigAccount
from tests.conftest import MakeUser

MAILFERRY = [sys.executable, "-m", "mailferry"]
UTC = dt.UTC
WINDOW = "Received -ge '2020-01-01' -and Received -lt '1/1/2022'"
DATES = {  # folder -> INTERNALDATEs; 2 of 3 INBOX and 1 of 2 Sent are outside the window
    "INBOX": [dt.datetime(2019, 12, 31, 23, 59, tzinfo=UTC), dt.datetime(2020, 1, 1, tzinfo=UTC),
              dt.datetime(2022, 1, 1, tzinfo=UTC)],
    "Sent": [dt.datetime(2018, 3, 1, tzinfo=UTC), dt.datetime(2021, 6, 1, tzinfo=UTC)],
}  # fmt: skip


def run(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAILFERRY, command, *args], capture_output=True, text=True, timeout=300, check=False,
        env={**without_password(), "COLUMNS": "200"},
    )  # fmt: skip


def without_password() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MAILFERRY_TARGET_PASSWORD"}


def filled_user(server: DovecotServer, make_user: MakeUser) -> RigAccount:
    account = make_user("cfilter", servers=(server,))
    with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
        client.login(account.name, account.password)
        if not client.folder_exists("Sent"):
            client.create_folder("Sent")
        for folder, dates in DATES.items():
            for n, when in enumerate(dates):
                body = f"From: a@x.test\r\nSubject: {folder} {n}\r\n\r\n{when}\r\n".encode()
                client.append(folder, body, (b"\\Seen",), when)
    return account


def common_args(server: DovecotServer, account: RigAccount, tmp_path: Path) -> list[str]:
    csv = tmp_path / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\n{account.name}@x.test,{account.name},"
                   f"{account.password}\n")  # fmt: skip
    return [
        "--source-server", "127.0.0.1", "--port", str(server.imap_port), "--security", "Tls",
        "--ca-file", str(server.ca_pem_path), "--csv", str(csv),
        "--target", f"maildir:{tmp_path / 'mail'}",
    ]  # fmt: skip


def maildir_files(root: Path) -> int:
    return sum(1 for path in root.rglob("*") if path.parent.name in ("cur", "new"))


def test_migrate_and_verify_with_a_content_filter(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    account = filled_user(dovecot_source, make_user)
    args = common_args(dovecot_source, account, tmp_path)
    state = ["--state", str(tmp_path / "state.db")]
    done = run("migrate", *args, *state, "--content-filter", WINDOW, "--processes", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if "filtered" in line and "user" in line)
    row = next(line for line in lines if f"{account.name}@x.test" in line and "Synced" in line)
    names = [cell.strip() for cell in header.split("\u2503")]
    cells = dict(zip(names, (cell.strip() for cell in row.split("\u2502")), strict=True))
    assert (cells["copied"], cells["skipped"], cells["filtered"]) == ("2", "0", "3"), done.stdout
    assert (
        "Content filter Received -ge '2020-01-01' -and Received -lt '2022-01-01': 3 message(s) "
        "received outside it were not migrated" in " ".join(done.stdout.split())
    ), done.stdout
    assert maildir_files(tmp_path / "mail") == 2

    matching = run("verify", *args, "--content-filter", WINDOW, "--format", "json")
    assert matching.returncode == 0, matching.stdout + matching.stderr
    (user,) = json.loads(matching.stdout)["Users"]
    totals: dict[str, Any] = user["Totals"]
    assert (totals["SourceItems"], totals["Expected"], totals["Filtered"]) == (5, 2, 3)
    assert (totals["Missing"], totals["Unexpected"]) == (0, 0)
    table = run("verify", *args, "--content-filter", WINDOW)
    assert table.returncode == 0, table.stdout + table.stderr
    assert "3 message(s) received outside the content filter: not expected" in table.stdout
    everything = run("verify", *args, "--format", "json")
    assert everything.returncode == 1
    assert json.loads(everything.stdout)["Users"][0]["Totals"]["Missing"] == 3


@pytest.mark.parametrize("command", ["migrate", "verify"])
def test_a_bad_filter_is_a_usage_error_naming_the_option_and_the_problem(
    command: str, tmp_path: Path
) -> None:
    csv = tmp_path / "users.csv"
    csv.write_text("EmailAddress,UserName,Password\na@x.test,a,secret-a\n")
    args = ["--source-server", "127.0.0.1", "--csv", str(csv), "--target", f"maildir:{tmp_path}"]
    done = run(command, *args, "--content-filter", "Received -gt '3/4/2020'")
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert (
        "Error: Invalid value for '--content-filter': '3/4/2020' at character 14 is ambiguous: "
        "write '2020-03-04' for 4 March 2020 (M/d/yyyy, as Exchange reads it) or '2020-04-03' "
        "for 3 April 2020 (d/M/yyyy)" in message
    ), done.stderr
    done = run(command, *args, "--content-filter", "Received -gt '2020-01-01' -or Received -lt x")
    assert done.returncode == 2
    assert "Invalid value for '--content-filter': -or is not supported (at character 27)" in (
        " ".join(done.stderr.split())
    )
    assert "secret-a" not in done.stdout + done.stderr
