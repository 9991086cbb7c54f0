"""``--target-preset m365``: Exchange's special folder names, refused characters and
reserved names, and its message size limit.

There is no Exchange here: the end-to-end test copies into the rig's Dovecot configured
with the preset, a stand-in that checks what mailferry sends (the names it creates,
what it skips), not how Exchange Online answers."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from mailferry.connection.auth import Credentials
from mailferry.engine.folder_types import FolderOptions, SourceFolder, TargetLayout
from mailferry.engine.folders import plan_folders
from mailferry.engine.special_folders import SpecialUse
from mailferry.engine.sync import sync_mailbox
from mailferry.engine.target_presets import M365, target_preset
from mailferry.errors import InvalidSetting
from mailferry.rig.dovecot import DovecotServer
from mailferry.rig.maildir import RigMessage as Message
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.values.sync_options import SyncOptions
from tests.engine.support import open_state
from tests.stores.conftest import connect_options, new_user

LAYOUT = M365.layout(TargetLayout("/"))


def _targets(*names: str, attributes: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    given = attributes or {}
    folders = [SourceFolder(name, "/", given.get(name, ())) for name in ("INBOX", *names)]
    plan = plan_folders(folders, LAYOUT, FolderOptions())
    return {m.source_name: m.target_name for m in plan.mappings}


def test_special_folders_get_exchange_names_from_attributes_and_localized_names():
    found = _targets(
        "Gesendete Objekte", "Papierkorb", "Spam", "Entwürfe", "Archiv", "Mine",
        attributes={"Mine": ("\\Archive",)},
    )  # fmt: skip
    assert found["Gesendete Objekte"] == "Sent Items"
    assert found["Papierkorb"] == "Deleted Items"
    assert found["Spam"] == "Junk Email"
    assert found["Entwürfe"] == "Drafts"
    assert found["Mine"] == "Archive"  # SPECIAL-USE beats a well-known name
    assert found["Archiv"] not in ("Archive", "archive")  # one folder per special, no merge


def test_refused_characters_and_reserved_names_are_mapped_stably_and_reported():
    given = ("INBOX", "Q1*Q2", "100%", "a\\b", "calendar", "Postausgang")
    folders = [SourceFolder(n, "/") for n in given]
    plan = plan_folders(folders, LAYOUT, FolderOptions())
    again = plan_folders(list(reversed(folders)), LAYOUT, FolderOptions())
    names = {m.source_name: m.target_name for m in plan.mappings}
    assert names == {m.source_name: m.target_name for m in again.mappings}
    assert names["Q1*Q2"] == "Q1_Q2" and names["100%"] == "100_"
    assert names["a\\b"] == "a\u29f5b"
    assert names["calendar"].startswith("calendar (")  # Exchange's own Calendar is not merged
    assert names["Postausgang"] == "Postausgang"  # an Outbox is never Exchange's Outbox
    assert _targets("Outbox")["Outbox"] == "Outbox (2)"
    for source in ("Q1*Q2", "100%", "a\\b", "calendar"):
        mapping = plan.mapping_for(source)
        assert mapping is not None and mapping.note, source
    assert LAYOUT.case_insensitive and LAYOUT.max_message_bytes == 35 * 1024 * 1024


def test_unknown_preset_names_the_known_ones():
    assert target_preset("M365") is M365
    with pytest.raises(InvalidSetting, match="m365"):
        target_preset("exchange2003")


def _message(folder: str, number: int, size: int = 600) -> Message:
    head = f"From: a@example.com\r\nSubject: m365 {number}\r\nMessage-ID: <m365-{number}@x>\r\n\r\n"
    body = (b"line of text\r\n" * (size // 14 + 1))[: max(0, size - len(head))]
    when = dt.datetime(2024, 5, 1, 8, number, tzinfo=dt.UTC)
    return Message(folder, head.encode() + body, ("\\Seen",), when)


def test_a_source_into_dovecot_configured_as_m365(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, tmp_path: Path
):
    address, password = new_user(dovecot_source, "m365")
    dovecot_target.add_user(address, password)
    big = _message("INBOX", 9, size=30_000)
    messages = [
        _message("INBOX", 1),
        _message("Sent", 2),
        _message("Trash", 3),
        _message("Junk", 4),
        _message("Plans*2024", 5),
        _message("Calendar", 6),
        big,
    ]
    dovecot_source.write_maildir(address, messages)
    lowered = replace(M365, max_message_bytes=20_000)  # the test's limit, not Exchange's
    layout = lowered.layout(TargetLayout("/"))  # the delimiter becomes the server's

    async def main() -> tuple[list[str], dict[str, int], tuple[str, ...]]:
        credentials = Credentials(address, password)
        source = await open_imap_source(connect_options(dovecot_source), credentials)
        target = await open_imap_target(connect_options(dovecot_target), credentials)
        try:
            with open_state(tmp_path / "state.db") as state:
                result = await sync_mailbox(
                    source, target, state, "k", folder_options=FolderOptions(),
                    options=SyncOptions(), target_layout=layout,
                )  # fmt: skip
            assert result.errors == {}
            assert result.copied == len(messages) - 1
            reasons = tuple(f"{i.kind}: {i.reason}" for i in result.skipped_items)
            names = sorted(f.name for f in await target.list_folders())
            counts = {}
            for name in names:
                found = await target.folder_counts(name)
                assert found is not None
                counts[name] = found[1]
            return names, counts, reasons
        finally:
            await source.close()
            await target.close()

    names, counts, reasons = asyncio.run(main())
    sep = dovecot_target.separator
    assert counts["Sent Items"] == counts["Deleted Items"] == counts["Junk Email"] == 1
    assert counts["Plans_2024"] == 1
    assert counts["Calendar (2)"] == 1 and "Calendar" not in names
    assert counts["INBOX"] == 1  # the big one skipped
    assert not any(name in ("Sent", "Trash", "Junk") for name in names), names
    assert all(sep not in name for name in names)
    assert reasons == (
        f"LargeItem: {len(big.data)} bytes exceeds the limit of 20000 bytes "
        "(the target preset m365)",
    )
    assert SpecialUse.SENT in layout.special_folders


def test_the_150_mb_variant_differs_only_in_its_size_limit() -> None:
    raised = target_preset("M365-150MB")
    assert raised.max_message_bytes == 150 * 1024 * 1024 > M365.max_message_bytes
    assert replace(raised, name=M365.name, description=M365.description,
                   max_message_bytes=M365.max_message_bytes) == M365  # fmt: skip
