"""A scheduler pass costs what is due or running, not the users in the database; an idle
scheduler runs no pass until something is recorded or falls due (issue 10).

Queries are counted with an SQLAlchemy event listener, on SQLite and PostgreSQL. No job
runs here: ``RecordingRunner`` only notes the jobs a pass starts (a real job needs mail
servers and adds its own queries; what is measured is the scheduler's own work)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert

from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import user_sync_now
from mailferry.service.context import ServiceContext, ServiceSettings
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint
from mailferry.service.jobs.change_feed import ChangeFeed
from mailferry.service.jobs.runner import Work
from mailferry.service.jobs.scheduler import Scheduler
from mailferry.service.vault import Vault
from mailferry.state.migration_records import Batch, TargetSettings
from mailferry.state.schema import events
from mailferry.state.service_store import ServiceStore
from mailferry.values.statuses import BatchStatus, UserStatus
from tests.state import conftest as state_fixtures

pg_database = state_fixtures.pg_database
pg_url = state_fixtures.pg_url
db_url = state_fixtures.db_url
LIVE_USERS = 5
STEP = 100  # SQLite VM instructions per progress callback
FAR = dt.timedelta(days=30)


class RecordingRunner:
    """A JobRunner whose jobs never run: it notes them (and they stay running)."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self._finished = asyncio.Event()

    def start(self, job_id: int, work: Work) -> None:
        self.started.append(job_id)

    def cancel(self, job_id: int) -> None:
        pass

    def running(self) -> set[int]:
        return set(self.started)

    async def wait(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finished.wait(), timeout)
        return False

    async def shutdown(self) -> None:
        pass


@dataclass
class Cost:
    """What a stretch of scheduler work asked of the database: its statements, and the
    work done for them (SQLite: virtual-machine steps, so rows scanned count even when
    none is returned; PostgreSQL: rows returned or changed)."""

    queries: list[str] = field(default_factory=list)
    work: int = 0


