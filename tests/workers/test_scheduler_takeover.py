"""Several ``serve --runner procrastinate``: only the one holding the advisory lock
acts (registers, claims, defers); when it is killed, another takes over and carries
on with the batches."""

from __future__ import annotations

from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.statuses import BatchStatus
from mailferry.service.workers.queue import DISPATCH
from tests.service.service_support import MakeUser
from tests.workers.support import batch_is, exact, new_batch, pg_rig, wait_for


def test_one_scheduler_acts_and_another_takes_over_when_it_dies(
    pg_url: str, dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    with pg_rig(pg_url, tmp_path) as rig:
        store = rig.ctx.store
        rig.worker("worker", concurrency=2)
        first = rig.scheduler("first")
        second = rig.scheduler("second")

        def acting() -> list[int]:
            return [pid for owner, _h, pid, _b in store.services() if owner.endswith(DISPATCH)]

        assert wait_for(lambda: len(acting()) == 1, 30), rig.log()
        _, names = new_batch(
            rig, dovecot_source, make_user, name="Before", users=3, messages=20, seed=1700
        )
        assert wait_for(batch_is(rig, "Before", BatchStatus.SYNCED), 60), rig.log()
        assert len(acting()) == 1  # the other one stood by all along
        leader, standby = ("first", "second") if acting() == [first.pid] else ("second", "first")
        assert acting() in ([first.pid], [second.pid])
        rig.kill(leader)

        took_over = rig.processes[standby].pid
        assert wait_for(lambda: took_over in acting(), 30), rig.log()
        _, later = new_batch(
            rig, dovecot_source, make_user, name="After", users=3, messages=20, seed=1710
        )
        assert wait_for(batch_is(rig, "After", BatchStatus.SYNCED), 60), rig.log()
        assert exact(rig, dovecot_source, [*names, *later]) == []
        assert "acting scheduler" in (rig.logs / f"{standby}.log").read_text()
