"""The completeness invariant: a sync is complete only when every source message is
copied or skipped with a reason, and the state is checked against the target before
it is trusted. Real Maildir target and SQLite state; the source is the in-memory one
(its ``withheld`` UIDs play a server whose FETCH leaves messages out)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from mailferry.stores.maildir_names import folder_dirname, mailbox_dirname
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import MemorySource, make_message
from tests.engine.support import ADDRESS, KEY, check_invariants, maildir, open_state, sync


def two_folders(messages: int = 5) -> MemorySource:
    source = MemorySource()
    for name in ("INBOX", "Archive"):
        source.add_folder(name)
        for i in range(messages):
            source.add(name, make_message(f"{name} {i}", f"<{name}{i}@example.org>"), [])
    return source


def test_a_message_the_source_never_delivers_makes_the_sync_incomplete(tmp_path: Path):
    async def main() -> None:
        source, target = two_folders(), maildir(tmp_path / "mail")
        source.withheld = {3}
        with open_state(tmp_path / "state.db") as state:
            first = await sync(source, target, state)
            assert not first.complete and first.missing == 2  # UID 3 of both folders
            assert set(first.errors) == {"INBOX", "Archive"}
            assert "never came back (UID 3)" in first.errors["INBOX"]
            assert first.in_scope == 10 and first.synced == 8
            reason = first.incomplete_reason()
            assert reason is not None and reason.startswith("2 folder(s) not fully synced")
            source.withheld = set()
            again = await sync(source, target, state)
            assert again.complete and again.copied == 2
            await check_invariants(source, target, state, again, SyncOptions(), tmp_path / "mail")
        await target.close()

    asyncio.run(main())


def test_a_deleted_target_is_copied_again_not_trusted_from_the_state(tmp_path: Path):
    async def main() -> None:
        source, root = two_folders(), tmp_path / "mail"
        with open_state(tmp_path / "state.db") as state:
            target = maildir(root)
            assert (await sync(source, target, state)).copied == 10
            await target.close()
            shutil.rmtree(root)
            target = maildir(root)
            again = await sync(source, target, state)
            assert again.copied == 10 and again.complete
            await check_invariants(source, target, state, again, SyncOptions(), root)
            await target.close()

    asyncio.run(main())


def test_messages_gone_from_a_target_folder_are_found_again_and_the_rest_recopied(
    tmp_path: Path,
):
    async def main() -> None:
        source, root = two_folders(), tmp_path / "mail"
        with open_state(tmp_path / "state.db") as state:
            target = maildir(root)
            await sync(source, target, state)
            await target.close()
            folder = folder_dirname("Archive")
            assert folder is not None
            cur = root / mailbox_dirname(ADDRESS) / folder / "cur"
            for path in sorted(cur.iterdir())[:2]:
                path.unlink()
            target = maildir(root)
            again = await sync(source, target, state)
            by_name = {f.source_folder: f for f in again.folders}
            assert by_name["Archive"].copied == 2 and by_name["INBOX"].unchanged
            await check_invariants(source, target, state, again, SyncOptions(), root)
            await target.close()

    asyncio.run(main())


def test_deleted_messages_are_skipped_items_and_stay_counted_once(tmp_path: Path):
    async def main() -> None:
        source, target = two_folders(), maildir(tmp_path / "mail")
        source.set_flags("INBOX", 2, ["\\Deleted"])
        source.set_flags("INBOX", 4, ["\\Deleted", "\\Seen"])
        with open_state(tmp_path / "state.db") as state:
            first = await sync(source, target, state)
            assert sorted((i.source_uid, i.kind) for i in first.skipped_items) == [
                (2, "Deleted"),
                (4, "Deleted"),
            ]
            assert (first.in_scope, first.synced, first.skipped_total) == (10, 8, 2)
            await check_invariants(source, target, state, first, SyncOptions(), tmp_path / "mail")
            source.set_flags("INBOX", 2, [])  # undeleted: copied now, no longer skipped
            source.expunge("INBOX", 4)  # gone: no longer a skipped item either
            again = await sync(source, target, state)
            assert again.copied == 1
            assert (again.in_scope, again.synced, again.skipped_total) == (9, 9, 0)
            assert state.skipped(state.mailbox_id(KEY)) == []
            await check_invariants(source, target, state, again, SyncOptions(), tmp_path / "mail")
        await target.close()

    asyncio.run(main())
