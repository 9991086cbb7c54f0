"""Admin logins against real Dovecot: the source read as ``user*admin`` and with SASL
PLAIN authzid; Exchange ``Domain/Admin/User`` and Mirapoint ``#user@domain#admin#``
strings passed verbatim to LOGIN; UserRoot over a shared namespace."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailferry.connection.auth import Credentials
from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, RigCA, generate
from tests.conftest import MASTER_USER, STANDARD_USERS, MakeUser
from tests.integration.mailview import (
    Login,
    View,
    count,
    differences,
    hashes,
    imap_session,
    migrated,
    non_empty,
    read_view,
    under,
    without_flags,
)
from tests.integration.support import (
    migrate_args,
    new_address,
    open_master_target,
    open_source,
    run_migrate,
    run_sync,
    serve_maildir,
    write_csv,
)

EXCHANGE = next(u for u in STANDARD_USERS if u.name.count("/") == 2)
MIRAPOINT = next(u for u in STANDARD_USERS if u.name.startswith("#"))
WHEN = dt.datetime(2023, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
SHARED_USERS = (RigAccount("anna.berg", "anna-pw"), RigAccount("carl.dahl", "carl-pw"))
ADMIN = RigAccount("mailadmin", "mailadmin-pw")


@pytest.mark.parametrize("mode", ["master-user", "authzid"])
def test_source_read_as_admin(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
    mode: str,
) -> None:
    user = make_user(f"admin-{mode}-")
    dovecot_source.write_maildir(user.name, generate(CorpusSpec(seed=77, messages=30)))
    if mode == "master-user":
        credentials = Credentials(f"{user.name}*{MASTER_USER.name}", MASTER_USER.password)
    else:
        credentials = Credentials(MASTER_USER.name, MASTER_USER.password, authzid=user.name)

    async def migrate() -> int:
        source = await open_source(dovecot_source, credentials)
        target = await open_master_target(dovecot_target, user.name)
        try:
            return (await run_sync(source, target, tmp_path / "state.db", mode)).copied
        finally:
            await source.close()
            await target.close()

    copied = asyncio.run(migrate())
    own = read_view(dovecot_source, Login(user.name, user.password))
    assert copied == count(migrated(own)) > 20
    on_target = read_view(dovecot_target, Login(user.name, user.password))
    assert differences(migrated(own), non_empty(on_target)) == []


def _fill_literal_user(server: DovecotServer, account: RigAccount, tag: str) -> None:
    """Give the user mail of its own, logged in by its literal name."""
    with imap_session(server, Login(account.name, account.password)) as client:
        if not client.folder_exists("Sent"):
            client.create_folder("Sent")
        for number, folder in enumerate(("INBOX", "INBOX", "Sent")):
            message = (
                f"From: terry.adams@contoso.example.com\r\nSubject: {tag} {number}\r\n"
                f"Message-ID: <{tag}-{number}@contoso.example.com>\r\n\r\nHej {number}\r\n"
            ).encode()
            client.append(folder, message, (b"\\Seen", b"Projekt_X")[: number + 1], WHEN)


def test_exchange_and_mirapoint_admin_strings_reach_login_verbatim(
    dovecot_source: DovecotServer, rig_root: Path, tmp_path: Path
) -> None:
    rows, addresses = [], {}
    for account, kind in ((EXCHANGE, "exchange"), (MIRAPOINT, "mirapoint")):
        _fill_literal_user(dovecot_source, account, f"{kind}-{tmp_path.name}")
        addresses[account.name] = new_address(kind)
        rows.append((addresses[account.name], account.name, account.password))
    csv = write_csv(tmp_path / "users.csv", rows)
    root, report = rig_root / "maildir", tmp_path / "report.json"
    logins_before = _logins(dovecot_source)
    args = migrate_args(dovecot_source, csv, f"maildir:{root}", tmp_path / "s.db", report)
    done = run_migrate(args)
    assert done.returncode == 0, done.stdout + done.stderr
    users = {u["UserName"]: u for u in json.loads(report.read_text())["Users"]}
    new_logins = _logins(dovecot_source)[len(logins_before) :]
    for account in (EXCHANGE, MIRAPOINT):
        assert users[account.name]["Status"] == "Synced"
        assert f"user=<{account.name}>" in "\n".join(new_logins)
        source = read_view(dovecot_source, Login(account.name, account.password))
        assert users[account.name]["CopiedThisRunCount"] == count(migrated(source)) >= 3
        address = addresses[account.name]
        serve_maildir(dovecot_source, root, address, "served-pw")
        served = read_view(dovecot_source, Login(address, "served-pw"))
        assert differences(migrated(source), non_empty(served)) == []


def _logins(server: DovecotServer) -> list[str]:
    text = server.log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if "imap-login: Info: Login:" in line]


@pytest.fixture
def shared_server(rig_root: Path, test_ca: RigCA) -> Iterator[DovecotServer]:
    """Users' folders under ``users/<name>/`` for every login (shared namespace, "/")."""
    server = DovecotServer(
        rig_root / "shared", test_ca, name="shared", shared_namespace=True, separator="/"
    )
    server.add_master_user(MASTER_USER.name, MASTER_USER.password)
    for account in (*SHARED_USERS, ADMIN):
        server.add_user(account.name, account.password)
    anna, carl = SHARED_USERS
    server.write_maildir(anna.name, generate(CorpusSpec(seed=501, messages=40)))
    carl_folders = ("INBOX", "Sent", "Kunder/Nord", "Kunder/Syd", "Trash")
    server.write_maildir(
        carl.name, generate(CorpusSpec(seed=502, messages=25, folders=carl_folders))
    )
    with server:
        with imap_session(server, Login(ADMIN.name, ADMIN.password)) as client:
            client.append("INBOX", b"Subject: the admin's own mail\r\n\r\nnot a user's\r\n")
        yield server


