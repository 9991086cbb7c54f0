"""procrastinate's schema comes with ours (revision 0009_workers, and the fast path
that creates a new database from the metadata), in a PostgreSQL schema of its own;
on SQLite there is none, and the commands that need it say so. A job deferred but not
yet taken by a worker is given up by Stop (its claim released), and a worker that
fetches it later does nothing; after Start the queued jobs take the new claims."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, create_engine, text

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.statuses import BatchStatus, UserStatus
from mailferry.service.workers.queue import DISPATCH
from mailferry.state import StateStore
from mailferry.state.job_queue import job_queue_schema
from mailferry.state.migrate import HEAD, alembic_config
from tests.service.service_support import MakeUser
from tests.state.conftest import alembic_upgrade, with_alembic
from tests.workers.support import MAILFERRY, batch_is, exact, new_batch, pg_rig, wait_for


def _queue_tables(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        schema = job_queue_schema(connection.execute(text("SELECT current_schema()")).scalar_one())
        found = connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        )
        tables = set(found.scalars())
    engine.dispose()
    return tables


def test_a_new_postgresql_database_gets_the_job_queue(pg_url: str) -> None:
    StateStore.open(pg_url).close()
    assert {"procrastinate_jobs", "procrastinate_events"} <= _queue_tables(pg_url)


def _downgrade(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0008_console_admins")


def test_revision_0009_creates_and_drops_the_job_queue(pg_url: str) -> None:
    alembic_upgrade(pg_url, "0008_console_admins")
    assert _queue_tables(pg_url) == set()
    alembic_upgrade(pg_url)
    assert "procrastinate_jobs" in _queue_tables(pg_url)
    with_alembic(pg_url, _downgrade)
    assert _queue_tables(pg_url) == set()


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAILFERRY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_db_upgrade_says_where_the_database_stands(pg_url: str, tmp_path: Path) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        done = _run(rig.env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"postgresql database at revision {HEAD}, job queue in schema" in done.stdout
    sqlite = {**rig.env, "MAILFERRY_DB": f"sqlite:///{tmp_path / 'state.db'}"}
    done = _run(sqlite, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sqlite database at revision {HEAD}"


def test_workers_need_postgresql(pg_url: str, tmp_path: Path) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        sqlite = {**rig.env, "MAILFERRY_DB": f"sqlite:///{tmp_path / 'state.db'}"}
    for args in (("worker",), ("serve", "--runner", "procrastinate")):
        done = _run(sqlite, *args)
        assert done.returncode != 0
        assert "workers need a PostgreSQL state database" in done.stderr, done.stderr


def test_stop_gives_up_jobs_no_worker_took_and_start_defers_again(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        batch_id, names = new_batch(
            rig, dovecot_source, make_user, name="Waiting", users=3, messages=10, seed=1800
        )
        rig.scheduler()  # no worker yet: the jobs wait in the queue
        store = rig.ctx.store

        def deferred() -> bool:
            return len([c for c in store.claimed() if c.owner.endswith(DISPATCH)]) == 3

        assert wait_for(deferred, 30), rig.log()
        batches.stop_batch(rig.ctx, "Waiting")
        assert wait_for(batch_is(rig, "Waiting", BatchStatus.STOPPED), 10), rig.log()
        assert not store.claimed()

        batches.start_batch(rig.ctx, "Waiting")
        assert wait_for(deferred, 30), rig.log()
        rig.worker("late")
        assert wait_for(batch_is(rig, "Waiting", BatchStatus.SYNCED), 60), rig.log()
        assert {u.status for u in store.users(batch_id=batch_id)} == {UserStatus.SYNCED}
        assert exact(rig, dovecot_source, names) == []
        started = store.events(batch_id=batch_id, kinds=["job_started"])
        assert len(started) == 3  # one job per user ran, the stale queued ones did nothing


def test_workers_lists_nothing_on_a_fresh_sqlite_database(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MAILFERRY_DB": f"sqlite:///{tmp_path / 'state.db'}",
        "MAILFERRY_HOME": str(tmp_path / "home"),
    }
    done = _run(env, "workers", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def _queue_sql(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.begin() as connection:
        schema = job_queue_schema(connection.execute(text("SELECT current_schema()")).scalar_one())
        connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
        result = connection.execute(text(sql))
        rows = [tuple(row) for row in result] if result.returns_rows else []
    engine.dispose()
    return rows


def test_a_job_lost_before_any_worker_took_it_is_deferred_again(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    """As a worker killed between fetching a job and taking its claim leaves it: the
    job 'doing', the claim still the scheduler's. The scheduler gives it up after
    LOST_SECONDS, the user goes back to the queue and a new job is deferred."""
    with pg_rig(pg_url, tmp_path) as rig:
        batch_id, names = new_batch(
            rig, dovecot_source, make_user, name="Lost", users=2, messages=10, seed=1900
        )
        rig.scheduler()
        todo = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'"
        assert wait_for(lambda: _queue_sql(pg_url, todo) == [(2,)], 30), rig.log()
        _queue_sql(pg_url, "UPDATE procrastinate_jobs SET status = 'doing' WHERE status = 'todo'")

        assert wait_for(lambda: _queue_sql(pg_url, todo) == [(2,)], 30), rig.log()
        recovered = rig.ctx.store.events(batch_id=batch_id, kinds=["job_recovered"])
        assert len(recovered) == 2
        rig.worker("taker")
        assert wait_for(batch_is(rig, "Lost", BatchStatus.SYNCED), 60), rig.log()
        assert exact(rig, dovecot_source, names) == []
