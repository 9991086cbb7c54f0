"""Benchmark: ``mailferry serve`` with N users to migrate and M other users in the database.

On the rig's real Dovecot (SOURCE: maildir; TARGET: sdbox on tmpfs, logged into as its
master user), N users with small mailboxes (``--messages``, 20 by default) are migrated
by a ``mailferry serve`` subprocess, with M other users in never-started batches
inserted directly in bulk (``--idle 0,50000`` runs both). For each M it prints:

- time to Synced and the service's CPU per user (the serve process, from psutil);
- a no-op incremental (SyncNow of the batch): time and CPU;
- the CPU of the idle service per minute (``--idle-seconds`` of doing nothing);
- the concurrency observed (from the event log) against the endpoint's caps;

and, each round, one-shot ``mailferry migrate`` on the same users into an emptied target (its
CPU per user, the yardstick for the service's). Then the targets: idle CPU < 0.1 s per
minute; the no-op incremental with M others within 1.5x of the same with none; the
service's CPU per user <= 1.2x migrate's. ``--repeat R`` runs R rounds, the order of
the M values reversed each round, and judges the medians (the machine is shared: a
later run is often slower).

Run: ``python bench/service_scale.py [--users 300|2000] [--idle 0,50000] [--repeat 2]``.
Not a test: it prints figures (and writes them as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.peers.machine import memory_tempdir  # noqa: E402

from mailferry.rig import CorpusSpec, DovecotServer, generate, make_ca  # noqa: E402
from mailferry.service.batches import manage as batches  # noqa: E402
from mailferry.service.context import ServiceContext  # noqa: E402
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint  # noqa: E402
from mailferry.service.vault import Vault  # noqa: E402
from mailferry.state.migration_records import TargetSettings  # noqa: E402
from mailferry.state.service_store import ServiceStore  # noqa: E402

HOST = "127.0.0.1"
MASTER, MASTER_PASSWORD = "admin", "admin-pw"
FOLDERS = ("INBOX", "Sent", "Archive/2023")
IDLE_PER_BATCH = 10_000
IDLE_TARGET_PER_MINUTE = 0.1
NOOP_RATIO_TARGET = 1.5
CPU_RATIO_TARGET = 1.2


@dataclass
class ServiceFigures:
    idle_users: int
    synced_seconds: float = 0.0
    synced_cpu: float = 0.0
    noop_seconds: float = 0.0
    noop_cpu: float = 0.0
    idle_cpu_per_minute: float = 0.0
    peak_initial: int = 0
    peak_incremental: int = 0
    failed_users: int = 0


@dataclass
class MigrateFigures:
    seconds: float = 0.0
    cpu: float = 0.0
    exit_code: int = 0


class Rig:
    """The two Dovecot servers and the N source users (written once)."""

    def __init__(self, root: Path, target_root: Path, users: int, messages: int) -> None:
        ca = make_ca(root / "ca")
        self.source = DovecotServer(root / "source", ca, name="source", fsync=False)
        self.target = DovecotServer(
            target_root / "target", ca, name="target", storage="sdbox", fsync=False
        )
        self.names = [f"u{n:05d}@scale.example" for n in range(users)]
        for server in (self.source, self.target):
            server.add_master_user(MASTER, MASTER_PASSWORD)
            for name in self.names:
                server.add_user(name, f"pw-{name}")
        for n, name in enumerate(self.names):
            spec = CorpusSpec(
                seed=7000 + n, messages=messages, folders=FOLDERS,
                deleted_fraction=0.0, malformed_fraction=0.0,
            )  # fmt: skip
            self.source.write_maildir(name, generate(spec))

    def csv_bytes(self) -> bytes:
        lines = ["EmailAddress,UserName,Password"]
        lines += [f"{name},{name},pw-{name}" for name in self.names]
        return ("\r\n".join(lines) + "\r\n").encode()

    def empty_target(self) -> None:
        for name in self.names:
            self.target.reset_user(name)


# -- the service ---------------------------------------------------------------------


def open_context(db: Path, key: bytes) -> ServiceContext:
    return ServiceContext(store=ServiceStore.open(f"sqlite:///{db}"), vault=Vault(key))


def add_idle_users(ctx: ServiceContext, endpoint_id: int, count: int) -> None:
    """``count`` users in never-started batches, inserted in bulk (one dummy ciphertext)."""
    secret = ctx.vault.encrypt("unused")
    target = TargetSettings(kind="maildir", maildir_root="/nonexistent")
    for first in range(0, count, IDLE_PER_BATCH):
        size = min(IDLE_PER_BATCH, count - first)
        values = {
            "name": f"Idle{first // IDLE_PER_BATCH:03d}", "status": "Created",
            "source_endpoint_id": endpoint_id, "target": target, "target_secret": None,
            "exclude_folders": (), "include_folders": (), "auto_start": False,
            "start_after": None, "complete_after": None, "notification_emails": (),
            "created_at": dt.datetime.now(dt.UTC),
        }  # fmt: skip
        rows = [
            {
                "row": n + 1,
                "email_address": f"idle{first + n}@idle.example",
                "email_key": f"idle{first + n}@idle.example",
                "user_name": f"idle{first + n}",
                "user_root": None,
                "password_secret": secret,
                "mailbox_key": f"idle-mailbox-{first + n}",
            }
            for n in range(size)
        ]
        ctx.store.add_batch(values, rows)


def prepare(ctx: ServiceContext, rig: Rig, idle: int) -> int:
    """The endpoint, the idle users and the (not started) batch; the batch's id."""
    changes = EndpointChanges(remote_server=HOST, port=rig.source.imap_port, security="None")
    endpoint = asyncio.run(new_endpoint(ctx, "Src", changes, skip_verification=True))
    add_idle_users(ctx, endpoint.id, idle)
    target = TargetSettings(
        kind="imap", host=HOST, port=rig.target.imap_port, security="None",
        login="master-user", admin_user=MASTER,
    )  # fmt: skip
    request = batches.BatchRequest(
        "Bench", "Src", rig.csv_bytes(), target=target, target_secret=MASTER_PASSWORD
    )
    return batches.new_batch(ctx, request).id


