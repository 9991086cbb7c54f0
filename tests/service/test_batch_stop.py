"""Stop cancels running copies within seconds and keeps their state; Start resumes them
and the mailbox ends up exact (nothing lost, nothing twice). Lifecycle refusals."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from mailferry.errors import ActionNotAllowed, InUse, RemoveRefused
from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user
from mailferry.service.endpoints.manage import EndpointChanges, remove_endpoint, set_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import BatchStatus, UserStatus
from tests.service.service_support import (
    MakeUser,
    address,
    make_context,
    one_user_source,
)


def maildir_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]


def test_stop_mid_copy_then_start_resumes_exactly(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    big, csv = one_user_source(ctx, dovecot_source, make_user, seed=77, messages=1500)
    batch = batches.new_batch(ctx, batches.BatchRequest("Stoppable", "Src", csv, auto_start=True))

    async def run_and_stop() -> float:
        runner = asyncio.create_task(run_in_process(ctx, {batch.id}))
        for _ in range(600):  # bounded: 60 s
            await asyncio.sleep(0.1)
            if get_user(ctx, address(big)).synced_item_count > 0:
                break
        with pytest.raises(ActionNotAllowed, match="can't Complete batch 'Stoppable'"):
            batches.complete_batch(ctx, "Stoppable")
        with pytest.raises(InUse, match="Stoppable"):
            await set_endpoint(ctx, "Src", EndpointChanges(port=1))
        asked = time.monotonic()
        batches.stop_batch(ctx, "Stoppable")
        await asyncio.wait_for(runner, 30)
        return time.monotonic() - asked

    took = asyncio.run(run_and_stop())
    assert took < 10, f"Stop took {took:.1f} s"
    stopped = get_user(ctx, address(big))
    assert batches.get_batch(ctx, "Stoppable").status == BatchStatus.STOPPED
    assert stopped.status == UserStatus.STOPPED
    copied = len(maildir_files(tmp_path / "mail" / address(big)))
    assert 0 < copied < 1500, copied

    batches.start_batch(ctx, "Stoppable")
    asyncio.run(run_in_process(ctx, {batch.id}))
    done = get_user(ctx, address(big))
    assert done.status == UserStatus.SYNCED
    assert done.synced_item_count == 1500
    assert len(maildir_files(tmp_path / "mail" / address(big))) == 1500


def test_lifecycle_refusals_name_the_reason(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    _one, csv = one_user_source(ctx, dovecot_source, make_user, seed=8, messages=2)
    batches.new_batch(ctx, batches.BatchRequest("Life", "Src", csv))
    with pytest.raises(ActionNotAllowed, match="it has not been started"):
        batches.stop_batch(ctx, "Life")
    with pytest.raises(ActionNotAllowed, match="SyncNow"):
        batches.sync_now(ctx, "Life")
    with pytest.raises(InUse, match="used by batch 'Life'"):
        remove_endpoint(ctx, "Src")
    batch = batches.start_batch(ctx, "Life")
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Life").status == BatchStatus.SYNCED
    # The MX switched after the last sync: Remove refuses without force.
    later = ctx.now()
    batches.record_mx_switch(ctx, "Life", later)
    with pytest.raises(RemoveRefused, match="--force"):
        batches.remove_batch(ctx, "Life")
    batches.sync_now(ctx, "Life")
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.remove_batch(ctx, "Life").status == BatchStatus.REMOVING
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert ctx.store.batch("Life") is None
    remove_endpoint(ctx, "Src")
