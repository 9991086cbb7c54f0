"""Remove-MigrationUser against a real Dovecot source and a Maildir target: the user, its
password and its mailbox state purged (idle at once, running once its job is cancelled),
the batch's status right after, the address added again without duplicating the mail
already on the target, and the refusal after the MX switch."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from mailferry.errors import NotFound, RemoveRefused, UserActionNotAllowed
from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.user_actions import UserRemoval, remove_user, stop_user
from mailferry.service.batches.users import get_user
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import BatchStatus, UserStatus
from tests.service.service_support import (
    MakeUser,
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


def state_rows(db: Path, mailbox_key: str) -> tuple[int, int, int]:
    """(mailboxes, folders, message pairs) the engine keeps for ``mailbox_key``."""
    with sqlite3.connect(db) as connection:
        boxes = "SELECT id FROM mailboxes WHERE key = ?"
        folders = f"SELECT id FROM folders WHERE mailbox_id IN ({boxes})"
        counts = [
            connection.execute("SELECT count(*) FROM mailboxes WHERE key = ?", (mailbox_key,)),
            connection.execute(f"SELECT count(*) FROM ({folders})", (mailbox_key,)),
            connection.execute(
                f"SELECT count(*) FROM message_pairs WHERE folder_id IN ({folders})",
                (mailbox_key,),
            ),
        ]
        found = tuple(int(cursor.fetchone()[0]) for cursor in counts)
    connection.close()
    return found  # type: ignore[return-value]


def test_remove_users_then_add_the_address_again(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    alice = filled_user(dovecot_source, make_user, seed=81, messages=12)
    bob = filled_user(dovecot_source, make_user, seed=82, messages=5)
    typo = filled_user(dovecot_source, make_user, seed=83, messages=4)
    rows = [(address(a), a.name, a.password) for a in (alice, bob)]
    csv = users_csv([*rows, (address(typo), typo.name, "typo")])
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    batch = batches.new_batch(ctx, batches.BatchRequest("Fix", "Src", csv, auto_start=True))
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Fix").status == B.SYNCED_WITH_ERRORS
    db = tmp_path / "mailferry.db"
    removed = get_user(ctx, address(alice))
    secrets = [removed.password_secret, get_user(ctx, address(typo)).password_secret]
    boxes, folders, pairs = state_rows(db, removed.mailbox_key)
    assert (boxes, pairs) == (1, 12) and folders > 0

    # The failed user goes at once, and the batch has no failure left.
    assert remove_user(ctx, address(typo)) == UserRemoval(address(typo), "Fix", purged=True)
    assert batches.get_batch(ctx, "Fix").status == B.SYNCED
    # A synced user: row, password and mailbox state purged; its mail stays on the target.
    assert remove_user(ctx, address(alice)).purged
    with pytest.raises(NotFound):
        get_user(ctx, address(alice))
    assert state_rows(db, removed.mailbox_key) == (0, 0, 0)
    bob_key = get_user(ctx, address(bob)).mailbox_key
    assert state_rows(db, bob_key)[2] == 5  # the others' state is untouched
    mail = tmp_path / "mail"
    assert contents(mail / address(alice)) == generated(81, 12)
    assert batches.get_batch(ctx, "Fix").status == B.SYNCED
    assert [e.detail["email"] for e in ctx.store.events(kinds=["user_removed"])] == [
        address(typo), address(alice),
    ]  # fmt: skip

    # The corrected CSV adds both addresses again; alice's mail is adopted, not copied.
    again = users_csv([(address(alice), alice.name, alice.password),
                       (address(typo), typo.name, typo.password)])  # fmt: skip
    assert batches.add_users(ctx, "Fix", again) == 2
    asyncio.run(run_in_process(ctx, {batch.id}))
    readded = get_user(ctx, address(alice))
    assert readded.status == U.SYNCED and readded.synced_item_count == 12
    assert contents(mail / address(alice)) == generated(81, 12)  # nothing twice
    finished = ctx.store.events(user_id=readded.id, kinds=["job_finished"])
    assert [e.detail["copied"] for e in finished] == [0]  # the engine adopted all 12
    assert state_rows(db, readded.mailbox_key) == (1, folders, 12)
    assert contents(mail / address(typo)) == generated(83, 4)
    assert batches.get_batch(ctx, "Fix").status == B.SYNCED
    kept = get_user(ctx, address(bob)).password_secret
    ctx.store.close()
    stored = [path.read_bytes() for path in tmp_path.glob("mailferry.db*")]
    assert any(kept in data for data in stored)  # a user's ciphertext is found where kept
    for secret in secrets:
        assert not any(secret in data for data in stored)


def test_remove_a_running_user(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    big = filled_user(dovecot_source, make_user, seed=84, messages=1500)
    small = filled_user(dovecot_source, make_user, seed=85, messages=6)
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    csv = users_csv([(address(a), a.name, a.password) for a in (big, small)])
    batch = batches.new_batch(ctx, batches.BatchRequest("Run", "Src", csv, auto_start=True))
    key = get_user(ctx, address(big)).mailbox_key

    async def run_and_remove() -> tuple[UserRemoval, U, bytes]:
        runner = asyncio.create_task(run_in_process(ctx, {batch.id}))
        for _ in range(600):  # bounded: 60 s
            await asyncio.sleep(0.1)
            if get_user(ctx, address(big)).synced_item_count > 0:
                break
        removal = remove_user(ctx, address(big))
        left = get_user(ctx, address(big))
        await asyncio.wait_for(runner, 120)
        return removal, left.status, left.password_secret

    removal, status, secret = asyncio.run(run_and_remove())
    assert (removal.purged, status, secret) == (False, U.REMOVING, b"")  # password gone at once
    with pytest.raises(NotFound):
        get_user(ctx, address(big))  # purged by the scheduler once its job was cancelled
    assert state_rows(tmp_path / "mailferry.db", key) == (0, 0, 0)
    assert 0 < len(maildir_files(tmp_path / "mail" / address(big))) < 1500  # copied mail stays
    assert get_user(ctx, address(small)).status == U.SYNCED
    assert batches.get_batch(ctx, "Run").status == B.SYNCED
    kinds = [e.kind for e in ctx.store.events(kinds=["user_removing", "user_removed"])]
    assert kinds == ["user_removing", "user_removed"]
    ctx.store.close()


def test_remove_is_refused_after_the_mx_switch_without_force(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account, csv = one_user_source(ctx, dovecot_source, make_user, seed=86, messages=2)
    who = address(account)
    batch = batches.new_batch(ctx, batches.BatchRequest("Cut", "Src", csv, auto_start=True))
    asyncio.run(run_in_process(ctx, {batch.id}))
    synced = get_user(ctx, who).last_successful_sync_at
    assert synced is not None
    switched = ctx.now()
    batches.record_mx_switch(ctx, "Cut", switched)
    with pytest.raises(RemoveRefused) as refused:
        remove_user(ctx, who)
    assert str(refused.value) == (
        f"user {who} of batch 'Cut' last synced before the MX switch ({switched.isoformat()}) "
        f"(last sync: {synced.isoformat()}); mail delivered to the old server since then "
        "would be lost. Run SyncNow first, or remove with --force"
    )
    assert get_user(ctx, who).status == U.SYNCED  # untouched
    assert remove_user(ctx, who, force=True).purged
    forced = ctx.store.events(kinds=["user_removing"])
    assert [e.detail["forced"] for e in forced] == [True]
    with pytest.raises(NotFound, match=re.escape(f"migration user '{who}' was not found")):
        stop_user(ctx, who)
    ctx.store.close()


def test_remove_refusals(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account, csv = one_user_source(ctx, dovecot_source, make_user, seed=87, messages=1)
    who = address(account)
    batches.new_batch(ctx, batches.BatchRequest("Gone", "Src", csv))
    user = get_user(ctx, who)
    ctx.store.update_user(user.id, {"status": U.REMOVING, "claimed_by": "serve:x:1:1",
                                    "claimed_until": ctx.now() + ctx.settings.lease})  # fmt: skip
    with pytest.raises(UserActionNotAllowed) as refused:
        remove_user(ctx, who)
    assert str(refused.value) == f"can't Remove user {who}: it is already being removed"
    batches.remove_batch(ctx, "Gone")
    with pytest.raises(UserActionNotAllowed) as refused:
        remove_user(ctx, who)
    assert str(refused.value) == (
        f"can't Remove user {who}: batch 'Gone' is being removed (status Removing)"
    )
    ctx.store.close()
