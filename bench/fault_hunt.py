"""Fault hunt: inject one random fault per round, re-run, prove no mail lost, duplicated
or falsely reported Synced.

A SOURCE Dovecot (maildir: 2 users x ~60 generated messages over 3 folders, ~10 %
``\\Deleted``, byte-identical copies) and two TARGET Dovecots (sdbox, mdbox, with the
quota plugin), all on tmpfs, each behind a fault proxy (src/mailferry/rig/fault_proxy.py);
mailferry talks to the proxies only (``--security none``). Every round, with a fresh
target (IMAP sdbox, IMAP mdbox or a Maildir) and state database, draws one fault
(bench/crash/faults.py: kill -9 of ``migrate``, a connection cut after N bytes on the
source or target side, lying literal sizes, NO [THROTTLED] replies to APPEND or UID
FETCH, BYE, a Dovecot restart, a 1 MB target quota), runs ``mailferry migrate`` with it
armed, clears it and re-runs until exit 0 (at most ``--reruns``), then runs once more
(a no-op: nothing may change) and ``mailferry verify``.

After every run, each user its report says Synced is compared with the source right
away (per folder: multiset of sha256 of the bytes, flags, dates; bench/crash/compare.py):
any difference is a falsely-Synced outcome. The report's counts are checked too
(Total = Synced + Skipped + Missing; for a Synced user Total = the source's messages,
Synced = those not ``\\Deleted``, Skipped = the ``\\Deleted`` ones, Missing = 0), and
the exit code against the statuses. After the last run the whole target must equal the
source. A failing round's directory (state DB, pairs.tsv, logs, reports, target) is
copied to ``--keep``; the exit code is then 1.

Run: ``python bench/fault_hunt.py [--rounds 40] [--seed 1] [--max-seconds 1200]``;
``--only 7,12`` replays rounds of a seed. A bench, not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.crash import evidence, faults  # noqa: E402
from bench.crash.code import MODES, snapshot  # noqa: E402
from bench.crash.compare import Verdict, compare, view_changes  # noqa: E402
from bench.crash.faults import TARGETS, Fault, Rig  # noqa: E402
from bench.crash.rounds import Expected  # noqa: E402
from bench.crash.scenarios import MigrateImap, MigrateMaildir, Scenario, with_value  # noqa: E402
from bench.crash.views import Labels, View, expected, read_imap  # noqa: E402
from bench.crash.world import World  # noqa: E402
from bench.peers.context import HOST  # noqa: E402
from bench.peers.corpora import Corpus  # noqa: E402
from bench.peers.machine import memory_tempdir  # noqa: E402

from mailferry.rig import DovecotServer  # noqa: E402

RUN_TIMEOUT = 180.0
EXTRA = ["--retry-base", "100ms", "--max-attempts", "4"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--seed", type=int, default=1, help="of the faults drawn")
    p.add_argument("--max-seconds", type=float, default=1200.0, help="time bound, all in all")
    p.add_argument("--only", default="", help="comma list of round numbers to play")
    p.add_argument("--faults", default=",".join(faults.KINDS), help="comma list of kinds")
    p.add_argument("--targets", default=",".join(TARGETS), help="comma list of targets")
    p.add_argument("--reruns", type=int, default=3, help="clean re-runs after the fault")
    p.add_argument("--users", type=int, default=2)
    p.add_argument("--messages", type=int, default=60, help="per user")
    p.add_argument("--duplicates", type=int, default=2, help="byte-identical copies per user")
    p.add_argument("--corpus-seed", type=int, default=9100)
    p.add_argument("--no-noop", dest="noop", action="store_false")
    p.add_argument("--no-verify", dest="verify", action="store_false")
    p.add_argument("--keep", type=Path, help="where failing rounds are copied")
    p.add_argument("--migrate-args", default="", help='more migrate options, e.g. "--processes 1"')
    p.add_argument("--code", choices=MODES, default="worktree", help="see bench/crash/code.py")
    args = p.parse_args()
    args.kinds, args.target_list = args.faults.split(","), args.targets.split(",")
    for given, known in ((args.kinds, faults.KINDS), (args.target_list, TARGETS)):
        if set(given) - set(known):
            p.error(f"unknown {sorted(set(given) - set(known))}; choose from {', '.join(known)}")
    args.only_rounds = {int(n) for n in args.only.split(",") if n}
    if args.keep is None:
        args.keep = Path(f"/tmp/mailferry-fault-hunt-{time.strftime('%Y%m%d-%H%M%S')}")
    return args


# -- the servers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The source as read over IMAP at the start, for the two digests (CRLF, LF)."""

    want: dict[bool, Expected]  # lf -> what the target must hold
    totals: dict[str, tuple[int, int]]  # user -> (messages, \\Deleted ones)


