"""Maildir target specifics: its own UIDs, files it did not write, keyword limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

from mailferry.connection.body import MessageBody
from mailferry.stores.base import Appended, AppendItem
from mailferry.stores.maildir_folder import STATE_FILE
from mailferry.stores.maildir_target import MaildirMailbox, MaildirTarget

ADDRESS = "ann@example.com"
DATE = dt.datetime(2021, 6, 7, 8, 9, 10, tzinfo=dt.UTC)


def item(n: int, flags: tuple[str, ...] = ()) -> AppendItem:
    data = f"Message-ID: <{n}@x>\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode()
    return AppendItem(MessageBody.from_bytes(data), flags, DATE)


def uids(outcomes: list[object]) -> list[int | None]:
    return [o.target_uid if isinstance(o, Appended) else None for o in outcomes]


def with_mailbox(root: Path, scenario):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        mailbox = MaildirTarget(root).mailbox(ADDRESS)
        try:
            return await scenario(mailbox)
        finally:
            await mailbox.close()

    return asyncio.run(main())


def test_uids_and_uidvalidity_persist_across_sessions(tmp_path: Path) -> None:
    async def first(mailbox: MaildirMailbox) -> tuple[int, list[int | None]]:
        await mailbox.ensure_folder("Work")
        outcomes = await mailbox.append("Work", [item(1), item(2)])
        return (await mailbox.folder_status("Work")).uidvalidity, uids(outcomes)

    async def second(mailbox: MaildirMailbox) -> tuple[int, list[int | None], list[int]]:
        outcomes = await mailbox.append("Work", [item(3)])
        status, metas = await mailbox.list_messages("Work")
        return status.uidvalidity, uids(outcomes), [m.uid for m in metas]

    validity, early = with_mailbox(tmp_path, first)
    again, late, listed = with_mailbox(tmp_path, second)
    assert early == [1, 2] and late == [3] and listed == [1, 2, 3] and again == validity


def test_deleted_uids_are_never_reused(tmp_path: Path) -> None:
    async def scenario(mailbox: MaildirMailbox) -> list[int | None]:
        await mailbox.append("INBOX", [item(1), item(2)])
        await mailbox.delete("INBOX", [2])
        return uids(await mailbox.append("INBOX", [item(3)]))

    assert with_mailbox(tmp_path, scenario) == [3]


def test_files_written_by_others_get_stable_uids(tmp_path: Path) -> None:
    async def ours(mailbox: MaildirMailbox) -> None:
        await mailbox.ensure_folder("Work")
        await mailbox.append("Work", [item(1)])

    with_mailbox(tmp_path, ours)
    folder = tmp_path / ADDRESS / ".Work"
    newer = folder / "new" / "1600000000.M1P2.otherhost"
    older = folder / "cur" / "1500000000.M9P9.otherhost,S=17,W=20:2,S"
    newer.write_bytes(b"Subject: new\n\nx\n")
    older.write_bytes(b"Subject: o\n\nxyz\n")
    os.utime(newer, (1600000000, 1600000000))
    os.utime(older, (1500000000, 1500000000))
    ours_size = item(1).body.size

    async def listing(mailbox: MaildirMailbox) -> list[tuple[int, tuple[str, ...], int]]:
        _, metas = await mailbox.list_messages("Work")
        return [(m.uid, m.flags, m.size) for m in metas]

    first = with_mailbox(tmp_path, listing)
    # the older foreign file first; Dovecot's W= is the size IMAP shows; else the file's size
    assert first == [(1, (), ours_size), (2, ("\\Seen",), 20), (3, (), 16)]
    assert with_mailbox(tmp_path, listing) == first

    async def flag_and_append(mailbox: MaildirMailbox) -> list[int | None]:
        await mailbox.set_flags("Work", {3: ("\\Flagged",)})
        return uids(await mailbox.append("Work", [item(4)]))

    assert with_mailbox(tmp_path, flag_and_append) == [4]
    expected = [*first[:2], (3, ("\\Flagged",), 16), (4, (), item(4).body.size)]
    assert with_mailbox(tmp_path, listing) == expected


def test_a_copy_of_our_file_from_another_folder_is_foreign_here(tmp_path: Path) -> None:
    async def scenario(mailbox: MaildirMailbox) -> list[int]:
        await mailbox.ensure_folder("A")
        await mailbox.ensure_folder("B")
        await mailbox.append("A", [item(1)])
        await mailbox.append("B", [item(2)])
        [source] = (tmp_path / ADDRESS / ".A" / "cur").iterdir()
        os.link(source, tmp_path / ADDRESS / ".B" / "cur" / source.name)  # as Dovecot's MOVE does
        _, metas = await mailbox.list_messages("B")
        return [m.uid for m in metas]

    assert with_mailbox(tmp_path, scenario) == [1, 2]


def test_a_lost_uid_file_means_a_new_uidvalidity(tmp_path: Path) -> None:
    async def scenario(mailbox: MaildirMailbox) -> tuple[int, int, list[int]]:
        await mailbox.append("INBOX", [item(1), item(2)])
        before = (await mailbox.folder_status("INBOX")).uidvalidity
        (tmp_path / ADDRESS / STATE_FILE).unlink()
        status, metas = await mailbox.list_messages("INBOX")
        return before, status.uidvalidity, [m.uid for m in metas]

    before, after, listed = with_mailbox(tmp_path, scenario)
    assert after > before and listed == [1, 2]


def test_a_folder_keeps_at_most_26_keywords(tmp_path: Path) -> None:
    keywords = tuple(f"Kw{n}" for n in range(27))

    async def scenario(mailbox: MaildirMailbox) -> None:
        [outcome] = await mailbox.append("INBOX", [item(1, keywords)])
        assert isinstance(outcome, Appended)
        status, [meta] = await mailbox.list_messages("INBOX")
        assert set(meta.flags) == set(keywords[:26])
        assert not status.keeps("Kw26") and not status.keeps("Other")
        assert status.keeps("Kw25") and status.keeps("\\Seen")

    with_mailbox(tmp_path, scenario)
    lines = (tmp_path / ADDRESS / "dovecot-keywords").read_text().splitlines()
    assert lines[0] == "0 Kw0" and lines[-1] == "25 Kw25" and len(lines) == 26


def test_two_sessions_never_hand_out_the_same_uid(tmp_path: Path) -> None:
    async def main() -> list[int | None]:
        one = MaildirTarget(tmp_path).mailbox(ADDRESS)
        two = MaildirTarget(tmp_path).mailbox(ADDRESS)
        try:
            batches = await asyncio.gather(
                *(
                    box.append("INBOX", [item(n), item(n + 100)])
                    for n in range(10)
                    for box in (one, two)
                )
            )
            return [uid for batch in batches for uid in uids(batch)]
        finally:
            await one.close()
            await two.close()

    handed_out = asyncio.run(main())
    assert sorted(u for u in handed_out if u is not None) == list(range(1, 41))


def test_a_killed_writers_tmp_files_are_swept_others_kept(tmp_path: Path) -> None:
    async def first(mailbox: MaildirMailbox) -> list[int | None]:
        await mailbox.ensure_folder("Work")
        return uids(await mailbox.append("Work", [item(1)]))

    async def listing(mailbox: MaildirMailbox) -> list[int]:
        _, metas = await mailbox.list_messages("Work")
        return [m.uid for m in metas]

    assert with_mailbox(tmp_path, first) == [1]
    tmp = tmp_path / ADDRESS / ".Work" / "tmp"
    ours = tmp / "1622999350.M2V1234.mailferry,S=40,W=41"  # written, never moved: killed
    dovecots = tmp / "1700000000.M5P77.host"  # another program's, maybe in use
    ours.write_bytes(b"half a message")
    dovecots.write_bytes(b"being delivered")
    assert with_mailbox(tmp_path, listing) == [1]
    assert not ours.exists() and dovecots.exists()
