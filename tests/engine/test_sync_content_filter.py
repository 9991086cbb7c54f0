"""A content filter against the real servers (Dovecot source, Dovecot IMAP target).

Only mail received inside the window is copied. A re-run under a broader filter copies
the older mail too, although the folder's counters say nothing changed (the no-op
path) or only grew (the CHANGEDSINCE path): a dry run with the checkpoint's scope
overwritten to the new filter shows what those paths would have missed without it. A
narrowed filter deletes nothing (even with deletion propagation) and flag changes still
reach the old copies; ``verify_mailbox`` with the same window finds everything in place.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import imapclient
from sqlalchemy import update

from mailferry.connection.auth import Credentials
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.engine.verify import verify_mailbox
from mailferry.rig import DovecotServer, RigAccount
from mailferry.state import StateStore
from mailferry.state.schema import folders
from mailferry.stores.imap_source import ImapSource, open_imap_source
from mailferry.stores.imap_target import ImapTarget, open_imap_target
from mailferry.values.content_filter import ReceivedWindow, parse_content_filter
from mailferry.values.results import FolderResult, MailboxResult
from mailferry.values.sync_options import SyncOptions
from mailferry.values.verify_report import VerifyReport
from tests.conftest import MakeUser
from tests.stores.conftest import connect_options

UTC = dt.UTC
KEY = "content-filter"
SINCE_2020 = parse_content_filter("Received -ge '2020-01-01'")
SINCE_JUNE_2019 = parse_content_filter("Received -ge '6/15/2019'")  # M/d/yyyy
SINCE_2021 = parse_content_filter("Received -ge '2021-01-01'")
MAIL = {  # folder -> (subject, INTERNALDATE)
    "INBOX": [("old one", dt.datetime(2019, 5, 1, 8, tzinfo=UTC)),
              ("old two", dt.datetime(2019, 11, 1, 8, tzinfo=UTC)),
              ("new one", dt.datetime(2020, 6, 1, 8, tzinfo=UTC)),
              ("new two", dt.datetime(2021, 2, 1, 8, tzinfo=UTC))],
    "Sent": [("old three", dt.datetime(2019, 7, 1, 8, tzinfo=UTC)),
             ("new three", dt.datetime(2020, 9, 1, 8, tzinfo=UTC))],
}  # fmt: skip


def message(subject: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@filter.test>\r\n\r\n{subject}\r\n"
    ).encode()


def imap(server: DovecotServer, account: RigAccount) -> imapclient.IMAPClient:
    client = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False)
    client.login(account.name, account.password)
    return client


def fill_source(server: DovecotServer, account: RigAccount) -> None:
    with imap(server, account) as client:
        if not client.folder_exists("Sent"):
            client.create_folder("Sent")
        for folder, mail in MAIL.items():
            for subject, when in mail:
                client.append(folder, message(subject), (b"\\Seen",), when)


def target_mail(server: DovecotServer, account: RigAccount) -> dict[str, dict[str, set[str]]]:
    """Target folder -> subject -> flags."""
    found: dict[str, dict[str, set[str]]] = {}
    with imap(server, account) as client:
        for folder in ("INBOX", "Sent"):
            if not client.folder_exists(folder):
                continue
            client.select_folder(folder, readonly=True)
            data = client.fetch(
                client.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]
            )
            found[folder] = {
                bytes(item[b"BODY[HEADER.FIELDS (SUBJECT)]"]).decode().split(":", 1)[1].strip(): {
                    flag.decode() for flag in item[b"FLAGS"] if flag != b"\\Recent"
                }
                for item in data.values()
            }
    return found


class Rig:
    """Runs syncs and verifications of one user with a state database."""

    def __init__(self, source: DovecotServer, target: DovecotServer, account: RigAccount,
                 state: Path) -> None:  # fmt: skip
        self.source, self.target, self.account, self.state = source, target, account, state

    async def _stores(self) -> tuple[ImapSource, ImapTarget]:
        credentials = Credentials(self.account.name, self.account.password)
        source = await open_imap_source(connect_options(self.source), credentials)
        target = await open_imap_target(connect_options(self.target), credentials)
        return source, target

    def sync(self, window: ReceivedWindow | None, **options: Any) -> MailboxResult:
        async def main() -> MailboxResult:
            source, target = await self._stores()
            try:
                with StateStore.open(f"sqlite:///{self.state}") as state:
                    return await sync_mailbox(
                        source, target, state, KEY, folder_options=FolderOptions(),
                        options=SyncOptions(received=window, batch_linger=0, **options),
                    )  # fmt: skip
            finally:
                await source.close()
                await target.close()

        result = asyncio.run(main())
        assert result.errors == {}
        return result

    def verify(self, window: ReceivedWindow | None) -> VerifyReport:
        async def main() -> VerifyReport:
            source, target = await self._stores()
            try:
                return await verify_mailbox(
                    source, target, folder_options=FolderOptions(),
                    options=SyncOptions(received=window),
                )  # fmt: skip
            finally:
                await source.close()
                await target.close()

        return asyncio.run(main())

    def set_scope(self, window: ReceivedWindow | None) -> None:
        """Overwrite every checkpoint's scope, as if it had been made under ``window``."""
        text = "" if window is None else window.text()
        with StateStore.open(f"sqlite:///{self.state}") as state, state.engine.begin() as c:
            c.execute(update(folders).values(scope=text))

    def scopes(self) -> dict[str, str]:
        with StateStore.open(f"sqlite:///{self.state}") as state:
            return {f.source_folder: f.scope for f in state.folders(state.mailbox_id(KEY))}


