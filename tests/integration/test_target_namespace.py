"""``mailferry migrate`` into a Dovecot target whose personal namespace has the prefix
``INBOX.`` (Courier's layout): every folder lands in ``INBOX.<name>``, ``verify`` agrees,
a re-run copies nothing; and a CREATE the server refuses (an ACL: Courier's words,
``NO [NOPERM] Permission denied``) is reported with the folder and the name tried."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailferry.connection.auth import Credentials
from mailferry.rig import CorpusSpec, DovecotServer, RigCA, generate
from mailferry.state.store import StateStore
from mailferry.stores.imap_target import open_imap_target
from mailferry.values.results import MailboxResult
from tests.conftest import MASTER_USER, MakeUser
from tests.integration.mailview import (
    Login,
    count,
    differences,
    imap_session,
    migrated,
    non_empty,
    read_view,
)
from tests.integration.support import (
    MAILFERRY,
    connect_options,
    migrate_args,
    new_address,
    open_source,
    run_migrate,
    run_sync,
    write_csv,
)

FOLDERS = ("INBOX", "Archive", "Archive/2020", "Sent", "Økonomi & Løn")
SPEC = CorpusSpec(
    seed=909,
    messages=40,
    folders=FOLDERS,
    malformed_fraction=0,
    deleted_fraction=0,
    folder_weights=tuple((folder, 1) for folder in FOLDERS),
)
LOCKED = "INBOX.Locked"


def _prefixed_server(test_ca: RigCA, name: str, *rules: str) -> Iterator[DovecotServer]:
    root = Path(tempfile.mkdtemp(prefix=f"mailferry-rig-{name}-"))
    root.chmod(0o755)
    server = DovecotServer(
        root / name, test_ca, name=name, inbox_prefix=True, acl_rules=tuple(rules)
    )
    server.add_master_user(MASTER_USER.name, MASTER_USER.password)
    try:
        with server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def courier_like(test_ca: RigCA) -> Iterator[DovecotServer]:
    """``namespace inbox { inbox = yes  prefix = INBOX.  separator = . }``."""
    yield from _prefixed_server(test_ca, "courier-like")


@pytest.fixture(scope="module")
def locked_target(test_ca: RigCA) -> Iterator[DovecotServer]:
    """The same, and nobody may create folders under ``INBOX.Locked``."""
    yield from _prefixed_server(test_ca, "locked", f"{LOCKED} -owner k")


@pytest.fixture(autouse=True)
def _target_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILFERRY_TARGET_PASSWORD", MASTER_USER.password)


def prefixed(folder: str) -> str:
    """Where a folder of the source (``.`` delimiter, no prefix) belongs on the target,
    whose own Sent folder is ``INBOX.Sent Items``."""
    if folder == "Sent":
        return "INBOX.Sent Items"
    return folder if folder == "INBOX" else f"INBOX.{folder}"


def migrate(source: DovecotServer, target: DovecotServer, csv: Path, tmp: Path, run: str) -> Any:
    report = tmp / f"{run}.json"
    url = f"imap://127.0.0.1:{target.imap_port}"
    done = run_migrate(migrate_args(source, csv, url, tmp / "state.db", report))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    [user] = json.loads(report.read_text(encoding="utf-8"))["Users"]
    return done.returncode, user


def verify(
    source: DovecotServer, target: DovecotServer, csv: Path
) -> subprocess.CompletedProcess[str]:
    args = [
        *MAILFERRY, "verify", "--source-server", source.host, "--port", str(source.imap_port),
        "--security", "Tls", "--ca-file", str(source.ca_pem_path), "--csv", str(csv),
        "--target", f"imap://127.0.0.1:{target.imap_port}",
    ]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=os.environ.copy())


def test_migrate_into_a_prefixed_namespace_then_verify_and_rerun(
    dovecot_source: DovecotServer, courier_like: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    account = make_user("nstarget", servers=(dovecot_source,))
    dovecot_source.write_maildir(account.name, generate(SPEC))
    address = new_address("courier")
    courier_like.add_user(address, "target-pw")
    with imap_session(courier_like, Login(address, "target-pw")) as client:
        client.create_folder("INBOX.Sent Items")  # the target's own Sent, found by its name
    csv = write_csv(tmp_path / "users.csv", [(address, account.name, account.password)])

    code, user = migrate(dovecot_source, courier_like, csv, tmp_path, "first")
    assert code == 0 and user["Status"] == "Synced", user
    assert user["FolderErrors"] == {}
    source = read_view(dovecot_source, Login(account.name, account.password))
    assert set(non_empty(source)) == {f.replace("/", ".") for f in FOLDERS}  # all five hold mail
    target = non_empty(read_view(courier_like, Login(address, "target-pw")))
    assert set(target) == {
        "INBOX", "INBOX.Archive", "INBOX.Archive.2020", "INBOX.Sent Items", "INBOX.Økonomi & Løn"
    }  # fmt: skip
    assert differences(migrated(source, prefixed), target) == []
    assert user["CopiedThisRunCount"] == count(source) == SPEC.messages
    assert {f["TargetFolder"] for f in user["Folders"]} == set(target)

    checked = verify(dovecot_source, courier_like, csv)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 match, 0 with differences" in checked.stdout

    code, again = migrate(dovecot_source, courier_like, csv, tmp_path, "again")
    assert code == 0 and again["Status"] == "Synced", again
    assert again["CopiedThisRunCount"] == 0 and again["SyncedItemCount"] == SPEC.messages
    assert [f["TargetFolder"] for f in again["Folders"]] == [
        f["TargetFolder"] for f in user["Folders"]
    ]
    assert non_empty(read_view(courier_like, Login(address, "target-pw"))) == target


def test_a_refused_create_names_the_folder_and_the_name_tried(
    dovecot_source: DovecotServer, locked_target: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    folders = ("INBOX", "Locked", "Locked/Child")
    spec = CorpusSpec(
        seed=910, messages=12, folders=folders, malformed_fraction=0, deleted_fraction=0,
        folder_weights=tuple((folder, 1) for folder in folders),
    )  # fmt: skip
    account = make_user("nslocked", servers=(dovecot_source,))
    dovecot_source.write_maildir(account.name, generate(spec))
    address = new_address("locked")
    locked_target.add_user(address, "target-pw")
    csv = write_csv(tmp_path / "users.csv", [(address, account.name, account.password)])

    code, user = migrate(dovecot_source, locked_target, csv, tmp_path, "locked")
    assert code == 1 and user["Status"] != "Synced", user  # mail stayed behind
    folders_by_source = {f["SourceFolder"]: f for f in user["Folders"]}
    child = folders_by_source["Locked.Child"]
    assert child["TargetFolder"] == f"{LOCKED}.Child"
    assert child["Error"].startswith(
        f"the server refused CREATE '{LOCKED}.Child': NO [NOPERM] Permission denied"
    ), child
    assert child["Copied"] == 0 and child["Missing"] == child["Items"] > 0
    assert user["FolderErrors"] == {"Locked.Child": child["Error"]}
    for name in ("INBOX", "Locked"):
        assert folders_by_source[name]["Error"] is None
        assert folders_by_source[name]["Copied"] == folders_by_source[name]["Items"] > 0
    assert user["MissingItemCount"] == child["Items"]


def test_records_of_the_old_unprefixed_mapping_are_retargeted(
    dovecot_source: DovecotServer, courier_like: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    """Before targets read NAMESPACE, ``Archive`` was recorded as going to ``Archive``
    (whose CREATE the server refused): the next sync moves it under the prefix."""
    account = make_user("nsretarget", servers=(dovecot_source,))
    dovecot_source.write_maildir(account.name, generate(SPEC))
    address = new_address("retarget")
    courier_like.add_user(address, "target-pw")
    state_path = tmp_path / "state.db"
    with StateStore.open(f"sqlite:///{state_path}") as state:
        mailbox = state.mailbox_id("old-user")
        for folder in ("Archive", "Archive.2020", "Sent"):
            state.upsert_folder(mailbox, folder, folder)

    async def sync() -> MailboxResult:
        source = await open_source(dovecot_source, Credentials(account.name, account.password))
        credentials = Credentials(address, "target-pw")
        target = await open_imap_target(connect_options(courier_like), credentials)
        try:
            return await run_sync(source, target, state_path, "old-user")
        finally:
            await source.close()
            await target.close()

    result = asyncio.run(sync())
    assert result.errors == {} and result.copied == SPEC.messages
    with StateStore.open(f"sqlite:///{state_path}") as state:
        for folder in ("Archive", "Archive.2020", "Sent"):
            record = state.folder(mailbox, folder)
            assert record is not None and record.target_folder == f"INBOX.{folder}"
    assert asyncio.run(sync()).copied == 0
