"""How sync_mailbox maps folders: the target's own special folders, the source's
personal namespace, and folder names the mapper renames."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.special_folders import SpecialUse
from mailferry.engine.sync import map_folders, target_special_folders
from mailferry.stores.base import FolderListing
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import MemorySource, make_message
from tests.engine.memory_target import MemoryTarget
from tests.engine.support import check_invariants, maildir, open_state, sync


def test_the_target_special_folders_come_from_attributes_then_top_level_names():
    listed = [
        FolderListing("INBOX", "/"),
        FolderListing("Archives/2020", "/", ("\\Archive",)),
        FolderListing("Sent Items", "/"),
        FolderListing("Sent", "/", ("\\Noselect",)),
        FolderListing("Deleted Items", "/"),
        FolderListing("Trash", "/"),
        FolderListing("Projects/Junk", "/"),
    ]
    found = target_special_folders(listed, "/")
    assert found[SpecialUse.ARCHIVE] == "Archives/2020"
    assert found[SpecialUse.SENT] == "Sent Items"
    assert found[SpecialUse.TRASH] in {"Trash", "Deleted Items"}
    assert SpecialUse.JUNK not in found
    assert SpecialUse.INBOX not in found


def test_sent_mail_lands_in_the_target_sent_folder_it_already_has():
    async def main() -> None:
        source = MemorySource()
        source.add_folder("INBOX")
        source.add_folder("Gesendet", ["\\Sent"])
        target = MemoryTarget()
        await target.ensure_folder("Sent Items")
        plan = await map_folders(source, target, FolderOptions())
        mapping = plan.mapping_for("Gesendet")
        assert mapping is not None and mapping.target_name == "Sent Items"

    asyncio.run(main())


def test_a_courier_namespace_is_stripped_and_the_delimiter_translated(tmp_path: Path):
    async def main() -> None:
        source = MemorySource(delimiter=".", prefix="INBOX.")
        for name in ("INBOX", "INBOX.Sent", "INBOX.Work.2024"):
            source.add_folder(name)
            source.add(name, make_message(name, f"<{name}@x>"))
        target = maildir(tmp_path / "mail")
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state)
        assert {f.source_folder: f.target_folder for f in result.folders} == {
            "INBOX": "INBOX",
            "INBOX.Sent": "Sent",
            "INBOX.Work.2024": "Work.2024",
        }
        assert result.copied == 3
        names = {f.name for f in await target.list_folders()}
        assert {"INBOX", "Sent", "Work", "Work.2024"} <= names
        await target.close()

    asyncio.run(main())


def test_a_folder_whose_target_changes_is_filled_again_in_its_new_home(tmp_path: Path):
    async def main() -> None:
        source = MemorySource()
        source.add_folder("INBOX")
        source.add_folder("Gesendet", ["\\Sent"])
        for i in range(3):
            source.add("Gesendet", make_message(f"sent {i}", f"<s{i}@x>"), ["\\Seen"])
        target = MemoryTarget()
        with open_state(tmp_path / "state.db") as state:
            first = await sync(source, target, state)
            assert first.folders[1].target_folder == "Sent" and first.copied == 3
            await target.ensure_folder("Sent Items")
            target.attributes["Sent Items"] = ("\\Sent",)
            second = await sync(source, target, state)
            assert second.folders[1].target_folder == "Sent Items"
            assert second.copied == 3 and len(target.bodies("Sent Items")) == 3
            await check_invariants(source, target, state, second, SyncOptions())

    asyncio.run(main())
