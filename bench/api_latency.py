"""Benchmark: REST API latency on a 50,000-user batch, and SSE delivery delay while a
batch runs on real Dovecot.

1. Pages: a SQLite database with one batch of ``--users`` (50,000) migration users,
   inserted in bulk with varied statuses; ``mailferry api --http 127.0.0.1:0`` in its own
   process (bearer token and all); a keep-alive httpx client times
   each request: every page of ``GET /api/v1/batches/Wave1/users`` (limit 100, then
   1000, following ``NextLink``), pages after random addresses, a status-filtered walk,
   and the batch's own view (its counters over the 50,000 users). p50 / p99 / max.
   Target: a 100-user page p99 under 100 ms.
2. Events: the rig's Dovecot source with ``--sse-users`` users of ``--sse-messages``
   messages, a Maildir target, ``mailferry serve --http`` (the scheduler and the API in
   one process, the production settings); ``--sse-clients`` clients
   follow ``GET /api/v1/events`` while the batch is created, started and synced. Each
   event's delay is its arrival at a client minus the time the event log recorded it
   (read from the database, microseconds). p50 / p99 / max. Target: p99 under 1 s.

Run: ``python bench/api_latency.py [--users 50000] [--sse-users 10] [--sse-clients 3]``.
Not a test: it prints figures (and writes them as JSON with ``--json FILE``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mailferry.app import Mailferry  # noqa: E402
from mailferry.rig import CorpusSpec, DovecotServer, generate, make_ca  # noqa: E402
from mailferry.state.migration_records import TargetSettings  # noqa: E402
from mailferry.state.schema import migration_users  # noqa: E402
from mailferry.state.service_store import ServiceStore  # noqa: E402
from mailferry.values.statuses import BatchStatus, UserStatus  # noqa: E402

API = "/api/v1"
T0 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
CHUNK = 10_000
CYCLE = [UserStatus.SYNCED] * 6 + [UserStatus.FAILED, UserStatus.SYNCING, UserStatus.QUEUED]
PAGE_TARGET = 0.100  # seconds, p99 of a 100-user page
SSE_TARGET = 1.0  # seconds, p99 of an event's delivery


@dataclass(frozen=True)
class Figure:
    what: str
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    target_ms: float | None = None

    @property
    def verdict(self) -> str:
        if self.target_ms is None:
            return ""
        return "ok" if self.p99_ms <= self.target_ms else "OVER"


def figure(what: str, seconds: list[float], target: float | None = None) -> Figure:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return Figure(
        what, len(ordered), 1000 * statistics.median(ordered), 1000 * p99, 1000 * ordered[-1],
        None if target is None else 1000 * target,
    )  # fmt: skip


# -- serving ---------------------------------------------------------------------------


@contextlib.contextmanager
def served(command: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """``mailferry api`` or ``mailferry serve --http`` on 127.0.0.1 (any free port) as a
    subprocess, as deployed; its URL. Stopped with SIGTERM at the end."""
    argv = [sys.executable, "-m", "mailferry", *command, "--http", "127.0.0.1:0"]
    with log.open("wb") as errors:
        process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=errors, stderr=errors)
    try:
        url = wait_for_url(log, process)
        wait_until(lambda: _answers(url), 20, "the API to answer")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_url(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (https?://\S+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    raise SystemExit("the server did not say where it listens")


def new_token(url: str, env: dict[str, str]) -> str:
    with Mailferry.open(url, env) as facade:
        token, _ = facade.tokens.new(f"bench-{time.monotonic_ns()}", read_only=False)
    return token


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/openapi.json", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- 1. pages of a 50,000-user batch -----------------------------------------------------


def populate(url: str, users: int) -> list[str]:
    """One endpoint, the batch Wave1 of ``users`` users in bulk; their addresses."""
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
        values = {
            "name": "Wave1", "status": BatchStatus.SYNCING, "source_endpoint_id": 1,
            "target": TargetSettings(kind="maildir", maildir_root="/srv/mail"),
            "target_secret": None, "exclude_folders": (), "include_folders": (),
            "auto_start": False, "start_after": None, "complete_after": None,
            "notification_emails": (), "created_at": T0, "started_at": T0,
        }  # fmt: skip
        addresses = [f"user{n:06d}@contoso.example" for n in range(users)]
        rows = [_user(n, a) for n, a in enumerate(addresses)]
        batch = store.add_batch(values, rows[:CHUNK])
        for first in range(CHUNK, users, CHUNK):
            store.add_users(batch.id, rows[first : first + CHUNK])
        c = migration_users.c
        with store.engine.begin() as connection:
            for k, status in enumerate(CYCLE):
                connection.execute(
                    update(migration_users)
                    .where(c.row % len(CYCLE) == k)
                    .values(
                        status=status.value, synced_item_count=1900 + k, total_items_in_source=2000
                    )
                )
        return addresses
    finally:
        store.close()


def _user(n: int, address: str) -> dict[str, Any]:
    return {
        "row": n + 2, "email_address": address, "email_key": address, "user_name": address,
        "user_root": None, "password_secret": b"not-a-real-ciphertext",
        "mailbox_key": f"imap://src|maildir:/srv/mail|{address}",
    }  # fmt: skip


def timed_get(http: httpx.Client, path: str, **params: Any) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    answer = http.get(path, params=params or None)
    seconds = time.perf_counter() - start
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:200]}")
    body: dict[str, Any] = answer.json()
    return seconds, body


def walk(http: httpx.Client, first: str, pages: int | None = None) -> tuple[list[float], int]:
    """Follow NextLink from ``first``; each request's seconds, and the users seen."""
    times: list[float] = []
    seen = 0
    path: str | None = first
    while path is not None and (pages is None or len(times) < pages):
        seconds, body = timed_get(http, path)
        times.append(seconds)
        seen += len(body["Items"])
        path = body["NextLink"]
    return times, seen


