"""Three ``mailferry worker`` processes and one ``mailferry serve --runner procrastinate``
on PostgreSQL migrate a batch: the endpoint's caps hold across the workers (counted
from the event log), no mailbox ever has two jobs, every user ends Synced and exact,
and ``mailferry workers`` lists them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.context import ServiceContext
from mailferry.service.statuses import BatchStatus, UserStatus
from tests.service.service_support import MakeUser
from tests.workers.support import MAILFERRY, batch_is, exact, new_batch, peak_jobs, pg_rig, wait_for

USERS = 20
MESSAGES = 20
CAP = 3
INCREMENTAL_CAP = 2


def test_three_workers_migrate_a_batch_within_the_caps(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        batch_id, names = new_batch(
            rig, dovecot_source, make_user, name="Wide", users=USERS, messages=MESSAGES, seed=1400,
            max_concurrent_migrations=CAP, max_concurrent_incremental_syncs=INCREMENTAL_CAP,
        )  # fmt: skip
        for n in range(3):
            rig.worker(f"worker{n}", concurrency=2)
        rig.scheduler()
        synced = wait_for(
            lambda: batches.get_batch(rig.ctx, "Wide").status == BatchStatus.SYNCED, 120
        )
        assert synced, rig.log()

        listed = subprocess.run(
            [*MAILFERRY, "workers", "--format", "json"], env=rig.env, capture_output=True,
            text=True, timeout=60, check=True,
        )  # fmt: skip
        views = json.loads(listed.stdout)
        roles = sorted(v["Role"] for v in views if v["Alive"])
        assert roles == ["Scheduler", "Worker", "Worker", "Worker"], views

        users = rig.ctx.store.users(batch_id=batch_id)
        assert {u.status for u in users} == {UserStatus.SYNCED}
        assert all(u.synced_item_count == MESSAGES for u in users)
        assert exact(rig, dovecot_source, names) == []

        events = rig.ctx.store.events(batch_id=batch_id)
        peak, per_user = peak_jobs(events)
        assert max(peak.values()) == CAP, peak  # the cap's worth of mailboxes at once
        assert per_user == 1
        ran_on = {e.detail["worker"] for e in events if e.kind == "worker_job_started"}
        assert len(ran_on) >= 2, ran_on  # the jobs were spread over the workers
        hosts = {e.detail["host"] for e in events if e.kind == "worker_job_started"}
        assert hosts and all(hosts)

        # An incremental sync of everyone: MaxConcurrentIncrementalSyncs holds too.
        assert batches.sync_now(rig.ctx, "Wide") == USERS
        assert wait_for(lambda: _incrementals_done(rig.ctx, batch_id), 120), rig.log()
        assert wait_for(batch_is(rig, "Wide", BatchStatus.SYNCED), 30), rig.log()
        peak, per_user = peak_jobs(rig.ctx.store.events(batch_id=batch_id), "IncrementalSyncing")
        assert 1 <= max(peak.values()) <= INCREMENTAL_CAP, peak
        assert per_user == 1
        assert exact(rig, dovecot_source, names) == []


def _incrementals_done(ctx: ServiceContext, batch_id: int) -> bool:
    finished = ctx.store.events(batch_id=batch_id, kinds=["job_finished"])
    return sum(1 for e in finished if e.detail.get("job") == "IncrementalSyncing") == USERS
