"""The automatic clean-up of old batches (issue 15): each rule at its exact age, the
clock reset by administrator activity, the MX-switch guard, the settings, the mails
(to a real aiosmtpd server on 127.0.0.1) and the scheduler's pass running it."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mailferry.app.cleanup_settings import cleanup_periods
from mailferry.app.settings import service_settings
from mailferry.errors import InvalidSetting
from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.cleanup import (
    BatchCleanup,
    clean_up_batches,
    notify_cleanup,
    run_cleanup,
)
from mailferry.service.context import ServiceContext
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint
from mailferry.service.jobs.scheduler import Scheduler, run_in_process
from mailferry.service.reports.notifications import SmtpSettings
from mailferry.service.statuses import INCOMPLETE_SYNC, BatchStatus
from mailferry.state.migration_records import Batch
from tests.service.service_support import (
    MakeUser,
    ManualClock,
    make_context,
    one_user_source,
    users_csv,
)
from tests.service.test_batch_schedule import Inbox, smtp  # noqa: F401 (the fixture)

B = BatchStatus
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
T0 = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
ADMIN = ("admin@service.example",)


def offline_batch(ctx: ServiceContext, name: str) -> Batch:
    """A batch of one user on an endpoint never contacted (the rules need no copying)."""
    if ctx.store.endpoint("Src") is None:
        changes = EndpointChanges(remote_server="127.0.0.1", port=993, security="Ssl")
        asyncio.run(new_endpoint(ctx, "Src", changes, skip_verification=True))
    csv = users_csv([(f"{name.lower()}@service.example", name.lower(), "pw")])
    request = batches.BatchRequest(name, "Src", csv, notification_emails=ADMIN)
    return batches.new_batch(ctx, request)


def put(
    ctx: ServiceContext, batch: Batch, status: B, admin: dt.datetime, settled: dt.datetime
) -> None:
    """The batch in ``status``, an administrator's last action and its entry at given times."""
    ctx.store.update_batch(
        batch.id, {"status": status, "last_admin_activity_at": admin, "settled_at": settled}
    )


def kinds(ctx: ServiceContext, batch_id: int, *names: str) -> list[dict[str, Any]]:
    return [e.detail for e in ctx.store.events(batch_id=batch_id, kinds=list(names))]


@pytest.mark.parametrize(
    ("status", "period", "since", "after", "event"),
    [
        (B.SYNCED, 60, "admin", B.STOPPING, "batch_auto_stopped"),
        (B.SYNCED_WITH_ERRORS, 60, "admin", B.STOPPING, "batch_auto_stopped"),
        (B.STOPPED, 90, "settled", B.REMOVING, "batch_auto_removed"),
        (B.FAILED, 90, "settled", B.REMOVING, "batch_auto_removed"),
        (B.COMPLETED, 60, "settled", B.REMOVING, "batch_auto_removed"),
        (B.COMPLETED_WITH_ERRORS, 60, "settled", B.REMOVING, "batch_auto_removed"),
    ],
)
def test_each_rule_fires_exactly_at_its_age(
    tmp_path: Path, status: B, period: int, since: str, after: B, event: str
) -> None:
    ctx = make_context(tmp_path)
    batch = offline_batch(ctx, "Old")
    settled = T0 + 3 * DAY  # it entered its status after the last administrator action
    put(ctx, batch, status, T0, settled)
    start = T0 if since == "admin" else settled
    due = start + period * DAY

    assert clean_up_batches(ctx, due - SECOND) == []
    assert batches.get_batch(ctx, "Old").status == status
    assert run_cleanup(ctx, due - SECOND).next_due == due  # the scheduler wakes then

    [action] = clean_up_batches(ctx, due)
    assert (action.batch_name, action.status, action.since) == ("Old", status, start)
    assert action.age == period * DAY and action.notification_emails == ADMIN
    assert batches.get_batch(ctx, "Old").status == after
    [detail] = kinds(ctx, batch.id, event)
    assert detail["age_days"] == period and detail["status"] == status.value
    assert detail["rule"] == action.rule
    assert clean_up_batches(ctx, due + DAY) == []  # done once
    if after == B.STOPPING:  # the clean-up is no administrator: its clock stays
        [row] = ctx.store.cleanup_candidates({B.STOPPING}, "last_admin_activity_at", due)
        assert row.last_admin_activity_at == T0


