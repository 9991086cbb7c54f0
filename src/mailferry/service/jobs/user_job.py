"""One migration user's job: validate the logins, sync the mailbox, record the outcome.

A job runs only while its user row is claimed by this worker (``owner``); every
status write checks that claim, so a job whose claim was taken over (after its
worker was presumed dead) can't overwrite the new owner's work. The engine's own
intent/outcome records make a cancelled or killed job safe to run again.

Outcomes: success → Synced (or Completed for the final sync); a permanent error
(wrong password, no target mailbox, quota…) → Failed / IncrementalFailed with the
reason; a transient one (connection lost, throttled, server busy) → back in the
queue with a backoff (the server's suggested time when it gave one), and Failed
after ``max_attempts`` in a row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, replace
from typing import Any

from mailferry.engine.folder_types import FolderOptions
from mailferry.errors import MailferryError
from mailferry.service.context import ServiceContext
from mailferry.service.jobs.mailbox_sync import (
    MailboxSync,
    RetrySettings,
    SyncOutcome,
    Verdict,
    judge,
    sync_user_mailbox,
)
from mailferry.service.jobs.sessions import JobSessions
from mailferry.service.statuses import UserStatus
from mailferry.state.migration_records import Batch, MigrationUser
from mailferry.values.content_filter import ReceivedWindow, parse_content_filter
from mailferry.values.progress import MailboxStarted, MessagesCopied, ProgressEvent
from mailferry.values.results import MailboxResult, SkippedItem, SkipReason
from mailferry.values.sync_options import SyncOptions

U = UserStatus
JOB_STATUSES = frozenset({U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING, U.COMPLETING})


@dataclass(frozen=True)
class JobOutcome:
    user_id: int
    status: UserStatus
    error: str | None = None


async def run_user_job(
    ctx: ServiceContext, user_id: int, owner: str, describe: Any = str
) -> JobOutcome:
    """Run the job of a user this worker has claimed; never raises MailferryError."""
    user = ctx.store.user_by_id(user_id)
    assert user is not None and user.claimed_by == owner
    batch = ctx.store.batch_by_id(user.batch_id)
    assert batch is not None
    job = _Job(ctx, user, batch, owner, describe)
    return await job.run()


_REPORTED_FOLDER_SKIPS = frozenset(
    {SkipReason.NON_MAIL, SkipReason.ALL_MAIL, SkipReason.DUPLICATE, SkipReason.GMAIL_VIRTUAL}
)
"""Folders skipped for what they are (not by the administrator's Include/Exclude)."""


def folders_skipped(result: MailboxResult) -> list[SkippedItem]:
    """Skipped items of kind FolderSkipped: an Exchange source's Calendar, Contacts…"""
    return [
        _folder_item(folder.source_name, folder.reason, folder.detail)
        for folder in result.skipped_folders
        if folder.reason in _REPORTED_FOLDER_SKIPS
    ]


def _folder_item(name: str, reason: SkipReason, detail: str) -> SkippedItem:
    why = f"{reason.value}: {detail}" if detail else reason.value
    return SkippedItem(name, None, "FolderSkipped", "", "", None, None, why)


class _Job:
    def __init__(
        self, ctx: ServiceContext, user: MigrationUser, batch: Batch, owner: str, describe: Any
    ) -> None:
        self.ctx = ctx
        self.user = user
        self.batch = batch
        self.owner = owner
        self.describe = describe
        self.kind = user.status  # Validating (initial), IncrementalSyncing or Completing
        self.started = time.monotonic()
        self.synced = user.synced_item_count
        self.total = user.total_items_in_source
        self.bytes = user.bytes_transferred
        self.estimated_bytes = user.estimated_total_bytes
        self.last_write = 0.0

    async def run(self) -> JobOutcome:
        self._write(self._start_changes())
        self._event("job_started")
        try:
            outcome = await sync_user_mailbox(
                lambda: JobSessions(self.ctx, self.user, self.batch),
                self.ctx.store,
                self._mailbox_sync(),
                progress=self._progress,
                on_open=self._validated,
            )
        except asyncio.CancelledError:
            self._cancelled()
            raise
        except MailferryError as error:  # the batch's content filter, checked when set
            outcome = SyncOutcome(error=error)
        if outcome.result is None:
            return self._failed(outcome)
        return self._succeeded(outcome.result)

    def _mailbox_sync(self) -> MailboxSync:
        folders = FolderOptions(
            user_root=self.user.user_root,
            include=self.batch.include_folders,
            exclude=self.batch.exclude_folders,
        )
        target, chosen = self.batch.target, self.batch.options
        options = SyncOptions(
            received=received_window(self.batch),
            source_kind=target.source_kind,
            gmail_labels=target.gmail_labels,
            include_deleted=chosen.include_deleted,
            propagate_deletions=chosen.propagate_deletions,
        )
        if chosen.max_message_size is not None:
            options = replace(options, max_message_size=chosen.max_message_size)
        if chosen.max_items is not None:
            options = replace(options, max_items=chosen.max_items)
        return MailboxSync(self.user.mailbox_key, folders, options)

    def _validated(self) -> None:
        """Both sides accepted the logins: an initial sync's Validating ends."""
        if self.kind == U.VALIDATING:
            self._write({"status": U.SYNCING})

    # -- outcomes -------------------------------------------------------------------

    def _succeeded(self, result: MailboxResult) -> JobOutcome:
        """The sync ran to its end. It counts as Synced (or Completed) only when every
        source message in scope is copied or skipped with a reason: a folder error or a
        message unaccounted for makes it Failed / IncrementalFailed, with the folders and
        their reasons in Error (see docs/design/completeness.md)."""
        now = self.ctx.now()
        mailbox_id = self.ctx.store.mailbox_id(self.user.mailbox_key)
        self.ctx.store.record_skipped(mailbox_id, folders_skipped(result))
        judged = judge(result)
        complete = judged.verdict == Verdict.SYNCED
        if complete:
            status = U.COMPLETED if self.kind == U.COMPLETING else U.SYNCED
        else:
            status = self._failed_status()
        changes = {
            **self._finish_changes(),
            "status": status,
            "error": judged.reason,
            "error_kind": judged.error_kind,
            "total_items_in_source": result.in_scope,
            "synced_item_count": result.synced,
            "synced_since": now if status == U.SYNCED else None,
            "skipped_item_count": result.skipped_total,
            "bytes_transferred": self.user.bytes_transferred + result.bytes_copied,
            "estimated_total_bytes": max(
                self.estimated_bytes or 0, self.user.bytes_transferred + result.bytes_copied
            ),
            "next_sync_at": now + self.ctx.settings.incremental_interval,
            "attempts": 0,
            "retry_at": None,
        }
        if complete:
            changes.update(last_successful_sync_at=now, initial_sync_done=True)
        detail: dict[str, Any] = {"copied": result.copied, "missing": result.missing}
        if result.errors:  # every folder and why (Error shows the first three)
            detail["folder_errors"] = result.errors
        self._event("job_finished", status=status.value, **detail)
        self._write(changes, release=True)
        return JobOutcome(self.user.id, status, judged.reason)

    def _failed(self, outcome: SyncOutcome) -> JobOutcome:
        """An error stopped the sync: back in the queue after the retry policy's wait
        when it is worth another attempt, else Failed / IncrementalFailed."""
        judged = outcome.judge(self.describe)
        attempts = self.user.attempts + 1
        changes: dict[str, Any] = {
            **self._finish_changes(),
            "error": judged.reason,
            "error_kind": judged.error_kind,
            "attempts": attempts,
        }
        delay = outcome.retry_after(attempts, self._retry_settings())
        if delay is not None:
            changes.update(self._retry_changes(delay))
        else:
            changes["status"] = self._failed_status()
            changes["retry_at"] = None
        status = changes["status"]
        self._event("job_finished", status=UserStatus(status).value, error=judged.reason)
        self._write(changes, release=True)
        return JobOutcome(self.user.id, UserStatus(status), judged.reason)

    def _retry_settings(self) -> RetrySettings:
        settings = self.ctx.settings
        return RetrySettings(
            max_attempts=settings.max_attempts,
            base_seconds=settings.retry_base_seconds,
            max_seconds=settings.retry_max_seconds,
        )

    def _cancelled(self) -> None:
        """Stop or Remove cancelled the job: keep everything, record where it stands."""
        self._event("job_cancelled")
        changes = {**self._finish_changes(), **self._counters(), **self._requeue_changes()}
        self._write(changes, release=True)

    def _requeue_changes(self) -> dict[str, Any]:
        """Where a job interrupted by a shutdown resumes (Stop and Remove win over it)."""
        if self.kind == U.VALIDATING:
            return {"status": U.QUEUED, "queued_since": self.ctx.now()}
        if self.kind == U.COMPLETING:
            return {"status": U.COMPLETING}
        return {"status": U.SYNCED, "sync_requested": True, "synced_since": self.ctx.now()}

    def _retry_changes(self, delay: float) -> dict[str, Any]:
        """The wait for a retry is stalled time (not queued, not synced)."""
        now = self.ctx.now()
        waiting = {"retry_at": now + dt.timedelta(seconds=delay), "stalled_since": now}
        if self.kind == U.VALIDATING:
            return {"status": U.QUEUED, **waiting}
        if self.kind == U.COMPLETING:
            return {"status": U.COMPLETING, **waiting}
        return {"status": U.SYNCED, "sync_requested": True, **waiting}

    def _failed_status(self) -> UserStatus:
        if self.kind == U.INCREMENTAL_SYNCING:
            return U.INCREMENTAL_FAILED
        return U.FAILED

    # -- bookkeeping ----------------------------------------------------------------

    def _start_changes(self) -> dict[str, Any]:
        """A job starts: the stretch the user waited (queued, synced or stalled) ends."""
        now, user = self.ctx.now(), self.user
        return {
            "started_at": now,
            "queued_since": None,
            "queued_seconds": user.queued_seconds + _since(user.queued_since, now),
            "synced_since": None,
            "synced_seconds": user.synced_seconds + _since(user.synced_since, now),
            "stalled_since": None,
            "stalled_seconds": user.stalled_seconds + _since(user.stalled_since, now),
        }

    def _finish_changes(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        return {
            "started_at": None,
            "in_progress_seconds": self.user.in_progress_seconds + elapsed,
            "sync_requested": False,
        }

    def _counters(self) -> dict[str, Any]:
        return {
            "synced_item_count": self.synced,
            "total_items_in_source": self.total,
            "bytes_transferred": self.bytes,
            "estimated_total_bytes": self.estimated_bytes,
        }

    def _progress(self, event: ProgressEvent) -> None:
        if isinstance(event, MailboxStarted):
            self.total = max(self.total, self.synced + event.total_items)
            # EstimatedTotalTransferSize: what earlier runs copied and what this one will
            self.estimated_bytes = self.bytes + event.total_bytes
            self._write({"estimated_total_bytes": self.estimated_bytes})
        elif isinstance(event, MessagesCopied):
            self.synced += event.count
            self.bytes += event.bytes
        else:
            return
        if time.monotonic() - self.last_write >= self.ctx.settings.stats_interval_seconds:
            self.last_write = time.monotonic()
            self._write(self._counters())

    def _write(self, changes: dict[str, Any], *, release: bool = False) -> None:
        """Write under our claim. A status set meanwhile by Stop or Remove wins over
        ours; a stopped user whose job ends becomes Stopped."""
        store = self.ctx.store
        if release:
            changes = {**changes, "claimed_by": None, "claimed_until": None}
        if "status" in changes or release:
            if "status" in changes and store.update_user(
                self.user.id, changes, owner=self.owner, expect=JOB_STATUSES
            ):
                return
            changes = {k: v for k, v in changes.items() if k != "status"}
            current = store.user_by_id(self.user.id)
            if release and current is not None and current.status == U.STOPPING:
                changes["status"] = U.STOPPED
        if store.update_user(self.user.id, changes, owner=self.owner) and "status" in changes:
            self._event("user_stopped")

    def _event(self, kind: str, **detail: Any) -> None:
        self.ctx.store.add_event(
            kind,
            self.ctx.now(),
            batch_id=self.batch.id,
            user_id=self.user.id,
            endpoint_id=self.batch.source_endpoint_id,
            job=self.kind.value,
            email=self.user.email_address,
            **detail,
        )


def _since(start: dt.datetime | None, now: dt.datetime) -> float:
    return 0.0 if start is None else max(0.0, (now - start).total_seconds())


def received_window(batch: Batch) -> ReceivedWindow | None:
    """The batch's -ContentFilter (checked when it was set)."""
    text = batch.content_filter
    return parse_content_filter(text) if text else None
