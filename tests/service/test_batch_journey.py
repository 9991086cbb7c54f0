"""A batch's whole life in-process against a real Dovecot source and a Maildir target:
start, statuses and statistics, a failing user, incremental by the clock, SyncNow,
complete, remove (credentials purged)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from mailferry.rig import CorpusSpec, DovecotServer, generate
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user, get_users, user_sync_now
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import BatchStatus, UserStatus
from tests.service.service_support import (
    MakeUser,
    ManualClock,
    address,
    filled_user,
    make_context,
    source_endpoint,
    users_csv,
)


def count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and p.parent.name in ("cur", "new"))


def test_batch_journey(dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path) -> None:
    clock = ManualClock()
    ctx = make_context(tmp_path, clock=clock)
    alice = filled_user(dovecot_source, make_user, seed=1, messages=25)
    bob = filled_user(dovecot_source, make_user, seed=2, messages=15)
    wrong = filled_user(dovecot_source, make_user, seed=3, messages=5)
    csv = users_csv([
        (address(alice), alice.name, alice.password),
        (address(bob), bob.name, bob.password),
        (address(wrong), wrong.name, "not-the-password"),
    ])  # fmt: skip
    asyncio.run(new_endpoint(ctx, "IMAPEndpoint", source_endpoint(dovecot_source)))
    batch = batches.new_batch(
        ctx, batches.BatchRequest("IMAPBatch1", "IMAPEndpoint", csv, auto_start=True)
    )
    assert batch.status == BatchStatus.STARTING
    asyncio.run(run_in_process(ctx, {batch.id}))

    batch = batches.get_batch(ctx, "IMAPBatch1")
    assert batch.status == BatchStatus.SYNCED_WITH_ERRORS
    assert batch.initial_sync_finished_at is not None
    users = {u.email_address: u for u in get_users(ctx, batch="IMAPBatch1")}
    good = users[address(alice)]
    assert good.status == UserStatus.SYNCED
    assert good.total_items_in_source == 25 == good.synced_item_count
    assert good.bytes_transferred > 0 and good.last_successful_sync_at is not None
    assert users[address(bob)].synced_item_count == 15
    failed = users[address(wrong)]
    assert failed.status == UserStatus.FAILED
    assert failed.error is not None and "authentication failed" in failed.error
    mail = tmp_path / "mail"
    assert count_files(mail / address(alice)) == 25

    # New mail, then 24 hours later: the incremental sync carries it over.
    extra = list(generate(CorpusSpec(seed=99, messages=3)))
    dovecot_source.write_maildir(alice.name, extra)
    clock.advance(dt.timedelta(hours=24, minutes=1))
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert get_user(ctx, address(alice)).synced_item_count == 28
    assert count_files(mail / address(alice)) == 28
    day = 24 * 3600 + 60
    assert day <= get_user(ctx, address(alice)).synced_seconds < day + 120  # Synced meanwhile

    # SyncNow for one user: nothing new, nothing duplicated.
    user_sync_now(ctx, address(bob))
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert count_files(mail / address(bob)) == 15
    assert get_user(ctx, address(bob)).status == UserStatus.SYNCED

    batches.complete_batch(ctx, "IMAPBatch1")
    asyncio.run(run_in_process(ctx, {batch.id}))
    batch = batches.get_batch(ctx, "IMAPBatch1")
    assert batch.status == BatchStatus.COMPLETED_WITH_ERRORS
    assert get_user(ctx, address(alice)).status == UserStatus.COMPLETED

    batches.remove_batch(ctx, "IMAPBatch1")
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert ctx.store.batch("IMAPBatch1") is None
    ctx.store.close()
    for path in tmp_path.glob("mailferry.db*"):
        data = path.read_bytes()
        for secret in (alice.password, bob.password, "not-the-password"):
            assert secret.encode() not in data, path


def test_a_changed_password_fails_only_that_users_incremental_sync(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    clock = ManualClock()
    ctx = make_context(tmp_path, clock=clock)
    kept = filled_user(dovecot_source, make_user, seed=21, messages=4)
    changed = filled_user(dovecot_source, make_user, seed=22, messages=4)
    csv = users_csv([(address(a), a.name, a.password) for a in (kept, changed)])
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    batch = batches.new_batch(ctx, batches.BatchRequest("Pw", "Src", csv, auto_start=True))
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Pw").status == BatchStatus.SYNCED

    dovecot_source.add_user(changed.name, "a-new-password")  # the user changed it
    clock.advance(dt.timedelta(hours=25))
    asyncio.run(run_in_process(ctx, {batch.id}))
    failed = get_user(ctx, address(changed))
    assert failed.status == UserStatus.INCREMENTAL_FAILED
    assert failed.error is not None and "authentication failed" in failed.error
    assert failed.synced_item_count == 4  # what was copied stays counted
    assert get_user(ctx, address(kept)).status == UserStatus.SYNCED
    assert batches.get_batch(ctx, "Pw").status == BatchStatus.SYNCED_WITH_ERRORS