class Serve:
    """``mailferry serve`` as a subprocess; its CPU seconds from psutil."""

    def __init__(self, db: Path, key: bytes, log: Path, poll: str) -> None:
        env = {**os.environ, "MAILFERRY_DB": f"sqlite:///{db}", "MAILFERRY_KEY": key.decode()}
        command = [sys.executable, "-m", "mailferry", "serve", "--poll", poll]
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=sink
            )
        self.ps = psutil.Process(self.process.pid)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system + times.children_user + times.children_system

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")


def scalar(ctx: ServiceContext, sql: str, **params: object) -> int:
    with ctx.store.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one() or 0)


def registered(ctx: ServiceContext) -> bool:
    return scalar(ctx, "SELECT count(*) FROM services") > 0


def batch_settled(ctx: ServiceContext, batch_id: int) -> bool:
    """Synced (or SyncedWithErrors) with no job running and no SyncNow left."""
    status = ctx.store.batch_by_id(batch_id)
    if status is None or status.status.value not in ("Synced", "SyncedWithErrors"):
        return False
    busy = scalar(
        ctx,
        "SELECT count(*) FROM migration_users WHERE batch_id = :b AND "
        "(claimed_by IS NOT NULL OR sync_requested = :t)",
        b=batch_id, t=True,
    )  # fmt: skip
    return busy == 0


def peak(ctx: ServiceContext, batch_id: int, after: int) -> int:
    """The most jobs running at once (job_started / job_finished replayed) after event
    ``after``."""
    running: set[int] = set()
    most = 0
    for event in ctx.store.events(batch_id=batch_id):
        if event.id <= after:
            continue
        if event.kind == "job_started":
            running.add(event.user_id or 0)
            most = max(most, len(running))
        elif event.kind in ("job_finished", "job_cancelled"):
            running.discard(event.user_id or 0)
    return most


def last_event(ctx: ServiceContext) -> int:
    return scalar(ctx, "SELECT max(id) FROM events")


