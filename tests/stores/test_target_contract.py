"""The one contract every target store honours: Maildir and IMAP (on a real Dovecot)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from mailferry.connection.body import MessageBody
from mailferry.errors import FolderError
from mailferry.stores.base import Appended, AppendItem, TargetMailbox
from tests.stores.target_harness import TargetHarness, imap_harness, maildir_harness

CET = dt.timezone(dt.timedelta(hours=1))
PST = dt.timezone(dt.timedelta(hours=-8))

FIRST = (
    b"From: Ann <ann@example.com>\r\nTo: bo@example.com\r\nSubject: keywords\r\n"
    b"Message-ID: <first@example.com>\r\nDate: Thu, 4 Mar 2021 05:06:07 +0100\r\n\r\nHello.\r\n"
)
SECOND = (
    b"From: bo@example.com\r\nSubject: seen and flagged\r\nMessage-ID:\r\n"
    b"  <second@example.com>\r\n\r\nA folded Message-ID header.\r\n"
)
THIRD = "From: Åse <åse@example.dk>\nSubject: blåbærgrød\n\n8-bit body, bare LF: æøå\n".encode()

ITEMS = [
    (FIRST, ("$Forwarded", "Custom1"), dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=CET)),
    (SECOND, ("\\Seen", "\\Flagged"), dt.datetime(2019, 12, 31, 23, 59, 59, tzinfo=PST)),
    (THIRD, (), dt.datetime(2010, 1, 1, 0, 0, 0, tzinfo=dt.UTC)),
]
IDS = ["<first@example.com>", "<second@example.com>", None]


def items() -> list[AppendItem]:
    return [AppendItem(MessageBody.from_bytes(data), flags, date) for data, flags, date in ITEMS]


@pytest.fixture(params=["maildir", "imap"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> TargetHarness:
    if request.param == "maildir":
        return maildir_harness(tmp_path / "maildir")
    return imap_harness(request.getfixturevalue("dovecot_target"))


def run(harness: TargetHarness, scenario: Callable[[TargetMailbox], Awaitable[None]]) -> None:
    async def main() -> None:
        target = await harness.open()
        try:
            await scenario(target)
        finally:
            await target.close()

    asyncio.run(main())


async def filled(target: TargetMailbox, folder: str) -> list[int]:
    await target.ensure_folder(folder)
    outcomes = await target.append(folder, items())
    assert all(isinstance(outcome, Appended) for outcome in outcomes)
    uids = [outcome.target_uid for outcome in outcomes if isinstance(outcome, Appended)]
    assert all(uid is not None for uid in uids)
    return [uid for uid in uids if uid is not None]


def test_ensure_folder_creates_nested_and_non_ascii_folders(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        d = target.delimiter
        names = ["Økonomi & Løn", f"Indbakke{d}Æbler", f"Projekter{d}2024{d}Q1"]
        for name in names:
            await target.ensure_folder(name)
            await target.ensure_folder(name)  # a second time is fine
        await target.ensure_folder("INBOX")
        listed = {folder.name for folder in await target.list_folders()}
        assert {*names, "INBOX", "Indbakke", "Projekter", f"Projekter{d}2024"} <= listed
        for name in names:
            status = await target.folder_status(name)
            assert (status.messages, status.uidnext) == (0, 1)

    run(harness, scenario)


def test_append_then_list_gives_sizes_flags_dates_and_ids(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        folder = f"Indbakke{target.delimiter}Æbler"
        uids = await filled(target, folder)
        assert uids == sorted(uids) and len(set(uids)) == 3
        status, metas = await target.list_messages(folder)
        assert [meta.uid for meta in metas] == uids
        assert status.messages == 3 and status.uidnext > uids[-1]
        for meta, (data, flags, date) in zip(metas, ITEMS, strict=True):
            assert meta.size == len(harness.stored_form(data))
            assert set(meta.flags) == set(flags)
            assert meta.internaldate.tzinfo is not None
            assert meta.internaldate.timestamp() == date.timestamp()
        ids = await target.message_ids(folder, uids)
        assert [ids[uid] for uid in uids] == IDS

    run(harness, scenario)


def test_bytes_read_back_are_identical(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        uids = await filled(target, "Økonomi & Løn")
        for uid, (data, _, _) in zip(uids, ITEMS, strict=True):
            assert harness.read("Økonomi & Løn", uid) == harness.stored_form(data)

    run(harness, scenario)


def test_uidnext_grows_with_every_append(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        await target.ensure_folder("Arkiv")
        before = await target.folder_status("Arkiv")
        first = await filled(target, "Arkiv")
        middle = await target.folder_status("Arkiv")
        second = await filled(target, "Arkiv")
        after = await target.folder_status("Arkiv")
        assert before.uidnext <= first[0] and middle.uidnext <= second[0]
        assert before.uidnext < middle.uidnext < after.uidnext
        assert max(first) < min(second) and after.messages == 6
        assert before.uidvalidity == after.uidvalidity

    run(harness, scenario)


def test_list_messages_from_min_uid(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        uids = await filled(target, "INBOX")
        _, metas = await target.list_messages("INBOX", min_uid=uids[1])
        assert [meta.uid for meta in metas] == uids[1:]
        _, none = await target.list_messages("INBOX", min_uid=uids[-1] + 1)
        assert none == []

    run(harness, scenario)


def test_set_flags_replaces_the_flags(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        uids = await filled(target, "INBOX")
        changes = {
            uids[0]: ("\\Seen", "\\Answered"),
            uids[1]: (),
            uids[2]: ("$Junk", "\\Draft"),
        }
        await target.set_flags("INBOX", changes)
        _, metas = await target.list_messages("INBOX")
        assert {meta.uid: set(meta.flags) for meta in metas} == {
            uid: set(flags) for uid, flags in changes.items()
        }

    run(harness, scenario)


def test_delete_removes_exactly_the_given_messages(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        uids = await filled(target, "Trash")
        before = await target.folder_status("Trash")
        await target.delete("Trash", [uids[0], uids[2]])
        status, metas = await target.list_messages("Trash")
        assert [meta.uid for meta in metas] == [uids[1]]
        assert status.messages == 1 and status.uidnext == before.uidnext
        assert await target.message_ids("Trash", uids) == {uids[1]: IDS[1]}

    run(harness, scenario)


def test_unkept_flags_are_dropped_silently(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        body = MessageBody.from_bytes(FIRST)
        item = AppendItem(body, ("\\Recent", "\\Seen", "two words", "\\Bogus"), ITEMS[0][2])
        [outcome] = await target.append("INBOX", [item])
        assert isinstance(outcome, Appended)
        _, [meta] = await target.list_messages("INBOX")
        assert meta.flags == ("\\Seen",)

    run(harness, scenario)


def test_permanent_flags_keep_system_flags_and_keywords(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        status = await target.folder_status("INBOX")
        for flag in ("\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted", "$Forwarded"):
            assert status.keeps(flag), flag

    run(harness, scenario)


def test_a_missing_folder_is_a_folder_error(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        with pytest.raises(FolderError):
            await target.folder_status("Does not exist")
        with pytest.raises(FolderError):
            await target.list_messages("Does not exist")

    run(harness, scenario)


def test_message_ids_leave_out_unknown_uids(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        uids = await filled(target, "INBOX")
        found = await target.message_ids("INBOX", [uids[0], uids[-1] + 100])
        assert found == {uids[0]: IDS[0]}

    run(harness, scenario)


def test_a_name_the_store_cannot_hold_is_a_folder_error(harness: TargetHarness) -> None:
    async def scenario(target: TargetMailbox) -> None:
        name = f"Fine{target.delimiter}tab\there"
        with pytest.raises(FolderError) as caught:
            await target.ensure_folder(name)
        assert caught.value.folder == name
        listed = {folder.name for folder in await target.list_folders()}
        assert name not in listed

    run(harness, scenario)
