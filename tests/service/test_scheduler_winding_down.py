"""A job that has released its claim but is still closing its connections (its task
has not ended) must not get a second job for the same user: the scheduler waits for
the next pass. (Before, ``serve`` died with "job N is already running" when Start
came right after Stop.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user
from mailferry.service.jobs.runner import AsyncioJobRunner
from mailferry.service.jobs.scheduler import Scheduler
from mailferry.service.statuses import UserStatus
from tests.service.service_support import (
    MakeUser,
    address,
    make_context,
    one_user_source,
)


def test_a_user_whose_old_job_is_winding_down_waits_for_the_next_pass(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account, csv = one_user_source(ctx, dovecot_source, make_user, seed=5, messages=5)
    batches.new_batch(ctx, batches.BatchRequest("Winding", "Src", csv, auto_start=True))
    user_id = get_user(ctx, address(account)).id

    async def scenario() -> tuple[UserStatus, str | None, UserStatus, str | None]:
        runner = AsyncioJobRunner()
        scheduler = Scheduler(ctx, runner=runner)
        closing = asyncio.Event()
        runner.start(user_id, closing.wait)  # the old job: claim released, still closing
        await scheduler.tick()  # raised RuntimeError before
        during = get_user(ctx, address(account))
        closing.set()
        await runner.wait(5)
        await scheduler.tick()
        after = get_user(ctx, address(account))
        await runner.shutdown()
        return during.status, during.claimed_by, after.status, after.claimed_by

    during_status, during_owner, after_status, after_owner = asyncio.run(scenario())
    assert (during_status, during_owner) == (UserStatus.QUEUED, None)
    assert after_status != UserStatus.QUEUED and after_owner is not None