def page_figures(work: Path, users: int, samples: int) -> list[Figure]:
    url = f"sqlite:///{work / 'pages.db'}"
    started = time.perf_counter()
    addresses = populate(url, users)
    print(f"  {users:,} users inserted in {time.perf_counter() - started:.1f} s", flush=True)
    env = {"MAILFERRY_HOME": str(work / "home"), "MAILFERRY_DB": url}
    token = new_token(url, env)
    figures = []
    with served(["api"], env, work / "api.log") as base:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            timed_get(http, f"{API}/batches/Wave1/users")  # warm up
            base = [timed_get(http, f"{API}/endpoints")[0] for _ in range(samples)]
            figures.append(figure("GET /endpoints (one row: the HTTP + auth baseline)", base))
            small, seen = walk(http, f"{API}/batches/Wave1/users?limit=100")
            assert seen == users, (seen, users)
            figures.append(
                figure(f"users page, limit 100 ({len(small)} pages)", small, PAGE_TARGET)
            )
            big, seen = walk(http, f"{API}/batches/Wave1/users?limit=1000")
            assert seen == users
            figures.append(figure(f"users page, limit 1000 ({len(big)} pages)", big))
            rng = random.Random(11)
            deep = [
                timed_get(
                    http, f"{API}/batches/Wave1/users", after=rng.choice(addresses), limit=100
                )[0]
                for _ in range(samples)
            ]
            figures.append(
                figure("users page after a random address, limit 100", deep, PAGE_TARGET)
            )
            failed, _ = walk(http, f"{API}/batches/Wave1/users?status=Failed&limit=100", samples)
            figures.append(figure("users page, status=Failed, limit 100", failed, PAGE_TARGET))
            view = [
                timed_get(http, f"{API}/batches/Wave1")[0] for _ in range(max(10, samples // 4))
            ]
            figures.append(figure("batch view (counters of all users)", view))
    return figures


# -- 2. SSE delivery while a batch runs -----------------------------------------------


@dataclass
class Follower:
    """A client following the event stream; arrival times by event id."""

    url: str
    token: str
    arrivals: dict[int, float]
    done: threading.Event
    error: BaseException | None = None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        try:
            with httpx.stream(
                "GET", f"{self.url}{API}/events", headers=headers, timeout=60
            ) as live:
                event_id: int | None = None
                for line in live.iter_lines():
                    if line.startswith("id: "):
                        event_id = int(line[4:])
                    elif line.startswith("data: ") and event_id is not None:
                        self.arrivals[event_id] = time.time()
                        data = json.loads(line[6:])
                        if (
                            data.get("Kind") == "batch_status"
                            and data["Detail"].get("new") == "Synced"
                        ):
                            self.done.set()
                            return
                    elif not line:
                        event_id = None
        except BaseException as error:  # reported by the main thread
            self.error = error
            self.done.set()


def rig_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"mailferry-rig-{prefix}-"))
    path.chmod(0o755)  # Dovecot reads mail as its own user
    return path


