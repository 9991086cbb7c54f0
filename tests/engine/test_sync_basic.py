"""sync_mailbox on a real Maildir target and a real SQLite state: first sync, re-runs,
incremental changes, progress events, limits and dry runs."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from mailferry.engine.planner import ITEM_LIMIT, LARGE_ITEM
from mailferry.errors import FolderError
from mailferry.stores.base import FolderStatus
from mailferry.values.progress import (
    FolderFinished,
    FolderStarted,
    ItemSkipped,
    MailboxFinished,
    MailboxStarted,
    MessagesCopied,
)
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import BASE_DATE, MemorySource, make_message
from tests.engine.memory_target import MemoryTarget
from tests.engine.support import (
    KEY,
    check_invariants,
    maildir,
    open_state,
    sync,
    target_bodies,
    target_view,
)


def three_folders(condstore: bool = True) -> MemorySource:
    source = MemorySource(condstore=condstore)
    for name in ("INBOX", "Sent", "Work/Projects"):
        source.add_folder(name, ["\\Sent"] if name == "Sent" else [])
    for i in range(6):
        flags = ["\\Seen", "$Forwarded"] if i % 2 else []
        source.add("INBOX", make_message(f"inbox {i}", f"<in{i}@example.org>"), flags)
    source.add("Sent", make_message("sent", "<sent@example.org>"), ["\\Seen"])
    source.add("Sent", make_message("no id", None), ["\\Answered"])
    source.add("Work/Projects", make_message("dup", "<dup@example.org>"), [], BASE_DATE)
    source.add("Work/Projects", make_message("dup", "<dup@example.org>"), [], BASE_DATE)
    return source


@pytest.mark.parametrize("condstore", [True, False])
def test_first_sync_copies_everything_and_a_rerun_costs_one_round_trip_per_folder(
    tmp_path: Path, condstore: bool
):
    async def main() -> None:
        source, target = three_folders(condstore), maildir(tmp_path / "mail")
        options = SyncOptions(batch_count=4)
        with open_state(tmp_path / "state.db") as state:
            first = await sync(source, target, state, options)
            assert (first.copied, first.items, first.skipped) == (10, 10, 0)
            assert [f.target_folder for f in first.folders] == ["INBOX", "Sent", "Work.Projects"]
            await check_invariants(source, target, state, first, options, tmp_path / "mail")
            source.calls.clear()
            writes: list[str] = []
            state.write_hook = writes.append
            again = await sync(source, target, state, options)
            assert (again.copied, again.flags_updated, again.already_present) == (0, 0, 10)
            assert writes == []
            per_folder = {"status": 3} | ({} if condstore else {"list_messages": 3})
            assert dict(source.calls) == {"list_folders": 1, "personal_prefix": 1, **per_folder}
            assert all(f.unchanged == condstore for f in again.folders)
            await check_invariants(source, target, state, again, options, tmp_path / "mail")
        await target.close()

    asyncio.run(main())


def test_flags_and_internaldate_arrive_on_the_target(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), maildir(tmp_path / "mail")
        with open_state(tmp_path / "state.db") as state:
            await sync(source, target, state)
        _status, metas = await target.list_messages("Sent")
        got = sorted((m.internaldate, tuple(sorted(m.flags))) for m in metas)
        box = source.folders["Sent"]
        want = sorted((m.internaldate, tuple(sorted(m.flags))) for m in box.messages.values())
        assert got == want
        await target.close()

    asyncio.run(main())


def test_a_rerun_carries_exactly_the_added_flagged_and_expunged_mail(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), maildir(tmp_path / "mail")
        options = SyncOptions(batch_count=4, propagate_deletions=True)
        with open_state(tmp_path / "state.db") as state:
            await sync(source, target, state, options)
            source.add("INBOX", make_message("new 1", "<new1@example.org>"))
            source.add("INBOX", make_message("new 2", "<new2@example.org>"), ["\\Flagged"])
            source.set_flags("Sent", 1, ["\\Seen", "\\Flagged", "Work"])
            source.expunge("Work/Projects", 1)
            source.calls.clear()
            result = await sync(source, target, state, options)
            by_name = {f.source_folder: f for f in result.folders}
            assert (by_name["INBOX"].copied, by_name["INBOX"].flags_updated) == (2, 0)
            assert (by_name["Sent"].copied, by_name["Sent"].flags_updated) == (0, 1)
            assert (by_name["Work/Projects"].forgotten, by_name["Work/Projects"].items) == (1, 1)
            # INBOX only grew and Sent only changed flags: listed since their MODSEQ;
            # Work/Projects lost a message: listed in full.
            assert len(source.changed_since) == 2 and source.calls["list_messages"] == 3
            await check_invariants(source, target, state, result, options, tmp_path / "mail")
            source.set_flags("INBOX", 2, ["\\Deleted"])
            result = await sync(source, target, state, options)
            assert result.flags_updated == 1 and result.copied == 0
            assert len(source.changed_since) == 3
            await check_invariants(source, target, state, result, options, tmp_path / "mail")
        await target.close()

    asyncio.run(main())


def test_an_expunge_hidden_by_an_addition_is_still_seen(tmp_path: Path):
    """One message in, one out: MESSAGES is unchanged but UIDNEXT moved. The listing of
    changes alone would miss the expunge; the count check sends it to a full listing."""

    async def main() -> None:
        source, target = three_folders(), maildir(tmp_path / "mail")
        options = SyncOptions(propagate_deletions=True)
        with open_state(tmp_path / "state.db") as state:
            await sync(source, target, state, options)
            source.expunge("INBOX", 1)
            source.add("INBOX", make_message("swap", "<swap@example.org>"))
            source.calls.clear()
            result = await sync(source, target, state, options)
            inbox = {f.source_folder: f for f in result.folders}["INBOX"]
            assert (inbox.copied, inbox.forgotten) == (1, 1)
            assert source.calls["list_messages"] == 2  # the changes, then in full
            await check_invariants(source, target, state, result, options, tmp_path / "mail")
        await target.close()

    asyncio.run(main())


def test_progress_announces_totals_before_copying(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), maildir(tmp_path / "mail")
        events: list[object] = []
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, SyncOptions(batch_count=2), events)
        started = [e for e in events if isinstance(e, MailboxStarted)]
        assert len(started) == 1 and events.index(started[0]) == 0
        assert started[0].total_items == 10
        assert started[0].total_bytes == result.bytes_copied > 0
        copied = [e for e in events if isinstance(e, MessagesCopied)]
        assert sum(e.count for e in copied) == 10
        assert sum(e.bytes for e in copied) == result.bytes_copied
        assert [e.name for e in events if isinstance(e, FolderStarted)] == [
            "INBOX",
            "Sent",
            "Work/Projects",
        ]
        assert len([e for e in events if isinstance(e, FolderFinished)]) == 3
        assert isinstance(events[-1], MailboxFinished) and events[-1].result is result
        await target.close()

    asyncio.run(main())


def test_large_items_are_skipped_without_download_and_reported(tmp_path: Path):
    async def main() -> None:
        source = MemorySource()
        source.add_folder("INBOX")
        small = source.add("INBOX", make_message("small", "<s@x>"))
        big = source.add("INBOX", make_message("big", "<b@x>", "x" * 5000))
        target, events = maildir(tmp_path / "mail"), []
        options = SyncOptions(max_message_size=1000)
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, options, events)
            assert source.fetched == [small]
            assert [(i.kind, i.source_uid, i.folder) for i in result.skipped_items] == [
                (LARGE_ITEM, big, "INBOX")
            ]
            item = result.skipped_items[0]
            assert (item.subject, item.sender) == ("big", "a@example.org")  # headers only
            assert item.size == len(source.folders["INBOX"].messages[big].body)
            assert item.date == BASE_DATE + dt.timedelta(minutes=big)
            assert [e.item for e in events if isinstance(e, ItemSkipped)] == [item]
            assert state.skipped(state.mailbox_id(KEY)) == [item]
            await check_invariants(source, target, state, result, options, tmp_path / "mail")
        await target.close()

    asyncio.run(main())


def test_item_limit_keeps_the_newest_across_folders(tmp_path: Path):
    async def main() -> None:
        source = MemorySource()
        for name in ("INBOX", "Archive"):
            source.add_folder(name)
        dates = {"INBOX": [1, 5, 9], "Archive": [2, 6, 10]}
        for folder, days in dates.items():
            for day in days:
                when = BASE_DATE + dt.timedelta(days=day)
                source.add(folder, make_message(f"{folder} {day}", f"<{folder}{day}@x>"), [], when)
        target = maildir(tmp_path / "mail")
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, SyncOptions(max_items=4))
        assert result.copied == 4
        limited = sorted((i.folder, i.source_uid) for i in result.skipped_items)
        assert all(i.kind == ITEM_LIMIT for i in result.skipped_items)
        assert limited == [("Archive", 1), ("INBOX", 1)]  # days 1 and 2: the oldest two
        await target.close()

    asyncio.run(main())


def test_dry_run_plans_but_writes_nothing(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), MemoryTarget()
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, SyncOptions(dry_run=True))
            assert result.dry_run and result.copied == 10
            assert target.boxes == {}
            assert state.folders(state.mailbox_id(KEY)) == []
            assert source.fetched == []
            real = await sync(source, target, state)
            assert real.copied == 10
        await target.close()

    asyncio.run(main())


class VanishingSource(MemorySource):
    """A folder that LIST shows but that is gone by the time it is opened."""

    async def status(self, folder: str) -> FolderStatus:
        if folder == "Sent":
            raise FolderError(folder, "no such mailbox")
        return await super().status(folder)


def test_a_folder_error_skips_that_folder_only(tmp_path: Path):
    async def main() -> None:
        source = VanishingSource()
        source.add_folder("INBOX")
        source.add_folder("Sent")
        source.add("INBOX", make_message("hi", "<hi@x>"))
        source.add("Sent", make_message("sent", "<sent@x>"))
        target = MemoryTarget()
        events: list[object] = []
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, events=events)
        assert result.errors == {"Sent": "no such mailbox"}
        assert result.copied == 1 and len(target.bodies("INBOX")) == 1
        finished = [e.result.source_folder for e in events if isinstance(e, FolderFinished)]
        assert finished == ["INBOX", "Sent"]

    asyncio.run(main())


def test_first_sync_into_a_full_target_adopts_instead_of_copying(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), maildir(tmp_path / "mail")
        with open_state(tmp_path / "first.db") as state:
            await sync(source, target, state)
        source.add("INBOX", make_message("later", "<later@x>"))
        source.set_flags("INBOX", 1, ["\\Seen"])
        with open_state(tmp_path / "lost-and-new.db") as state:
            result = await sync(source, target, state)
            assert result.copied == 1
            assert sum(f.adopted for f in result.folders) == 10
            assert result.flags_updated == 1
            await check_invariants(source, target, state, result, SyncOptions(), tmp_path / "mail")
        await target.close()

    asyncio.run(main())


def test_source_uidvalidity_change_rematches_instead_of_recopying(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), maildir(tmp_path / "mail")
        with open_state(tmp_path / "state.db") as state:
            await sync(source, target, state)
            mapping = source.bump_uidvalidity("INBOX")
            source.bump_uidvalidity("Work/Projects")
            source.set_flags("INBOX", mapping[1], ["\\Flagged"])
            source.calls.clear()
            result = await sync(source, target, state)
            assert result.copied == 0 and result.flags_updated == 1
            assert source.calls["message_ids"] == 2
            await check_invariants(source, target, state, result, SyncOptions(), tmp_path / "mail")
        await target.close()

    asyncio.run(main())


def test_target_uidvalidity_change_refinds_the_copies(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), MemoryTarget()
        with open_state(tmp_path / "state.db") as state:
            await sync(source, target, state)
            target.new_uidvalidity("INBOX")
            source.set_flags("INBOX", 2, ["\\Draft"])
            result = await sync(source, target, state)
            assert result.copied == 0 and result.flags_updated == 1
            await check_invariants(source, target, state, result, SyncOptions())

    asyncio.run(main())


def test_without_uidplus_copies_are_found_again_by_fingerprint(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), MemoryTarget(uidplus=False)
        with open_state(tmp_path / "state.db") as state:
            first = await sync(source, target, state, SyncOptions(batch_count=3))
            assert first.copied == 10
            await check_invariants(source, target, state, first, SyncOptions())
            source.set_flags("Work/Projects", 2, ["\\Seen"])
            again = await sync(source, target, state)
            assert again.copied == 0 and again.flags_updated == 1
            await check_invariants(source, target, state, again, SyncOptions())

    asyncio.run(main())


def test_a_message_the_target_refuses_becomes_a_skipped_item(tmp_path: Path):
    from mailferry.stores.base import Rejected

    def refuse(data: bytes) -> Rejected | None:
        return Rejected("CorruptItem", "bare NUL in message") if b"poison" in data else None

    async def main() -> None:
        source = MemorySource()
        source.add_folder("INBOX")
        source.add("INBOX", make_message("fine", "<ok@x>"))
        bad = source.add("INBOX", make_message("=?utf-8?q?b=C3=A5d?=", "<bad@x>", "poison"))
        target = MemoryTarget(refuse=refuse)
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state)
            assert result.copied == 1 and len(target.bodies("INBOX")) == 1
            [item] = result.skipped_items
            assert (item.kind, item.source_uid, item.reason) == (
                "CorruptItem",
                bad,
                "bare NUL in message",
            )
            assert (item.subject, item.sender) == ("båd", "a@example.org")
            assert item.date == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
            record = state.folder(state.mailbox_id(KEY), "INBOX")
            assert record is not None and [p.source_uid for p in state.pairs(record.id)] == [1]
            assert state.skipped(state.mailbox_id(KEY)) == [item]

    asyncio.run(main())


def test_unkept_flags_are_reported_and_not_retried(tmp_path: Path):
    async def main() -> None:
        source = three_folders()
        target = MemoryTarget(permanent_flags=("\\Seen", "\\Answered"))
        with open_state(tmp_path / "state.db") as state:
            first = await sync(source, target, state)
            assert first.folders[0].unkept_flags == ("$Forwarded",)
            kept = [set(m.flags) for m in target.boxes["INBOX"].messages.values()]
            assert all(flags <= {"\\Seen", "\\Answered"} for flags in kept)
            source.calls.clear()
            target.calls.clear()
            again = await sync(source, target, state)
            assert again.flags_updated == 0 and again.copied == 0
            # The target is asked once per folder whether it still holds what the state
            # says (a state that outlived its target is never trusted on its word).
            assert dict(target.calls) == {"list_folders": 1, "folder_counts": 3}

    asyncio.run(main())


def test_the_target_sees_messages_byte_for_byte(tmp_path: Path):
    async def main() -> None:
        source, target = three_folders(), maildir(tmp_path / "mail")
        with open_state(tmp_path / "state.db") as state:
            await sync(source, target, state)
        wanted = {m.body for m in source.folders["INBOX"].messages.values()}
        from tests.engine.support import sha

        assert set(target_bodies(target, "INBOX", tmp_path / "mail")) == {sha(b) for b in wanted}
        assert len(await target_view(target, "INBOX")) == 6
        assert all(body.closed for body in source.bodies)
        await target.close()

    asyncio.run(main())
