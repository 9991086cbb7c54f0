"""A batch's options on a real run (Dovecot source, Maildir target): its own maximum
message size and include-deleted reach the job, and -AutoComplete completes the batch
once its initial sync left nothing behind, in the same run here."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

from mailferry.rig import CorpusSpec, DovecotServer, generate
from mailferry.rig.maildir import RigMessage
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import UserStatus
from mailferry.state.migration_records import BatchOptions
from mailferry.values.statuses import BatchStatus
from tests.service.service_support import (
    MakeUser,
    address,
    make_context,
    source_endpoint,
    users_csv,
)


def test_limits_include_deleted_and_auto_complete(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account = make_user("opts", servers=(dovecot_source,))
    corpus = list(generate(CorpusSpec(seed=4242, messages=40, deleted_fraction=0.25)))
    dovecot_source.write_maildir(account.name, corpus)
    deleted = [m for m in corpus if "\\Deleted" in m.flags]
    limit = sorted(m.imap_size for m in corpus)[len(corpus) // 2]  # about half are larger
    large = [m for m in corpus if m.imap_size > limit]
    assert deleted and large
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    csv = users_csv([(address(account), account.name, account.password)])
    options = BatchOptions(max_message_size=limit, include_deleted=True, auto_complete=True)
    request = batches.BatchRequest("Opts", "Src", csv, auto_start=True, options=options)
    batch = batches.new_batch(ctx, request)
    asyncio.run(asyncio.wait_for(run_in_process(ctx, {batch.id}), 120))

    done = batches.get_batch(ctx, "Opts")
    assert done.status == BatchStatus.COMPLETED, done.status  # AutoComplete, in this run
    user = get_user(ctx, address(account))
    assert user.status == UserStatus.COMPLETED
    assert user.total_items_in_source == len(corpus)  # the deleted ones are in scope
    assert user.skipped_item_count == len(large)
    assert user.synced_item_count == len(corpus) - len(large)
    copied = sum(m.imap_size for m in corpus if m.imap_size <= limit)
    assert user.estimated_total_bytes == user.bytes_transferred == copied  # all it planned
    kinds = {item.kind for item in ctx.store.mailbox_skipped(user.mailbox_key)}
    assert kinds == {"LargeItem"}


def test_locale_names_the_targets_special_folders(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    """-Locale da-DK: the source's Sent and Trash land in the Maildir target as Sendt post
    and Slettet post (a Maildir lists no special-use attributes of its own)."""
    ctx = make_context(tmp_path)
    account = make_user("locale", servers=(dovecot_source,))
    when = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)
    messages = [
        RigMessage(folder, f"Subject: {folder} {n}\r\nMessage-ID: <{folder}{n}@x>\r\n\r\nhi\r\n"
                   .encode(), (), when)
        for folder in ("INBOX", "Sent", "Trash") for n in range(2)
    ]  # fmt: skip
    dovecot_source.write_maildir(account.name, messages)
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    csv = users_csv([(address(account), account.name, account.password)])
    target = dataclasses.replace(ctx.settings.default_target, locale="da-DK")  # type: ignore[arg-type]
    request = batches.BatchRequest("Dansk", "Src", csv, target=target, auto_start=True)
    batch = batches.new_batch(ctx, request)
    asyncio.run(asyncio.wait_for(run_in_process(ctx, {batch.id}), 60))
    assert get_user(ctx, address(account)).status == UserStatus.SYNCED
    mailbox = tmp_path / "mail" / address(account)
    folders = {p.name for p in mailbox.iterdir() if p.is_dir() and p.name.startswith(".")}
    assert {".Sendt post", ".Slettet post"} <= folders, folders
    assert ".Sent" not in folders and ".Sent Items" not in folders
    assert len(list((mailbox / ".Sendt post" / "cur").iterdir())) == 2


def test_auto_complete_waits_when_a_user_failed(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    """-AutoComplete completes only a sync that left nothing behind: with a user whose
    password is wrong the batch stays SyncedWithErrors (for the administrator), and the
    run here ends there rather than waiting."""
    ctx = make_context(tmp_path, max_attempts=1)
    account = make_user("autook", servers=(dovecot_source,))
    dovecot_source.write_maildir(account.name, list(generate(CorpusSpec(seed=4343, messages=5))))
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    rows = [(address(account), account.name, account.password),
            (f"wrong-{address(account)}", account.name, "not-the-password")]  # fmt: skip
    options = BatchOptions(auto_complete=True)
    request = batches.BatchRequest("Half", "Src", users_csv(rows), auto_start=True, options=options)
    batch = batches.new_batch(ctx, request)
    asyncio.run(asyncio.wait_for(run_in_process(ctx, {batch.id}), 120))
    assert batches.get_batch(ctx, "Half").status == BatchStatus.SYNCED_WITH_ERRORS
    assert get_user(ctx, f"wrong-{address(account)}").status == UserStatus.FAILED
    assert get_user(ctx, address(account)).status == UserStatus.SYNCED  # not completed
