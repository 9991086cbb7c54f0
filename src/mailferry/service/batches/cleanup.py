"""The automatic clean-up of old batches, as Microsoft's service does it (issue 15).

- Synced (or SyncedWithErrors) batches with no administrator activity for
  ``stop_synced_after`` (60 days) are stopped;
- Stopped or Failed batches are removed after ``remove_stopped_after`` (90 days);
- Completed (or CompletedWithErrors) batches are removed after ``remove_completed_after``
  (60 days).

A batch's age for a removal counts from when it entered its status (``settled_at``:
Stopped, Failed and Completed are only entered through ``settle_batch``) or from the
last administrator activity on it (``last_admin_activity_at``), whichever is later. A
rule fires when the age reaches its period exactly (None: the rule is off).

Removal goes through ``remove_batch`` without ``force``, so the MX-switch guard holds:
a batch whose users last synced before the recorded MX switch, or whose last sync left
mail behind, is skipped; that is recorded (``batch_cleanup_refused``) and notified once,
then checked again silently once a day (``REFUSAL_RECHECK``) until it can go or an
administrator acts on it.

Each pass costs a few index ranges on ``batches`` (by status and a clock, revision
0010) and the batches acted on; ``BatchCleanup`` runs it at most once a minute from the
scheduler's pass and tells the scheduler when a rule next falls due, so an idle service
runs it only when something is due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mailferry.errors import MailferryError, RemoveRefused
from mailferry.service.batches.manage import remove_batch, stop_batch
from mailferry.service.context import ServiceContext
from mailferry.service.reports.notifications import send_report
from mailferry.service.statuses import BatchStatus
from mailferry.state.cleanup_queries import CleanupRow, Clock

B = BatchStatus
MINUTE = dt.timedelta(minutes=1)
REFUSAL_RECHECK = dt.timedelta(days=1)
"""How often a batch the guard kept is tried again (silently: it was said once)."""

Action = Literal["stopped", "removed", "refused"]


@dataclass(frozen=True)
class Rule:
    name: str
    statuses: frozenset[BatchStatus]
    clock: Clock
    action: Literal["stop", "remove"]
    period: dt.timedelta | None


@dataclass(frozen=True)
class CleanupAction:
    """What the clean-up did to one batch (or refused to do, and why)."""

    batch_id: int
    batch_name: str
    action: Action
    rule: str
    status: BatchStatus  # the batch's status when the rule fired
    since: dt.datetime  # the clock the age counts from
    age: dt.timedelta
    notification_emails: tuple[str, ...] = ()
    reason: str | None = None  # why the removal was refused


@dataclass(frozen=True)
class CleanupPass:
    actions: list[CleanupAction]
    next_due: dt.datetime | None  # when a rule next falls due (None: nothing will)


def rules(ctx: ServiceContext) -> tuple[Rule, ...]:
    settings = ctx.settings
    return (
        Rule(
            "stop-synced", frozenset({B.SYNCED, B.SYNCED_WITH_ERRORS}),
            "last_admin_activity_at", "stop", settings.stop_synced_after,
        ),
        Rule(
            "remove-stopped", frozenset({B.STOPPED, B.FAILED}),
            "settled_at", "remove", settings.remove_stopped_after,
        ),
        Rule(
            "remove-completed", frozenset({B.COMPLETED, B.COMPLETED_WITH_ERRORS}),
            "settled_at", "remove", settings.remove_completed_after,
        ),
    )  # fmt: skip


def clean_up_batches(ctx: ServiceContext, now: dt.datetime | None = None) -> list[CleanupAction]:
    """One clean-up pass: what it stopped, removed or refused to remove."""
    return run_cleanup(ctx, ctx.now() if now is None else now).actions


def run_cleanup(ctx: ServiceContext, now: dt.datetime) -> CleanupPass:
    actions: list[CleanupAction] = []
    due_times: list[dt.datetime] = []
    for rule in rules(ctx):
        if rule.period is None or rule.period <= dt.timedelta(0):
            continue
        cutoff = now - rule.period
        for row in ctx.store.cleanup_candidates(rule.statuses, rule.clock, cutoff):
            since = _since(rule, row)
            if since is None:
                continue
            if since > cutoff:  # an administrator acted since it entered its status
                due_times.append(since + rule.period)
                continue
            if _refusal_stands(row, since, now):
                assert row.cleanup_refused_at is not None
                due_times.append(row.cleanup_refused_at + REFUSAL_RECHECK)
                continue
            action = _act(ctx, rule, row, since, now)
            if action is not None:
                actions.append(action)
                if action.action == "refused":
                    due_times.append(now + REFUSAL_RECHECK)
        earliest = ctx.store.earliest_clock_after(rule.statuses, rule.clock, cutoff)
        if earliest is not None:
            due_times.append(earliest + rule.period)
    return CleanupPass(actions, min(due_times, default=None))


def _since(rule: Rule, row: CleanupRow) -> dt.datetime | None:
    """When the rule's age counts from (None: the batch has no clock, never cleaned)."""
    if rule.clock == "last_admin_activity_at":
        return row.last_admin_activity_at
    if row.settled_at is None:
        return None
    return max(row.settled_at, row.last_admin_activity_at or row.settled_at)


def _refusal_stands(row: CleanupRow, since: dt.datetime, now: dt.datetime) -> bool:
    """Refused since the clock started and not yet due for its daily re-check."""
    refused = row.cleanup_refused_at
    return refused is not None and refused >= since and now < refused + REFUSAL_RECHECK