def sse_figures(work: Path, users: int, messages: int, clients: int) -> tuple[Figure, float, int]:
    root = rig_dir("api-bench")
    source = DovecotServer(root / "source", make_ca(root / "ca"), name="source", fsync=False)
    names = [f"sse{n:03d}" for n in range(users)]
    try:
        for n, name in enumerate(names):
            source.add_user(name, f"pw-{name}")
            spec = CorpusSpec(seed=900 + n, messages=messages, deleted_fraction=0.0)
            source.write_maildir(name, generate(spec))
        source.start()
        csv = "\r\n".join(
            ["EmailAddress,UserName,Password", *(f"{n}@sse.example,{n},pw-{n}" for n in names)]
        )
        db = f"sqlite:///{work / 'sse.db'}"
        env = {
            "MAILFERRY_HOME": str(work / "home"), "MAILFERRY_DB": db,
            "MAILFERRY_TARGET": f"maildir:{work / 'mail'}",
        }  # fmt: skip
        token = new_token(db, env)
        with served(["serve"], env, work / "serve.log") as base:
            done = [threading.Event() for _ in range(clients)]
            followers = [Follower(base, token, {}, d) for d in done]
            threads = [threading.Thread(target=f.run, daemon=True) for f in followers]
            for thread in threads:
                thread.start()
            time.sleep(1.0)  # the streams are open before anything happens
            http = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
            endpoint = {
                "Name": "Src", "RemoteServer": "127.0.0.1", "Port": source.imaps_port,
                "Security": "Ssl", "CaFile": str(source.ca_pem_path),
            }  # fmt: skip
            started = time.perf_counter()
            assert http.post(f"{API}/endpoints", json=endpoint).status_code == 201
            settings = {"Name": "Live", "SourceEndpoint": "Src", "AutoStart": "true"}
            files = {"csv": ("users.csv", csv.encode(), "text/csv")}
            made = http.post(f"{API}/batches", data=settings, files=files)
            assert made.status_code == 201, made.text
            for event in done:
                if not event.wait(300):
                    raise SystemExit("the batch did not sync within 300 s")
            synced_after = time.perf_counter() - started
            for follower in followers:
                if follower.error is not None:
                    raise SystemExit(f"a follower failed: {follower.error!r}")
            http.close()
        recorded = {e.id: e.at.timestamp() for e in recorded_events(db)}
        delays = [
            max(0.0, arrival - recorded[event_id])
            for follower in followers
            for event_id, arrival in follower.arrivals.items()
            if event_id in recorded
        ]
        what = f"SSE delivery, {clients} clients, {len(recorded)} events"
        return figure(what, delays, SSE_TARGET), synced_after, users * messages
    finally:
        source.stop()
        shutil.rmtree(root, ignore_errors=True)


def recorded_events(url: str) -> list[Any]:
    """The event log with its full-precision times (the API's views have whole seconds)."""
    store = ServiceStore.open(url)
    assert isinstance(store, ServiceStore)
    try:
        return store.events()
    finally:
        store.close()


# -- report ----------------------------------------------------------------------------


def print_figures(figures: list[Figure]) -> None:
    print(f"  {'what':<52} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'target':>8}")
    for f in figures:
        target = "" if f.target_ms is None else f"<{f.target_ms:.0f} {f.verdict}"
        times = f"{f.p50_ms:>8.1f} {f.p99_ms:>8.1f} {f.max_ms:>8.1f}"
        print(f"  {f.what:<52} {f.count:>6} {times} {target:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=200, help="random / filtered pages")
    parser.add_argument("--sse-users", type=int, default=10)
    parser.add_argument("--sse-messages", type=int, default=100)
    parser.add_argument("--sse-clients", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailferry-api-bench-"))
    try:
        print(f"1. GET pages of a {args.users:,}-user batch (`mailferry api`, a keep-alive client)")
        pages = page_figures(work, args.users, args.samples)
        print_figures(pages)
        size = f"{args.sse_users} users x {args.sse_messages} messages"
        print(f"2. SSE while a batch of {size} syncs from Dovecot")
        sse, synced_after, messages = sse_figures(
            work, args.sse_users, args.sse_messages, args.sse_clients
        )
        print_figures([sse])
        print(
            f"  batch created to Synced (on the stream): {synced_after:.1f} s, {messages} messages"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json is not None:
        figures = [asdict(f) for f in [*pages, sse]]
        args.json.write_text(
            json.dumps({"figures": figures, "synced_seconds": synced_after}, indent=2)
        )


if __name__ == "__main__":
    main()
