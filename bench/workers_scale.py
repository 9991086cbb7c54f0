"""Benchmark: throughput of 1, 2, 4 ``mailferry worker`` processes on PostgreSQL.

On the rig's real Dovecot (source: maildir; target: a Maildir tree on tmpfs), a batch
of ``--users`` small mailboxes (``--messages`` each) is migrated by one ``mailferry serve
--runner procrastinate`` and N workers (``--workers 1,2,4``, each ``--concurrency`` jobs
at once; the endpoint's caps are set high enough not to bind). Each run gets a fresh
PostgreSQL database; the workers are up before the batch is created, so the time is
batch start to Synced. Printed per N: users/min, messages/s, the workers' CPU per
message and per user (psutil: user+system of every worker process), and the
scheduler's CPU per 1,000 users. A last run with one message per mailbox (one worker)
shows the per-user overhead (scheduling, claim, connection set-up, state writes) as
CPU per user.

On a 2-core machine with Dovecot, PostgreSQL and every process local, the wall-clock
scaling is bounded by the cores: read "CPU per message per worker" to see what more
cores would give (workers share nothing but the database).

Run: ``python bench/workers_scale.py [--users 200] [--messages 10] [--workers 1,2,4]``.
Not a test: it prints figures (and JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.peers.machine import memory_tempdir  # noqa: E402

from mailferry.rig import CorpusSpec, DovecotServer, generate, make_ca  # noqa: E402
from mailferry.service.batches import manage as batches  # noqa: E402
from mailferry.service.context import ServiceContext, ServiceSettings  # noqa: E402
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint  # noqa: E402
from mailferry.service.statuses import BatchStatus, UserStatus  # noqa: E402
from mailferry.service.vault import Vault  # noqa: E402
from mailferry.state.migration_records import TargetSettings  # noqa: E402
from mailferry.state.service_store import ServiceStore  # noqa: E402

PG_URL = os.environ.get(
    "MAILFERRY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MAILFERRY = [sys.executable, "-m", "mailferry"]
TIMEOUT = 900.0


@dataclass
class Run:
    workers: int
    users: int
    messages: int
    seconds: float
    users_per_minute: float
    messages_per_second: float
    worker_cpu: float
    cpu_ms_per_message: float
    cpu_ms_per_user: float
    scheduler_cpu_per_1000_users: float
    failed: int


def rig_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"mailferry-rig-{prefix}-"))
    path.chmod(0o755)  # Dovecot reads mail as its own user
    return path


def fill_source(root: Path, users: int, messages: int) -> tuple[DovecotServer, list[str]]:
    source = DovecotServer(root / "source", make_ca(root / "ca"), name="source", fsync=False)
    names = [f"scale{n:04d}" for n in range(users)]
    for n, name in enumerate(names):
        source.add_user(name, f"pw-{name}")
        spec = CorpusSpec(seed=3000 + n, messages=messages, deleted_fraction=0.0)
        source.write_maildir(name, generate(spec))
    source.start()
    return source, names


def new_database() -> tuple[str, str]:
    name = f"mailferry_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def cpu(process: subprocess.Popen[bytes]) -> float:
    times = psutil.Process(process.pid).cpu_times()
    return float(times.user + times.system)


def one_run(
    source: DovecotServer, names: list[str], messages: int, workers: int, args: argparse.Namespace,
    work: Path,
) -> Run:  # fmt: skip
    db_name, url = new_database()
    mail = work / "mail"
    shutil.rmtree(mail, ignore_errors=True)
    key = Vault.generate_key()
    store = ServiceStore.open(url)
    settings = ServiceSettings(
        default_target=TargetSettings(kind="maildir", maildir_root=str(mail))
    )
    ctx = ServiceContext(store=store, vault=Vault(key), settings=settings)
    env = {**os.environ, "MAILFERRY_DB": url, "MAILFERRY_KEY": key.decode(),
           "MAILFERRY_TARGET": f"maildir:{mail}", "MAILFERRY_HOME": str(work / "home")}  # fmt: skip
    log = (work / f"run-{workers}-{messages}.log").open("ab")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        limits = EndpointChanges(
            remote_server="127.0.0.1", port=source.imaps_port, security="Ssl",
            ca_file=str(source.ca_pem_path), max_concurrent_migrations=args.cap,
            max_concurrent_incremental_syncs=args.cap,
        )  # fmt: skip
        asyncio.run(new_endpoint(ctx, "Src", limits))
        for _ in range(workers):
            processes.append(subprocess.Popen(
                [*MAILFERRY, "worker", "--concurrency", str(args.concurrency)],
                env=env, stdout=log, stderr=log,
            ))  # fmt: skip
        scheduler = subprocess.Popen(
            [*MAILFERRY, "serve", "--runner", "procrastinate", "--poll", "0.5s"],
            env=env, stdout=log, stderr=log,
        )  # fmt: skip
        processes.append(scheduler)
        deadline = time.monotonic() + 60
        while len(store.services()) < workers + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = {p.pid: cpu(p) for p in processes}
        rows = "\r\n".join(
            ["EmailAddress,UserName,Password", *(f"{n}@scale.example,{n},pw-{n}" for n in names)]
        )
        started = time.monotonic()
        request = batches.BatchRequest("Scale", "Src", (rows + "\r\n").encode(), auto_start=True)
        batch = batches.new_batch(ctx, request)
        while time.monotonic() - started < TIMEOUT:
            status = batches.get_batch(ctx, "Scale").status
            if status in (BatchStatus.SYNCED, BatchStatus.SYNCED_WITH_ERRORS, BatchStatus.FAILED):
                break
            time.sleep(0.1)
        seconds = time.monotonic() - started
        used = {p.pid: cpu(p) - before[p.pid] for p in processes}
        users = store.users(batch_id=batch.id)
        failed = sum(1 for u in users if u.status != UserStatus.SYNCED)
        copied = sum(u.synced_item_count for u in users)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        store.close()
        drop_database(db_name)
    worker_cpu = sum(v for pid, v in used.items() if pid != scheduler.pid)
    count = len(names)
    return Run(
        workers, count, messages, round(seconds, 2), round(count / seconds * 60, 1),
        round(copied / seconds, 1), round(worker_cpu, 2),
        round(worker_cpu / max(1, copied) * 1000, 3), round(worker_cpu / count * 1000, 1),
        round(used[scheduler.pid] / count * 1000, 2), failed,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--cap", type=int, default=32, help="MaxConcurrentMigrations")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = rig_dir("workers-bench")
    runs: list[Run] = []
    with memory_tempdir("mailferry-workers-bench-") as tmp:
        work = Path(tmp)
        try:
            source, names = fill_source(root, args.users, args.messages)
            tiny, tiny_names = fill_source(rig_dir("workers-bench-tiny"), args.users, 1)
            try:
                for count in (int(n) for n in args.workers.split(",")):
                    runs.append(one_run(source, names, args.messages, count, args, work))
                runs.append(one_run(tiny, tiny_names, 1, 1, args, work))
            finally:
                source.stop()
                tiny.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{os.cpu_count()} CPUs; {args.users} users; concurrency {args.concurrency} per worker")
    print("workers msgs  seconds  users/min  msgs/s  worker-CPU  ms/msg  ms/user  sched-s/1000u")
    for r in runs:
        print(
            f"{r.workers:7d} {r.messages:4d} {r.seconds:8.1f} {r.users_per_minute:10.1f} "
            f"{r.messages_per_second:7.1f} {r.worker_cpu:10.1f} {r.cpu_ms_per_message:7.2f} "
            f"{r.cpu_ms_per_user:8.1f} {r.scheduler_cpu_per_1000_users:15.1f}"
            + (f"  FAILED {r.failed}" if r.failed else "")
        )
    if args.json:
        print(json.dumps([asdict(r) for r in runs], indent=2))


if __name__ == "__main__":
    main()
