"""The copy pipeline inside sync_mailbox: fetch and append overlap, memory stays bounded,
and errors stop it cleanly (every body closed, no task left, the state resumable)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mailferry.errors import ConnectionLost, FolderError
from mailferry.stores.base import AppendItem, AppendOutcome, SourceMessage
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import MemorySource, make_message
from tests.engine.memory_target import MemoryTarget
from tests.engine.support import check_invariants, open_state, sync


def source_with(folders: dict[str, int], size: int = 0) -> MemorySource:
    source = MemorySource()
    for name, count in folders.items():
        source.add_folder(name)
        for i in range(count):
            source.add(name, make_message(f"{name} {i}", f"<{name}{i}@x>", "y" * size))
    return source


class GatedSource(MemorySource):
    """Delivers the first ``gate`` messages, then waits until the target appended."""

    def __init__(self, gate: int) -> None:
        super().__init__()
        self.gate, self.appended = gate, asyncio.Event()

    async def fetch(
        self, folder: str, uids: Sequence[int], *, listed: bool = False
    ) -> AsyncIterator[SourceMessage]:
        delivered = 0
        async for message in super().fetch(folder, uids, listed=listed):
            if delivered == self.gate:
                await self.appended.wait()
            delivered += 1
            yield message


class SignallingTarget(MemoryTarget):
    def __init__(self, signal: asyncio.Event) -> None:
        super().__init__()
        self.signal = signal

    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        self.signal.set()
        return await super().append(folder, items)


def test_fetch_and_append_overlap(tmp_path: Path):
    async def main() -> None:
        source = GatedSource(gate=4)
        source.add_folder("INBOX")
        for i in range(12):
            source.add("INBOX", make_message(f"m{i}", f"<m{i}@x>"))
        target = SignallingTarget(source.appended)
        with open_state(tmp_path / "state.db") as state:
            result = await asyncio.wait_for(
                sync(source, target, state, SyncOptions(batch_count=4)), 10
            )
        assert result.copied == 12

    asyncio.run(main())


class SlowTarget(MemoryTarget):
    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        await asyncio.sleep(0.002)
        return await super().append(folder, items)


def test_bodies_in_flight_stay_within_the_byte_bounds(tmp_path: Path):
    async def main() -> None:
        source = source_with({"INBOX": 60}, size=1000)
        peak = [0]
        source.on_await = lambda: peak.__setitem__(
            0, max(peak[0], sum(b.size for b in source.bodies if not b.closed))
        )
        options = SyncOptions(queue_bytes=3000, batch_bytes=2000, batch_count=100)
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, SlowTarget(), state, options)
        largest = max(b.size for b in source.bodies)
        assert result.copied == 60
        assert 3000 <= peak[0] <= options.queue_bytes + options.batch_bytes + 2 * largest

    asyncio.run(main())


class FailingTarget(MemoryTarget):
    def __init__(self, error: Exception, folder: str, after: int) -> None:
        super().__init__()
        self.error, self.folder, self.after = error, folder, after

    async def append(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        if folder == self.folder and self.calls["append"] >= self.after:
            self.calls["append"] += 1
            raise self.error
        return await super().append(folder, items)


def test_a_folder_error_mid_copy_skips_the_folder_and_the_next_run_completes(tmp_path: Path):
    async def main() -> None:
        source = source_with({"INBOX": 9, "Work": 9})
        target = FailingTarget(FolderError("Work", "mailbox is read-only"), "Work", after=4)
        options = SyncOptions(batch_count=3)
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, options)
            assert result.errors == {"Work": "mailbox is read-only"}
            assert len(target.bodies("INBOX")) == 9 and 0 < len(target.bodies("Work")) < 9
            # The failed folder still counts its source messages and the copies made.
            work = next(f for f in result.folders if f.source_folder == "Work")
            assert work.items == 9 and work.already_present == len(target.bodies("Work"))
            assert result.items == 18
            assert all(body.closed for body in source.bodies)
            target.after = 10**6
            again = await sync(source, target, state, options)
            await check_invariants(source, target, state, again, options)

    asyncio.run(main())


def test_a_user_error_mid_copy_propagates_after_cleaning_up(tmp_path: Path):
    async def main() -> None:
        source = source_with({"INBOX": 9})
        target = FailingTarget(ConnectionLost("reset by peer"), "INBOX", after=2)
        options = SyncOptions(batch_count=2)
        with open_state(tmp_path / "state.db") as state:
            with pytest.raises(ConnectionLost):
                await sync(source, target, state, options)
            assert all(body.closed for body in source.bodies)
            assert asyncio.all_tasks() == {asyncio.current_task()}
            target.after = 10**6
            again = await sync(source, target, state, options)
            await check_invariants(source, target, state, again, options)
            assert len(target.bodies("INBOX")) == 9

    asyncio.run(main())
