"""Stop-MigrationUser / Start-MigrationUser against a real Dovecot source and a Maildir
target: one user stopped mid-copy while the others finish, resumed exactly; failed users
retried; the batch's status while users are stopped; refusals that say why."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from mailferry.errors import NotFound, UserActionNotAllowed
from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.user_actions import finish_user_action, start_user, stop_user
from mailferry.service.batches.users import get_user, user_report
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.properties import batch_properties
from mailferry.service.statuses import BatchStatus, UserStatus
from mailferry.state.migration_records import MigrationUser
from tests.service.service_support import (
    MakeUser,
    ManualClock,
    address,
    contents,
    filled_user,
    generated,
    maildir_files,
    make_context,
    one_user_source,
    source_endpoint,
    users_csv,
)

B = BatchStatus
U = UserStatus


def kinds(report: list[str]) -> list[str]:
    return [line.split()[1].rstrip(":") for line in report]


def test_stop_one_running_user_then_start_it(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    big = filled_user(dovecot_source, make_user, seed=71, messages=1500)
    small = filled_user(dovecot_source, make_user, seed=72, messages=12)
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    csv = users_csv([(address(a), a.name, a.password) for a in (big, small)])
    batch = batches.new_batch(ctx, batches.BatchRequest("Vip", "Src", csv, auto_start=True))

    async def run_and_stop() -> MigrationUser:
        runner = asyncio.create_task(run_in_process(ctx, {batch.id}))
        for _ in range(600):  # bounded: 60 s
            await asyncio.sleep(0.1)
            if get_user(ctx, address(big)).synced_item_count > 0:
                break
        stopping = stop_user(ctx, address(big))
        await asyncio.wait_for(runner, 120)
        return stopping

    assert asyncio.run(run_and_stop()).status == U.STOPPING
    stopped = get_user(ctx, address(big))
    assert stopped.status == U.STOPPED and stopped.claimed_by is None
    assert 0 < stopped.synced_item_count < 1500  # progress kept
    mail = tmp_path / "mail"
    assert 0 < len(maildir_files(mail / address(big))) < 1500
    assert get_user(ctx, address(small)).status == U.SYNCED
    assert contents(mail / address(small)) == generated(72, 12)  # the other user finished
    # The stopped user neither holds the batch Syncing nor stops it.
    settled = batches.get_batch(ctx, "Vip")
    assert settled.status == B.SYNCED
    shown = batch_properties(settled, ctx.store.users(batch_id=batch.id), ctx.now())
    assert (shown["StoppedCount"], shown["SyncedCount"]) == (1, 1)
    timeline = kinds(user_report(ctx, stopped))
    assert timeline[-3:] == ["user_stopping", "job_cancelled", "user_stopped"]

    assert start_user(ctx, address(big)).status == U.QUEUED  # initial sync not done
    assert batches.get_batch(ctx, "Vip").status == B.SYNCING
    asyncio.run(run_in_process(ctx, {batch.id}))
    done = get_user(ctx, address(big))
    assert done.status == U.SYNCED and done.synced_item_count == 1500
    assert contents(mail / address(big)) == generated(71, 1500)  # every message exactly once
    assert batches.get_batch(ctx, "Vip").status == B.SYNCED
    assert "user_started" in kinds(user_report(ctx, done))
    ctx.store.close()


def test_the_last_user_stopped_stops_the_batch_and_refusals_say_why(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account, csv = one_user_source(ctx, dovecot_source, make_user, seed=73, messages=3)
    who = address(account)
    batch = batches.new_batch(ctx, batches.BatchRequest("Solo", "Src", csv))
    with pytest.raises(UserActionNotAllowed) as refused:
        stop_user(ctx, who)
    assert str(refused.value) == (
        f"can't Stop user {who}: batch 'Solo' has not been started (status Created); "
        "nothing runs yet (Remove-MigrationUser takes a user out)"
    )
    with pytest.raises(UserActionNotAllowed, match=r"\(status Created\); start the batch"):
        start_user(ctx, who)
    with pytest.raises(NotFound, match=r"migration user 'nobody@service\.example' was not found"):
        stop_user(ctx, "nobody@service.example")

    batches.start_batch(ctx, "Solo")
    asyncio.run(run_in_process(ctx, {batch.id}))
    with pytest.raises(UserActionNotAllowed) as refused:
        start_user(ctx, who)
    assert str(refused.value) == (
        f"can't Start user {who}: it is Synced: nothing to resume (SyncNow syncs it now)"
    )
    assert stop_user(ctx, who).status == U.STOPPED  # a synced user stops at once
    assert batches.get_batch(ctx, "Solo").status == B.STOPPED  # nothing of it runs now
    with pytest.raises(UserActionNotAllowed) as refused:
        start_user(ctx, who)
    assert str(refused.value) == (
        f"can't Start user {who}: batch 'Solo' is stopped (status Stopped); start the batch "
        "instead (Start-MigrationBatch): it resumes its stopped users"
    )
    assert refused.value.user_status == U.STOPPED and refused.value.status == B.STOPPED
    with pytest.raises(UserActionNotAllowed, match="batch 'Solo' is stopped"):
        stop_user(ctx, who)

    batches.start_batch(ctx, "Solo")
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert get_user(ctx, who).status == U.SYNCED
    assert batches.get_batch(ctx, "Solo").status == B.SYNCED
    assert len(maildir_files(tmp_path / "mail" / who)) == 3
    ctx.store.close()


def test_failed_users_are_retried_one_by_one(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    clock = ManualClock()
    ctx = make_context(tmp_path, clock=clock)
    good = filled_user(dovecot_source, make_user, seed=74, messages=4)
    typo = filled_user(dovecot_source, make_user, seed=75, messages=3)
    csv = users_csv([(address(good), good.name, good.password), (address(typo), typo.name, "typo")])
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    batch = batches.new_batch(ctx, batches.BatchRequest("Retry", "Src", csv, auto_start=True))
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert get_user(ctx, address(typo)).status == U.FAILED
    assert batches.get_batch(ctx, "Retry").status == B.SYNCED_WITH_ERRORS

    with pytest.raises(UserActionNotAllowed) as refused:
        stop_user(ctx, address(typo))
    assert str(refused.value) == (
        f"can't Stop user {address(typo)}: it is Failed: no sync runs or waits (Start retries it)"
    )
    stop_user(ctx, address(good))
    with pytest.raises(UserActionNotAllowed, match=r"it is already Stopped$"):
        stop_user(ctx, address(good))
    assert batches.get_batch(ctx, "Retry").status == B.SYNCED_WITH_ERRORS  # not Stopped
    resumed = start_user(ctx, address(good))
    assert (resumed.status, resumed.next_sync_at is not None) == (U.SYNCED, True)

    dovecot_source.add_user(typo.name, "typo")  # as if the CSV's password were right now
    retried = start_user(ctx, address(typo))
    assert (retried.status, retried.attempts, retried.error) == (U.QUEUED, 0, None)
    assert batches.get_batch(ctx, "Retry").status == B.SYNCING
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert get_user(ctx, address(typo)).status == U.SYNCED
    assert contents(tmp_path / "mail" / address(typo)) == generated(75, 3)
    assert batches.get_batch(ctx, "Retry").status == B.SYNCED

    # IncrementalFailed (the password changed on the source) is retried by Start too.
    dovecot_source.add_user(good.name, "changed")
    clock.advance(dt.timedelta(hours=25))
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert get_user(ctx, address(good)).status == U.INCREMENTAL_FAILED
    dovecot_source.add_user(good.name, good.password)
    again = start_user(ctx, address(good))
    assert (again.status, again.sync_requested) == (U.SYNCED, True)
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert get_user(ctx, address(good)).status == U.SYNCED
    assert contents(tmp_path / "mail" / address(good)) == generated(74, 4)
    assert batches.get_batch(ctx, "Retry").status == B.SYNCED
    ctx.store.close()


def test_a_stop_waits_for_the_claim_of_a_job_elsewhere(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    """A job another worker runs holds its claim: the user is Stopping until that job
    ends or its lease expires (a dead worker), then Stopped."""
    clock = ManualClock()
    ctx = make_context(tmp_path, clock=clock)
    account, csv = one_user_source(ctx, dovecot_source, make_user, seed=76, messages=1)
    batches.new_batch(ctx, batches.BatchRequest("Far", "Src", csv, auto_start=True))
    user = get_user(ctx, address(account))
    claim = {"claimed_by": "serve:elsewhere:1:1", "claimed_until": ctx.now() + ctx.settings.lease}
    ctx.store.update_user(user.id, {"status": U.SYNCING, **claim})
    assert stop_user(ctx, address(account)).status == U.STOPPING
    assert finish_user_action(ctx, user.id) == get_user(ctx, address(account))
    assert get_user(ctx, address(account)).status == U.STOPPING
    clock.advance(ctx.settings.lease + dt.timedelta(seconds=1))
    finished = finish_user_action(ctx, user.id)
    assert finished is not None and finished.status == U.STOPPED
    assert kinds(user_report(ctx, finished)) == ["user_stopping", "user_stopped"]
    ctx.store.close()