def run_service(args: argparse.Namespace, rig: Rig, work: Path, idle: int) -> ServiceFigures:
    figures = ServiceFigures(idle)
    rig.empty_target()
    run_dir = work / f"run{len(list(work.glob('run*')))}-idle-{idle}"
    run_dir.mkdir(parents=True)
    db, key = run_dir / "mailferry.db", Vault.generate_key()
    ctx = open_context(db, key)
    started = time.monotonic()
    batch_id = prepare(ctx, rig, idle)
    print(f"[idle {idle}] database ready in {time.monotonic() - started:.1f} s", flush=True)
    serve = Serve(db, key, run_dir / "serve.log", args.poll)
    try:
        wait_until(lambda: registered(ctx), 60, "serve to register")
        time.sleep(2)  # its start-up is not the migration's cost
        before, cpu, started = last_event(ctx), serve.cpu(), time.monotonic()
        batches.start_batch(ctx, "Bench")
        wait_until(lambda: batch_settled(ctx, batch_id), args.timeout, "the batch to sync")
        figures.synced_seconds = time.monotonic() - started
        figures.synced_cpu = serve.cpu() - cpu
        figures.peak_initial = peak(ctx, batch_id, before)
        figures.failed_users = scalar(
            ctx, "SELECT count(*) FROM migration_users WHERE batch_id = :b AND status != 'Synced'",
            b=batch_id,
        )  # fmt: skip
        print(f"[idle {idle}] synced in {figures.synced_seconds:.1f} s", flush=True)

        time.sleep(1)
        before, cpu, started = last_event(ctx), serve.cpu(), time.monotonic()
        batches.sync_now(ctx, "Bench")
        wait_until(lambda: batch_settled(ctx, batch_id), args.timeout, "the no-op incremental")
        figures.noop_seconds = time.monotonic() - started
        figures.noop_cpu = serve.cpu() - cpu
        figures.peak_incremental = peak(ctx, batch_id, before)
        print(f"[idle {idle}] no-op incremental in {figures.noop_seconds:.1f} s", flush=True)

        time.sleep(2)
        cpu = serve.cpu()
        time.sleep(args.idle_seconds)
        figures.idle_cpu_per_minute = (serve.cpu() - cpu) * 60 / args.idle_seconds
    finally:
        code = serve.stop()
        ctx.store.close()
    if code != 0:
        print(f"[idle {idle}] serve exited with {code}: see {run_dir / 'serve.log'}")
    return figures


# -- one-shot migrate ------------------------------------------------------------------


def run_migrate(args: argparse.Namespace, rig: Rig, work: Path) -> MigrateFigures:
    rig.empty_target()
    run_dir = work / f"migrate{len(list(work.glob('migrate*')))}"
    run_dir.mkdir(parents=True)
    users = run_dir / "users.csv"
    with users.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["EmailAddress", "UserName", "Password"])
        writer.writerows([name, name, f"pw-{name}"] for name in rig.names)
    password = run_dir / "target-password"
    password.write_text(MASTER_PASSWORD)
    password.chmod(0o600)
    command = [
        sys.executable, "-m", "mailferry", "migrate", "--source-server", HOST,
        "--port", str(rig.source.imap_port), "--security", "none", "--csv", str(users),
        "--target", f"imap://{HOST}:{rig.target.imap_port}", "--target-security", "none",
        "--target-login", "master-user", "--target-admin", MASTER,
        "--target-password-file", str(password), "--state", str(run_dir / "state.db"),
        "--max-concurrent", str(args.max_migrations), "--processes", "1",
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(f"[migrate] exit {done.returncode}: {done.stderr.decode()[-2000:]}")
    return MigrateFigures(seconds, cpu, done.returncode)


# -- the report --------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def median_of(runs: Sequence[ServiceFigures], idle: int) -> ServiceFigures:
    """Each figure's median over the runs with ``idle`` others (peaks: the highest)."""
    same = [r for r in runs if r.idle_users == idle]

    def mid(name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in same))

    return ServiceFigures(
        idle,
        synced_seconds=mid("synced_seconds"),
        synced_cpu=mid("synced_cpu"),
        noop_seconds=mid("noop_seconds"),
        noop_cpu=mid("noop_cpu"),
        idle_cpu_per_minute=mid("idle_cpu_per_minute"),
        peak_initial=max(r.peak_initial for r in same),
        peak_incremental=max(r.peak_incremental for r in same),
        failed_users=max(r.failed_users for r in same),
    )


