"""Re-runs against the real servers: a second run changes nothing (and costs one STATUS
per folder), a run after new, re-flagged and expunged source mail carries exactly those
changes, and deletions reach the target only with ``propagate_deletions``."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from pathlib import Path

import imapclient
import pytest

from mailferry.connection.auth import Credentials
from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from mailferry.stores.imap_source import ImapSource
from mailferry.stores.imap_target import ImapTarget
from mailferry.values.results import MailboxResult
from mailferry.values.sync_options import SyncOptions
from tests.conftest import MakeUser
from tests.integration.mailview import (
    Login,
    Mail,
    View,
    count,
    differences,
    imap_session,
    migrated,
    non_empty,
    read_view,
    to_mail,
)
from tests.integration.support import open_master_target, open_source, run_sync

NEW_DATE = dt.datetime(2025, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
READ_ONLY_COMMANDS = {"LIST", "NAMESPACE", "STATUS", "LOGOUT"}


def new_message(number: int) -> bytes:
    return (
        f"From: Ny Afsender <ny@example.dk>\r\nTo: terry@example.com\r\n"
        f"Subject: Ny besked {number}\r\nMessage-ID: <incremental-{number}@example.dk>\r\n"
        f"Date: Mon, 3 Feb 2025 04:05:06 +0000\r\n\r\nNummer {number}\r\n"
    ).encode()


class CommandLog:
    """Records the name of every command a store's connection sends."""

    def __init__(self, store: ImapSource | ImapTarget) -> None:
        self.names: Counter[str] = Counter()
        connection = store.client.connection
        send = connection.send

        async def counting(name: str, *args: object, **kwargs: object) -> object:
            self.names[name] += 1
            return await send(name, *args, **kwargs)  # type: ignore[arg-type]

        connection.send = counting  # type: ignore[method-assign]


@pytest.fixture
def account(dovecot_source: DovecotServer, make_user: MakeUser) -> RigAccount:
    user = make_user("incremental")
    spec = CorpusSpec(seed=4242, messages=60, deleted_fraction=0.05)
    dovecot_source.write_maildir(user.name, generate(spec))
    return user


Changes = dict[str, set[Mail]]


def change_the_source(server: DovecotServer, user: RigAccount) -> Changes:
    """5 new messages, \\Flagged set on 3, \\Seen removed from 2, 4 expunged.

    Returns the changed messages as they are now ("expunged": as they were).
    """
    changes: Changes = {"flagged": set(), "unseen": set(), "expunged": set()}
    with imap_session(server, Login(user.name, user.password)) as client:
        for number in range(5):
            folder = "INBOX" if number < 3 else "R&D"
            client.append(folder, new_message(number), (b"$Forwarded",) * (number % 2), NEW_DATE)
        candidates = _candidates(client)
        assert len(candidates) >= 9, "the corpus is too small for this test"
        for folder, uid in candidates[5:9]:
            client.select_folder(folder)
            changes["expunged"].add(_fetch_one(client, uid))
            client.add_flags([uid], [b"\\Deleted"])
            client.uid_expunge([uid])  # only this one: the corpus has \Deleted mail too
        for position, (folder, uid) in enumerate(candidates[:5]):
            client.select_folder(folder)
            if position < 3:
                client.add_flags([uid], [b"\\Flagged"])
            else:
                client.remove_flags([uid], [b"\\Seen"])
            changes["flagged" if position < 3 else "unseen"].add(_fetch_one(client, uid))
    return changes


