"""Courier IMAP as the target: ``mailferry migrate`` from Dovecot with a plain per-user
target login (``--target-login per-user``, STARTTLS) puts every folder under Courier's
``INBOX.`` prefix, byte for byte with flags and dates; ``verify`` agrees and a second
run copies nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from mailferry.rig import CorpusSpec, CourierServer, DovecotServer, generate
from tests.conftest import MakeUser
from tests.integration.mailview import Login, count, differences, migrated, non_empty, read_view
from tests.integration.support import MAILFERRY, new_address, run_migrate, write_csv

SPEC = CorpusSpec(seed=1301, messages=40)


def run_args(source: DovecotServer, csv: Path, courier: CourierServer, logins: Path) -> list[str]:
    """Source (STARTTLS) and target (Courier, STARTTLS, per-user logins) options."""
    return [
        "--source-server", source.host, "--port", str(source.imap_port), "--security", "Tls",
        "--ca-file", str(source.ca_pem_path), "--csv", str(csv),
        "--target", f"imap://{courier.host}:{courier.imap_port}", "--target-security", "Tls",
        "--target-ca-file", str(courier.ca_pem_path), "--target-login", "per-user",
        "--target-csv", str(logins),
    ]  # fmt: skip


def migrate(options: list[str], tmp: Path, run: str) -> dict[str, Any]:
    report = tmp / f"{run}.json"
    state = ["--state", str(tmp / "state.db"), "--report", str(report)]
    done = run_migrate([*MAILFERRY, "migrate", *options, *state])
    assert done.returncode == 0, done.stdout + done.stderr
    [user] = json.loads(report.read_text(encoding="utf-8"))["Users"]
    assert isinstance(user, dict)
    return user


def prefixed(folder: str) -> str:
    """Where a Dovecot folder (``.`` delimiter, no prefix) lands on Courier: under
    ``INBOX.``, where INBOX's own subfolders already are."""
    return folder if folder == "INBOX" or folder.startswith("INBOX.") else f"INBOX.{folder}"


def test_dovecot_into_courier_with_per_user_logins(
    dovecot_source: DovecotServer,
    courier_server: CourierServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = make_user("tocourier", servers=(dovecot_source,))
    dovecot_source.write_maildir(account.name, generate(SPEC))
    address, courier_user = new_address("courier"), f"target.{account.name}"
    courier_server.add_user(courier_user, "courier-target-pw")
    csv = write_csv(tmp_path / "users.csv", [(address, account.name, account.password)])
    logins = write_csv(tmp_path / "logins.csv", [(address, courier_user, "courier-target-pw")])
    options = run_args(dovecot_source, csv, courier_server, logins)

    user = migrate(options, tmp_path, "first")
    assert user["Status"] == "Synced" and user["FolderErrors"] == {}, user
    source = read_view(dovecot_source, Login(account.name, account.password))
    served = non_empty(read_view(courier_server, Login(courier_user, "courier-target-pw")))
    assert "INBOX.Økonomi & Løn" in served and "INBOX.Archive.2019" in served
    assert differences(migrated(source, prefixed), served) == []
    assert user["CopiedThisRunCount"] == count(migrated(source)) > 0

    checked = subprocess.run(
        [*MAILFERRY, "verify", *options],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 match, 0 with differences" in checked.stdout

    again = migrate(options, tmp_path, "again")
    assert again["CopiedThisRunCount"] == 0
    assert again["SyncedItemCount"] == user["SyncedItemCount"]
