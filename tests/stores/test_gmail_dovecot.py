"""A Gmail-shaped source on a real Dovecot: a ``[Gmail]/`` namespace as a stand-in.

What runs here: Dovecot with ``gmail_namespace`` (rig/config.py) lists ``[Gmail]`` as
``\\Noselect`` and ``[Gmail]/All Mail`` (``\\All``), ``Important`` (``\\Important``),
``Starred`` (``\\Flagged``)… with Gmail's names and attributes, and the real ImapSource
and engine migrate it into a Maildir with ``source_kind="gmail"``.

What could not run here: Dovecot cannot advertise X-GM-EXT-1 or send X-GM-MSGID /
X-GM-LABELS, so the source is said to be Gmail explicitly and nothing is de-duplicated
(each message below is in one folder only). The de-duplication is tested on simulated
labels (tests/engine/test_gmail_labels.py) and the FETCH items on Google's documented
responses (tests/imap/test_gmail_fetch.py). No real Gmail account was used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import imapclient
import pytest

from mailferry.connection.auth import Credentials
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.rig.certs import RigCA
from mailferry.rig.dovecot import DovecotServer
from mailferry.state import StateStore
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.maildir_target import MaildirTarget
from mailferry.values.results import MailboxResult, SkipReason
from mailferry.values.sync_options import SyncOptions
from tests.stores.conftest import connect_options, new_user

WHEN = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
MESSAGES = {
    "INBOX": ("\\Seen",),
    "Work": (),
    "[Gmail]/All Mail": ("\\Seen",),  # archived: All Mail alone holds it
    "[Gmail]/Sent Mail": ("\\Seen",),
    "[Gmail]/Starred": ("\\Flagged",),
    "[Gmail]/Important": (),
}


@pytest.fixture(scope="module")
def gmail_dovecot(rig_session_root: Path, test_ca: RigCA) -> Iterator[DovecotServer]:
    root = rig_session_root / "gmail-standin"
    server = DovecotServer(root, test_ca, name="gmail-standin", separator="/",
                           gmail_namespace=True)  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fill(server: DovecotServer) -> tuple[str, str]:
    address, password = new_user(server, "gmail")
    with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
        client.login(address, password)
        for number, (folder, flags) in enumerate(MESSAGES.items()):
            if not client.folder_exists(folder):
                client.create_folder(folder)
            body = (
                f"From: a@example.org\r\nTo: b@example.org\r\nSubject: in {folder}\r\n"
                f"Message-ID: <gmail-{number}@example.org>\r\n\r\nbody {number}\r\n"
            ).encode()
            client.append(folder, body, flags, WHEN)
    return address, password


def migrate(server: DovecotServer, login: tuple[str, str], root: Path, kind: str) -> MailboxResult:
    async def main() -> MailboxResult:
        source = await open_imap_source(connect_options(server), Credentials(*login))
        target = MaildirTarget(root / "maildir").mailbox(login[0])
        try:
            assert source.gmail is False  # Dovecot offers no X-GM-EXT-1
            with StateStore.open(f"sqlite:///{root / kind}.db") as state:
                return await sync_mailbox(
                    source,
                    target,
                    state,
                    f"gmail-standin:{kind}",
                    folder_options=FolderOptions(),
                    options=SyncOptions(source_kind=kind),
                )
        finally:
            await source.close()
            await target.close()

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_gmail_folders_on_the_stand_in(gmail_dovecot: DovecotServer, tmp_path: Path) -> None:
    login = fill(gmail_dovecot)
    result = migrate(gmail_dovecot, login, tmp_path, "gmail")
    assert result.complete, result.incomplete_reason()
    targets = {f.source_folder: f.target_folder for f in result.folders}
    assert targets == {
        "INBOX": "INBOX",
        "Work": "Work",
        "[Gmail]/All Mail": "Archive",
        "[Gmail]/Sent Mail": "Sent",
        "[Gmail]/Drafts": "Drafts",  # the rig creates Gmail's folders, empty
        "[Gmail]/Spam": "Junk",
        "[Gmail]/Trash": "Trash",
    }
    reasons = {s.source_name: s.reason for s in result.skipped_folders}
    assert reasons["[Gmail]/Starred"] == SkipReason.GMAIL_VIRTUAL
    assert reasons["[Gmail]/Important"] == SkipReason.GMAIL_VIRTUAL
    assert reasons["[Gmail]"] == SkipReason.NOT_SELECTABLE
    assert result.copied == 4 and result.in_scope == 4 and not result.skipped_items


def test_not_said_to_be_gmail_skips_all_mail(gmail_dovecot: DovecotServer, tmp_path: Path) -> None:
    login = fill(gmail_dovecot)
    result = migrate(gmail_dovecot, login, tmp_path, "auto")  # no X-GM-EXT-1: not Gmail
    assert result.complete
    reasons = {s.source_name: s.reason for s in result.skipped_folders}
    assert reasons["[Gmail]/All Mail"] == SkipReason.ALL_MAIL
    assert {f.source_folder for f in result.folders} >= {"[Gmail]/Starred", "[Gmail]/Important"}


def cli_migrate(server: DovecotServer, login: tuple[str, str], root: Path, *extra: str) -> dict:
    csv = root / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\r\n{login[0]},{login[0]},{login[1]}\r\n")
    args = [
        "--source-server", "127.0.0.1", "--port", str(server.imap_port), "--security", "Tls",
        "--ca-file", str(server.ca_pem_path), "--csv", str(csv),
        "--target", f"maildir:{root / 'maildir'}", "--state", str(root / "state.db"),
        "--report", str(root / "report.json"), "--processes", "1", *extra,
    ]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "mailferry", "migrate", *args],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (user,) = json.loads((root / "report.json").read_text())["Users"]
    assert isinstance(user, dict)
    return user


def test_cli_source_kind_gmail(gmail_dovecot: DovecotServer, tmp_path: Path) -> None:
    """``mailferry migrate --source-kind gmail --gmail-labels copy-each``, end to end."""
    login = fill(gmail_dovecot)
    user = cli_migrate(gmail_dovecot, login, tmp_path, "--source-kind", "gmail",
                       "--gmail-labels", "copy-each")  # fmt: skip
    assert user["Status"] == "Synced"
    assert user["TotalItemsInSourceMailboxCount"] == user["SyncedItemCount"] == 4
    assert (tmp_path / "maildir" / login[0] / ".Archive" / "cur").is_dir()
    verify = [
        "--source-server", "127.0.0.1", "--port", str(gmail_dovecot.imap_port),
        "--security", "Tls", "--ca-file", str(gmail_dovecot.ca_pem_path),
        "--csv", str(tmp_path / "users.csv"), "--target", f"maildir:{tmp_path / 'maildir'}",
        "--format", "json",
    ]  # fmt: skip
    checked = subprocess.run([sys.executable, "-m", "mailferry", "verify", *verify,
                              "--source-kind", "gmail"],
                             capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    plain = subprocess.run([sys.executable, "-m", "mailferry", "verify", *verify],
                           capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert plain.returncode == 1  # as plain IMAP: Starred and Important are expected too


def test_cli_refuses_an_unknown_source_kind(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailferry", "migrate", "--source-kind", "yahoo"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "--source-kind" in done.stderr


@pytest.mark.parametrize("kind", ["gmail", "auto"])
def test_a_batch_keeps_its_source_kind(
    gmail_dovecot: DovecotServer, tmp_path: Path, kind: str
) -> None:
    """``batch new --source-kind`` is stored on the batch and its jobs use it: said to be
    Gmail, All Mail's archived message reaches the target as Archive; otherwise it is
    skipped as a plain IMAP All Mail (it would duplicate every label)."""
    from mailferry.app import BatchRequest, EndpointRequest, Mailferry

    login = fill(gmail_dovecot)
    env = {"MAILFERRY_HOME": str(tmp_path), "MAILFERRY_CA_FILE": str(gmail_dovecot.ca_pem_path)}
    csv = f"EmailAddress,UserName,Password\r\n{login[0]},{login[0]},{login[1]}\r\n".encode()
    with Mailferry.open(f"sqlite:///{tmp_path / 'svc.db'}", env) as app:
        endpoint = EndpointRequest(
            "Gmail", "127.0.0.1", port=gmail_dovecot.imap_port, security="Tls",
            ca_file=str(gmail_dovecot.ca_pem_path),
        )  # fmt: skip
        asyncio.run(app.new_endpoint(endpoint))
        view = app.new_batch(BatchRequest("G", "Gmail", csv, auto_start=True, source_kind=kind))
        assert (view["SourceKind"], view["GmailLabels"]) == (kind, "one-folder")
        asyncio.run(asyncio.wait_for(app.run_here(["G"], None), 90))
        user = app.get_user(login[0])
    assert user["Status"] == "Synced", user
    archive = tmp_path / "mail" / login[0] / ".Archive" / "cur"
    assert (archive.is_dir() and len(list(archive.iterdir())) == 1) == (kind == "gmail")


def _append(server: DovecotServer, login: tuple[str, str], folder: str, body: bytes) -> None:
    with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
        client.login(*login)
        client.append(folder, body, ("\\Seen",), WHEN)


def test_said_to_be_gmail_without_labels_all_mail_is_matched_by_fingerprint(
    gmail_dovecot: DovecotServer, tmp_path: Path
) -> None:
    """The stand-in sends no X-GM-LABELS: a message in INBOX and in All Mail (as Gmail
    shows every labelled one) is copied once, All Mail's copy a DuplicateLabel; the
    archived one (All Mail alone) is copied; a twin that reaches All Mail after its
    INBOX copy was migrated is matched to the pair copied before."""
    login = fill(gmail_dovecot)
    twin = b"From: a@example.org\r\nSubject: twice\r\nMessage-ID: <twice@example.org>\r\n\r\nx\r\n"
    _append(gmail_dovecot, login, "INBOX", twin)
    _append(gmail_dovecot, login, "[Gmail]/All Mail", twin)
    first = migrate(gmail_dovecot, login, tmp_path, "gmail")
    assert first.complete, first.incomplete_reason()
    skipped = [s for s in first.skipped_items if s.kind == "DuplicateLabel"]
    assert [(s.folder, s.subject) for s in skipped] == [("[Gmail]/All Mail", "twice")]
    assert "same Message-ID, size and date" in skipped[0].reason
    later = b"From: a@example.org\r\nSubject: later\r\nMessage-ID: <later@example.org>\r\n\r\ny\r\n"
    _append(gmail_dovecot, login, "INBOX", later)
    migrate(gmail_dovecot, login, tmp_path, "gmail")  # INBOX's copy first
    _append(gmail_dovecot, login, "[Gmail]/All Mail", later)
    again = migrate(gmail_dovecot, login, tmp_path, "gmail")
    assert again.complete and again.copied == 0
    maildir = tmp_path / "maildir" / login[0]
    archived = [p.read_bytes() for p in (maildir / ".Archive" / "cur").iterdir()]
    assert len(archived) == 1 and b"twice" not in archived[0] and b"later" not in archived[0]


def test_without_labels_a_failed_home_folder_leaves_the_mailbox_incomplete(
    gmail_dovecot: DovecotServer, tmp_path: Path
) -> None:
    """All Mail's copy of a Work message is skipped only when Work will hold it: when
    Work can't be made on the target, the mailbox is not complete (Work named) and the
    message is not left out (All Mail's copy is kept, as Archive): no skip hides a
    message that reached no folder."""
    login = fill(gmail_dovecot)
    twin = b"From: a@example.org\r\nSubject: work twin\r\nMessage-ID: <wt@example.org>\r\n\r\nz\r\n"
    _append(gmail_dovecot, login, "Work", twin)
    _append(gmail_dovecot, login, "[Gmail]/All Mail", twin)
    home = tmp_path / "maildir" / login[0]
    home.mkdir(parents=True)
    (home / ".Work").write_text("in the way")  # Work's folder can't be made
    result = migrate(gmail_dovecot, login, tmp_path, "gmail")
    assert not result.complete
    assert "Work" in result.incomplete_reason()
    assert not [s for s in result.skipped_items if s.kind == "DuplicateLabel"]
    archived = [p.read_bytes() for p in (home / ".Archive" / "cur").iterdir()]
    assert any(b"work twin" in body for body in archived)
