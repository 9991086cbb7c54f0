"""A batch's -ContentFilter: only mail received in the window is migrated; removing the
filter (Set-MigrationBatch) and SyncNow bring the older mail, nothing twice; a bad
filter is refused when the batch is created or changed, naming the problem."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from mailferry.errors import InvalidSetting
from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user, user_sync_now
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.properties import batch_properties
from mailferry.service.statuses import UserStatus
from tests.integration.test_kill9_mid_append import Message
from tests.service.service_support import (
    MakeUser,
    address,
    make_context,
    source_endpoint,
    users_csv,
)

UTC = dt.UTC
FILTER = "Received -ge '2020-01-01'"


def mail(n: int, year: int, folder: str = "INBOX") -> Message:
    data = f"Subject: {n}\r\nMessage-ID: <{n}@filter.test>\r\n\r\nbody {n}\r\n".encode()
    return Message(folder, data, ("\\Seen",), dt.datetime(year, 3, 1 + n, 9, tzinfo=UTC))


def files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]


def test_only_mail_in_the_window_then_all_of_it(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account = make_user("filter", servers=(dovecot_source,))
    old = [mail(1, 2018), mail(2, 2019, "Archive")]
    new = [mail(3, 2020), mail(4, 2021, "Archive"), mail(5, 2022)]
    dovecot_source.write_maildir(account.name, [*old, *new])
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    csv = users_csv([(address(account), account.name, account.password)])
    request = batches.BatchRequest("Recent", "Src", csv, auto_start=True, content_filter=FILTER)
    batch = batches.new_batch(ctx, request)
    shown = batch_properties(batch, ctx.store.users(batch_id=batch.id), ctx.now())
    assert shown["ContentFilter"] == FILTER

    asyncio.run(run_in_process(ctx, {batch.id}))
    user = get_user(ctx, address(account))
    assert user.status == UserStatus.SYNCED
    mailbox = tmp_path / "mail" / address(account)
    assert len(files(mailbox)) == len(new)

    batches.set_batch(ctx, "Recent", batches.BatchChanges(content_filter=""))
    assert batches.get_batch(ctx, "Recent").content_filter is None
    user_sync_now(ctx, address(account))
    asyncio.run(run_in_process(ctx, {batch.id}))
    contents = sorted(p.read_bytes().replace(b"\r\n", b"\n") for p in files(mailbox))
    expected = sorted(m.data.replace(b"\r\n", b"\n") for m in [*old, *new])
    assert contents == expected  # the older mail came; nothing twice
    ctx.store.close()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Subject -like 'x'", "only the property Received"),
        ("Received -gt '3/4/2020'", "ambiguous"),
        ("Received -gt '2021-01-01' -or Received -lt '2019-01-01'", "-or is not supported"),
    ],
)
def test_a_bad_filter_is_refused_with_the_reason(
    dovecot_source: DovecotServer, tmp_path: Path, text: str, words: str
) -> None:
    ctx = make_context(tmp_path)
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    csv = users_csv([("a@filter.test", "a", "pw")])
    with pytest.raises(InvalidSetting) as refused:
        batches.new_batch(ctx, batches.BatchRequest("Bad", "Src", csv, content_filter=text))
    assert str(refused.value).startswith("ContentFilter: ") and words in str(refused.value)
    assert ctx.store.batch("Bad") is None
    batches.new_batch(ctx, batches.BatchRequest("Good", "Src", csv))
    with pytest.raises(InvalidSetting, match=words):
        batches.set_batch(ctx, "Good", batches.BatchChanges(content_filter=text))
    assert batches.get_batch(ctx, "Good").content_filter is None
    ctx.store.close()