def test_administrator_activity_resets_the_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    ctx = make_context(tmp_path, clock=clock)
    batch = offline_batch(ctx, "Busy")
    put(ctx, batch, B.SYNCED, T0, T0)
    clock.offset = T0 + 59 * DAY - clock()  # an administrator acts on day 59
    batches.set_batch(ctx, "Busy", batches.BatchChanges(notification_emails=ADMIN))
    [row] = ctx.store.cleanup_candidates({B.SYNCED}, "last_admin_activity_at", T0 + 100 * DAY)
    acted = row.last_admin_activity_at
    assert acted is not None and acted > T0 + 59 * DAY - SECOND

    assert clean_up_batches(ctx, T0 + 60 * DAY) == []
    assert clean_up_batches(ctx, acted + 60 * DAY - SECOND) == []
    [action] = clean_up_batches(ctx, acted + 60 * DAY)
    assert action.since == acted and action.action == "stopped"

    # On a Stopped batch too: 90 days from whichever is later.
    put(ctx, batch, B.STOPPED, T0 + 10 * DAY, T0)
    assert clean_up_batches(ctx, T0 + 90 * DAY) == []
    assert run_cleanup(ctx, T0 + 90 * DAY).next_due == T0 + 100 * DAY
    [removed] = clean_up_batches(ctx, T0 + 100 * DAY)
    assert removed.action == "removed" and removed.since == T0 + 10 * DAY


def test_settings_of_none_turn_rules_off(tmp_path: Path) -> None:
    ctx = make_context(
        tmp_path, stop_synced_after=None, remove_stopped_after=None, remove_completed_after=None
    )
    for name, status in (("A", B.SYNCED), ("S", B.STOPPED), ("C", B.COMPLETED)):
        put(ctx, offline_batch(ctx, name), status, T0, T0)
    assert clean_up_batches(ctx, T0 + 10_000 * DAY) == []
    assert run_cleanup(ctx, T0).next_due is None
    assert {b.status for b in batches.get_batches(ctx)} == {B.SYNCED, B.STOPPED, B.COMPLETED}


def test_periods_come_from_the_environment() -> None:
    env = {
        "MAILFERRY_CLEANUP_STOP_SYNCED_DAYS": "0",
        "MAILFERRY_CLEANUP_REMOVE_STOPPED_DAYS": "30",
        "MAILFERRY_CLEANUP_REMOVE_COMPLETED_DAYS": "0.5",
    }
    settings = service_settings(env)
    assert settings.stop_synced_after is None
    assert settings.remove_stopped_after == 30 * DAY
    assert settings.remove_completed_after == DAY / 2
    defaults = service_settings({})
    assert (defaults.stop_synced_after, defaults.remove_stopped_after) == (60 * DAY, 90 * DAY)
    assert defaults.remove_completed_after == 60 * DAY
    with pytest.raises(InvalidSetting) as refused:
        cleanup_periods({"MAILFERRY_CLEANUP_STOP_SYNCED_DAYS": "-1",
                         "MAILFERRY_CLEANUP_REMOVE_STOPPED_DAYS": "soon"})  # fmt: skip
    assert len(refused.value.problems) == 2
    assert "MAILFERRY_CLEANUP_REMOVE_STOPPED_DAYS 'soon'" in refused.value.problems[1]


