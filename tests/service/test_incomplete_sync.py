"""A sync that leaves mail behind never makes a user Synced: real Dovecot source, a real
Maildir target in which one folder can't be created (a file stands where its directory
must go, which no permission bit lets root write through)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from mailferry.errors import RemoveRefused
from mailferry.rig import CorpusSpec, DovecotServer, generate
from mailferry.service.batches import manage as batches
from mailferry.service.batches.user_actions import remove_user
from mailferry.service.batches.users import get_user
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import INCOMPLETE_SYNC, BatchStatus, UserStatus
from tests.service.service_support import (
    MakeUser,
    address,
    filled_user,
    maildir_files,
    make_context,
    source_endpoint,
    users_csv,
)

B = BatchStatus
U = UserStatus


def test_a_folder_left_behind_fails_the_user_until_it_is_copied(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account = make_user("inc", servers=(dovecot_source,))
    spec = CorpusSpec(seed=91, messages=12, folders=("INBOX", "Archive"), deleted_fraction=0.0)
    dovecot_source.write_maildir(account.name, generate(spec))
    other = filled_user(dovecot_source, make_user, seed=92, messages=4)
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    rows = [(address(a), a.name, a.password) for a in (account, other)]
    who = address(account)
    home = tmp_path / "mail" / who
    home.mkdir(parents=True)
    (home / ".Archive").write_text("in the way")
    batch = batches.new_batch(
        ctx, batches.BatchRequest("Inc", "Src", users_csv(rows), auto_start=True)
    )
    asyncio.run(run_in_process(ctx, {batch.id}))

    user = get_user(ctx, who)
    assert (user.status, user.error_kind) == (U.FAILED, INCOMPLETE_SYNC)
    assert user.error is not None and "Archive" in user.error and "missing" in user.error
    assert user.synced_item_count < user.total_items_in_source == 12
    assert user.percentage_complete < 100 and user.last_successful_sync_at is None
    assert get_user(ctx, address(other)).status == U.SYNCED
    assert batches.get_batch(ctx, "Inc").status == B.SYNCED_WITH_ERRORS
    with pytest.raises(RemoveRefused, match="left mail behind"):
        batches.remove_batch(ctx, "Inc")
    with pytest.raises(RemoveRefused, match="left mail behind"):
        remove_user(ctx, who)

    # The cause removed, Start retries the user and it is Synced with every message.
    (home / ".Archive").unlink()
    batches.start_batch(ctx, "Inc")
    asyncio.run(run_in_process(ctx, {batch.id}))
    user = get_user(ctx, who)
    assert (user.status, user.error, user.error_kind) == (U.SYNCED, None, None)
    assert user.synced_item_count == user.total_items_in_source == 12
    assert user.percentage_complete == 100 and len(maildir_files(home)) == 12
    assert batches.get_batch(ctx, "Inc").status == B.SYNCED

    # The target folder is lost after the user was Synced: the next incremental sync does
    # not trust the state, finds the folder gone, and fails (IncrementalFailed) while it
    # can't put the mail back.
    shutil.rmtree(home / ".Archive")
    (home / ".Archive").write_text("in the way again")
    batches.sync_now(ctx, "Inc")
    asyncio.run(run_in_process(ctx, {batch.id}))
    user = get_user(ctx, who)
    assert (user.status, user.error_kind) == (U.INCREMENTAL_FAILED, INCOMPLETE_SYNC)
    assert user.percentage_complete < 100
    (home / ".Archive").unlink()
    batches.start_batch(ctx, "Inc")
    asyncio.run(run_in_process(ctx, {batch.id}))
    user = get_user(ctx, who)
    assert (user.status, user.percentage_complete) == (U.SYNCED, 100)
    assert len(maildir_files(home)) == 12  # copied again, nothing twice
    batches.remove_batch(ctx, "Inc")  # no longer refused
    ctx.store.close()
