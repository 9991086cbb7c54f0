"""The seed's Courier case on a real Courier IMAP: ``mailadmin`` logs in and each CSV
row's ``UserRoot`` (``/users/terry.adams``) names that user's tree in the admin's
virtual shared folders (``#shared.users.terry adams``). One-shot ``mailferry migrate``
copies exactly those trees, byte for byte, into Dovecot and into a Maildir, ``verify``
agrees; a UserRoot that is not there fails its row with an explanation; a plain
Courier login (no UserRoot) loses its ``INBOX.`` prefix on the way."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailferry.connection.auth import Credentials
from mailferry.rig import CorpusSpec, CourierServer, DovecotServer, generate
from mailferry.stores.base import SharedListing
from tests.conftest import COURIER_ADMIN, MASTER_USER
from tests.integration.mailview import (
    SKIP_ATTRIBUTES,
    Login,
    View,
    count,
    differences,
    hashes,
    imap_session,
    migrated,
    non_empty,
    read_folder,
    read_view,
)
from tests.integration.support import (
    MAILFERRY,
    migrate_args,
    new_address,
    open_source,
    run_migrate,
    serve_maildir,
    write_csv,
)

ADMIN = Login(COURIER_ADMIN.name, COURIER_ADMIN.password)
CORPORA = {
    "terry.adams": CorpusSpec(seed=1201, messages=40),
    "ann.beebe": CorpusSpec(seed=1202, messages=20, folders=("INBOX", "Sent", "Privat/Familie")),
    "paul.cannon": CorpusSpec(seed=1203, messages=15, folders=("INBOX", "Sent", "Drafts")),
}
PASSWORDS = {name: f"{name}-courier" for name in CORPORA}


@pytest.fixture(scope="module")
def courier(courier_server: CourierServer) -> CourierServer:
    """terry.adams, ann.beebe and paul.cannon under ``/users``, each with its own corpus;
    the admin has mail of its own (which no row may migrate)."""
    for name, spec in CORPORA.items():
        courier_server.add_user(name, PASSWORDS[name], shared_group="users")
        courier_server.fill(name, generate(spec))
    with imap_session(courier_server, ADMIN) as client:
        client.append("INBOX", b"Subject: the admin's own mail\r\n\r\nnot a user's\r\n")
    return courier_server


@pytest.fixture(autouse=True)
def _target_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILFERRY_TARGET_PASSWORD", MASTER_USER.password)


def shared_tree(server: CourierServer, user: str) -> View:
    """The user's tree as the admin sees it (LIST "*" does not show ``#shared.``)."""
    root = f"#shared.users.{user.replace('.', ' ')}"
    with imap_session(server, ADMIN) as client:
        return {
            name: read_folder(client, name)
            for attributes, _, name in client.list_folders("", "#shared.*")
            if (name == root or name.startswith(root + "."))
            and not {a.lower() for a in attributes} & SKIP_ATTRIBUTES
        }


def rerooted(user: str) -> Callable[[str], str]:
    root = f"#shared.users.{user.replace('.', ' ')}"
    return lambda name: name.removeprefix(root).removeprefix(".") or "INBOX"


def unprefixed(name: str) -> str:
    return name.removeprefix("INBOX.") if name != "INBOX" else name


def own_view(server: CourierServer, user: str) -> View:
    return read_view(server, Login(user, PASSWORDS[user]))


def migrate(server: CourierServer, csv: Path, target: str, tmp: Path) -> tuple[int, Any]:
    report = tmp / "report.json"
    done = run_migrate(migrate_args(server, csv, target, tmp / "state.db", report))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    users = json.loads(report.read_text(encoding="utf-8"))["Users"]
    return done.returncode, {user["EmailAddress"]: user for user in users}


def verify(server: CourierServer, csv: Path, target: str) -> subprocess.CompletedProcess[str]:
    args = [
        *MAILFERRY, "verify", "--source-server", server.host, "--port", str(server.imap_port),
        "--security", "Tls", "--ca-file", str(server.ca_pem_path), "--csv", str(csv),
        "--target", target,
    ]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=os.environ.copy())


