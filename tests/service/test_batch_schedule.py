"""Time-driven batch behaviour, with a manual clock: StartAfter (Waiting), CompleteAfter,
the 24 h incremental sync, and reports e-mailed to a real local SMTP server (aiosmtpd)
when the initial sync finishes and every 24 h after."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_users
from mailferry.service.jobs.scheduler import Scheduler, run_in_process
from mailferry.service.reports.notifications import SmtpSettings
from mailferry.service.statuses import BatchStatus, UserStatus
from tests.service.service_support import (
    MakeUser,
    ManualClock,
    make_context,
    one_user_source,
)

HOUR = dt.timedelta(hours=1)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def one_user_batch(ctx: Any, server: DovecotServer, make_user: MakeUser, name: str) -> bytes:
    _account, csv = one_user_source(
        ctx, server, make_user, seed=len(name), messages=5, endpoint=f"{name}Endpoint"
    )
    return csv


def test_start_after_waits_then_complete_after_completes(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    clock = ManualClock()
    ctx = make_context(tmp_path, clock=clock)
    csv = one_user_batch(ctx, dovecot_source, make_user, "Timed")
    request = batches.BatchRequest(
        "Timed", "TimedEndpoint", csv, auto_start=True,
        start_after=ctx.now() + 2 * HOUR, complete_after=ctx.now() + 30 * HOUR,
    )  # fmt: skip
    batch = batches.new_batch(ctx, request)
    scheduler = Scheduler(ctx)
    asyncio.run(scheduler.tick())
    assert batches.get_batch(ctx, "Timed").status == BatchStatus.WAITING
    assert get_users(ctx, batch="Timed")[0].status == UserStatus.QUEUED

    clock.advance(3 * HOUR)
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Timed").status == BatchStatus.SYNCED

    clock.advance(28 * HOUR)  # CompleteAfter has passed
    asyncio.run(run_in_process(ctx, {batch.id}))
    done = batches.get_batch(ctx, "Timed")
    assert done.status == BatchStatus.COMPLETED and done.completed_at is not None
    assert get_users(ctx, batch="Timed")[0].status == UserStatus.COMPLETED


def test_reports_are_mailed_after_the_initial_sync_and_every_24_hours(
    dovecot_source: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    clock = ManualClock()
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="mailferry@service.example")
    ctx = make_context(tmp_path, clock=clock, smtp=settings)
    csv = one_user_batch(ctx, dovecot_source, make_user, "Mailed")
    request = batches.BatchRequest(
        "Mailed", "MailedEndpoint", csv, auto_start=True,
        notification_emails=("admin@service.example",),
    )  # fmt: skip
    batch = batches.new_batch(ctx, request)
    asyncio.run(run_in_process(ctx, {batch.id}))
    asyncio.run(Scheduler(ctx).tick())  # the pass that sees Synced sends the report
    assert len(inbox.messages) == 1
    first = inbox.messages[0]
    assert first["To"] == "admin@service.example"
    assert "Mailed" in first["Subject"] and "Synced" in first["Subject"]
    names = {part.get_filename() for part in first.iter_attachments()}
    assert names == {"Mailed.csv", "Mailed.json"}
    csv_part = next(p for p in first.iter_attachments() if p.get_filename() == "Mailed.csv")
    assert "SyncedItemCount" in csv_part.get_content()

    asyncio.run(Scheduler(ctx).tick())  # nothing new within 24 h
    assert len(inbox.messages) == 1
    clock.advance(24 * HOUR + dt.timedelta(minutes=1))
    asyncio.run(run_in_process(ctx, {batch.id}))
    asyncio.run(Scheduler(ctx).tick())
    assert len(inbox.messages) == 2
    sent = ctx.store.events(batch_id=batch.id, kinds=["report_sent"])
    assert len(sent) == 2