def _act(
    ctx: ServiceContext, rule: Rule, row: CleanupRow, since: dt.datetime, now: dt.datetime
) -> CleanupAction | None:
    batch = row.batch
    action = CleanupAction(
        batch.id, batch.name, "stopped" if rule.action == "stop" else "removed",
        rule.name, batch.status, since, now - since, batch.notification_emails,
    )  # fmt: skip
    detail: dict[str, Any] = {
        "rule": rule.name, "status": batch.status.value, "since": since.isoformat(),
        "age_days": round(action.age / dt.timedelta(days=1), 3),
    }  # fmt: skip
    try:
        if rule.action == "stop":
            stop_batch(ctx, batch.name)
            # The clean-up is no administrator: keep the clock as it was.
            ctx.store.update_batch(batch.id, {"last_admin_activity_at": row.last_admin_activity_at})
            ctx.store.add_event("batch_auto_stopped", now, batch_id=batch.id, **detail)
        else:
            remove_batch(ctx, batch.name)
            ctx.store.add_event("batch_auto_removed", now, batch_id=batch.id, **detail)
    except RemoveRefused as refusal:
        return _refused(ctx, row, action, refusal, since, now, detail)
    except MailferryError:
        return None  # changed meanwhile (another scheduler, an administrator): next pass
    return action


def _refused(
    ctx: ServiceContext,
    row: CleanupRow,
    action: CleanupAction,
    refusal: RemoveRefused,
    since: dt.datetime,
    now: dt.datetime,
    detail: dict[str, Any],
) -> CleanupAction | None:
    """Recorded and notified once per clock; a re-check that still refuses is silent."""
    first = row.cleanup_refused_at is None or row.cleanup_refused_at < since
    ctx.store.update_batch(row.batch.id, {"cleanup_refused_at": now})
    if not first:
        return None
    reason = str(refusal)
    ctx.store.add_event(
        "batch_cleanup_refused", now, batch_id=row.batch.id, reason=reason, **detail
    )
    return CleanupAction(
        action.batch_id, action.batch_name, "refused", action.rule, action.status,
        action.since, action.age, action.notification_emails, reason,
    )  # fmt: skip


# -- notifications -------------------------------------------------------------------


async def notify_cleanup(ctx: ServiceContext, actions: Sequence[CleanupAction]) -> None:
    """Mail each action to its batch's NotificationEmails (as the reports are sent);
    the outcome is recorded in the event log."""
    smtp = ctx.settings.smtp
    if smtp is None:
        return
    for action in actions:
        if not action.notification_emails:
            continue
        subject, text = notice(action)
        try:
            await send_report(smtp, action.notification_emails, subject, text, [])
        except MailferryError as error:
            ctx.store.add_event(
                "cleanup_notification_failed", ctx.now(), batch_id=action.batch_id,
                error=str(error),
            )  # fmt: skip
        else:
            ctx.store.add_event(
                "cleanup_notification_sent", ctx.now(), batch_id=action.batch_id,
                to=list(action.notification_emails), action=action.action,
            )  # fmt: skip


_WHAT = {
    "stop-synced": "has had no administrator activity for",
    "remove-stopped": "has been {status} for",
    "remove-completed": "has been {status} for",
}


def notice(action: CleanupAction) -> tuple[str, str]:
    """The subject and text of the mail about one action."""
    name = action.batch_name
    days = action.age / dt.timedelta(days=1)
    what = _WHAT[action.rule].format(status=action.status.value)
    since = f"{action.since:%Y-%m-%d %H:%M} UTC"
    base = f"Migration batch {name!r} {what} {days:.0f} days (since {since})."
    if action.action == "stopped":
        subject = f"mailferry: batch {name} was stopped automatically"
        text = f"{base}\nIt was stopped: no more incremental syncs. Start it to resume.\n"
    elif action.action == "removed":
        subject = f"mailferry: batch {name} was removed automatically"
        text = f"{base}\nIt was removed with its users, credentials and sync state.\n"
    else:
        subject = f"mailferry: batch {name} was not removed automatically"
        text = (
            f"{base}\nIt is due for removal, but removing it now could lose mail:\n"
            f"{action.reason}\nIt is checked again every day.\n"
        )
    return subject, text


# -- the scheduler's side ----------------------------------------------------------------


class BatchCleanup:
    """The clean-up as the scheduler runs it: at most once every ``interval``, in the
    pass (its database work), with the mails sent afterwards from the event loop."""

    def __init__(self, ctx: ServiceContext, interval: dt.timedelta = MINUTE) -> None:
        self.ctx = ctx
        self.interval = interval
        self.last_run: dt.datetime | None = None
        self.runs = 0
        """Clean-up passes run so far (tests count them)."""
        self._pending: list[CleanupAction] = []

    def run(self, now: dt.datetime) -> dt.datetime | None:
        """Clean up unless that was done less than ``interval`` ago; when the scheduler
        should next pass for the clean-up (None: nothing will fall due)."""
        last = self.last_run
        if last is not None and last <= now < last + self.interval:
            # A batch may have entered a cleaned-up status since: look once more then.
            return last + self.interval
        self.last_run = now
        self.runs += 1
        done = run_cleanup(self.ctx, now)
        self._pending.extend(done.actions)
        if done.next_due is None:
            return None
        return max(done.next_due, now + self.interval)

    async def notify(self) -> None:
        """Send the mails of the actions taken since the last call."""
        pending, self._pending = self._pending, []
        if pending:
            await notify_cleanup(self.ctx, pending)


__all__ = [
    "BatchCleanup",
    "CleanupAction",
    "CleanupPass",
    "clean_up_batches",
    "notify_cleanup",
    "run_cleanup",
]