def test_userroot_rows_migrate_exactly_their_trees_into_dovecot(
    courier: CourierServer, dovecot_target: DovecotServer, tmp_path: Path
) -> None:
    users = ("terry.adams", "ann.beebe")
    addresses = {user: new_address(user.split(".")[0]) for user in users}
    rows = [(addresses[u], ADMIN.username, ADMIN.password, f"/users/{u}") for u in users]
    csv = write_csv(tmp_path / "users.csv", rows, user_root=True)
    for address in addresses.values():
        dovecot_target.add_user(address, "target-pw")
    url = f"imap://127.0.0.1:{dovecot_target.imap_port}"

    code, report = migrate(courier, csv, url, tmp_path)
    assert code == 0, report
    served: dict[str, View] = {}
    for user in users:
        row = report[addresses[user]]
        assert row["Status"] == "Synced" and row["UserRoot"] == f"/users/{user}", row
        source = shared_tree(courier, user)
        served[user] = non_empty(read_view(dovecot_target, Login(addresses[user], "target-pw")))
        assert differences(migrated(source, rerooted(user)), served[user]) == []
        # The admin's view of the tree is the user's own mailbox, minus Courier's prefix.
        assert migrated(own_view(courier, user), unprefixed) == served[user]
        assert row["CopiedThisRunCount"] == count(migrated(source)) > 0
    terry, ann = served["terry.adams"], served["ann.beebe"]
    assert not hashes(terry) & hashes(ann)
    assert "Økonomi & Løn" in terry and "Privat.Familie" in ann and "Privat.Familie" not in terry
    admin_own = hashes(read_view(courier, ADMIN))
    assert admin_own and not admin_own & (hashes(terry) + hashes(ann))

    checked = verify(courier, csv, url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 match, 0 with differences" in checked.stdout


def test_userroot_into_a_maildir_and_a_missing_root_explained(
    courier: CourierServer, dovecot_source: DovecotServer, rig_root: Path, tmp_path: Path
) -> None:
    address, typo = new_address("terrya"), new_address("typo")
    rows = [
        (address, ADMIN.username, ADMIN.password, "/users/terry.adams"),
        (typo, ADMIN.username, ADMIN.password, "/users/terry.adam"),
    ]
    csv = write_csv(tmp_path / "users.csv", rows, user_root=True)
    root = rig_root / "maildir"

    code, report = migrate(courier, csv, f"maildir:{root}", tmp_path)
    assert code == 1  # one row failed, the other migrated
    assert report[address]["Status"] == "Synced", report[address]
    failed = report[typo]
    assert failed["Status"] == "Failed" and not failed.get("CopiedThisRunCount"), failed
    assert failed["Error"].startswith(
        "UserRoot '/users/terry.adam' does not exist on the source: no folder is at or under it"
    )
    assert "the nearest level, '#shared.users', holds '#shared.users.ann beebe'" in failed["Error"]
    assert "'#shared.users.terry adams'" in failed["Error"]
    assert not list((root / typo).glob("**/cur/*"))  # opened, nothing written

    serve_maildir(dovecot_source, root, address, "served-pw")
    served = non_empty(read_view(dovecot_source, Login(address, "served-pw")))
    source = shared_tree(courier, "terry.adams")
    assert differences(migrated(source, rerooted("terry.adams")), served) == []

    ok_csv = write_csv(tmp_path / "ok.csv", rows[:1], user_root=True)
    checked = verify(courier, ok_csv, f"maildir:{root}")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 match, 0 with differences" in checked.stdout


def test_a_plain_courier_login_loses_the_inbox_prefix(
    courier: CourierServer, dovecot_target: DovecotServer, tmp_path: Path
) -> None:
    address = new_address("paulc")
    dovecot_target.add_user(address, "target-pw")
    csv = write_csv(tmp_path / "users.csv", [(address, "paul.cannon", PASSWORDS["paul.cannon"])])
    code, report = migrate(courier, csv, f"imap://127.0.0.1:{dovecot_target.imap_port}", tmp_path)
    assert code == 0 and report[address]["Status"] == "Synced", report
    source = own_view(courier, "paul.cannon")
    assert set(non_empty(source)) == {"INBOX", "INBOX.Sent", "INBOX.Drafts"}
    served = non_empty(read_view(dovecot_target, Login(address, "target-pw")))
    assert set(served) == {"INBOX", "Sent", "Drafts"}
    assert differences(migrated(source, unprefixed), served) == []


def test_the_source_lists_only_where_the_root_may_be(courier: CourierServer) -> None:
    """Courier shows ``#shared.`` only when asked; asked for one user's tree it lists that
    tree alone (not every user's), and everything when the path is not there."""

    async def listings() -> tuple[SharedListing, SharedListing]:
        credentials = Credentials(ADMIN.username, ADMIN.password)
        source = await open_source(courier, credentials)
        try:
            assert not any(f.name.startswith("#shared") for f in await source.list_folders())
            one = await source.shared_folders([("users", "ann beebe"), ("users", "ann.beebe")])
            return one, await source.shared_folders([("users", "nobody")])
        finally:
            await source.close()

    one, fallback = asyncio.run(listings())
    assert one.prefixes == fallback.prefixes == ("#shared.", "shared.")
    assert {f.name for f in one.folders} == {
        "#shared.users.ann beebe", "#shared.users.ann beebe.Sent",
        "#shared.users.ann beebe.Privat", "#shared.users.ann beebe.Privat.Familie",
    }  # fmt: skip
    names = {f.name for f in fallback.folders}
    assert "#shared.users" in names and "#shared.users.terry adams.Sent" in names
    assert {"#shared.users.paul cannon", "#shared.users.ann beebe"} <= names
