"""The faults bench/fault_hunt.py injects and the servers they act on: what each fault
is, how it is drawn, armed, played during a run and cleared again.

The rig: a SOURCE Dovecot (maildir, the users' generated mail plus byte-identical
copies) and two TARGET Dovecots (sdbox, mdbox; the quota plugin on), each behind a
fault proxy (src/mailferry/rig/fault_proxy.py), on loopback.

Proxy faults (bench's view of src/mailferry/rig/fault_proxy.py) are armed before the
run on the proxy in front of the SOURCE or the TARGET Dovecot and fire as the run's
traffic reaches them; ``kill9`` and ``restart-*`` act during the run, after a delay drawn
as a fraction of an uninterrupted run's duration; ``quota`` gives target users a 1 MB
quota before the run (lifted again by ``clear``). Each draw depends only on its own
random generator, so round N of a seed is the same fault whichever rounds ran before.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.crash import runs
from bench.crash.world import with_duplicates
from bench.peers.context import HOST, MASTER_PASSWORD, MASTER_USER
from bench.peers.corpora import BenchUser

from mailferry.rig import CorpusSpec, DovecotServer, make_ca
from mailferry.rig.fault_proxy import FaultProxy

FOLDERS = ("INBOX", "Sent", "Archive/2019")
KIB = 1024
IMAP_TARGETS = ("imap-sdbox", "imap-mdbox")
TARGETS = (*IMAP_TARGETS, "maildir")
QUOTA_MB = 1
MAX_DOWNTIME = 1.5  # seconds a restarted Dovecot stays down


@dataclass(frozen=True)
class Kind:
    imap_only: bool  # needs an IMAP target (its proxy, server or quota)
    draw: Callable[[random.Random], dict[str, float]]


def _delay(rng: random.Random) -> dict[str, float]:
    return {"at": rng.uniform(0.02, 1.0)}  # fraction of the uninterrupted run


def _restart(rng: random.Random) -> dict[str, float]:
    return {**_delay(rng), "down": rng.uniform(0.0, MAX_DOWNTIME)}


def _literal(rng: random.Random) -> dict[str, float]:
    return {"bytes": rng.randint(1, 400), "every": rng.randint(1, 30), "limit": rng.randint(1, 3)}


KINDS: dict[str, Kind] = {
    "kill9": Kind(False, _delay),
    "cut-source": Kind(False, lambda r: {"fraction": r.uniform(0.0, 1.0)}),
    "cut-target": Kind(True, lambda r: {"kb": r.uniform(0.5, 12.0)}),
    "inflate": Kind(False, _literal),
    "deflate": Kind(False, _literal),
    "throttle-append": Kind(True, lambda r: {"times": r.randint(1, 8)}),
    "throttle-fetch": Kind(False, lambda r: {"times": r.randint(1, 8)}),
    "bye-source": Kind(False, lambda r: {"after": r.randint(1, 60)}),
    "bye-target": Kind(True, lambda r: {"after": r.randint(1, 60)}),
    "restart-source": Kind(False, _restart),
    "restart-target": Kind(True, _restart),
    "quota": Kind(True, lambda r: {"users": r.randint(1, 3)}),  # bit mask of users 1, 2
}


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str  # one of TARGETS
    params: Mapping[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        shown = {k: f"{v:.2f}" if isinstance(v, float) else str(v) for k, v in self.params.items()}
        return f"{self.kind}({', '.join(f'{k}={v}' for k, v in shown.items())})"


def draw(rng: random.Random, kinds: list[str], targets: list[str]) -> Fault:
    """A fault kind (uniform), then a target it applies to (uniform), then its values."""
    kind = rng.choice(kinds)
    usable = [t for t in targets if t in IMAP_TARGETS or not KINDS[kind].imap_only]
    return Fault(kind, rng.choice(usable), KINDS[kind].draw(rng))


@dataclass
class Rig:
    """The servers and proxies a fault acts on (the hunt owns and stops them)."""

    source: DovecotServer
    targets: dict[str, DovecotServer]  # IMAP targets by name
    proxies: dict[str, FaultProxy]  # "source" and each IMAP target
    users: tuple[BenchUser, ...]
    source_bytes: int  # of every user's messages, for the source-side cut
    restarts: dict[str, int] = field(default_factory=dict)

    def quota_users(self, fault: Fault) -> list[BenchUser]:
        mask = int(fault.params.get("users", 0))
        return [u for i, u in enumerate(self.users) if mask & (1 << i)]


def hunt_users(count: int, messages: int, seed: int) -> tuple[BenchUser, ...]:
    """Small mailboxes (a round takes seconds): 3 folders, ~10 % ``\\Deleted``."""
    return tuple(
        BenchUser(
            f"hunt{n}@bench.example",
            f"hunt{n}-pw",
            CorpusSpec(
                seed=seed + n,
                messages=messages,
                folders=FOLDERS,
                size_range=(4 * KIB, 80 * KIB),
                deleted_fraction=0.1,
            ),
        )
        for n in range(1, count + 1)
    )


@contextmanager
def started_rig(root: Path, users: tuple[BenchUser, ...], duplicates: int) -> Iterator[Rig]:
    """Servers and proxies up, the source filled; all stopped on the way out."""
    ca = make_ca(root / "ca")
    source = DovecotServer(root / "source", ca, name="source", storage="maildir", fsync=False)
    targets = {
        "imap-sdbox": DovecotServer(root / "sdbox", ca, name="sdbox", storage="sdbox",
                                    fsync=False, quota=True),
        "imap-mdbox": DovecotServer(root / "mdbox", ca, name="mdbox", storage="mdbox",
                                    fsync=False, quota=True),
    }  # fmt: skip
    for server in (source, *targets.values()):
        server.add_master_user(MASTER_USER, MASTER_PASSWORD)
        for user in users:
            server.add_user(user.name, user.password)
    source_bytes = 0
    for user in users:
        messages = with_duplicates(user.spec, duplicates)
        source.write_maildir(user.name, messages)
        source_bytes += sum(m.imap_size for m in messages)
    with ExitStack() as stack:
        for server in (source, *targets.values()):
            stack.enter_context(server)
        proxies = {"source": FaultProxy(HOST, source.imap_port)}
        proxies |= {name: FaultProxy(HOST, server.imap_port) for name, server in targets.items()}
        for proxy in proxies.values():
            stack.enter_context(proxy)
        yield Rig(source, targets, proxies, users, source_bytes)


def arm(rig: Rig, fault: Fault) -> None:
    """Before the faulted run: the proxy fault or the quota."""
    p = fault.params
    source = rig.proxies["source"]
    target = rig.proxies.get(fault.target)
    if fault.kind == "cut-source":
        source.cut_after(max(1, int(p["fraction"] * rig.source_bytes)))
    elif fault.kind == "cut-target" and target is not None:
        target.cut_after(int(p["kb"] * 1024))
    elif fault.kind in ("inflate", "deflate"):
        method = source.inflate_literals if fault.kind == "inflate" else source.deflate_literals
        method(int(p["bytes"]), every=int(p["every"]), limit=int(p["limit"]))
    elif fault.kind == "throttle-append" and target is not None:
        target.throttle("APPEND", int(p["times"]))
    elif fault.kind == "throttle-fetch":
        source.throttle("UID FETCH", int(p["times"]))
    elif fault.kind == "bye-source":
        source.bye_after_commands(int(p["after"]))
    elif fault.kind == "bye-target" and target is not None:
        target.bye_after_commands(int(p["after"]))
    elif fault.kind == "quota":
        server = rig.targets[fault.target]
        for user in rig.quota_users(fault):
            server.add_user(user.name, user.password, quota_mb=QUOTA_MB)


def clear(rig: Rig, fault: Fault) -> None:
    """After the faulted run: disarm every proxy, lift quotas, every server running."""
    for proxy in rig.proxies.values():
        proxy.clear()
    if fault.kind == "quota":
        server = rig.targets[fault.target]
        for user in rig.quota_users(fault):
            server.add_user(user.name, user.password)
    for name, server in (("source", rig.source), *rig.targets.items()):
        if not server.is_running:
            server.start()
            rig.proxies[name].upstream = (server.host, server.imap_port)


@dataclass(frozen=True)
class During:
    """What happened while the faulted run ran."""

    code: int  # its exit code; -9 when killed (or killed at the timeout)
    killed: bool = False
    restarted: bool = False
    hung: bool = False
    note: str = ""


def play(
    rig: Rig,
    fault: Fault,
    process: subprocess.Popen[bytes],
    done: runs.Done,
    full: float,
    timeout: float,
) -> During:
    """Wait for the run, killing it or restarting a server on the way as ``fault`` says
    (``full``: an uninterrupted run's duration, which the delays are fractions of)."""
    if fault.kind == "kill9":
        outcome = runs.kill_after(process, fault.params["at"] * full, done)
        if outcome.killed:
            return During(-9, killed=True, note=f"killed at {outcome.delay:.2f} s")
        return During(process.returncode, note="ended before the kill")
    if fault.kind in ("restart-source", "restart-target"):
        delay = fault.params["at"] * full
        if runs.wait_until(process, done, delay):
            return During(process.returncode, note="ended before the restart")
        name = "source" if fault.kind == "restart-source" else fault.target
        restart(rig, name, fault.params["down"])
        code, hung = wait(process, timeout)
        return During(code, restarted=True, hung=hung, note=f"{name} restarted at {delay:.2f} s")
    code, hung = wait(process, timeout)
    return During(code, hung=hung)


def restart(rig: Rig, name: str, downtime: float) -> None:
    """Stop a Dovecot (its sessions end), keep it down ``downtime`` s, start it again
    (on new ports: the proxy in front of it is pointed there; clients keep the proxy's)."""
    server = rig.source if name == "source" else rig.targets[name]
    server.stop()
    time.sleep(downtime)
    server.start()
    rig.proxies[name].upstream = (server.host, server.imap_port)
    rig.restarts[name] = rig.restarts.get(name, 0) + 1


def wait(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, bool]:
    """Exit code and whether it hung (then it is killed: -9)."""
    try:
        return process.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        runs.kill_group(process)
        return -9, True
