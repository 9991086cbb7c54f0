"""``mailferry migrate`` as a real command: real Dovecot source, Maildir and IMAP targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from tests.conftest import MASTER_USER

MAILFERRY = [sys.executable, "-m", "mailferry"]


def migrate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAILFERRY, "migrate", *args], capture_output=True, text=True, timeout=300,
        check=False, env=env,
    )  # fmt: skip


def source_args(server: DovecotServer, csv: Path) -> list[str]:
    return [
        "--source-server", "127.0.0.1", "--port", str(server.imap_port),
        "--security", "Tls", "--ca-file", str(server.ca_pem_path), "--csv", str(csv),
    ]  # fmt: skip


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["EmailAddress,UserName,Password", *(",".join(row) for row in rows)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def filled_user(
    server: DovecotServer, make_user: Callable[..., RigAccount], seed: int
) -> RigAccount:
    account = make_user("migrating", servers=(server,))
    server.write_maildir(account.name, generate(CorpusSpec(seed=seed, messages=60)))
    return account


def test_migrate_to_maildir_then_rerun_is_incremental(
    dovecot_source: DovecotServer, make_user: Callable[..., RigAccount], tmp_path: Path
) -> None:
    first = filled_user(dovecot_source, make_user, seed=11)
    second = filled_user(dovecot_source, make_user, seed=12)
    csv = write_csv(tmp_path / "users.csv", [
        (f"{first.name}@example.test", f"{first.name}*{MASTER_USER.name}", MASTER_USER.password),
        (f"{second.name}@example.test", second.name, second.password),
    ])  # fmt: skip
    target = tmp_path / "maildir"
    common = [*source_args(dovecot_source, csv), "--target", f"maildir:{target}",
              "--state", str(tmp_path / "state.db")]  # fmt: skip
    done = migrate(*common, "--report", str(tmp_path / "report.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 synced, 0 incomplete, 0 failed." in done.stdout
    report: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    assert report["SyncedCount"] == 2 and report["FailedCount"] == 0
    for user in report["Users"]:
        assert user["Status"] == "Synced"
        assert user["TotalItemsInSourceMailboxCount"] == 60
        assert user["CopiedThisRunCount"] == user["SyncedItemCount"] > 50
        assert (target / user["EmailAddress"] / "cur").is_dir()
    assert MASTER_USER.password not in done.stdout + (tmp_path / "report.json").read_text()
    again = migrate(*common, "--report", str(tmp_path / "again.json"))
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = json.loads((tmp_path / "again.json").read_text())
    assert [u["CopiedThisRunCount"] for u in rerun["Users"]] == [0, 0]
    assert [u["SyncedItemCount"] for u in rerun["Users"]] == [
        u["SyncedItemCount"] for u in report["Users"]
    ]


def test_failing_users_fail_alone_with_precise_reasons(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer,
    make_user: Callable[..., RigAccount], tmp_path: Path,
) -> None:  # fmt: skip
    good = filled_user(dovecot_source, make_user, seed=21)
    dovecot_target.add_user(f"{good.name}@example.test", "unused-target-password")
    nobody_on_target = filled_user(dovecot_source, make_user, seed=22)
    csv = write_csv(tmp_path / "users.csv", [
        (f"{good.name}@example.test", good.name, good.password),
        ("wrong.password@example.test", good.name, "not-the-password"),
        (f"{nobody_on_target.name}@example.test", nobody_on_target.name,
         nobody_on_target.password),
    ])  # fmt: skip
    env = {**os.environ, "MAILFERRY_TARGET_PASSWORD": MASTER_USER.password}
    done = migrate(
        *source_args(dovecot_source, csv),
        "--target", f"imap://127.0.0.1:{dovecot_target.imap_port}",
        "--target-login", "admin-authzid", "--target-admin", MASTER_USER.name,
        "--state", str(tmp_path / "state.db"), "--report", str(tmp_path / "report.json"),
        env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    users = {
        u["EmailAddress"]: u for u in json.loads((tmp_path / "report.json").read_text())["Users"]
    }
    assert users[f"{good.name}@example.test"]["Status"] == "Synced"
    assert users[f"{good.name}@example.test"]["SyncedItemCount"] > 50
    wrong = users["wrong.password@example.test"]
    assert wrong["Status"] == "Failed" and wrong["ErrorType"] == "AuthenticationError"
    missing = users[f"{nobody_on_target.name}@example.test"]
    assert missing["Status"] == "Failed" and missing["ErrorType"] == "MailboxNotFound"
    for secret in ("not-the-password", MASTER_USER.password, good.password):
        assert secret not in done.stdout + done.stderr


def test_dry_run_writes_nothing(
    dovecot_source: DovecotServer, make_user: Callable[..., RigAccount], tmp_path: Path
) -> None:
    account = filled_user(dovecot_source, make_user, seed=31)
    csv = write_csv(tmp_path / "users.csv", [(f"{account.name}@example.test", account.name,
                                              account.password)])  # fmt: skip
    target = tmp_path / "maildir"
    done = migrate(*source_args(dovecot_source, csv), "--target", f"maildir:{target}",
                   "--state", str(tmp_path / "state.db"), "--dry-run")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Dry run" in done.stdout
    assert not list(target.rglob("cur/*"))


def test_bad_csv_is_refused_with_row_numbers(tmp_path: Path, dovecot_source: DovecotServer) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("EmailAddress,UserName,Password\nnot-an-address,u,p\nok@example.test,,p\n")
    done = migrate(*source_args(dovecot_source, csv), "--target", f"maildir:{tmp_path / 'm'}")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")  # the one error line (and prefix) of every command
    assert "Row 2: EmailAddress is not a valid" in done.stderr
    assert "Row 3: UserName is empty" in done.stderr
