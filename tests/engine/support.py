"""Helpers shared by the sync tests: run a sync, read what the target holds, and check
the engine's invariants (no duplicates, nothing lost, state equals reality)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.headers import normalize_message_id
from mailferry.engine.planner import writable_flags
from mailferry.engine.sync import sync_mailbox
from mailferry.state import StateStore
from mailferry.state.records import DONE
from mailferry.stores.base import TargetMailbox, fingerprint
from mailferry.stores.maildir_names import folder_dirname, mailbox_dirname
from mailferry.stores.maildir_target import MaildirMailbox, MaildirTarget
from mailferry.values.progress import ProgressEvent
from mailferry.values.results import MailboxResult
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import MemorySource
from tests.engine.memory_target import MemoryTarget

KEY = "memory://source/user -> maildir:test"
ADDRESS = "user@example.org"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_state(path: Path) -> StateStore:
    return StateStore.open(f"sqlite:///{path}")


def maildir(root: Path) -> MaildirMailbox:
    return MaildirTarget(root).mailbox(ADDRESS)


async def sync(
    source: MemorySource,
    target: TargetMailbox,
    state: StateStore,
    options: SyncOptions | None = None,
    events: list[ProgressEvent] | None = None,
    folder_options: FolderOptions | None = None,
) -> MailboxResult:
    return await sync_mailbox(
        source,
        target,
        state,
        KEY,
        folder_options=folder_options or FolderOptions(),
        options=options or SyncOptions(),
        progress=events.append if events is not None else None,
    )


def run_sync(
    source: MemorySource,
    target_factory: Callable[[], TargetMailbox],
    state_path: Path,
    options: SyncOptions | None = None,
) -> MailboxResult:
    """One sync in its own event loop, as a fresh process would run it."""

    async def main() -> MailboxResult:
        target = target_factory()
        try:
            with open_state(state_path) as state:
                return await sync(source, target, state, options)
        finally:
            await target.close()

    return asyncio.run(main())


def target_bodies(target: TargetMailbox, folder: str, root: Path | None = None) -> Counter[str]:
    """SHA-256 of every message body in a target folder (read from disk for a Maildir)."""
    if isinstance(target, MemoryTarget):
        return Counter(sha(body) for body in target.bodies(folder))
    assert root is not None
    base = root / mailbox_dirname(ADDRESS)
    dirname = folder_dirname(folder)
    directory = base if dirname is None else base / dirname
    found: Counter[str] = Counter()
    for sub in ("cur", "new"):
        if (directory / sub).is_dir():
            found.update(sha(path.read_bytes()) for path in (directory / sub).iterdir())
    return found


async def target_view(target: TargetMailbox, folder: str) -> dict[int, tuple[str, tuple[str, ...]]]:
    """Target UID -> (fingerprint, sorted flags), through the protocol."""
    _status, metas = await target.list_messages(folder)
    ids = await target.message_ids(folder, [m.uid for m in metas])
    return {
        m.uid: (
            fingerprint(normalize_message_id(ids.get(m.uid)), m.size, m.internaldate),
            tuple(sorted(m.flags)),
        )
        for m in metas
    }


async def check_invariants(
    source: MemorySource,
    target: TargetMailbox,
    state: StateStore,
    result: MailboxResult,
    options: SyncOptions,
    root: Path | None = None,
) -> None:
    """After a successful sync: state equals reality, nothing lost, nothing doubled, and
    every source message is counted once: TotalItemsInSource = Synced + Skipped."""
    assert result.errors == {} and result.complete and result.missing == 0
    if options.received is None and not result.dry_run:
        in_source = sum(len(source.folders[f.source_folder].messages) for f in result.folders)
        assert result.in_scope == result.synced + result.skipped_total == in_source
    mailbox_id = state.mailbox_id(KEY)
    skipped = {(i.folder, i.source_uid) for i in state.skipped(mailbox_id)}
    for folder_result in result.folders:
        name, target_name = folder_result.source_folder, folder_result.target_folder
        box = source.folders[name]
        record = state.folder(mailbox_id, name)
        assert record is not None
        pairs = {p.source_uid: p for p in state.pairs(record.id)}
        assert all(p.state == DONE for p in pairs.values()), "pending pairs left behind"
        assert set(pairs) <= set(box.messages), "a pair outlived its source message"
        for uid, message in box.messages.items():
            deleted = "\\deleted" in {f.lower() for f in message.flags}
            if deleted and not options.include_deleted:
                assert uid in pairs or (name, uid) in skipped, f"{name} UID {uid}: unaccounted"
                continue
            if len(message.body) > options.max_message_size:
                assert uid not in pairs and (name, uid) in skipped
            else:
                assert uid in pairs, f"{name} UID {uid} was neither copied nor skipped"
        expected = Counter(sha(box.messages[uid].body) for uid in pairs)
        assert target_bodies(target, target_name, root) == expected, f"{name}: target differs"
        view = await target_view(target, target_name)
        assert len(view) == len(pairs)
        for uid, pair in pairs.items():
            assert pair.target_uid in view, f"{name} UID {uid}: target copy missing"
            found_fp, found_flags = view[pair.target_uid]
            assert found_fp == pair.fingerprint
            wanted, _ = writable_flags(
                box.messages[uid].flags, lambda _f: True, include_deleted=options.include_deleted
            )
            assert found_flags == pair.flags == wanted, f"{name} UID {uid}: flags differ"
