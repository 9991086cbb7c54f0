"""A worker SIGKILLed mid-copy costs nothing but a retry: its claims run out (a worker
on this machine whose process is gone is seen at the scheduler's next heartbeat), its
users go back to the queue and finish on the other worker, each message exactly once."""

from __future__ import annotations

import signal
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.statuses import BatchStatus, UserStatus
from tests.service.service_support import MakeUser
from tests.workers.support import batch_is, exact, new_batch, pg_rig, wait_for, written

USERS = 4
MESSAGES = 250


def test_a_killed_worker_s_users_finish_elsewhere_exactly(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        batch_id, names = new_batch(
            rig, dovecot_source, make_user, name="Killed", users=USERS, messages=MESSAGES,
            seed=1500, max_concurrent_migrations=USERS,
        )  # fmt: skip
        doomed = rig.worker("doomed", concurrency=USERS)
        rig.scheduler()
        store = rig.ctx.store

        def doomed_copies() -> bool:
            held = [c for c in store.claimed() if f":{doomed.pid}:" in c.owner]
            return len(held) >= 2 and written(rig.mail) >= MESSAGES // 2

        assert wait_for(doomed_copies, 60, 0.05), rig.log()
        rig.kill("doomed")
        partly = written(rig.mail)
        assert 0 < partly < USERS * MESSAGES, "the batch finished before the kill"
        rig.worker("survivor", concurrency=USERS)

        synced = wait_for(
            lambda: batches.get_batch(rig.ctx, "Killed").status == BatchStatus.SYNCED, 90
        )
        assert synced, rig.log()
        recovered = store.events(batch_id=batch_id, kinds=["job_recovered"])
        assert {e.detail["previous_owner"] for e in recovered} >= {
            o for o in (e.detail["previous_owner"] for e in recovered) if f":{doomed.pid}:" in o
        }
        assert any(f":{doomed.pid}:" in str(e.detail["previous_owner"]) for e in recovered)
        users = store.users(batch_id=batch_id)
        assert {u.status for u in users} == {UserStatus.SYNCED}
        assert all(u.synced_item_count == MESSAGES for u in users)
        assert exact(rig, dovecot_source, names) == []
        survivors = {
            e.detail["pid"] for e in store.events(batch_id=batch_id, kinds=["worker_job_started"])
        }
        assert rig.processes["survivor"].pid in survivors


def test_sigterm_checkpoints_the_running_jobs_and_another_worker_resumes(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        batch_id, names = new_batch(
            rig, dovecot_source, make_user, name="Termed", users=USERS, messages=MESSAGES,
            seed=1550, max_concurrent_migrations=USERS,
        )  # fmt: skip
        leaving = rig.worker("leaving", concurrency=USERS)
        rig.scheduler()
        store = rig.ctx.store

        def copying() -> bool:
            held = [c for c in store.claimed() if f":{leaving.pid}:" in c.owner]
            return len(held) >= 2 and written(rig.mail) >= MESSAGES // 2

        assert wait_for(copying, 60, 0.05), rig.log()
        assert rig.kill("leaving", signal.SIGTERM) == 0, rig.log()
        assert not [c for c in store.claimed() if f":{leaving.pid}:" in c.owner]
        cancelled = store.events(batch_id=batch_id, kinds=["job_cancelled"])
        assert len(cancelled) >= 2, "the running jobs did not record where they stopped"
        assert written(rig.mail) < USERS * MESSAGES
        assert not [s for s in store.services() if s[2] == leaving.pid]  # deregistered

        rig.worker("next", concurrency=USERS)
        assert wait_for(batch_is(rig, "Termed", BatchStatus.SYNCED), 90), rig.log()
        assert {u.status for u in store.users(batch_id=batch_id)} == {UserStatus.SYNCED}
        assert exact(rig, dovecot_source, names) == []
        assert not store.events(batch_id=batch_id, kinds=["job_recovered"])  # nothing lost