def _fetch_one(client: imapclient.IMAPClient, uid: int) -> Mail:
    return to_mail(client.fetch([uid], ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"])[uid])


def _candidates(client: imapclient.IMAPClient) -> list[tuple[str, int]]:
    """Messages that are \\Seen and neither \\Flagged nor \\Deleted, across folders."""
    found: list[tuple[str, int]] = []
    for folder in ("INBOX", "Sent", "Archive", "Trash", "Junk"):
        client.select_folder(folder, readonly=True)
        uids = client.search(["SEEN", "UNFLAGGED", "UNDELETED"])
        found += [(folder, uid) for uid in uids[:3]]
    return found


def test_second_run_changes_nothing_then_exactly_the_source_changes_arrive(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    account: RigAccount,
    tmp_path: Path,
) -> None:
    owner = account.name
    state = tmp_path / "state.db"
    source_login = Login(owner, account.password)
    target_login = Login(owner, account.password)

    async def sync(options: SyncOptions | None = None, *, logged: bool = False) -> MailboxResult:
        source = await open_source(dovecot_source, Credentials(owner, account.password))
        target = await open_master_target(dovecot_target, owner)
        logs = (CommandLog(source), CommandLog(target)) if logged else None
        try:
            result = await run_sync(source, target, state, "incremental", options)
        finally:
            await source.close()
            await target.close()
        if logs is not None:
            check_no_op_commands(result, *logs)
        return result

    first = asyncio.run(sync())
    before = read_view(dovecot_source, source_login)
    assert first.copied == count(migrated(before)) > 40
    assert any(m.deleted for c in before.values() for m in c)  # \Deleted ones stay behind
    target_first = non_empty(read_view(dovecot_target, target_login))
    assert differences(migrated(before), target_first) == []

    started = time.monotonic()
    again = asyncio.run(sync(logged=True))
    assert time.monotonic() - started < 5.0
    assert (again.copied, again.flags_updated, again.skipped) == (0, 0, 0)
    assert non_empty(read_view(dovecot_target, target_login)) == target_first

    changes = change_the_source(dovecot_source, account)
    third = asyncio.run(sync())
    after = read_view(dovecot_source, source_login)
    assert (third.copied, third.flags_updated) == (5, 5)
    assert sum(f.forgotten for f in third.folders) == 4
    on_target = non_empty(read_view(dovecot_target, target_login))
    for group in ("flagged", "unseen"):
        assert all(mail in _all(on_target) for mail in changes[group]), group
    expected = _with(migrated(after), changes["expunged"], target_first)
    assert differences(expected, on_target) == []


def check_no_op_commands(result: MailboxResult, source: CommandLog, target: CommandLog) -> None:
    """The no-op run asks the source one STATUS per folder and writes nothing; the target
    is asked one STATUS per folder whether it still holds what the state says."""
    assert set(source.names) <= READ_ONLY_COMMANDS, source.names
    assert source.names["STATUS"] == len(result.folders)
    assert set(target.names) <= {"LIST", "NAMESPACE", "STATUS", "LOGOUT"}, target.names
    assert target.names["STATUS"] == len(result.folders)


def _all(view: View) -> Counter[Mail]:
    found: Counter[Mail] = Counter()
    for mails in view.values():
        found.update(mails)
    return found


def _with(view: View, extra: set[Mail], where: View) -> View:
    """``view`` plus the ``extra`` mails, each in the folder ``where`` holds it in."""
    result = {folder: Counter(mails) for folder, mails in view.items()}
    for mail in extra:
        folder = next(name for name, mails in where.items() if mail in mails)
        result.setdefault(folder, Counter())[mail] += 1
    return result


def test_propagate_deletions_removes_what_the_source_expunged(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    account: RigAccount,
    tmp_path: Path,
) -> None:
    owner = account.name
    state = tmp_path / "state.db"
    login = Login(owner, account.password)

    def sync(options: SyncOptions) -> MailboxResult:
        async def run() -> MailboxResult:
            source = await open_source(dovecot_source, Credentials(owner, account.password))
            target = await open_master_target(dovecot_target, owner)
            try:
                return await run_sync(source, target, state, "propagate", options)
            finally:
                await source.close()
                await target.close()

        return asyncio.run(run())

    propagate = SyncOptions(propagate_deletions=True)
    sync(propagate)
    changes = change_the_source(dovecot_source, account)
    result = sync(propagate)
    assert (result.copied, result.flags_updated) == (5, 5)
    assert sum(f.forgotten for f in result.folders) == 4
    on_target = non_empty(read_view(dovecot_target, login))
    assert not changes["expunged"] & set(_all(on_target))
    assert differences(migrated(read_view(dovecot_source, login)), on_target) == []
