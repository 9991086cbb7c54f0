"""Folder names a Maildir++ target cannot take as they are, end to end on real Dovecot.

The source is a Dovecot with sdbox storage (one directory a level, so a 200-deep
hierarchy and 255-byte levels fit), Courier-style: every folder under ``INBOX.`` with
``INBOX.Sent``, so mailferry strips the prefix and ``INBOX.~home`` becomes ``~home`` at
the top of the user's tree (Dovecot itself refuses a top-level ``~home``, and any level
over 255 bytes, so a 300-character name here spans two levels; a single 300-character
level is covered by tests/stores/test_maildir_names_hostile.py). ``mailferry migrate``
into a Maildir target must copy every message, ``mailferry verify`` must agree, a second
run must copy nothing into the same folders, and the Dovecot that serves the Maildir
must list every folder with the source's count.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailferry.rig import DovecotServer, RigCA
from mailferry.stores.maildir_names import hash_suffix
from tests.integration.mailview import Login, imap_session
from tests.integration.support import (
    MAILFERRY,
    migrate_args,
    new_address,
    run_migrate,
    serve_maildir,
    write_csv,
)

#: A 200-deep hierarchy; the levels between these are created implicitly (\\Noselect).
DEEP = [".".join(f"d{n}" for n in range(depth)) for depth in (1, 60, 66, 67, 68, 150, 199, 200)]
LONG_LEVEL = "y" * 255  # the longest level Dovecot allows: 256 bytes with Maildir++'s "."
LONG_NAME = "L" * 150 + "." + "M" * 149  # 300 characters
HOSTILE = (
    "~home", "~home.~sub", "\u223chome", LONG_LEVEL, LONG_NAME, "tmp", "new", "cur",
    "dovecot-uidlist", "courierimapsubscribed", "maildirfolder", "客" * 90, "Økonomi & Løn",
)  # fmt: skip
FOLDERS = ("INBOX", "INBOX.Sent", *(f"INBOX.{n}" for n in (*HOSTILE, *DEEP)))


@pytest.fixture
def sdbox_source(rig_root: Path, test_ca: RigCA) -> Iterator[DovecotServer]:
    with DovecotServer(rig_root / "sdbox", test_ca, name="hostile", storage="sdbox") as server:
        yield server


def message(number: int, folder: str) -> bytes:
    return (
        f"From: someone@example.org\r\nSubject: message {number}\r\n"
        f"Message-ID: <hostile-{number}@example.org>\r\n\r\nin {folder[:60]}\r\n"
    ).encode()


def fill(server: DovecotServer, login: Login) -> None:
    with imap_session(server, login) as client:
        for folder in FOLDERS[1:]:
            client.create_folder(folder)
        for number, folder in enumerate(FOLDERS):
            client.append(folder, message(number, folder), (b"\\Seen",))


def counts(server: DovecotServer, login: Login) -> dict[str, int]:
    """Every selectable folder's name and message count, as the server LISTs them."""
    with imap_session(server, login) as client:
        found = {}
        for attributes, _, name in client.list_folders():
            if not {b"\\Noselect", b"\\NonExistent"} & set(attributes):
                found[name] = client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
        return found


def migrate(source: DovecotServer, csv: Path, root: Path, tmp: Path, run: str) -> Any:
    report = tmp / f"{run}.json"
    done = run_migrate(migrate_args(source, csv, f"maildir:{root}", tmp / "state.db", report))
    assert done.returncode == 0, done.stdout + done.stderr
    [user] = json.loads(report.read_text(encoding="utf-8"))["Users"]
    return user


def verify(source: DovecotServer, csv: Path, root: Path) -> subprocess.CompletedProcess[str]:
    args = [
        *MAILFERRY, "verify", "--source-server", source.host, "--port", str(source.imap_port),
        "--security", "Tls", "--ca-file", str(source.ca_pem_path), "--csv", str(csv),
        "--target", f"maildir:{root}",
    ]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=os.environ.copy())


@pytest.mark.timeout(180)
def test_hostile_names_migrate_to_maildir_and_dovecot_serves_them(
    sdbox_source: DovecotServer, dovecot_source: DovecotServer, rig_root: Path, tmp_path: Path
) -> None:
    owner = Login("hostile", "hostile-pw")
    sdbox_source.add_user(owner.username, owner.password)
    fill(sdbox_source, owner)
    source = counts(sdbox_source, owner)
    assert set(source) == set(FOLDERS) and set(source.values()) == {1}
    address, root = new_address("hostile"), rig_root / "maildir"
    csv = write_csv(tmp_path / "users.csv", [(address, owner.username, owner.password)])

    user = migrate(sdbox_source, csv, root, tmp_path, "first")
    assert user["Status"] == "Synced" and user["FolderErrors"] == {}, user
    folders = {f["SourceFolder"]: f for f in user["Folders"]}
    assert set(folders) == set(FOLDERS)
    for name, folder in folders.items():
        assert folder["Copied"] == source[name] and folder["Error"] is None, folder
    targets = {name: f["TargetFolder"] for name, f in folders.items()}
    assert len(set(targets.values())) == len(targets)
    assert targets["INBOX.Sent"] == "Sent" and targets["INBOX.tmp"] == "tmp"
    assert targets[f"INBOX.{'客' * 90}"] == "客" * 90  # 242 bytes on disk: kept
    assert targets["INBOX.~home"] == "\u223chome"
    assert targets["INBOX.~home.~sub"] == "\u223chome.~sub"
    assert targets["INBOX.\u223chome"] == "\u223chome" + hash_suffix(("\u223chome",))
    assert targets[f"INBOX.{LONG_LEVEL}"].endswith(hash_suffix((LONG_LEVEL,)))
    assert targets[f"INBOX.{LONG_NAME}"].startswith("L" * 150 + ".M")
    deepest = folders[f"INBOX.{DEEP[-1]}"]
    assert "moved up" in deepest["Note"] and "255 bytes on disk" in deepest["Note"]
    assert "shortened" in folders[f"INBOX.{LONG_LEVEL}"]["Note"]
    assert "refuses a name starting with '~'" in folders["INBOX.~home"]["Note"]
    assert "is taken by" in folders["INBOX.\u223chome"]["Note"]
    assert folders["INBOX.Økonomi & Løn"]["Note"] is None

    checked = verify(sdbox_source, csv, root)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    again = migrate(sdbox_source, csv, root, tmp_path, "again")
    assert again["Status"] == "Synced" and again["CopiedThisRunCount"] == 0, again
    assert {f["SourceFolder"]: f["TargetFolder"] for f in again["Folders"]} == targets

    serve_maildir(dovecot_source, root, address, "served-pw")
    served = counts(dovecot_source, Login(address, "served-pw"))
    assert set(targets.values()) <= set(served)
    assert {targets[name]: n for name, n in source.items()} == {
        target: served[target] for target in targets.values()
    }
