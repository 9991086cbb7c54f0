"""A batch whose target carries ``--target-preset m365`` and a bandwidth cap, run by the
scheduler (the job's path: ``JobSessions`` → ``with_target_limits``): real Dovecot
source, a Maildir target named as Microsoft 365 would name it (no Exchange here), and
written no faster than the cap."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.rig.maildir import RigMessage as Message
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import UserStatus
from mailferry.state.migration_records import TargetSettings
from tests.service.service_support import (
    MakeUser,
    address,
    make_context,
    source_endpoint,
    users_csv,
)

KiB = 1024


def _message(folder: str, number: int, size: int) -> Message:
    head = f"From: a@example.com\r\nSubject: svc {number}\r\nMessage-ID: <svc-{number}@x>\r\n\r\n"
    body = (b"service text\r\n" * (size // 14 + 1))[: size - len(head)]
    when = dt.datetime(2024, 4, 4, 4, number, tzinfo=dt.UTC)
    return Message(folder, head.encode() + body, (), when)


def test_a_batch_with_the_m365_preset_and_a_cap(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account = make_user("svc", servers=(dovecot_source,))
    folders = ["INBOX", "Sent", "Trash", "Notes"]
    messages = [_message(f, n, 48 * KiB) for n, f in enumerate(folders)]
    dovecot_source.write_maildir(account.name, messages)
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    mail = tmp_path / "m365"
    rate = 32 * KiB
    target = TargetSettings(
        kind="maildir", maildir_root=str(mail), preset="m365", max_bytes_per_second=rate
    )
    csv = users_csv([(address(account), account.name, account.password)])
    batch = batches.new_batch(
        ctx, batches.BatchRequest("Preset", "Src", csv, target=target, auto_start=True)
    )
    started = time.monotonic()
    asyncio.run(run_in_process(ctx, {batch.id}))
    elapsed = time.monotonic() - started
    user = get_user(ctx, address(account))
    assert user.status == UserStatus.SYNCED and user.synced_item_count == len(messages)
    names = {p.name for p in (mail / address(account)).iterdir() if p.name.startswith(".")}
    assert {".Sent Items", ".Deleted Items"} <= names, names
    assert ".Notes" not in names  # reserved: Maildir++ gives a clash its hash suffix
    assert any(name.startswith(".Notes~") for name in names), names
    total = sum(len(m.data) for m in messages)
    assert elapsed >= (total - rate) / rate  # 5 s past the first second's burst