def private(folder: str) -> bool:
    """A folder of the logged-in user's own namespace (not ``users/...``)."""
    return not under("users")(folder)


def _rerooted(user: str) -> Callable[[str], str]:
    def rename(folder: str) -> str:
        inside = folder.removeprefix(f"users/{user}").removeprefix("/")
        return inside.replace("/", ".") if inside else "INBOX"

    return rename


def test_user_root_over_a_shared_namespace(
    shared_server: DovecotServer, dovecot_source: DovecotServer, rig_root: Path, tmp_path: Path
) -> None:
    rows, addresses = [], {}
    for account in SHARED_USERS:
        addresses[account.name] = new_address(account.name.split(".")[0])
        rows.append((addresses[account.name], ADMIN.name, ADMIN.password, f"/users/{account.name}"))
    csv = write_csv(tmp_path / "users.csv", rows, user_root=True)
    root, report = rig_root / "maildir", tmp_path / "report.json"
    args = migrate_args(shared_server, csv, f"maildir:{root}", tmp_path / "s.db", report)
    done = run_migrate(args)
    assert done.returncode == 0, done.stdout + done.stderr
    admin_login = Login(ADMIN.name, ADMIN.password)
    admin_own = hashes(read_view(shared_server, admin_login, keep=under("INBOX")))
    targets: dict[str, View] = {}
    for account in SHARED_USERS:
        as_admin = read_view(shared_server, admin_login, keep=under(f"users/{account.name}"))
        own = read_view(shared_server, Login(account.name, account.password), keep=private)
        serve_maildir(dovecot_source, root, addresses[account.name], "served-pw")
        served = non_empty(read_view(dovecot_source, Login(addresses[account.name], "served-pw")))
        targets[account.name] = served
        assert differences(migrated(as_admin, _rerooted(account.name)), served) == []
        # Dovecot keeps \Seen per reader in shared folders: the rest is the user's own view.
        own_mapped = migrated(own, lambda name: name.replace("/", "."))
        assert set(served) == set(own_mapped) and "INBOX" in served
        assert differences(without_flags(own_mapped, "\\Seen"), served) == []
        assert not hashes(served) & admin_own
    anna, carl = (targets[a.name] for a in SHARED_USERS)
    assert not hashes(anna) & hashes(carl)
    assert "Økonomi & Løn" in anna and "Økonomi & Løn" not in carl
    assert "Kunder.Syd" in carl and "Kunder.Syd" not in anna
