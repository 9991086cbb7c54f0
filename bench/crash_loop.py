"""Fault injection: SIGKILL mailferry at random moments, re-run, hunt for lost mail.

Lost or duplicated messages, flags and dates that differ, a re-run that changes anything.

Starts a SOURCE Dovecot (generated corpus per user, see bench/crash/world.py) and a
TARGET Dovecot (sdbox), both on tmpfs, and for each scenario (bench/crash/scenarios.py:
``imap`` = migrate into IMAP as master user, ``maildir`` = migrate into a Maildir,
``serve`` = ``mailferry serve`` running a batch into a Maildir):

1. round 0: one uninterrupted run, timed (its duration D bounds the kill delays) and
   checked like every other round;
2. rounds 1..N, each with a fresh target and state database: run, SIGKILL (the whole
   process group) after a delay uniform in [0.05 s, D], with probability
   ``--double-kill`` start again and SIGKILL again, then run to the end; compare the
   target with the source per user and folder (multisets of sha256, flags and keywords,
   dates); run once more (a no-op: nothing may change); ``mailferry verify``.

Prints a table per scenario (round, kill delays, message pairs in the state database
right after the kill, result OK / LOST n / DUP n / EXTRA n / FLAGS n / DATES n / exit
codes, kept artefacts) and exits 1 if any round failed. A failing round's directory
(state DB, pairs.tsv, differences.txt, run logs, the target) is copied to ``--keep``.

Run: ``python bench/crash_loop.py [--scenario imap,maildir,serve] [--rounds 10] [--seed 1]``.
A bench, not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.crash import incremental  # noqa: E402
from bench.crash.code import MODES, snapshot  # noqa: E402
from bench.crash.rounds import Row, Settings, Stage, plan_delays, play  # noqa: E402
from bench.crash.scenarios import SCENARIOS, Scenario  # noqa: E402
from bench.crash.world import CorpusShape, World, world  # noqa: E402

FIRST_RUN_TIMEOUT = 600.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="all", help="comma list of imap,maildir,serve")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--phase", choices=("initial", "incremental"), default="initial",
        help="kill the first migration, or an incremental one (bench/crash/incremental.py)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="of the kill delays")
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--messages", type=int, default=400, help="per user")
    parser.add_argument("--exact-duplicates", type=int, default=4, help="per user")
    parser.add_argument("--corpus-seed", type=int, default=4100)
    parser.add_argument("--double-kill", type=float, default=0.3, help="probability")
    parser.add_argument("--minutes", type=float, default=20.0, help="time budget, all in all")
    parser.add_argument("--no-verify", dest="verify", action="store_false")
    parser.add_argument("--keep", type=Path, help="where failing rounds are copied")
    parser.add_argument(
        "--kill", choices=("group", "main"), default="group",
        help="SIGKILL the run's process group, or only its main process (workers live on)",
    )  # fmt: skip
    parser.add_argument("--migrate-args", default="", help='e.g. "--processes 3"')
    parser.add_argument("--code", choices=MODES, default="worktree", help="see bench/crash/code.py")
    args = parser.parse_args()
    names = list(SCENARIOS) if args.scenario == "all" else args.scenario.split(",")
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.scenarios = names
    if args.keep is None:
        args.keep = Path(f"/tmp/mailferry-crash-loop-{time.strftime('%Y%m%d-%H%M%S')}")
    return args


def stage_of(w: World, scenario: Scenario, args: argparse.Namespace) -> Stage:
    if args.phase == "incremental":
        return incremental.stage(w, FIRST_RUN_TIMEOUT, args.seed)
    want = incremental.source_expectation(w, scenario.lf)
    return lambda _scenario, _number: nullcontext(want)


def run_scenario(
    w: World, scenario: Scenario, args: argparse.Namespace, deadline: float
) -> list[Row]:
    stage = stage_of(w, scenario, args)
    settings = Settings(w.root / "rounds", args.keep, FIRST_RUN_TIMEOUT, args.verify)
    first = play(scenario, 0, (), stage, settings)
    full = first.run_seconds
    print(
        f"[{scenario.name}] uninterrupted {args.phase} run {full:.1f} s: {first.result}", flush=True
    )
    settings = Settings(
        settings.work,
        args.keep,
        max(120.0, 8 * full),
        args.verify,
        slow_after=5 * full + 5,
        whole_group=args.kill == "group",
    )
    rng = random.Random(f"{args.seed}-{scenario.name}")
    rows = [first]
    for number in range(1, args.rounds + 1):
        delays = plan_delays(rng, full, args.double_kill)
        if time.monotonic() > deadline:
            print(f"[{scenario.name}] time budget spent: rounds {number}.. not run", flush=True)
            break
        rows.append(play(scenario, number, delays, stage, settings))
        print(f"[{scenario.name}] {line(rows[-1])}", flush=True)
    return rows


def line(row: Row) -> str:
    kept = str(row.artefacts) if row.artefacts else ""
    return (
        f"{row.number:>5}  {row.delays():<22} {row.pairs_after_kill:<26} "
        f"{row.result:<20} {row.run_seconds:6.1f} {row.seconds:6.1f}  {row.note:<28} {kept}"
    )


def table(name: str, rows: list[Row]) -> str:
    header = (
        f"{'round':>5}  {'kill delay(s) s':<22} {'pairs after the kill':<26} "
        f"{'result':<20} {'last':>6} {'round':>6}  {'note':<28} artefacts"
    )
    kills = [k for r in rows for k in r.kills]
    landed = sum(k.killed for k in kills)
    pending = sum("pending" in r.pairs_after_kill for r in rows)
    failed = sum(not r.ok for r in rows)
    slow = sum("SLOW" in r.note for r in rows)
    summary = (
        f"{len(rows)} rounds (round 0 uninterrupted), {failed} failed, {slow} slow; {landed} of "
        f"{len(kills)} kills hit a running process; {pending} rounds left pending pairs"
    )
    return "\n".join([f"== {name} ==", header, *map(line, rows), summary])


def keep_code(snapshot_dir: Path, keep: Path, description: str) -> None:
    """The code the failing runs executed, next to their artefacts."""
    keep.mkdir(parents=True, exist_ok=True)
    (keep / "code.txt").write_text(description + "\n")
    if snapshot_dir.is_dir():
        shutil.copytree(snapshot_dir, keep / "code", dirs_exist_ok=True)


def main() -> int:
    args = parse_args()
    shape = CorpusShape(args.users, args.messages, args.exact_duplicates, args.corpus_seed)
    started = time.monotonic()
    budget = args.minutes * 60 / len(args.scenarios)
    tables = []
    failed = False
    with world(shape) as w:
        code_env, code = snapshot(args.code, w.root / "code")
        print(f"servers up, corpus written in {time.monotonic() - started:.0f} s; "
              f"runs use {code}", flush=True)  # fmt: skip
        for index, name in enumerate(args.scenarios):
            deadline = started + budget * (index + 1)
            scenario = SCENARIOS[name](w, code_env, args.migrate_args.split())
            rows = run_scenario(w, scenario, args, deadline)
            failed |= any(not r.ok for r in rows)
            tables.append(table(name, rows))
            print(tables[-1], flush=True)
        if failed:
            keep_code(w.root / "code", args.keep, code)
    print("\n\n".join(tables))
    kept = f"; artefacts under {args.keep}" if args.keep.exists() else ""
    verdict = "FAILURES" if failed else "no failure"
    print(f"\nall done in {time.monotonic() - started:.0f} s; seed {args.seed}; {verdict}{kept}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
