"""One round of the crash loop: run, SIGKILL at a random moment (maybe again during the
re-run), run to the end, compare target with source, re-run once more (nothing may
change), ``mailferry verify``; keep the round's directory when anything is wrong."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from bench.crash import evidence
from bench.crash.compare import Verdict, compare, view_changes
from bench.crash.runs import KillOutcome, kill_after, reap_groups
from bench.crash.scenarios import Scenario
from bench.crash.views import Labels, View, lock_leftovers, tmp_leftovers

MIN_DELAY = 0.05


@dataclass(frozen=True)
class Settings:
    work: Path  # rounds run here (tmpfs)
    keep: Path  # failing rounds are copied here
    timeout: float  # per run
    verify: bool
    slow_after: float = float("inf")  # a completing run this long is noted (and kept)
    whole_group: bool = True  # SIGKILL the run's process group, else its first process


@dataclass(frozen=True)
class Expected:
    views: Mapping[str, View]  # user -> what the target must hold
    labels: Labels


@dataclass(frozen=True)
class Row:
    number: int
    kills: tuple[KillOutcome, ...]
    result: str
    ok: bool
    seconds: float
    run_seconds: float  # the final (completing) run
    pairs_after_kill: str = ""
    note: str = ""
    artefacts: Path | None = None

    def delays(self) -> str:
        text = " ".join(f"{k.delay:.2f}{'' if k.killed else '(ended)'}" for k in self.kills)
        return text or "- (no kill)"


def plan_delays(rng: random.Random, full: float, again: float) -> tuple[float, ...]:
    """Delays of the kills: uniform over the whole run; a second one with probability
    ``again`` (three draws every round, so a round's plan never depends on others)."""
    first, second, roll = rng.uniform(MIN_DELAY, full), rng.uniform(MIN_DELAY, full), rng.random()
    return (first, second) if roll < again else (first,)


Stage = Callable[[Scenario, int], AbstractContextManager[Expected]]
"""What happens between ``prepare`` and the first kill; yields what the target must
hold at the end (the initial phase: nothing, the source as read at the start)."""


def play(
    scenario: Scenario, number: int, delays: tuple[float, ...], stage: Stage, s: Settings
) -> Row:
    started = time.monotonic()
    directory = s.work / f"{scenario.name}-r{number:02d}"
    scenario.prepare(directory)
    with stage(scenario, number) as want:
        kills = tuple(
            kill_after(
                scenario.launch(directory / f"run{i}.log"),
                delay,
                scenario.done,
                scenario.step,
                s.whole_group,
            )
            for i, delay in enumerate(delays, 1)
        )
        pairs = evidence.pair_states(scenario.state_db) if kills else ""
        locks = lock_leftovers(scenario.maildir_root)
        outcome = finish(scenario, want, s, [k.group for k in kills if k.orphans])
    slow = outcome.run_seconds > s.slow_after
    note = "; ".join(_notes(scenario, kills, locks, outcome.run_seconds if slow else 0.0))
    kept = None
    if not outcome.ok or slow:
        kept = evidence.keep(directory, s.keep / directory.name, scenario.state_db, outcome.details)
        scenario.keep_target(kept)
    seconds = time.monotonic() - started
    return Row(
        number, kills, outcome.label(), outcome.ok, seconds, outcome.run_seconds, pairs, note, kept
    )


def _notes(
    scenario: Scenario, kills: tuple[KillOutcome, ...], locks: list[str], slow: float
) -> list[str]:
    notes = [f"tmp/ files left: {tmp_leftovers(scenario.maildir_root)}"] if scenario.lf else []
    if any(k.orphans for k in kills):
        notes.append(f"orphans after the kill: {sum(k.orphans for k in kills)}")
    if locks:
        notes.append(f"dot-locks after the kill: {', '.join(locks)}")
    if slow:
        notes.append(f"SLOW {slow:.0f} s")
    return notes


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    problems: tuple[str, ...]  # exit codes, changes made by the no-op run
    details: tuple[str, ...]  # for differences.txt
    run_seconds: float

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.problems

    def label(self) -> str:
        words = ([] if self.verdict.ok else [self.verdict.label()]) + list(self.problems)
        return " ".join(words) or "OK"


def finish(scenario: Scenario, want: Expected, s: Settings, orphaned: list[int]) -> Outcome:
    """Complete (while orphans of ``main`` kills may still run), compare, no-op re-run,
    verify."""
    directory = scenario.directory
    problems: list[str] = []
    started = time.monotonic()
    code = scenario.complete(directory / "final.log", s.timeout)
    run_seconds = time.monotonic() - started
    if code:
        problems.append(f"RC {code}")
    if orphaned and reap_groups(orphaned, 30.0):
        problems.append("ORPHANS-LIVED-30s")
    got = scenario.read_target()
    verdict = compare(want.views, got, want.labels)
    details = list(verdict.details)
    code = scenario.noop(directory / "noop.log", s.timeout)
    if code:
        problems.append(f"NOOP-RC {code}")
    after = scenario.read_target()
    changed = view_changes(got, after)
    if changed:
        problems.append(f"NOOP-CHANGED {changed}")
        details += [
            f"after the no-op run: {d}" for d in compare(want.views, after, want.labels).details
        ]
    if s.verify:
        code = scenario.verify(directory / "verify.log", s.timeout)
        if code:
            problems.append(f"VERIFY-RC {code}")
    return Outcome(verdict, tuple(problems), tuple(details), run_seconds)
