"""Crash at every step (mbsync's test idea): stop the sync after the N-th state write,
for every N, or cancel it at arbitrary await points; run again; the end state must
equal an uninterrupted run: nothing lost, nothing duplicated, state equal to reality."""

from __future__ import annotations

import asyncio
import copy
import random
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailferry.state import StateStore
from mailferry.stores.base import TargetMailbox
from mailferry.values.sync_options import SyncOptions
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

    ``Scenario.copy`` starts from a copy of a template's files (state database,
    Maildir) instead of migrating a new database and syncing again: the crash loops
    run a hundred scenarios. The resumed run reuses the StateStore object (hooks
    removed): it caches nothing, so this equals a new process.
    """

    def __init__(self, root: Path, target_kind: str, incremental: bool) -> None:
        self.root, self.kind, self.incremental = root, target_kind, incremental
        root.mkdir(parents=True, exist_ok=True)
        self.state = open_state(root / "state.db")
        self.source = build_source()
        self.memory = MemoryTarget(uidplus=False)
        if incremental:
            self.run(None)
            change(self.source)

    @classmethod
    def copy(cls, template: Scenario, root: Path) -> Scenario:
        template.state.close()
        shutil.copytree(template.root, root)
        scenario = cls.__new__(cls)
        scenario.root, scenario.kind = root, template.kind
        scenario.incremental = template.incremental
        scenario.state = open_state(root / "state.db")
        scenario.source = build_source()
        if template.incremental:
            change(scenario.source)
        scenario.memory = copy.deepcopy(template.memory)
        return scenario

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
    assert len(operations) >= 8 and intents >= 2
    crashes = [("before", n, crash_before_commit(n)) for n in range(1, len(operations) + 1)]
    crashes += [("after-intent", n, crash_after_intent(n)) for n in range(1, intents + 1)]
    template = Scenario(fast_path / "template", kind, incremental)
    for mode, n, arm in crashes:
        scenario = Scenario.copy(template, fast_path / f"{mode}-{n}")
        with pytest.raises(SimulatedCrash):
            scenario.run(arm)
        assert scenario.finish_and_check() == reference, f"crash {mode} write {n}"


class Interrupter:
    """Counts await points of the stores; at the ``at``-th one it cancels ``victim``."""

    def __init__(self, at: int | None) -> None:
        self.at, self.seen = at, 0
        self.victim: asyncio.Task[Any] | None = None

    def __call__(self) -> None:
        self.seen += 1
        if self.seen == self.at and self.victim is not None:
            self.victim.cancel()


class InterruptingTarget:
    """A target whose every call is an interruption point before and after the real one
    (after: the APPEND happened but the sync never learns its outcome)."""

    def __init__(self, inner: TargetMailbox, tick: Interrupter) -> None:
        self.inner, self.tick = inner, tick
        self.delimiter, self.case_insensitive = inner.delimiter, inner.case_insensitive
        self.personal_prefix = inner.personal_prefix

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await self._point()
            result = await method(*args, **kwargs)
            await self._point()
            return result

        return call

    async def _point(self) -> None:
        self.tick()
        await asyncio.sleep(0)


async def run_interrupted(scenario: Scenario, target: TargetMailbox, at: int | None) -> int:
    """Run a sync, cancelling it at await point ``at``; returns the points seen."""
    tick = Interrupter(at)
    scenario.source.on_await = tick
    task = asyncio.ensure_future(
        sync(scenario.source, InterruptingTarget(target, tick), scenario.state, OPTIONS)  # type: ignore[arg-type]
    )
    tick.victim = task
    try:
        await task
    except asyncio.CancelledError:
        assert at is not None and tick.seen >= at
    finally:
        scenario.source.on_await = None
    assert asyncio.all_tasks() == {asyncio.current_task()}, "a task outlived the sync"
    return tick.seen


@pytest.mark.parametrize("incremental", [False, True])
def test_cancelling_at_any_await_point_resumes_to_the_same_end(fast_path: Path, incremental: bool):
    reference_run = Scenario(fast_path / "reference", "maildir", incremental)
    target = reference_run.target()
    points = asyncio.run(run_interrupted(reference_run, target, None))
    asyncio.run(target.close())
    reference = reference_run.finish_and_check(rerun=True)
    chosen = sorted(random.Random(points).sample(range(1, points + 1), min(points, 30)))
    template = Scenario(fast_path / "template", "maildir", incremental)
    for at in chosen:
        scenario = Scenario.copy(template, fast_path / f"cancel-{at}")
        target = scenario.target()
        asyncio.run(run_interrupted(scenario, target, at))
        # Closed only once asyncio.run has waited for the worker threads: a cancelled
        # MaildirMailbox call leaves its thread running (see the report).
        asyncio.run(target.close())
        assert all(body.closed for body in scenario.source.bodies)
        assert scenario.finish_and_check() == reference, f"cancelled at await point {at}"
