"""Crash at every step (mbsync's test idea): stop the sync after the N-th state write,
for every N, or cancel it at arbitrary await points; run again; the end state must
equal an uninterrupted run: nothing lost, nothing duplicated, state equal to reality."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailferry.engine.planner import SyncOptions
from mailferry.state import StateStore
from mailferry.stores.base import TargetMailbox
from tests.engine.memory_source import MemorySource, make_message
from tests.engine.memory_target import MemoryTarget
from tests.engine.support import (
    check_invariants,
    maildir,
    open_state,
    sync,
    target_bodies,
    target_view,
)

OPTIONS = SyncOptions(batch_count=4, propagate_deletions=True)
FOLDERS = ("INBOX", "Sent", "Lists/Python")
Snapshot = dict[str, tuple[Counter[str], list[tuple[str, tuple[str, ...]]]]]


class SimulatedCrash(BaseException):
    """The process died (BaseException: nothing in the engine may swallow it)."""


def build_source() -> MemorySource:
    source = MemorySource()
    for f, name in enumerate(FOLDERS):
        source.add_folder(name)
        for i in range(12):
            message_id = None if i == 5 else f"<{name}-{i % 10}@example.org>"  # 0/10, 1/11 dup
            flags = [["\\Seen"], [], ["\\Flagged", "$Forwarded"]][(i + f) % 3]
            source.add(name, make_message(f"{name} {i}", message_id, f"body {i % 10}"), flags)
    return source


def change(source: MemorySource) -> None:
    source.add("INBOX", make_message("late 1", "<late1@example.org>"))
    source.add("INBOX", make_message("late 2", "<late2@example.org>"), ["\\Seen"])
    source.add("Sent", make_message("late 3", None))
    source.set_flags("INBOX", 3, ["\\Seen", "\\Answered"])
    source.set_flags("Lists/Python", 7, [])
    source.set_flags("Lists/Python", 8, ["\\Deleted"])
    source.expunge("Sent", 2)
    source.expunge("INBOX", 11)


class Scenario:
    """One small migration in a temp dir; ``incremental`` crashes the second sync.

    The resumed run reuses the StateStore object (with its hooks removed): it
    caches nothing, so this equals a new process and saves a schema check per run.
    """

    def __init__(self, root: Path, target_kind: str, incremental: bool) -> None:
        self.root, self.kind = root, target_kind
        root.mkdir(parents=True, exist_ok=True)
        self.state = open_state(root / "state.db")
        self.source = build_source()
        self.memory = MemoryTarget(uidplus=False)
        if incremental:
            self.run(None)
            change(self.source)

    def target(self) -> TargetMailbox:
        return self.memory if self.kind == "memory" else maildir(self.root / "mail")

    def run(self, arm: Callable[[StateStore], None] | None) -> None:
        async def main() -> None:
            target = self.target()
            if arm is not None:
                arm(self.state)
            try:
                await sync(self.source, target, self.state, OPTIONS)
            finally:
                self.state.write_hook = None
                vars(self.state).pop("_write", None)
                await target.close()

        asyncio.run(main())

    def finish_and_check(self, *, rerun: bool = False) -> Snapshot:
        async def main() -> Snapshot:
            target, state = self.target(), self.state
            result = await sync(self.source, target, state, OPTIONS)
            await check_invariants(self.source, target, state, result, OPTIONS, self.mail)
            if rerun:
                again = await sync(self.source, target, state, OPTIONS)
                assert again.copied == 0 and again.flags_updated == 0
            snapshot = {
                f.source_folder: (
                    target_bodies(target, f.target_folder, self.mail),
                    sorted((await target_view(target, f.target_folder)).values()),
                )
                for f in result.folders
            }
            await target.close()
            return snapshot

        try:
            return asyncio.run(main())
        finally:
            self.state.close()

    @property
    def mail(self) -> Path:
        return self.root / "mail"


def crash_before_commit(n: int) -> Callable[[StateStore], None]:
    """The N-th write is rolled back: the process died just before COMMIT."""

    def arm(state: StateStore) -> None:
        seen = [0]

        def hook(_operation: str) -> None:
            seen[0] += 1
            if seen[0] == n:
                raise SimulatedCrash(f"before commit {n}")

        state.write_hook = hook

    return arm


def crash_after_intent(n: int) -> Callable[[StateStore], None]:
    """The N-th ``record_intent`` is committed, then the process dies before the APPEND.

    After any other write, dying right after COMMIT is the same as dying just before
    the next write's COMMIT (what lies between is a read or an idempotent target
    call), which ``crash_before_commit`` covers; an APPEND is the one exception.
    """

    def arm(state: StateStore) -> None:
        seen = [0]
        write = state._write

        def wrapped(operation: str, fn: Callable[..., Any]) -> Any:
            result = write(operation, fn)
            if operation == "record_intent":
                seen[0] += 1
                if seen[0] == n:
                    raise SimulatedCrash(f"after intent {n}")
            return result

        state._write = wrapped  # type: ignore[method-assign]

    return arm


def count_writes(root: Path, kind: str, incremental: bool) -> tuple[list[str], Snapshot]:
    scenario = Scenario(root, kind, incremental)
    operations: list[str] = []
    scenario.run(lambda state: setattr(state, "write_hook", operations.append))
    return operations, scenario.finish_and_check(rerun=True)


@pytest.mark.parametrize(
    ("kind", "incremental"), [("maildir", False), ("maildir", True), ("memory", False)]
)
def test_crash_at_every_state_write_resumes_to_the_same_end(
    fast_path: Path, kind: str, incremental: bool
):
    operations, reference = count_writes(fast_path / "reference", kind, incremental)
    intents = operations.count("record_intent")
    assert len(operations) >= 12 and intents >= 2
    crashes = [("before", n, crash_before_commit(n)) for n in range(1, len(operations) + 1)]
    crashes += [("after-intent", n, crash_after_intent(n)) for n in range(1, intents + 1)]
    for mode, n, arm in crashes:
        scenario = Scenario(fast_path / f"{mode}-{n}", kind, incremental)
        with pytest.raises(SimulatedCrash):
            scenario.run(arm)
        assert scenario.finish_and_check() == reference, f"crash {mode} write {n}"


def test_cancelling_at_random_points_resumes_to_the_same_end(fast_path: Path):
    tmp_path = fast_path
    _operations, reference = count_writes(tmp_path / "reference", "maildir", False)
    chance = random.Random(20241124)
    cancelled = 0
    for attempt in range(25):
        scenario = Scenario(tmp_path / f"cancel-{attempt}", "maildir", False)
        steps = chance.randrange(1, 400)
        target = scenario.target()
        if asyncio.run(run_cancelled(scenario, target, steps)):
            cancelled += 1
        # Closed only now that asyncio.run has waited for the worker threads: a
        # cancelled MaildirMailbox call leaves its thread running (see the report).
        asyncio.run(target.close())
        assert all(body.closed for body in scenario.source.bodies)
        assert scenario.finish_and_check() == reference, f"cancelled after {steps} steps"
    assert cancelled >= 10


async def run_cancelled(scenario: Scenario, target: TargetMailbox, steps: int) -> bool:
    """Run a sync and cancel it after ``steps`` loop iterations; True if it was cancelled."""
    task = asyncio.ensure_future(sync(scenario.source, target, scenario.state, OPTIONS))
    for _ in range(steps):
        if task.done():
            break
        await asyncio.sleep(0)
    task.cancel()
    try:
        await task
        was_cancelled = False
    except asyncio.CancelledError:
        was_cancelled = True
    assert asyncio.all_tasks() == {asyncio.current_task()}, "a task outlived the sync"
    return was_cancelled