@contextlib.contextmanager
def counted(store: ServiceStore) -> Iterator[Cost]:
    cost = Cost()
    watched: list[Any] = []

    def steps() -> int:
        cost.work += STEP
        return 0

    def before(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN: not a query
            cost.queries.append(statement)
        raw = conn.connection.dbapi_connection
        if conn.dialect.name == "sqlite" and raw not in watched:
            raw.set_progress_handler(steps, STEP)
            watched.append(raw)

    def after(conn: Any, cursor: Any, *_rest: Any) -> None:
        if conn.dialect.name != "sqlite":
            cost.work += max(0, cursor.rowcount)

    event.listen(store.engine, "before_cursor_execute", before)
    event.listen(store.engine, "after_cursor_execute", after)
    try:
        yield cost
    finally:
        event.remove(store.engine, "before_cursor_execute", before)
        event.remove(store.engine, "after_cursor_execute", after)
        for raw in watched:
            raw.set_progress_handler(None, 0)


def context(url: str, tmp_path: Path, **settings: Any) -> ServiceContext:
    target = TargetSettings(kind="maildir", maildir_root=str(tmp_path / "mail"))
    return ServiceContext(
        store=ServiceStore.open(url),
        vault=Vault(Vault.generate_key()),
        settings=ServiceSettings(default_target=target, **settings),
    )


def add_batch(ctx: ServiceContext, name: str, users: int, **values: Any) -> Batch:
    """A batch of ``users`` inserted in bulk (as bench/service_scale.py does)."""
    endpoint = ctx.store.endpoint("Src")
    assert endpoint is not None
    row = {
        "name": name, "status": BatchStatus.CREATED, "source_endpoint_id": endpoint.id,
        "target": ctx.settings.default_target, "target_secret": None, "exclude_folders": (),
        "include_folders": (), "auto_start": False, "start_after": None,
        "complete_after": None, "notification_emails": (), "created_at": ctx.now(), **values,
    }  # fmt: skip
    people = [
        {
            "row": n + 2,
            "email_address": f"{name}.{n}@x.example",
            "email_key": f"{name}.{n}@x.example".casefold(),
            "user_name": f"u{n}",
            "user_root": None,
            "password_secret": b"ciphertext",
            "mailbox_key": f"{name}/{n}",
        }
        for n in range(users)
    ]
    return ctx.store.add_batch(row, people)


def world(url: str, tmp_path: Path, idle_per_batch: int, **settings: Any) -> ServiceContext:
    """A synced batch of LIVE_USERS (next incremental sync in 30 days) and two
    never-started batches of ``idle_per_batch`` users each."""
    ctx = context(url, tmp_path, **settings)
    changes = EndpointChanges(remote_server="127.0.0.1", port=1, security="None")
    asyncio.run(new_endpoint(ctx, "Src", changes, skip_verification=True))
    live = add_batch(ctx, "Live", LIVE_USERS, status=BatchStatus.SYNCED, started_at=ctx.now())
    ctx.store.update_batch_users(
        live.id,
        {"status": UserStatus.SYNCED, "initial_sync_done": True, "next_sync_at": ctx.now() + FAR},
        [UserStatus.QUEUED],
    )
    for name in ("IdleA", "IdleB"):
        add_batch(ctx, name, idle_per_batch)
    return ctx


def pass_costs(ctx: ServiceContext) -> tuple[list[Cost], list[int]]:
    """What these passes cost: the first, one with nothing new, the one after a SyncNow
    of the live batch; and the jobs that pass started."""
    scheduler = Scheduler(ctx, runner=(runner := RecordingRunner()))
    costs: list[Cost] = []

    async def passes() -> None:
        for action in (None, None, lambda: batches.sync_now(ctx, "Live")):
            if action is not None:
                action()
            with counted(ctx.store) as seen:
                await scheduler.tick()
            costs.append(seen)

    asyncio.run(passes())
    return costs, runner.started


@pytest.fixture(params=state_fixtures.BACKENDS)
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases on one backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/few.db", f"sqlite:///{tmp_path}/many.db"
        return
    database = request.getfixturevalue("pg_database")
    with state_fixtures.pg_schema_url(database) as a, state_fixtures.pg_schema_url(database) as b:
        yield a, b


def test_a_pass_costs_the_same_whatever_the_idle_users(
    two_urls: tuple[str, str], tmp_path: Path
) -> None:
    found = []
    for url, idle in zip(two_urls, (5, 1000), strict=True):  # 10 idle users, then 2,000
        ctx = world(url, tmp_path, idle_per_batch=idle)
        live = {u.id for u in ctx.store.users(batch_id=_batch_id(ctx, "Live"))}
        costs, started = pass_costs(ctx)
        ctx.store.close()
        assert set(started) == live  # the pass after SyncNow claimed the live users
        found.append(costs)
    few, many = found
    assert [len(c.queries) for c in few] == [len(c.queries) for c in many]
    assert max(len(c.queries) for c in few) < 60  # and few
    for small, big in zip(few, many, strict=True):  # 200 times the idle users
        assert big.work <= 1.2 * small.work + 20 * STEP, (small.work, big.work)


def _batch_id(ctx: ServiceContext, name: str) -> int:
    found = ctx.store.batch(name)
    assert found is not None
    return found.id


def test_an_idle_scheduler_passes_only_on_news_or_due_times(db_url: str, tmp_path: Path) -> None:
    ctx = world(db_url, tmp_path, idle_per_batch=500, poll_seconds=0.05)
    live = ctx.store.users(batch_id=_batch_id(ctx, "Live"))
    soon = live[0]
    ctx.store.update_user(soon.id, {"next_sync_at": ctx.now() + dt.timedelta(seconds=1.5)})
    runner = RecordingRunner()
    scheduler = Scheduler(ctx, runner=runner)

    async def watch() -> tuple[int, int, int, int, list[int]]:
        task = asyncio.ensure_future(scheduler.run())
        try:
            await wait_until(lambda: scheduler.passes == 1)
            with counted(ctx.store) as idle_queries:
                await asyncio.sleep(1.0)  # nothing is due, nothing is recorded
            idle = scheduler.passes
            idle_count = len(idle_queries.queries)
            await wait_until(lambda: soon.id in runner.started, seconds=5)  # its due time
            timed = scheduler.passes
            user_sync_now(ctx, live[1].email_address)  # an action: recorded
            await wait_until(lambda: live[1].id in runner.started)
            return idle, idle_count, timed, scheduler.passes, runner.started
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    idle, idle_queries, timed, after_action, started = asyncio.run(watch())
    assert idle == 1, "passes while nothing happened"
    if db_url.startswith("sqlite"):
        # The commit counter said nothing changed: no query (but the one look that
        # follows the first pass's own heartbeat, a commit).
        assert idle_queries <= 1
    else:
        assert 0 < idle_queries <= 1.0 / 0.05 + 2  # a look at the event log per poll
    assert timed == 2 and after_action == 3  # one pass for the due time, one for the action
    assert started == [soon.id, live[1].id]
    ctx.store.close()


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


@pytest.mark.parametrize("late", [True, False])
def test_the_change_feed_sees_an_event_that_commits_late(
    db_url: str, tmp_path: Path, late: bool
) -> None:
    """On PostgreSQL an event can commit after one with a higher id (sequence values are
    taken before commit): the feed still reports it, once."""
    ctx = context(db_url, tmp_path)
    feed = ChangeFeed(ctx.store)
    feed.start()
    assert feed.poll() is None

    def add(event_id: int, batch_id: int) -> None:
        row = {"id": event_id, "at": ctx.now(), "kind": "k", "batch_id": batch_id, "detail": "{}"}
        ctx.store._write("add_event", lambda c: c.execute(insert(events).values(row)))

    add(100, 1)
    assert feed.poll() == {1}
    if late:
        add(90, 2)  # took its id before 100, committed after it
        assert feed.poll() == {2}
    assert feed.poll() is None
    ctx.store.close()
