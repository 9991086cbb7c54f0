"""Endpoint caps hold across batches (asserted from the event log), and the job of a
user who can't log in fails alone with a precise reason."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_users
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import BatchStatus, UserStatus
from mailferry.state.migration_records import Event
from tests.service.service_support import (
    MakeUser,
    address,
    filled_user,
    make_context,
    master_user_batch,
    source_endpoint,
    users_csv,
)


def peak_concurrency(events: Sequence[Event]) -> int:
    """The most jobs running at once, replaying job_started / job_finished."""
    running: set[int] = set()
    peak = 0
    for event in events:
        if event.kind == "job_started":
            assert event.user_id not in running, "two jobs on one mailbox"
            running.add(event.user_id or 0)
            peak = max(peak, len(running))
        elif event.kind in ("job_finished", "job_cancelled"):
            running.discard(event.user_id or 0)
    return peak


def test_200_users_never_exceed_the_endpoint_cap(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    accounts = [
        filled_user(dovecot_source, make_user, seed=1000 + n, messages=2) for n in range(200)
    ]
    csv = users_csv([(address(a), a.name, a.password) for a in accounts])
    limits = {"max_concurrent_migrations": 7, "max_concurrent_incremental_syncs": 3}
    asyncio.run(new_endpoint(ctx, "Big", source_endpoint(dovecot_source, **limits)))
    batch = batches.new_batch(ctx, batches.BatchRequest("Many", "Big", csv, auto_start=True))
    asyncio.run(run_in_process(ctx, {batch.id}))

    assert batches.get_batch(ctx, "Many").status == BatchStatus.SYNCED
    users = get_users(ctx, batch="Many")
    assert len(users) == 200 and all(u.synced_item_count == 2 for u in users)
    events = ctx.store.events(kinds=["job_started", "job_finished", "job_cancelled"])
    assert len([e for e in events if e.kind == "job_started"]) == 200
    assert peak_concurrency(events) == 7  # reached, never exceeded

    # Incremental syncs of all 200 at once are capped by MaxConcurrentIncrementalSyncs.
    first_incremental = len(ctx.store.events())
    for user in users:
        ctx.store.update_user(user.id, {"sync_requested": True})
    asyncio.run(run_in_process(ctx, {batch.id}))
    later = ctx.store.events(kinds=["job_started", "job_finished"])
    incremental = [e for e in later if e.id > first_incremental]
    assert len([e for e in incremental if e.kind == "job_started"]) == 200
    assert all(e.detail["job"] == "IncrementalSyncing" for e in incremental)
    assert peak_concurrency(incremental) == 3


def test_two_batches_share_their_endpoints_caps(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    asyncio.run(
        new_endpoint(ctx, "Shared", source_endpoint(dovecot_source, max_concurrent_migrations=3))
    )
    created = []
    for name in ("First", "Second"):
        accounts = [filled_user(dovecot_source, make_user, seed=n, messages=3) for n in range(12)]
        csv = users_csv([(address(a), a.name, a.password) for a in accounts])
        created.append(batches.new_batch(ctx, batches.BatchRequest(name, "Shared", csv)))
    for batch in created:
        batches.start_batch(ctx, batch.name)
    asyncio.run(run_in_process(ctx, {b.id for b in created}))

    events = ctx.store.events(kinds=["job_started", "job_finished"])
    assert peak_concurrency(events) == 3
    started_batches = {e.batch_id for e in events if e.kind == "job_started"}
    assert started_batches == {b.id for b in created}
    for batch in created:
        assert batches.get_batch(ctx, batch.name).status == BatchStatus.SYNCED


def test_users_fail_alone_with_precise_reasons(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    ctx = make_context(tmp_path)
    good = make_user("both")  # on source and target
    filled = filled_user(dovecot_source, make_user, seed=5, messages=4)  # source only
    dovecot_target.add_user(address(good), "unused")
    wrong = make_user("wrongpw")
    dovecot_target.add_user(address(wrong), "unused")
    dovecot_source.write_maildir(good.name, [])
    csv = users_csv([
        (address(good), good.name, good.password),
        (address(filled), filled.name, filled.password),  # no target mailbox
        (address(wrong), wrong.name, "bad-password"),
    ])  # fmt: skip
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    request = master_user_batch("Mixed", "Src", csv, dovecot_target)
    batch = batches.new_batch(ctx, request)
    asyncio.run(run_in_process(ctx, {batch.id}))

    users = {u.email_address: u for u in get_users(ctx, batch="Mixed")}
    assert users[address(good)].status == UserStatus.SYNCED
    missing = users[address(filled)]
    assert missing.status == UserStatus.FAILED
    assert missing.error_kind == "MailboxNotFound", missing.error
    assert address(filled) in (missing.error or "")
    refused = users[address(wrong)]
    assert refused.status == UserStatus.FAILED
    assert refused.error_kind == "AuthenticationError"
    assert batches.get_batch(ctx, "Mixed").status == BatchStatus.SYNCED_WITH_ERRORS


def test_start_retries_failed_users(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    ctx = make_context(tmp_path)
    late = filled_user(dovecot_source, make_user, seed=9, messages=3)  # no target mailbox yet
    csv = users_csv([(address(late), late.name, late.password)])
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    request = master_user_batch("Late", "Src", csv, dovecot_target)
    batch = batches.new_batch(ctx, request)
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Late").status == BatchStatus.FAILED
    dovecot_target.add_user(address(late), "unused")  # the administrator fixes it
    assert batches.start_batch(ctx, "Late").status == BatchStatus.STARTING
    asyncio.run(run_in_process(ctx, {batch.id}))
    (user,) = get_users(ctx, batch="Late")
    assert user.status == UserStatus.SYNCED and user.synced_item_count == 3
    assert user.error is None
    assert batches.get_batch(ctx, "Late").status == BatchStatus.SYNCED
