"""Stop a batch whose jobs run on two workers: every job stops within 10 s (each
worker watches its users' statuses); Start resumes them and the copy is exact."""

from __future__ import annotations

import time
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.statuses import BatchStatus, UserStatus
from tests.service.service_support import MakeUser
from tests.workers.support import exact, new_batch, pg_rig, wait_for, written

USERS = 4
MESSAGES = 300


def test_stop_reaches_jobs_on_two_workers_and_start_resumes_exactly(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        batch_id, names = new_batch(
            rig, dovecot_source, make_user, name="Halted", users=USERS, messages=MESSAGES,
            seed=1600, max_concurrent_migrations=USERS,
        )  # fmt: skip
        rig.worker("left", concurrency=2)
        rig.worker("right", concurrency=2)
        rig.scheduler()
        store = rig.ctx.store

        def on_two_workers() -> bool:
            owners = {c.owner for c in store.claimed() if c.owner.startswith("worker:")}
            return len(owners) == 2 and written(rig.mail) >= 100

        assert wait_for(on_two_workers, 60, 0.05), rig.log()
        asked = time.monotonic()
        batches.stop_batch(rig.ctx, "Halted")

        def stopped() -> bool:
            return batches.get_batch(rig.ctx, "Halted").status == BatchStatus.STOPPED

        assert wait_for(stopped, 10, 0.1), rig.log()
        assert time.monotonic() - asked < 10
        assert not store.claimed()
        users = store.users(batch_id=batch_id)
        assert {u.status for u in users} == {UserStatus.STOPPED}
        cancelled = store.events(batch_id=batch_id, kinds=["job_cancelled"])
        assert cancelled, "no running job was cancelled: the stop came too late"
        assert written(rig.mail) < USERS * MESSAGES

        batches.start_batch(rig.ctx, "Halted")

        def synced() -> bool:
            return batches.get_batch(rig.ctx, "Halted").status == BatchStatus.SYNCED

        assert wait_for(synced, 90), rig.log()
        users = store.users(batch_id=batch_id)
        assert {u.status for u in users} == {UserStatus.SYNCED}
        assert exact(rig, dovecot_source, names) == []


def test_remove_reaches_jobs_on_two_workers_and_purges_the_batch(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        batch_id, _names = new_batch(
            rig, dovecot_source, make_user, name="Dropped", users=USERS, messages=MESSAGES,
            seed=1650, max_concurrent_migrations=USERS,
        )  # fmt: skip
        rig.worker("left", concurrency=2)
        rig.worker("right", concurrency=2)
        rig.scheduler()
        store = rig.ctx.store

        def on_two_workers() -> bool:
            owners = {c.owner for c in store.claimed() if c.owner.startswith("worker:")}
            return len(owners) == 2 and written(rig.mail) >= 100

        assert wait_for(on_two_workers, 60, 0.05), rig.log()
        batches.remove_batch(rig.ctx, "Dropped", force=True)
        assert wait_for(lambda: store.batch_by_id(batch_id) is None, 10, 0.1), rig.log()
        assert store.users(batch_id=batch_id) == []
        assert not store.claimed()
        assert store.events(batch_id=batch_id, kinds=["job_cancelled"])