def by_folder(result: MailboxResult) -> dict[str, FolderResult]:
    return {f.source_folder: f for f in result.folders}


def counts(result: MailboxResult, field: str) -> dict[str, object]:
    return {name: getattr(f, field) for name, f in by_folder(result).items()}


def test_a_changing_filter_copies_what_it_now_admits_and_never_deletes(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    account = make_user("filter")
    fill_source(dovecot_source, account)
    rig = Rig(dovecot_source, dovecot_target, account, tmp_path / "state.db")

    first = rig.sync(SINCE_2020)
    assert counts(first, "copied") == {"INBOX": 2, "Sent": 1}
    assert counts(first, "filtered") == {"INBOX": 2, "Sent": 1}
    assert (first.filtered, first.skipped, first.items) == (3, 0, 6)
    assert target_mail(dovecot_target, account) == {
        "INBOX": {"new one": {"\\Seen"}, "new two": {"\\Seen"}},
        "Sent": {"new three": {"\\Seen"}},
    }
    assert rig.scopes() == {"INBOX": SINCE_2020.text(), "Sent": SINCE_2020.text()}
    assert rig.verify(SINCE_2020).ok
    unfiltered = rig.verify(None)  # without the window, the old mail is missing
    assert (unfiltered.ok, unfiltered.missing) == (False, 3)

    again = rig.sync(SINCE_2020)
    assert all(f.unchanged for f in again.folders) and again.copied == 0

    # Broader, nothing changed on the source: the no-op check must not trust the checkpoint.
    rig.set_scope(SINCE_JUNE_2019)
    blind = rig.sync(SINCE_JUNE_2019, dry_run=True)
    assert all(f.unchanged for f in blind.folders) and blind.copied == 0  # would miss 2
    rig.set_scope(SINCE_2020)
    broader = rig.sync(SINCE_JUNE_2019)
    assert counts(broader, "copied") == {"INBOX": 1, "Sent": 1}
    assert counts(broader, "filtered") == {"INBOX": 1, "Sent": 0}
    assert counts(broader, "unchanged") == {"INBOX": False, "Sent": False}
    assert rig.scopes() == {"INBOX": SINCE_JUNE_2019.text(), "Sent": SINCE_JUNE_2019.text()}

    # No filter at all, and INBOX grew: the CHANGEDSINCE listing must not be used either.
    with imap(dovecot_source, account) as client:
        client.append("INBOX", message("newest"), (), dt.datetime(2022, 1, 1, tzinfo=UTC))
    rig.set_scope(None)
    blind = rig.sync(None, dry_run=True)
    assert counts(blind, "copied") == {"INBOX": 1, "Sent": 0}  # only "newest": "old one" missed
    rig.set_scope(SINCE_JUNE_2019)
    everything = rig.sync(None)
    assert counts(everything, "copied") == {"INBOX": 2, "Sent": 0}
    assert everything.filtered == 0 and rig.scopes() == {"INBOX": "", "Sent": ""}
    complete = target_mail(dovecot_target, account)
    assert sorted(complete["INBOX"]) == ["new one", "new two", "newest", "old one", "old two"]
    assert sorted(complete["Sent"]) == ["new three", "old three"]

    # Narrower: nothing is deleted, even with deletion propagation; old copies keep in step.
    with imap(dovecot_source, account) as client:
        client.select_folder("INBOX")
        (uid,) = client.search(["SUBJECT", "old two"])
        client.add_flags([uid], [b"\\Flagged"])
    narrow = rig.sync(SINCE_2021, propagate_deletions=True)
    assert (narrow.copied, sum(f.forgotten for f in narrow.folders)) == (0, 0)
    assert (narrow.flags_updated, narrow.already_present) == (1, 7)
    after = target_mail(dovecot_target, account)
    assert after["INBOX"]["old two"] == {"\\Seen", "\\Flagged"}
    assert {folder: set(mail) for folder, mail in after.items()} == {
        folder: set(mail) for folder, mail in complete.items()
    }
    report = rig.verify(SINCE_2021)
    assert report.ok, report
    inbox = {f.source_folder: f for f in report.folders}["INBOX"]
    assert (inbox.expected, inbox.filtered, inbox.target_count) == (2, 3, 5)
    assert all(skip.on_target for skip in inbox.policy_skipped if skip.kind == "Filtered")
