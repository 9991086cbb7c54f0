"""Benchmark: the latency of listing and report commands with 100,000 users in the database.

Builds a SQLite database with ``--users`` (100,000) migration users in bulk, in a few
batches (Wave1 holds half of them; Pilot 20; one batch never started), with varied
statuses and statistics and skipped items for every 10th user of Wave1, then times each
command as a real CLI subprocess (the least wall and CPU time of ``--repeat`` runs), with
its output's row count and peak RSS:

- ``mailferry --help``: start-up, measured on its own;
- ``batch get``, ``batch get Wave1``, ``user get --batch Pilot``, ``user stats`` of one
  user (with its skipped items): single-record commands, target start-up + 0.3 s;
- ``user get --batch Wave1 --format jsonl``: 50,000 records (O(result): no target);
- ``batch report Wave1 --format csv`` (and json): a 50,000-user report, target 3 s.

Run: ``python bench/command_latency.py [--users 100000] [--repeat 5]``. Not a test: it
prints figures (and writes them as JSON with ``--json FILE``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from mailferry.service.vault import Vault
from mailferry.state.migration_records import TargetSettings
from mailferry.state.schema import mailboxes, migration_users, skipped_items
from mailferry.state.service_store import ServiceStore
from mailferry.values.statuses import BatchStatus, UserStatus

T0 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
SINGLE_TARGET = 0.3  # seconds on top of start-up
REPORT_TARGET = 3.0
CHUNK = 10_000
CYCLE = [UserStatus.SYNCED] * 6 + [UserStatus.FAILED, UserStatus.SYNCING, UserStatus.QUEUED]


@dataclass(frozen=True)
class Figure:
    command: str
    seconds: float  # wall, the least of the runs
    cpu_seconds: float  # user + system, the least of the runs (a busy machine inflates less)
    rows: int
    max_rss_mb: float
    target: float | None

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "ok" if self.seconds <= self.target else "OVER"


def batch_sizes(users: int) -> list[tuple[str, int, BatchStatus]]:
    """Wave1 half the users, Pilot 20, the rest in three more (one never started)."""
    half, pilot = users // 2, min(20, users)
    rest = users - half - pilot
    return [
        ("Wave1", half, BatchStatus.SYNCING),
        ("Pilot", pilot, BatchStatus.SYNCED),
        ("Wave2", rest // 2, BatchStatus.SYNCED_WITH_ERRORS),
        ("Wave3", rest // 4, BatchStatus.CREATED),
        ("Wave4", rest - rest // 2 - rest // 4, BatchStatus.SYNCING),
    ]


def populate(url: str, users: int) -> None:
    store = ServiceStore.open(url)
    assert isinstance(store, ServiceStore)
    try:
        store.add_endpoint(
            {
                "name": "Src", "remote_server": "imap.contoso.example", "port": 993,
                "security": "Ssl", "authentication": "Basic", "max_concurrent_migrations": 20,
                "max_concurrent_incremental_syncs": 10, "accept_untrusted_certificates": False,
                "ca_file": None, "created_at": T0,
            }
        )  # fmt: skip
        for name, size, status in batch_sizes(users):
            _add_batch(store, name, size, status)
        created = store.batch("Wave3")
        assert created is not None
        _vary(store, never_started=created.id)
        _add_skipped(store, "Wave1", every=10)
    finally:
        store.close()


def _add_batch(store: ServiceStore, name: str, size: int, status: BatchStatus) -> None:
    values = {
        "name": name, "status": status, "source_endpoint_id": 1,
        "target": TargetSettings(kind="maildir", maildir_root="/srv/mail"), "target_secret": None,
        "exclude_folders": (), "include_folders": (), "auto_start": False, "start_after": None,
        "complete_after": None, "notification_emails": (), "created_at": T0,
        "started_at": None if status == BatchStatus.CREATED else T0,
    }  # fmt: skip
    rows = [_user(name, n) for n in range(size)]
    batch = store.add_batch(values, rows[:CHUNK])
    for first in range(CHUNK, size, CHUNK):
        store.add_users(batch.id, rows[first : first + CHUNK])


def _user(batch: str, n: int) -> dict[str, Any]:
    address = f"{batch.lower()}.user{n}@contoso.example"
    return {
        "row": n + 2, "email_address": address, "email_key": address, "user_name": address,
        "user_root": None, "password_secret": b"not-a-real-ciphertext",
        "mailbox_key": f"imap://src|maildir:/srv/mail|{address}",
    }  # fmt: skip


def _vary(store: ServiceStore, never_started: int) -> None:
    c = migration_users.c
    with store.engine.begin() as connection:
        for k, status in enumerate(CYCLE):
            connection.execute(
                update(migration_users)
                .where(c.row % len(CYCLE) == k, c.batch_id != never_started)
                .values(
                    status=status.value, total_items_in_source=2000 + k,
                    synced_item_count=1900 + k, skipped_item_count=k % 3,
                    bytes_transferred=50_000_000 + k,
                    initial_sync_done=status != UserStatus.SYNCING,
                    last_successful_sync_at=T0, queued_seconds=30.0 * k,
                    in_progress_seconds=600.0 + k, error="=connection lost" if k == 6 else None,
                )
            )  # fmt: skip


def _add_skipped(store: ServiceStore, batch: str, every: int) -> None:
    """3 LargeItems and a FolderSkipped for every ``every``-th user of ``batch``."""
    found = store.batch(batch)
    assert found is not None
    keys = [u.mailbox_key for u in store.users(batch_id=found.id)[::every]]
    with store.engine.begin() as connection:
        connection.execute(insert(mailboxes), [{"key": k, "created_at": T0} for k in keys])
        ids = connection.execute(select(mailboxes.c.id)).scalars().all()
        items = []
        for mailbox_id in ids:
            for uid in range(3):
                items.append(_item(mailbox_id, "INBOX", uid + 1, "LargeItem", f"Big {uid}"))
            items.append(_item(mailbox_id, "Calendar", None, "FolderSkipped", ""))
        connection.execute(insert(skipped_items), items)


def _item(mailbox_id: int, folder: str, uid: int | None, kind: str, subject: str) -> dict[str, Any]:
    return {
        "mailbox_id": mailbox_id, "folder": folder, "source_uid": uid, "kind": kind,
        "subject": subject, "sender": "bob@contoso.example" if uid else "",
        "date": T0 if uid else None, "size": 160_000_000 if uid else None,
        "reason": "over the limit" if uid else "NonMail",
    }  # fmt: skip


def timed(
    argv: Sequence[str], env: dict[str, str], out: Path, repeat: int
) -> tuple[float, float, int]:
    """The least wall and the least CPU seconds of ``repeat`` runs (stdout to ``out``;
    other processes on the machine only ever add to either), and the peak RSS in KiB
    (this process stays small, so a forked child's RSS is its own)."""
    best, cpu, rss = float("inf"), float("inf"), 0
    for _ in range(repeat):
        with out.open("wb") as sink, (out.parent / "stderr").open("wb") as errors:
            start = time.perf_counter()
            process = subprocess.Popen(argv, stdout=sink, stderr=errors, env=env)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
        if status != 0:
            said = (out.parent / "stderr").read_text()
            raise SystemExit(f"{' '.join(argv)} failed ({status}): {said}")
        best = min(best, seconds)
        cpu = min(cpu, usage.ru_utime + usage.ru_stime)
        rss = max(rss, usage.ru_maxrss)
    return best, cpu, rss


def count_rows(out: Path, fmt: str) -> int:
    text = out.read_bytes().decode("utf-8")
    if fmt == "json":
        data = json.loads(text)
        if isinstance(data, dict):
            return len(data["Users"]) if "Users" in data else 1
        return len(data)
    if fmt == "csv":
        return text.split("\r\n\r\n")[0].count("\r\n")  # the users' table, without its header
    if fmt == "jsonl":
        return len(text.splitlines())
    return max(0, len(text.splitlines()) - 2)  # a table: header and dashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--populate", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.populate:  # in a child process: this one stays small (see ``timed``)
        populate(args.populate, args.users)
        return
    mailferry = shutil.which("mailferry", path=str(Path(sys.executable).parent)) or "mailferry"
    with tempfile.TemporaryDirectory(prefix="mf-latency-") as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'mailferry.db'}"
        started = time.perf_counter()
        fill = [sys.executable, __file__, "--populate", url, "--users", str(args.users)]
        subprocess.run(fill, check=True)
        print(f"database: {args.users:,} users in {time.perf_counter() - started:.1f} s")
        env = {
            **os.environ, "MAILFERRY_DB": url, "MAILFERRY_HOME": str(root / "home"),
            "MAILFERRY_KEY": Vault.generate_key().decode(),
        }  # fmt: skip
        out = root / "out"
        startup, cpu, rss = timed([mailferry, "--help"], env, out, args.repeat)
        figures = [Figure("mailferry --help", startup, cpu, 0, rss / 1024, None)]
        single = startup + SINGLE_TARGET
        wave = dict((n, s) for n, s, _ in batch_sizes(args.users))["Wave1"]
        commands: list[tuple[str, float | None]] = [
            ("batch get", single),
            ("batch get Wave1 --format json", single),
            ("user get --batch Pilot", single),
            ("user stats wave1.user10@contoso.example --include-skipped-items --format json",
             single),
            ("user get --batch Wave1 --format jsonl", None),
            ("batch report Wave1 --format csv", REPORT_TARGET),
            ("batch report Wave1 --format json", None),
        ]  # fmt: skip
        for command, target in commands:
            words = command.split()
            seconds, cpu, rss = timed([mailferry, *words], env, out, args.repeat)
            fmt = words[words.index("--format") + 1] if "--format" in words else "table"
            rows = 1 if words[:2] == ["user", "stats"] else count_rows(out, fmt)
            figures.append(Figure(command, seconds, cpu, rows, rss / 1024, target))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'command':<80} {'wall s':>6} {'cpu s':>6} {'rows':>7} {'RSS MB':>6}  target (wall)")
    for f in figures:
        goal = f"<= {f.target:.2f} s {f.verdict}" if f.target is not None else ""
        print(
            f"{f.command:<80} {f.seconds:6.2f} {f.cpu_seconds:6.2f} {f.rows:7,} "
            f"{f.max_rss_mb:6.0f}  {goal}"
        )
    print(f"(Wave1: {wave:,} users; single-record target = start-up + {SINGLE_TARGET} s)")
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2))


if __name__ == "__main__":
    main()
