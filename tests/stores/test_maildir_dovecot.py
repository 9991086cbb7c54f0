"""What MaildirTarget writes, served by a real Dovecot and read back over IMAP.

The rig's Dovecot serves ``maildir:~/Maildir`` from each user's home; it has no
``mail_location = maildir:<root>/%u`` option, so the user's ``Maildir`` is a
symbolic link to ``<root>/<address>``, the directory MaildirTarget wrote.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections import Counter
from pathlib import Path

import imapclient
import pytest

from mailferry.connection.body import MessageBody
from mailferry.rig.corpus import CorpusSpec, GeneratedMessage, generate
from mailferry.rig.dovecot import DovecotServer
from mailferry.stores.base import Appended, AppendItem, MessageMeta
from mailferry.stores.maildir_target import MaildirTarget
from tests.stores.conftest import new_user

_BARE_LF = re.compile(rb"(?<!\r)\n")
EXTRA_FOLDERS = ("A&B", "del\x7fete", "Tom", "Ünïcødé.😀.deep")
KEYWORDS = ("$Forwarded", "$Junk", "Custom1", "Vigtigt")


def target_folder(message: GeneratedMessage) -> str:
    return message.folder.replace("/", ".")


def as_dovecot_shows(data: bytes) -> bytes:
    return _BARE_LF.sub(b"\r\n", data)


@pytest.fixture(scope="module")
def written(
    dovecot_source: DovecotServer, rig_session_root: Path
) -> tuple[str, str, list[GeneratedMessage]]:
    """A corpus written by MaildirTarget, then handed to Dovecot as a user's Maildir."""
    root = rig_session_root / "maildir-target"
    address, password = new_user(dovecot_source, "maildir")
    messages = list(generate(CorpusSpec(seed=21, messages=60, malformed_fraction=0.2)))
    messages[0] = GeneratedMessage(
        "Tom", messages[0].data, KEYWORDS, messages[0].internaldate, "kw", None, 0, 0
    )

    async def write() -> None:
        mailbox = MaildirTarget(root).mailbox(address)
        try:
            for folder in sorted({target_folder(m) for m in messages} | set(EXTRA_FOLDERS)):
                await mailbox.ensure_folder(folder)
            for message in messages:
                item = AppendItem(
                    MessageBody.from_bytes(message.data), message.flags, message.internaldate
                )
                [outcome] = await mailbox.append(target_folder(message), [item])
                assert isinstance(outcome, Appended)
        finally:
            await mailbox.close()

    asyncio.run(write())
    maildir = dovecot_source.user_mail_dir(address)
    maildir.parent.mkdir(parents=True, exist_ok=True)
    maildir.symlink_to(root / address)
    dovecot_source.give_to_mail_user(dovecot_source.user_home(address))
    dovecot_source.give_to_mail_user(root)
    return address, password, messages


def login(server: DovecotServer, address: str, password: str) -> imapclient.IMAPClient:
    client = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False)
    client.login(address, password)
    return client


def test_dovecot_shows_every_folder_by_its_name(
    dovecot_source: DovecotServer, written: tuple[str, str, list[GeneratedMessage]]
) -> None:
    address, password, messages = written
    expected = {target_folder(m) for m in messages} | set(EXTRA_FOLDERS) | {"Ünïcødé"}
    with login(dovecot_source, address, password) as client:
        listed = {name for _, _, name in client.list_folders()}
        subscribed = {name for _, _, name in client.list_sub_folders()}
    assert expected <= listed
    assert (expected - {"INBOX"}) <= subscribed


def test_dovecot_serves_the_same_bytes_flags_keywords_and_dates(
    dovecot_source: DovecotServer, written: tuple[str, str, list[GeneratedMessage]]
) -> None:
    address, password, messages = written
    got: Counter[tuple[object, ...]] = Counter()
    with login(dovecot_source, address, password) as client:
        for folder in sorted({target_folder(m) for m in messages}):
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]"])
            for data in fetched.values():
                body = bytes(data[b"BODY[]"])
                assert data[b"RFC822.SIZE"] == len(body)
                flags = {f.decode() for f in data[b"FLAGS"]} - {"\\Recent"}
                stamp = data[b"INTERNALDATE"].replace(tzinfo=_local_zone()).timestamp()
                got[(folder, body, frozenset(flags), int(stamp))] += 1
    want = Counter(
        (
            target_folder(m),
            as_dovecot_shows(m.data),
            frozenset(m.flags),
            int(m.internaldate.timestamp()),
        )
        for m in messages
    )
    assert got == want
    assert any(set(KEYWORDS) == set(flags) for _, _, flags, _ in got)


def _local_zone() -> dt.tzinfo:
    """imapclient turns INTERNALDATE into naive local time."""
    zone = dt.datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def test_our_uids_survive_dovecot_and_its_own_mail_is_adopted(
    dovecot_source: DovecotServer,
    written: tuple[str, str, list[GeneratedMessage]],
    rig_session_root: Path,
) -> None:
    address, password, _ = written
    root = rig_session_root / "maildir-target"

    async def listing() -> list[MessageMeta]:
        mailbox = MaildirTarget(root).mailbox(address)
        try:
            return (await mailbox.list_messages("Tom"))[1]
        finally:
            await mailbox.close()

    before = asyncio.run(listing())
    with login(dovecot_source, address, password) as client:
        client.select_folder("Tom")
        client.add_flags(client.search(["ALL"]), [b"\\Answered"])
        client.append("Tom", b"Subject: from Dovecot\r\nMessage-ID: <dc@x>\r\n\r\nHi\r\n")
    after = asyncio.run(listing())
    again = asyncio.run(listing())
    assert [m.uid for m in after[: len(before)]] == [m.uid for m in before]
    assert all("\\Answered" in m.flags for m in after[: len(before)])
    assert len(after) == len(before) + 1 and after[-1].uid > before[-1].uid
    assert after[-1].size == len(b"Subject: from Dovecot\r\nMessage-ID: <dc@x>\r\n\r\nHi\r\n")
    assert again == after