def report(
    args: argparse.Namespace, runs: Sequence[ServiceFigures], migrates: Sequence[MigrateFigures]
) -> None:
    n = args.users
    print()
    print(f"{n} users x {args.messages} messages; caps {args.max_migrations} initial / "
          f"{args.max_incremental} incremental; serve --poll {args.poll}; "
          f"{args.repeat} round(s)")  # fmt: skip
    header = (
        f"{'idle users':>10} {'to Synced':>10} {'CPU/user':>9} {'no-op':>8} {'no-op CPU':>10}"
        f" {'idle CPU/min':>13} {'peak init':>10} {'peak incr':>10} {'not Synced':>10}"
    )
    print(header)
    for r in runs:
        print(
            f"{r.idle_users:>10,} {r.synced_seconds:>9.1f}s {r.synced_cpu / n * 1000:>7.1f}ms"
            f" {r.noop_seconds:>7.1f}s {r.noop_cpu:>9.1f}s {r.idle_cpu_per_minute:>12.3f}s"
            f" {r.peak_initial:>5}/{args.max_migrations:<4} {r.peak_incremental:>5}/"
            f"{args.max_incremental:<4} {r.failed_users:>10}"
        )
    for m in migrates:
        print(
            f"one-shot migrate: {m.seconds:.1f} s, {m.cpu:.1f} CPU-s, "
            f"{m.cpu / n * 1000:.1f} ms CPU per user (exit {m.exit_code})"
        )
    print("targets (medians over the rounds):")
    medians = {idle: median_of(runs, idle) for idle in sorted({r.idle_users for r in runs})}
    for idle, r in medians.items():
        ok = r.idle_cpu_per_minute < IDLE_TARGET_PER_MINUTE
        print(f"  idle CPU with {idle:,} others: {r.idle_cpu_per_minute:.3f} s/min "
              f"< {IDLE_TARGET_PER_MINUTE} s/min: {verdict(ok)}")  # fmt: skip
    base = medians.get(0)
    for idle, r in medians.items():
        if base is not None and idle != 0 and base.noop_seconds > 0:
            ratio = r.noop_seconds / base.noop_seconds
            cpu = r.noop_cpu / base.noop_cpu if base.noop_cpu else float("nan")
            ok = verdict(ratio <= NOOP_RATIO_TARGET)
            print(f"  no-op incremental with {idle:,} others: {ratio:.2f}x the same "
                  f"with none (CPU {cpu:.2f}x) <= {NOOP_RATIO_TARGET}x: {ok}")  # fmt: skip
    if migrates:
        yardstick = statistics.median(m.cpu for m in migrates)
        for idle, r in medians.items():
            ratio = r.synced_cpu / yardstick
            ok = verdict(ratio <= CPU_RATIO_TARGET)
            print(f"  service CPU per user with {idle:,} others: {ratio:.2f}x "
                  f"migrate's <= {CPU_RATIO_TARGET}x: {ok}")  # fmt: skip
    if args.json is not None:
        data = {"runs": [asdict(r) for r in runs], "migrate": [asdict(m) for m in migrates]}
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, **data}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300, help="users to migrate (N)")
    parser.add_argument("--idle", default="0", help="other users in the database (M), e.g. 0,50000")
    parser.add_argument("--messages", type=int, default=20, help="messages per user")
    parser.add_argument(
        "--idle-seconds", type=float, default=30.0, help="idle CPU measured so long"
    )
    parser.add_argument("--poll", default="1s", help="serve --poll")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per phase, seconds")
    parser.add_argument("--no-migrate", action="store_true", help="skip one-shot migrate")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (order reversed each)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    args.max_migrations, args.max_incremental = 20, 10  # the endpoint defaults
    idle_counts = [int(part) for part in args.idle.split(",") if part.strip()]
    workdir: contextlib.AbstractContextManager[str] = (
        contextlib.nullcontext(tempfile.mkdtemp(prefix="mailferry-scale-"))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="mailferry-scale-")
    )
    with workdir as disk, memory_tempdir("mailferry-scale-target-") as memory:
        Path(disk).chmod(0o755)  # Dovecot's mail user reads the source below it
        Path(memory).chmod(0o755)
        started = time.monotonic()
        rig = Rig(Path(disk), Path(memory), args.users, args.messages)
        with rig.source, rig.target:
            print(
                f"rig: {args.users} users written in {time.monotonic() - started:.0f} s in {disk}"
            )
            work = Path(disk) / "work"
            migrates: list[MigrateFigures] = []
            runs: list[ServiceFigures] = []
            for round_ in range(args.repeat):  # ABBA: drift on a shared machine cancels
                if not args.no_migrate:
                    migrates.append(run_migrate(args, rig, work))
                order = idle_counts if round_ % 2 == 0 else idle_counts[::-1]
                runs += [run_service(args, rig, work, idle) for idle in order]
    report(args, runs, migrates)


if __name__ == "__main__":
    main()
