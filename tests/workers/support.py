"""Glue of the scale-out tests: a service context on PostgreSQL, ``mailferry serve
--runner procrastinate`` and ``mailferry worker`` processes, and what the event log
says ran when."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.context import ServiceContext, ServiceSettings
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.statuses import BatchStatus
from mailferry.service.vault import Vault
from mailferry.state.migration_records import Event, TargetSettings
from mailferry.state.service_store import ServiceStore
from tests.service.service_support import (
    MakeUser,
    ManualClock,
    address,
    filled_user,
    source_endpoint,
    users_csv,
)

MAILFERRY = [sys.executable, "-m", "mailferry"]
LEASE = "4s"
JOB_EVENTS = ("job_started", "job_finished", "job_cancelled")


@dataclass
class Rig:
    """A state database on PostgreSQL, its key, where the mail goes, the processes."""

    ctx: ServiceContext
    env: dict[str, str]
    mail: Path
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [*MAILFERRY, *args], env=self.env, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def scheduler(self, name: str = "serve") -> subprocess.Popen[bytes]:
        return self.start(
            name, "serve", "--runner", "procrastinate", "--poll", "0.2s", "--lease", LEASE
        )

    def worker(self, name: str, concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--concurrency", str(concurrency), "--lease", LEASE)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        process = self.processes[name]
        process.send_signal(sig)
        return process.wait(30)

    def log(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                process.kill()
                process.wait(10)


@contextlib.contextmanager
def pg_rig(pg_url: str, tmp_path: Path) -> Iterator[Rig]:
    key = Vault.generate_key()
    mail = tmp_path / "mail"
    settings = ServiceSettings(
        poll_seconds=0.2, retry_base_seconds=1.0, stats_interval_seconds=0.2,
        default_target=TargetSettings(kind="maildir", maildir_root=str(mail)),
    )  # fmt: skip
    store = ServiceStore.open(pg_url)
    ctx = ServiceContext(store=store, vault=Vault(key), settings=settings, clock=ManualClock())
    env = {
        **os.environ,
        "MAILFERRY_DB": pg_url,
        "MAILFERRY_KEY": key.decode(),
        "MAILFERRY_TARGET": f"maildir:{mail}",
        "MAILFERRY_HOME": str(tmp_path / "home"),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    rig = Rig(ctx, env, mail, logs)
    try:
        yield rig
    finally:
        rig.stop_all()
        store.close()


def new_batch(
    rig: Rig, source: DovecotServer, make_user: MakeUser, *, name: str, users: int,
    messages: int, seed: int, endpoint: str = "Src", **caps: int,
) -> tuple[int, list[str]]:  # fmt: skip
    """An endpoint (made once) and an auto-started batch of filled users; the batch id
    and the users' account names."""
    if rig.ctx.store.endpoint(endpoint) is None:
        asyncio.run(new_endpoint(rig.ctx, endpoint, source_endpoint(source, **caps)))
    accounts = [
        filled_user(source, make_user, seed=seed + n, messages=messages) for n in range(users)
    ]
    csv = users_csv([(address(a), a.name, a.password) for a in accounts])
    batch = batches.new_batch(rig.ctx, batches.BatchRequest(name, endpoint, csv, auto_start=True))
    return batch.id, [a.name for a in accounts]


def batch_is(rig: Rig, name: str, status: BatchStatus) -> Callable[[], bool]:
    return lambda: batches.get_batch(rig.ctx, name).status == status


def wait_for(condition: Callable[[], bool], seconds: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def digests(root: Path) -> Counter[str]:
    """The multiset of message contents in a Maildir tree."""
    found: Counter[str] = Counter()
    for path in root.rglob("*"):
        if path.is_file() and path.parent.name in ("cur", "new"):
            content = path.read_bytes().replace(b"\r\n", b"\n")
            found[hashlib.sha256(content).hexdigest()] += 1
    return found


def written(root: Path) -> int:
    return sum(1 for p in root.glob("*/**/*") if p.is_file() and p.parent.name in ("cur", "new"))


def exact(rig: Rig, source: DovecotServer, names: Sequence[str]) -> list[str]:
    """The users whose copy differs from their source mailbox (none: all exact)."""
    wrong = []
    for name in names:
        mine = digests(rig.mail / f"{name}@service.example")
        if mine != digests(source.user_mail_dir(name)) or not mine:
            wrong.append(f"{name}: {sum(mine.values())} messages")
    return wrong


def peak_jobs(events: Sequence[Event], job: str | None = None) -> tuple[dict[int, int], int]:
    """From the job events in log order (of the ``job`` kind only, e.g.
    "IncrementalSyncing", when given): the most jobs running at once per endpoint, and
    the most at once on one user (1: never two jobs on one mailbox)."""
    open_by_endpoint: Counter[int] = Counter()
    open_by_user: Counter[int] = Counter()
    peak: dict[int, int] = {}
    per_user = 0
    for event in events:
        if event.kind not in JOB_EVENTS or event.user_id is None or event.endpoint_id is None:
            continue
        if job is not None and event.detail.get("job") != job:
            continue
        step = 1 if event.kind == "job_started" else -1
        open_by_endpoint[event.endpoint_id] += step
        open_by_user[event.user_id] += step
        peak[event.endpoint_id] = max(
            peak.get(event.endpoint_id, 0), open_by_endpoint[event.endpoint_id]
        )
        per_user = max(per_user, open_by_user[event.user_id])
    return peak, per_user
