"""``mailferry verify`` run as a real command: users migrated to the rig's Dovecot target
(and to a Maildir) are verified through the CLI, a tampered target and a refused login
make it fail with exit code 1, and no password ever reaches the output or the report."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imapclient

from mailferry.connection.auth import Credentials
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.rig import CorpusSpec, DovecotServer, generate
from mailferry.state import StateStore
from mailferry.stores.base import TargetMailbox
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.stores.maildir_target import MaildirTarget
from mailferry.values.sync_options import SyncOptions
from tests.conftest import MASTER_USER, MakeUser
from tests.stores.conftest import connect_options

MAILFERRY = [sys.executable, "-m", "mailferry"]
Opener = Callable[[], Awaitable[TargetMailbox]]
SPEC = CorpusSpec(seed=99, messages=12, folders=("INBOX", "Sent", "Archive"), deleted_fraction=0)


@dataclass(frozen=True)
class User:
    login: str  # on the source
    password: str  # on the source (and the target user's own)
    address: str  # the target mailbox


def _user(make_user: MakeUser, source: DovecotServer, target: DovecotServer) -> User:
    account = make_user("cliverify", servers=(source,))
    user = User(account.name, account.password, f"{account.name}@example.org")
    target.add_user(user.address, user.password)
    source.write_maildir(user.login, list(generate(SPEC)))
    return user


def _migrate(source: DovecotServer, user: User, open_target: Opener, state: Path) -> None:
    async def main() -> None:
        credentials = Credentials(user.login, user.password)
        reader = await open_imap_source(connect_options(source), credentials)
        target = await open_target()
        try:
            with StateStore.open(f"sqlite:///{state}") as store:
                result = await sync_mailbox(
                    reader, target, store, f"verify-cli/{user.login}",
                    folder_options=FolderOptions(), options=SyncOptions(batch_linger=0),
                )  # fmt: skip
            assert result.errors == {} and result.copied == SPEC.messages
        finally:
            await reader.close()
            await target.close()

    asyncio.run(main())


def _imap_target(server: DovecotServer, user: User) -> Opener:
    async def open_target() -> TargetMailbox:
        credentials = Credentials(user.address, user.password)
        return await open_imap_target(connect_options(server), credentials)

    return open_target


def _maildir_target(root: Path, user: User) -> Opener:
    async def open_target() -> TargetMailbox:
        return MaildirTarget(root).mailbox(user.address)

    return open_target


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["EmailAddress,UserName,Password", *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _source_args(server: DovecotServer, csv: Path) -> list[str]:
    return [
        "--source-server", "127.0.0.1", "--port", str(server.imaps_port), "--security", "Ssl",
        "--ca-file", str(server.ca_pem_path), "--csv", str(csv),
    ]  # fmt: skip


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "MAILFERRY_TARGET_PASSWORD"}
    environment.update(env or {})
    return subprocess.run(
        [*MAILFERRY, "verify", *args],
        capture_output=True, text=True, timeout=120, check=False, env=environment,
    )  # fmt: skip


def _secret_free(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text


def _delete_one(server: DovecotServer, user: User, folder: str) -> int:
    """Expunge the highest UID of ``folder`` on the target, as its user would."""
    with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
        client.login(user.address, user.password)
        client.select_folder(folder)
        uid = max(client.search("ALL"))
        client.delete_messages([uid])
        client.expunge()
        return int(uid)


def _users(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {user["EmailAddress"]: user for user in report["Users"]}


def test_verify_against_dovecot_target_passes_then_reports_tampering_and_failures(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    alice, bob = (_user(make_user, dovecot_source, dovecot_target) for _ in range(2))
    for user in (alice, bob):
        _migrate(dovecot_source, user, _imap_target(dovecot_target, user), tmp_path / "state.db")
    rows = [(u.address, u.login, u.password) for u in (alice, bob)]
    csv = _csv(tmp_path / "users.csv", rows)
    target_args = ["--target", f"imap://127.0.0.1:{dovecot_target.imap_port}"]
    env = {"MAILFERRY_TARGET_PASSWORD": MASTER_USER.password}
    report_path = tmp_path / "report.json"

    args = [*_source_args(dovecot_source, csv), *target_args]
    done = _run([*args, "--report", str(report_path)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 user(s): 2 match, 0 with differences, 0 could not be verified" in done.stdout
    assert alice.address in done.stdout and "Archive" in done.stdout
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["Result"] == "Match"
    assert {u["Status"] for u in report["Users"]} == {"Match"}
    assert sum(u["Totals"]["Expected"] for u in report["Users"]) == 2 * SPEC.messages
    assert oct(report_path.stat().st_mode & 0o777) == "0o600"
    secrets = [MASTER_USER.password, alice.password, bob.password]
    _secret_free(secrets, done.stdout, done.stderr, report_path.read_text(encoding="utf-8"))

    removed = _delete_one(dovecot_target, alice, "INBOX")
    carol = _user(make_user, dovecot_source, dovecot_target)
    wrong = "not-carols-password"
    csv = _csv(tmp_path / "users.csv", [*rows, (carol.address, carol.login, wrong)])
    args = [*_source_args(dovecot_source, csv), *target_args, "--format", "json"]
    done = _run([*args, "--report", str(report_path)], env)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report == json.loads(report_path.read_text(encoding="utf-8"))
    assert report["Result"] == "Differences"
    users = _users(report)
    assert users[bob.address]["Status"] == "Match"
    assert users[carol.address]["Status"] == "Failed"
    assert users[carol.address]["ErrorKind"] == "AuthenticationError"
    inbox = next(f for f in users[alice.address]["Folders"] if f["SourceFolder"] == "INBOX")
    assert inbox["Status"] == "Differences" and len(inbox["Missing"]) == 1
    assert inbox["TargetItems"] == inbox["Expected"] - 1 and inbox["Unexpected"] == []
    others = [f for f in users[alice.address]["Folders"] if f["SourceFolder"] != "INBOX"]
    assert others and {f["Status"] for f in others} == {"Match"}
    assert removed > 0
    _secret_free([*secrets, carol.password, wrong], done.stdout, done.stderr)


def test_verify_maildir_target_prints_a_table(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    user = _user(make_user, dovecot_source, dovecot_target)
    root = tmp_path / "mail"
    _migrate(dovecot_source, user, _maildir_target(root, user), tmp_path / "state.db")
    csv = _csv(tmp_path / "users.csv", [(user.address, user.login, user.password)])
    args = [*_source_args(dovecot_source, csv), "--target", f"maildir:{root}"]
    done = _run(args, {"COLUMNS": "160"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 user(s): 1 match, 0 with differences, 0 could not be verified" in done.stdout
    header = "flag date folder source expected target missing extra diffs diffs status"
    assert header in " ".join(done.stdout.split())
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.strip()}
    for folder in SPEC.folders:
        assert rows[folder][3:] == ["0", "0", "0", "0", "ok"], done.stdout
        assert rows[folder][1] == rows[folder][2]  # expected == target
    assert sum(int(rows[folder][1]) for folder in SPEC.folders) == SPEC.messages
    _secret_free([user.password], done.stdout, done.stderr)


def test_imap_target_without_password_is_a_usage_error(tmp_path: Path) -> None:
    csv = _csv(tmp_path / "users.csv", [("a@example.org", "a", "secret-a")])
    args = ["--source-server", "127.0.0.1", "--csv", str(csv), "--target", "imap://127.0.0.1:1"]
    done = _run(args)
    assert done.returncode == 2
    assert "MAILFERRY_TARGET_PASSWORD" in done.stderr
    _secret_free(["secret-a"], done.stdout, done.stderr)
