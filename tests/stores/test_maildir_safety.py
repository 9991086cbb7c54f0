"""Hostile addresses, folder names and planted symlinks never make MaildirTarget
write outside its root (nor anything wrong inside it)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from mailferry.connection.body import MessageBody
from mailferry.errors import FolderError, MailboxNotFound
from mailferry.stores.base import Appended, AppendItem
from mailferry.stores.maildir_target import MaildirMailbox, MaildirTarget

HOSTILE_ADDRESSES = [
    "../x",
    "a/../../b",
    "/etc/passwd",
    "..",
    ".",
    "",
    ".hidden@example.com",
    "~root",
    "nul\0@example.com",
    "line\n@example.com",
    "tab\t@example.com",
    "a..b@example.com",
    "x" * 300 + "@example.com",
    "back\\slash@example.com",
]
HOSTILE_FOLDERS = [
    "../x",
    "a/../../b",
    "/etc",
    ".",
    "..",
    "a..b",
    ".leading",
    "trailing.",
    "~home",
    "nul\0byte",
    "new\nline",
    "esc\x1bape",
    "a/b",
    ".".join(["deep"] * 1000),
    "x" * 300,
    "lone \udc80 surrogate",
]
ITEM_DATE = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def snapshot(path: Path) -> dict[str, bytes | None]:
    """Every entry below ``path``: file contents, None for directories and links."""
    found: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            is_file = full.is_file() and not full.is_symlink()
            found[str(full.relative_to(path))] = full.read_bytes() if is_file else None
    return found


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """(root, outside): ``outside`` is a sibling holding a file nobody may touch."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_bytes(b"do not touch")
    (outside / "x").mkdir()
    return tmp_path / "root", outside


def item(data: bytes = b"Subject: s\r\n\r\nbody\r\n", flags: tuple[str, ...] = ()) -> AppendItem:
    return AppendItem(MessageBody.from_bytes(data), flags, ITEM_DATE)


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_hostile_addresses_are_refused(sandbox: tuple[Path, Path], address: str) -> None:
    root, _ = sandbox
    before = snapshot(root.parent)
    with pytest.raises(MailboxNotFound) as caught:
        MaildirTarget(root).mailbox(address)
    assert caught.value.mailbox == address
    assert snapshot(root.parent) == before


def test_hostile_folders_are_refused(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox

    async def main() -> None:
        mailbox = MaildirTarget(root).mailbox("ann@example.com")
        try:
            await mailbox.list_folders()  # creates the lock file
            before = snapshot(root.parent)
            for folder in HOSTILE_FOLDERS:
                with pytest.raises(FolderError) as caught:
                    await mailbox.ensure_folder(folder)
                assert caught.value.folder == folder
                with pytest.raises(FolderError):
                    await mailbox.append(folder, [item()])
                with pytest.raises(FolderError):
                    await mailbox.list_messages(folder)
            assert snapshot(root.parent) == before
            assert [f.name for f in await mailbox.list_folders()] == ["INBOX"]
        finally:
            await mailbox.close()

    asyncio.run(main())


def test_a_symlinked_mailbox_directory_is_not_followed(sandbox: tuple[Path, Path]) -> None:
    root, outside = sandbox
    root.mkdir()
    (root / "evil@example.com").symlink_to(outside)
    before = snapshot(outside)
    with pytest.raises(MailboxNotFound) as caught:
        MaildirTarget(root).mailbox("evil@example.com")
    assert "directory" in caught.value.reason
    assert snapshot(outside) == before


@pytest.mark.parametrize("planted", [".Evil", ".Evil/cur", ".Evil/tmp", "cur"])
def test_symlinked_folder_directories_are_not_followed(
    sandbox: tuple[Path, Path], planted: str
) -> None:
    root, outside = sandbox

    async def main() -> None:
        mailbox = MaildirTarget(root).mailbox("ann@example.com")
        try:
            home = root / "ann@example.com"
            if planted != "cur":
                (home / ".Evil").mkdir(exist_ok=True)
                for sub in ("cur", "new", "tmp"):
                    (home / ".Evil" / sub).mkdir(exist_ok=True)
            target = home / planted
            os.rename(target, target.with_name(target.name + "-moved"))
            target.symlink_to(outside / "x")
            before = snapshot(outside)
            folder = "INBOX" if planted == "cur" else "Evil"
            with pytest.raises(FolderError):
                await mailbox.append(folder, [item()])
            with pytest.raises(FolderError):
                await mailbox.list_messages(folder)
            if planted == ".Evil":
                with pytest.raises(FolderError):
                    await mailbox.ensure_folder("Evil")
                assert "Evil" not in {f.name for f in await mailbox.list_folders()}
            assert snapshot(outside) == before
        finally:
            await mailbox.close()

    asyncio.run(main())


def test_symlinked_keyword_and_state_files_are_not_followed(sandbox: tuple[Path, Path]) -> None:
    root, outside = sandbox

    async def main() -> None:
        mailbox = MaildirTarget(root).mailbox("ann@example.com")
        try:
            await mailbox.ensure_folder("Work")
            folder_dir = root / "ann@example.com" / ".Work"
            (folder_dir / "dovecot-keywords").symlink_to(outside / "precious")
            before = snapshot(outside)
            with pytest.raises(FolderError):
                await mailbox.append("Work", [item(flags=("Custom1",))])
            assert snapshot(outside) == before
        finally:
            await mailbox.close()

    asyncio.run(main())


def test_a_fifo_in_cur_does_not_hang_or_count(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox

    async def main() -> None:
        mailbox = MaildirTarget(root).mailbox("ann@example.com")
        try:
            [outcome] = await mailbox.append("INBOX", [item()])
            assert isinstance(outcome, Appended) and outcome.target_uid == 1
            os.mkfifo(root / "ann@example.com" / "cur" / "123.fifo:2,S")
            status, metas = await mailbox.list_messages("INBOX")
            assert [m.uid for m in metas] == [1] and status.messages == 1
        finally:
            await mailbox.close()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_closed_mailbox_refuses_work(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox

    async def main() -> MaildirMailbox:
        mailbox = MaildirTarget(root).mailbox("ann@example.com")
        await mailbox.close()
        with pytest.raises(FolderError):
            await mailbox.list_folders()
        return mailbox

    asyncio.run(main())