def test_the_mx_switch_guard_refuses_once_and_says_why(
    dovecot_source: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    clock = ManualClock()
    mail = SmtpSettings(host="127.0.0.1", port=port, sender="mailferry@service.example")
    ctx = make_context(tmp_path, clock=clock, smtp=mail)
    _account, csv = one_user_source(ctx, dovecot_source, make_user, seed=15, messages=4)
    request = batches.BatchRequest(
        "Guarded", "Src", csv, auto_start=True, notification_emails=ADMIN
    )
    batch = batches.new_batch(ctx, request)
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Guarded").status == B.SYNCED
    batches.record_mx_switch(ctx, "Guarded", clock() + SECOND)  # after its last sync
    batches.stop_batch(ctx, "Guarded")
    asyncio.run(run_in_process(ctx, {batch.id}))
    [row] = ctx.store.cleanup_candidates({B.STOPPED}, "settled_at", clock() + DAY)
    assert row.settled_at is not None and row.last_admin_activity_at is not None
    due = max(row.settled_at, row.last_admin_activity_at) + 90 * DAY

    [refusal] = clean_up_batches(ctx, due)
    assert refusal.action == "refused" and refusal.reason is not None
    assert "before the MX switch" in refusal.reason
    assert batches.get_batch(ctx, "Guarded").status == B.STOPPED  # kept
    [detail] = kinds(ctx, batch.id, "batch_cleanup_refused")
    assert "before the MX switch" in str(detail["reason"]) and detail["rule"] == "remove-stopped"
    asyncio.run(notify_cleanup(ctx, [refusal]))
    [notice] = [m for m in inbox.messages if "not removed" in m["Subject"]]
    assert notice["To"] == ADMIN[0] and "before the MX switch" in notice.get_content()

    assert clean_up_batches(ctx, due + 60 * SECOND) == []  # said once, not every pass
    assert clean_up_batches(ctx, due + 2 * DAY) == []  # the daily re-check is silent
    assert len(kinds(ctx, batch.id, "batch_cleanup_refused")) == 1
    assert batches.get_batch(ctx, "Guarded").status == B.STOPPED


def test_a_sync_that_left_mail_behind_is_never_removed(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    batch = offline_batch(ctx, "Partial")
    put(ctx, batch, B.COMPLETED_WITH_ERRORS, T0, T0)
    [user] = ctx.store.users(batch_id=batch.id)
    ctx.store.update_user(user.id, {"error_kind": INCOMPLETE_SYNC, "error": "INBOX: 2 left"})
    [refusal] = clean_up_batches(ctx, T0 + 60 * DAY)
    assert refusal.action == "refused" and "left mail behind" in (refusal.reason or "")
    assert batches.get_batch(ctx, "Partial").status == B.COMPLETED_WITH_ERRORS
    # An administrator acting starts a new clock: a new refusal is said again.
    ctx.store.update_batch(batch.id, {"last_admin_activity_at": T0 + 61 * DAY})
    assert clean_up_batches(ctx, T0 + 120 * DAY) == []
    [again] = clean_up_batches(ctx, T0 + 121 * DAY)
    assert again.action == "refused"
    assert len(kinds(ctx, batch.id, "batch_cleanup_refused")) == 2


def test_the_scheduler_pass_stops_then_removes_and_mails(
    dovecot_source: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    clock = ManualClock()
    mail = SmtpSettings(host="127.0.0.1", port=port, sender="mailferry@service.example")
    ctx = make_context(tmp_path, clock=clock, smtp=mail)
    _account, csv = one_user_source(ctx, dovecot_source, make_user, seed=16, messages=4)
    request = batches.BatchRequest("Idle", "Src", csv, auto_start=True, notification_emails=ADMIN)
    batch = batches.new_batch(ctx, request)
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Idle").status == B.SYNCED

    clock.advance(60 * DAY + SECOND)
    scheduler = Scheduler(ctx)
    asyncio.run(scheduler.tick())
    assert scheduler.cleanup.runs == 1
    assert batches.get_batch(ctx, "Idle").status in (B.STOPPING, B.STOPPED)
    assert len(kinds(ctx, batch.id, "batch_auto_stopped")) == 1
    [stopped] = [m for m in inbox.messages if "stopped automatically" in m["Subject"]]
    assert "no administrator activity for 60 days" in stopped.get_content()
    assert kinds(ctx, batch.id, "cleanup_notification_sent")[0]["to"] == list(ADMIN)

    asyncio.run(scheduler.tick())  # at most once a minute
    assert scheduler.cleanup.runs == 1
    assert scheduler.next_due is not None and scheduler.next_due <= clock() + 60 * SECOND
    asyncio.run(run_in_process(ctx, {batch.id}))
    assert batches.get_batch(ctx, "Idle").status == B.STOPPED

    clock.advance(90 * DAY + SECOND)
    asyncio.run(scheduler.tick())
    assert scheduler.cleanup.runs == 2
    assert ctx.store.batch("Idle") is None  # removed through Removing, then purged
    assert ctx.store.users(batch_id=batch.id) == []
    assert len(kinds(ctx, batch.id, "batch_auto_removed", "batch_removed")) == 2
    assert [m for m in inbox.messages if "removed automatically" in m["Subject"]]


def test_an_idle_service_is_woken_only_when_a_rule_falls_due(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    put(ctx, offline_batch(ctx, "Done"), B.COMPLETED, T0, T0)
    cleanup = BatchCleanup(ctx)
    assert cleanup.run(T0) == T0 + 60 * DAY  # nothing due yet: sleep until then
    assert cleanup.run(T0 + 30 * SECOND) == T0 + 60 * SECOND  # throttled: one more look
    assert cleanup.runs == 1
    assert cleanup.run(T0 + 60 * SECOND) == T0 + 60 * DAY
    assert cleanup.runs == 2