@dataclass(frozen=True)
class Hunt:
    root: Path
    rig: Rig
    corpus: Corpus
    source: Source
    code_env: dict[str, str]
    code: str
    extra: list[str]


def read_source(source: DovecotServer, corpus: Corpus) -> Source:
    want, views = {}, {}
    for lf in (False, True):
        labels = Labels()
        views = {u.name: read_imap(source.imap_port, u.name, u.password, lf=lf, labels=labels)
                 for u in corpus.users}  # fmt: skip
        want[lf] = Expected({name: expected(view) for name, view in views.items()}, labels)
    return Source(want, {name: _totals(view) for name, view in views.items()})


def _totals(view: View) -> tuple[int, int]:
    mails = [(m, n) for folder in view.values() for m, n in folder.items()]
    return sum(n for _, n in mails), sum(n for m, n in mails if "\\Deleted" in m.flags)


@contextmanager
def hunt_world(args: argparse.Namespace) -> Iterator[Hunt]:
    corpus = Corpus("hunt", faults.hunt_users(args.users, args.messages, args.corpus_seed))
    with memory_tempdir("mailferry-fault-hunt-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        with faults.started_rig(root, corpus.users, args.duplicates) as rig:
            code_env, code = snapshot(args.code, root / "code")
            extra = EXTRA + args.migrate_args.split()
            yield Hunt(root, rig, corpus, read_source(rig.source, corpus), code_env, code, extra)


def scenario_for(hunt: Hunt, target: str, directory: Path) -> Scenario:
    """A crash-loop scenario (bench/crash/scenarios.py) whose runs go through the proxies."""
    server = hunt.rig.targets.get(target) or next(iter(hunt.rig.targets.values()))
    world = World(hunt.rig.source, server, hunt.corpus, hunt.root)
    kind = MigrateMaildir if target == "maildir" else MigrateImap
    scenario = kind(world, hunt.code_env, hunt.extra)
    scenario.prepare(directory)
    scenario.argv = with_value(scenario.argv, "--port", str(hunt.rig.proxies["source"].port))
    if target != "maildir":
        url = f"imap://{HOST}:{hunt.rig.proxies[target].port}"
        scenario.argv = with_value(scenario.argv, "--target", url)
    return scenario


# -- one run and its checks -------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    name: str  # run1 (the faulted one), run2.., noop
    during: faults.During
    statuses: dict[str, str]  # user -> Status in the report (none: no report)
    false_synced: int
    problems: tuple[str, ...]
    details: tuple[str, ...]
    quota_hit: bool

    def label(self) -> str:
        d = self.during
        return "K" if d.killed else "H" if d.hung else str(d.code)


def load_report(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    users = json.loads(path.read_text(encoding="utf-8")).get("Users", [])
    return {u["EmailAddress"]: u for u in users}


def report_problems(user: dict[str, Any], totals: tuple[int, int]) -> list[str]:
    status, name = user.get("Status"), user.get("EmailAddress")
    if "TotalItemsInSourceMailboxCount" not in user:
        return [f"{name}: Synced without counts"] if status == "Synced" else []
    total, synced = user["TotalItemsInSourceMailboxCount"], user["SyncedItemCount"]
    skipped, missing = user["SkippedItemCount"], user["MissingItemCount"]
    found = []
    if total != synced + skipped + missing:
        found.append(f"Total {total} != Synced {synced} + Skipped {skipped} + Missing {missing}")
    messages, deleted = totals
    if status == "Synced":
        wanted = {"Total": (total, messages), "Synced": (synced, messages - deleted),
                  "Skipped": (skipped, deleted), "Missing": (missing, 0)}  # fmt: skip
        found += [f"Synced with {k} {got}, source says {want}"
                  for k, (got, want) in wanted.items() if got != want]  # fmt: skip
    elif status == "Incomplete" and not missing and not user.get("FolderErrors"):
        found.append("Incomplete with nothing missing and no folder error")
    return [f"{name}: {p}" for p in found]


def check_run(
    hunt: Hunt, scenario: Scenario, name: str, during: faults.During, report: Path
) -> RunRecord:
    users = load_report(report)
    statuses = {n: str(u.get("Status")) for n, u in users.items()}
    problems: list[str] = []
    details: list[str] = []
    false_synced = 0
    want = hunt.source.want[scenario.lf]
    got = scenario.read_target() if "Synced" in statuses.values() else {}
    for user in hunt.corpus.users:
        if user.name not in users:
            continue
        problems += report_problems(users[user.name], hunt.source.totals[user.name])
        if statuses[user.name] == "Synced":
            verdict = compare({user.name: want.views.get(user.name, {})},
                              {user.name: got.get(user.name, {})}, want.labels)  # fmt: skip
            if not verdict.ok:
                false_synced += 1
                details += [f"{name}: falsely Synced: {d}" for d in verdict.details]
    if not during.killed and not during.hung:
        all_synced = len(users) == len(hunt.corpus.users) and set(statuses.values()) == {"Synced"}
        if (during.code == 0) != all_synced:
            problems.append(f"exit {during.code} with statuses {sorted(statuses.values())}")
    errors = json.dumps([(u.get("Error"), u.get("FolderErrors")) for u in users.values()])
    problems = [f"{name}: {p}" for p in problems]
    return RunRecord(name, during, statuses, false_synced, tuple(problems), tuple(details),
                     "quota" in errors.lower())  # fmt: skip


def run(hunt: Hunt, scenario: Scenario, name: str, fault: Fault, full: float) -> RunRecord:
    report = scenario.directory / f"{name}.json"
    scenario.argv = with_value(scenario.argv, "--report", str(report))
    process = scenario.launch(scenario.directory / f"{name}.log")
    during = faults.play(hunt.rig, fault, process, scenario.done, full, RUN_TIMEOUT)
    return check_run(hunt, scenario, name, during, report)


# -- one round --------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundResult:
    number: int
    fault: Fault
    runs: tuple[RunRecord, ...]
    fired: Counter[str]  # faults injected, by kind
    verdict: Verdict  # the target after the last run against the source
    problems: tuple[str, ...]
    seconds: float
    first_run: float  # seconds of the first run
    kept: Path | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.problems


def counters(rig: Rig) -> Counter[str]:
    found: Counter[str] = Counter()
    for name, proxy in rig.proxies.items():
        for kind, n in proxy.counts().faults.items():
            found[f"{name}:{kind}"] += n
    return found


def play_round(hunt: Hunt, number: int, fault: Fault, full: float, args: argparse.Namespace
               ) -> RoundResult:  # fmt: skip
    started = time.monotonic()
    name = f"r{number:03d}" if number > 0 else f"control{-number}"
    directory = hunt.root / "rounds" / f"{name}-{fault.target}-{fault.kind}"
    scenario = scenario_for(hunt, fault.target, directory)
    before = counters(hunt.rig)
    faults.arm(hunt.rig, fault)
    armed = time.monotonic()
    try:
        records = [run(hunt, scenario, "run1", fault, full)]
    finally:
        first_run = time.monotonic() - armed
        faults.clear(hunt.rig, fault)
    clean = Fault("none", fault.target)
    while records[-1].during.code != 0 and len(records) <= args.reruns:
        records.append(run(hunt, scenario, f"run{len(records) + 1}", clean, full))
    fired = counters(hunt.rig) - before
    fired["kill9"] = sum(r.during.killed for r in records)
    fired[fault.kind.replace("restart", "restarted")] += sum(r.during.restarted for r in records)
    fired["quota-hit"] = int(fault.kind == "quota" and records[0].quota_hit)
    want = hunt.source.want[scenario.lf]
    got = scenario.read_target()
    verdict = compare(want.views, got, want.labels)
    problems = [p for r in records for p in r.problems] + after_recovery(
        hunt, scenario, records, got, args
    )
    details = [d for r in records for d in r.details] + list(verdict.details)
    false_synced = sum(r.false_synced for r in records)
    if false_synced:
        problems.append(f"FALSELY-SYNCED {false_synced}")
    problems += [f"HUNG {r.name}" for r in records if r.during.hung]
    problems += [f"proxy {n}: {f}" for n, p in hunt.rig.proxies.items() for f in p.failures]
    result = RoundResult(number, fault, tuple(records), fired, verdict, tuple(problems),
                         time.monotonic() - started, first_run)  # fmt: skip
    if result.ok:
        return result
    kept = evidence.keep(directory, args.keep / directory.name, scenario.state_db,
                         [fault.describe(), *problems, *details])  # fmt: skip
    scenario.keep_target(kept)
    return RoundResult(**{**result.__dict__, "kept": kept})


def after_recovery(
    hunt: Hunt, scenario: Scenario, records: list[RunRecord], got: dict[str, View],
    args: argparse.Namespace,
) -> list[str]:  # fmt: skip
    """Once a run exited 0: a no-op run (appended to ``records``) must change nothing,
    and ``mailferry verify`` must agree."""
    if records[-1].during.code != 0:
        return [f"NEVER-RECOVERED after {len(records) - 1} clean re-run(s)"]
    problems = []
    if args.noop:
        records.append(run(hunt, scenario, "noop", Fault("none", scenario.name), 1.0))
        problems += list(records[-1].problems)
        changed = view_changes(got, scenario.read_target())
        if changed or records[-1].during.code:
            problems.append(f"NOOP exit {records[-1].during.code}, {changed} message(s) changed")
    if args.verify and not records[-1].during.code:
        code = scenario.verify(scenario.directory / "verify.log", RUN_TIMEOUT)
        if code:
            problems.append(f"VERIFY exit {code}")
    return problems


def line(r: RoundResult) -> str:
    runs = ",".join(x.label() for x in r.runs if x.name != "noop")
    runs += "".join(f" noop {x.label()}" for x in r.runs if x.name == "noop")
    notes = "; ".join(x.during.note for x in r.runs if x.during.note)
    fired = " ".join(f"{k}={n}" for k, n in sorted(r.fired.items()) if n) or "-"
    result = " ".join(([] if r.verdict.ok else [r.verdict.label()]) + list(r.problems)) or "OK"
    kept = f" kept {r.kept}" if r.kept else ""
    return (f"{r.number:>4} {r.fault.target:<10} {r.fault.describe():<52} exits {runs:<10} "
            f"fired {fired:<24} {r.seconds:5.1f}s {result}{' (' + notes + ')' if notes else ''}"
            f"{kept}")  # fmt: skip


# -- the hunt ---------------------------------------------------------------------------


def controls(hunt: Hunt, args: argparse.Namespace) -> tuple[dict[str, float], list[RoundResult]]:
    """One uninterrupted round per target: checked like the others; times the delays."""
    durations, results = {}, []
    for index, target in enumerate(args.target_list):
        result = play_round(hunt, -1 - index, Fault("none", target), 1.0, args)
        durations[target] = max(0.5, result.first_run)
        results.append(result)
        print(f"control {line(result)}", flush=True)
    return durations, results


def summary(results: list[RoundResult], control: list[RoundResult], hunt: Hunt,
            seconds: float, args: argparse.Namespace) -> str:  # fmt: skip
    fired: Counter[str] = Counter()
    for r in results:
        fired.update(r.fired)
    drawn = Counter(r.fault.kind for r in results)
    hits = Counter(r.fault.kind for r in results if _fired(r))
    runs = [x for r in results + control for x in r.runs]
    every = results + control
    verdicts = [r.verdict for r in every]
    lines = [
        f"rounds: {len(results)} (+{len(control)} control), seed {args.seed}, {seconds:.0f} s; "
        f"code: {hunt.code}",
        "faults drawn (rounds where it fired): "
        + ", ".join(f"{k} {drawn[k]} ({hits[k]})" for k in sorted(drawn)),
        "faults injected: "
        + (", ".join(f"{k} {n}" for k, n in sorted(fired.items()) if n) or "none"),
        f"runs: {len(runs)}; killed {sum(x.during.killed for x in runs)}, ended non-zero "
        f"{sum(x.during.code not in (0, -9) for x in runs)} (the fault was reported), exit 0 "
        f"{sum(x.during.code == 0 for x in runs)}, hung {sum(x.during.hung for x in runs)}",
        f"lost messages: {sum(v.lost for v in verdicts)}",
        f"duplicated messages: {sum(v.dup for v in verdicts)}",
        f"wrong (not in the source) {sum(v.extra for v in verdicts)}, flags differ "
        f"{sum(v.flags for v in verdicts)}, dates differ {sum(v.dates for v in verdicts)}",
        f"falsely-Synced outcomes: {sum(x.false_synced for x in runs)}",
        f"report/exit-code problems: {sum(len(x.problems) for x in runs)}",
        f"rounds failed: {sum(not r.ok for r in every)}"
        + (f"; evidence under {args.keep}" if args.keep.exists() else ""),
    ]
    return "\n".join(lines)


def _fired(r: RoundResult) -> bool:
    kind = r.fault.kind
    if kind in ("kill9", "quota"):
        return bool(r.fired["kill9" if kind == "kill9" else "quota-hit"])
    if kind.startswith("restart"):
        return bool(r.fired[kind.replace("restart", "restarted")])
    return any(n for k, n in r.fired.items() if ":" in k)


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    deadline = started + args.max_seconds
    results: list[RoundResult] = []
    with hunt_world(args) as hunt:
        print(f"servers up in {time.monotonic() - started:.1f} s; runs use {hunt.code}", flush=True)
        durations, control = controls(hunt, args)
        kinds = [k for k in args.kinds if not faults.KINDS[k].imap_only or
                 set(args.target_list) & set(faults.IMAP_TARGETS)]  # fmt: skip
        for number in range(1, args.rounds + 1):
            rng = random.Random(f"{args.seed}-{number}")
            fault = faults.draw(rng, kinds, args.target_list)
            if args.only_rounds and number not in args.only_rounds:
                continue
            if time.monotonic() > deadline:
                print(f"time bound reached: rounds {number}.. not played", flush=True)
                break
            results.append(play_round(hunt, number, fault, durations[fault.target], args))
            print(line(results[-1]), flush=True)
        text = summary(results, control, hunt, time.monotonic() - started, args)
    print("\n" + text)
    return 0 if all(r.ok for r in results + control) else 1


if __name__ == "__main__":
    sys.exit(main())
