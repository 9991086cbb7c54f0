"""A Hypothesis state machine over sync_mailbox (vdirsyncer's idea): random interleavings
of what users and servers do to a source mailbox, with syncs in between, into a real
Maildir and a real SQLite state. After every sync: no duplicates, nothing lost, the
state equals reality, and an immediate second sync changes nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from mailferry.state import StateStore
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import MemorySource, make_message
from tests.engine.memory_target import MemoryTarget
from tests.engine.support import check_invariants, maildir, open_state, sync

OPTIONS = SyncOptions(batch_count=3, max_message_size=700, propagate_deletions=True)
FLAGS = st.lists(st.sampled_from(["\\Seen", "\\Flagged", "\\Deleted", "\\Answered", "$Work"]))
KINDS = st.sampled_from(["unique", "duplicate", "same-id", "no-id", "large"])
MAX_PER_FOLDER = 12


class SyncMachine(RuleBasedStateMachine):
    @initialize(condstore=st.booleans(), maildir_target=st.booleans())
    def start(self, condstore: bool, maildir_target: bool) -> None:
        """A real Maildir, or an in-memory target without UIDPLUS (copies found again
        by fingerprint)."""
        self.memory = None if maildir_target else MemoryTarget(uidplus=False)
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.root = Path(tempfile.mkdtemp(prefix="mailferry-machine-", dir=base))
        self.source = MemorySource(condstore=condstore)
        for name in ("INBOX", "Work", "Lists/Python"):
            self.source.add_folder(name)
        self.state: StateStore = open_state(self.root / "state.db")
        self.counter = 0
        self.expunged = False  # since the last sync

    def teardown(self) -> None:
        if hasattr(self, "state"):
            self.state.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def _folder(self, index: int) -> str:
        names = sorted(self.source.folders)
        return names[index % len(names)]

    def _uid(self, folder: str, index: int) -> int | None:
        uids = sorted(self.source.folders[folder].messages)
        return uids[index % len(uids)] if uids else None

    @rule(folder=st.integers(0, 5), kind=KINDS, flags=FLAGS, pick=st.integers(0, 50))
    def add_message(self, folder: int, kind: str, flags: list[str], pick: int) -> None:
        name = self._folder(folder)
        box = self.source.folders[name]
        if len(box.messages) >= MAX_PER_FOLDER:
            return
        self.counter += 1
        n, date = self.counter, None
        body = make_message(f"message {n}", f"<m{n}@example.org>", f"text {n}")
        existing = self._uid(name, pick)
        if kind == "duplicate" and existing is not None:  # the same message twice
            body, date = box.messages[existing].body, box.messages[existing].internaldate
        elif kind == "same-id" and existing is not None:  # a reused Message-ID
            body = make_message(f"other {n}", f"<m{existing}@example.org>", f"other {n}")
        elif kind == "no-id":
            body = make_message(f"message {n}", None, f"text {n}")
        elif kind == "large":
            body = make_message(f"large {n}", f"<m{n}@example.org>", "x" * 800)
        self.source.add(name, body, flags, date)

    @rule(folder=st.integers(0, 5), pick=st.integers(0, 50))
    def expunge(self, folder: int, pick: int) -> None:
        name = self._folder(folder)
        uid = self._uid(name, pick)
        if uid is not None:
            self.source.expunge(name, uid)
            self.expunged = True

    @rule(folder=st.integers(0, 5), pick=st.integers(0, 50), flags=FLAGS)
    def change_flags(self, folder: int, pick: int, flags: list[str]) -> None:
        name = self._folder(folder)
        uid = self._uid(name, pick)
        if uid is not None:
            self.source.set_flags(name, uid, flags)

    @rule(folder=st.integers(0, 5))
    def bump_uidvalidity(self, folder: int) -> None:
        self.source.bump_uidvalidity(self._folder(folder))

    @rule(folder=st.integers(0, 5))
    def rename_folder(self, folder: int) -> None:
        name = self._folder(folder)
        if name != "INBOX":
            self.counter += 1
            self.source.rename(name, f"Renamed{self.counter}")

    @precondition(lambda self: not self.expunged)
    @rule()
    def lose_state_and_sync(self) -> None:
        """The state database is lost and the sync runs again: it must adopt what the
        target holds, not copy it twice. (A copy whose source was expunged before the
        loss is unknowable, hence the precondition and the sync right after.)"""
        self.state.close()
        self.counter += 1
        self.state = open_state(self.root / f"state-{self.counter}.db")
        self.run_sync()

    @rule()
    def run_sync(self) -> None:
        asyncio.run(self._sync_and_check())
        self.expunged = False

    async def _sync_and_check(self) -> None:
        target = self.memory or maildir(self.root / "mail")
        try:
            result = await sync(self.source, target, self.state, OPTIONS)
            await check_invariants(
                self.source, target, self.state, result, OPTIONS, self.root / "mail"
            )
            again = await sync(self.source, target, self.state, OPTIONS)
            present = result.already_present + result.copied
            assert (again.copied, again.flags_updated, again.already_present) == (0, 0, present)
        finally:
            await target.close()


SyncMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # No "explain" phase: its line tracing makes a failing run crawl for minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
test_sync_machine = SyncMachine.TestCase
