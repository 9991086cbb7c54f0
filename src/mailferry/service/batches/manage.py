"""Migration batches: New / Get / Set / Start / Stop / Complete / Remove / SyncNow /
AddUsers (Exchange's *-MigrationBatch), as plain functions over a ServiceContext.

These functions only record intent in the database (statuses, flags); the scheduler
(``scheduler.py``), in ``mailferry serve`` or in-process, does the copying and moves
statuses on. Every action is checked against ``statuses.BATCH_ACTIONS`` first.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mailferry.errors import (
    AlreadyExists,
    ContentFilterError,
    InvalidSetting,
    LimitReached,
    NotFound,
    RemoveRefused,
    StateConflict,
)
from mailferry.service.batches.members import user_rows
from mailferry.service.context import ServiceContext
from mailferry.service.endpoints.manage import get_endpoint
from mailferry.service.statuses import (
    INCOMPLETE_SYNC,
    BatchAction,
    BatchStatus,
    UserStatus,
    check_action,
)
from mailferry.service.users_csv.parse import MigrationUserRow, read_users_csv
from mailferry.state.migration_records import Batch, BatchOptions, MigrationUser, TargetSettings
from mailferry.values.content_filter import parse_content_filter

B = BatchStatus
U = UserStatus
MAX_NAME = 64
TARGET_KINDS = ("maildir", "imap")
TARGET_LOGINS = ("master-user", "admin-authzid", "per-user", "xoauth2")


@dataclass(frozen=True)
class BatchRequest:
    """New-MigrationBatch's parameters. ``target_secret`` is the target admin password,
    the XOAUTH2 token, or (per-user) a JSON object of address -> [user, password]."""

    name: str
    source_endpoint: str
    csv_data: bytes = field(repr=False)
    csv_name: str = "CSV"
    target: TargetSettings | None = None
    target_secret: str | None = field(default=None, repr=False)
    exclude_folders: tuple[str, ...] = ()
    include_folders: tuple[str, ...] = ()
    auto_start: bool = False
    start_after: dt.datetime | None = None
    complete_after: dt.datetime | None = None
    notification_emails: tuple[str, ...] = ()
    allow_unknown_columns: bool = False
    content_filter: str | None = None
    options: BatchOptions = field(default_factory=BatchOptions)


@dataclass(frozen=True)
class BatchChanges:
    """Set-MigrationBatch's parameters (None = unchanged)."""

    start_after: dt.datetime | None = None
    complete_after: dt.datetime | None = None
    notification_emails: tuple[str, ...] | None = None
    exclude_folders: tuple[str, ...] | None = None
    include_folders: tuple[str, ...] | None = None
    content_filter: str | None = None  # "" removes the filter
    target: TargetSettings | None = None  # its preset and caps (app.target_changes)
    options: BatchOptions | None = None  # all of them, as they are to be
    target_secret: str | None = field(default=None, repr=False)  # new OAuth2 settings


def new_batch(ctx: ServiceContext, request: BatchRequest) -> Batch:
    name = request.name.strip()
    _check_name(name)
    _check_batch_cap(ctx)
    content_filter = checked_content_filter(request.content_filter)
    if ctx.store.batch(name) is not None:
        raise AlreadyExists("migration batch", name)
    endpoint = get_endpoint(ctx, request.source_endpoint)
    target = _target(ctx, request)
    users = _parse_csv(ctx, request.csv_data, request.csv_name, request.allow_unknown_columns)
    secret = None if request.target_secret is None else ctx.vault.encrypt(request.target_secret)
    values = {
        "name": name,
        "status": B.CREATED,
        "source_endpoint_id": endpoint.id,
        "target": target,
        "target_secret": secret,
        "exclude_folders": request.exclude_folders,
        "include_folders": request.include_folders,
        "auto_start": request.auto_start,
        "start_after": request.start_after,
        "complete_after": request.complete_after,
        "notification_emails": request.notification_emails,
        "content_filter": content_filter,
        "options": request.options,
        "created_at": ctx.now(),
        "last_admin_activity_at": ctx.now(),
    }
    rows = user_rows(ctx, endpoint, target, users)
    try:
        batch = ctx.store.add_batch(values, rows)
    except StateConflict:
        raise AlreadyExists("migration batch", name) from None
    ctx.store.add_event("batch_created", ctx.now(), batch_id=batch.id, users=len(rows))
    if request.auto_start:
        return start_batch(ctx, name)
    return batch


def get_batch(ctx: ServiceContext, name: str) -> Batch:
    found = ctx.store.batch(name)
    if found is None:
        raise NotFound("migration batch", name)
    return found


def get_batches(
    ctx: ServiceContext,
    name: str | None = None,
    *,
    status: BatchStatus | None = None,
    endpoint: str | None = None,
) -> list[Batch]:
    if name is not None:
        found = [get_batch(ctx, name)]
    else:
        endpoint_id = None if endpoint is None else get_endpoint(ctx, endpoint).id
        found = ctx.store.batches(endpoint_id=endpoint_id)
    return [b for b in found if status is None or b.status == status]


def start_batch(ctx: ServiceContext, name: str) -> Batch:
    """Run a Created batch, resume a Stopped one, retry its failed users."""
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.START, batch.status)
    admin_acted(ctx, batch.id)
    now = ctx.now()
    store = ctx.store
    store.update_batch_users(batch.id, {"queued_since": now}, [U.QUEUED])
    store.update_batch_users(batch.id, retry_changes(now), [U.FAILED])
    for user in store.users(batch_id=batch.id, statuses=[U.STOPPED]):
        store.update_user(user.id, resume_changes(user, now), expect=[U.STOPPED])
    store.update_batch_users(batch.id, incremental_retry_changes(now), [U.INCREMENTAL_FAILED])
    changes: dict[str, object] = {"status": B.STARTING, "error": None, "completed_at": None}
    if batch.started_at is None:
        changes["started_at"] = now
    store.update_batch(batch.id, changes, expect=[batch.status])
    store.add_event("batch_started", now, batch_id=batch.id, previous=batch.status.value)
    return get_batch(ctx, name)


def _requeue_changes(now: dt.datetime) -> dict[str, Any]:
    return {
        "status": U.QUEUED, "queued_since": now, "stalled_since": None,
        "error": None, "error_kind": None,
    }  # fmt: skip


def resume_changes(user: MigrationUser, now: dt.datetime) -> dict[str, Any]:
    """A Stopped user resumes: queued again before its initial sync is done, else
    Synced with an incremental sync at once."""
    if user.initial_sync_done:
        return {"status": U.SYNCED, "next_sync_at": now, "synced_since": now}
    return _requeue_changes(now)


def retry_changes(now: dt.datetime) -> dict[str, Any]:
    """A Failed user is queued again with its attempts reset."""
    return {**_requeue_changes(now), "attempts": 0, "retry_at": None}


def incremental_retry_changes(now: dt.datetime) -> dict[str, Any]:
    """An IncrementalFailed user is Synced again with an incremental sync at once."""
    return {
        "status": U.SYNCED,
        "sync_requested": True,
        "attempts": 0,
        "retry_at": None,
        "synced_since": now,
        "stalled_since": None,
    }


def stop_batch(ctx: ServiceContext, name: str) -> Batch:
    """Stopping: queued users stop at once, running copies are cancelled by the scheduler."""
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.STOP, batch.status)
    admin_acted(ctx, batch.id)
    store = ctx.store
    store.update_batch_users(batch.id, {"status": U.STOPPED}, [U.QUEUED, U.SYNCED])
    store.update_batch_users(
        batch.id, {"status": U.STOPPING}, [U.VALIDATING, U.SYNCING, U.INCREMENTAL_SYNCING]
    )
    store.update_batch(batch.id, {"status": B.STOPPING}, expect=[batch.status])
    store.add_event("batch_stopping", ctx.now(), batch_id=batch.id)
    return get_batch(ctx, name)


def complete_batch(ctx: ServiceContext, name: str) -> Batch:
    """A final incremental sync of every synced user, then no more syncing. Users whose
    last sync was incomplete get their final sync too; the interfaces warn of them
    (``incomplete_users``), and they end Failed unless that sync leaves nothing behind."""
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.COMPLETE, batch.status)
    admin_acted(ctx, batch.id)
    store = ctx.store
    store.update_batch_users(
        batch.id, {"status": U.COMPLETING, "retry_at": None}, [U.SYNCED, U.INCREMENTAL_FAILED]
    )
    store.update_batch(batch.id, {"status": B.COMPLETING}, expect=[batch.status])
    store.add_event("batch_completing", ctx.now(), batch_id=batch.id)
    return get_batch(ctx, name)


def remove_batch(ctx: ServiceContext, name: str, *, force: bool = False) -> Batch:
    """Removing: the scheduler cancels running copies, then purges the batch, its
    credentials and its state. Refused without ``force`` when mail may still be
    arriving at the old server unsynced (last sync older than the MX switch)."""
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.REMOVE, batch.status)
    if not force:
        _refuse_unsynced_removal(ctx, batch)
    store = ctx.store
    store.update_batch_users(batch.id, {"status": U.REMOVING}, set(U) - {U.REMOVING})
    store.update_batch(batch.id, {"status": B.REMOVING, "target_secret": None})
    store.add_event("batch_removing", ctx.now(), batch_id=batch.id, forced=force)
    return get_batch(ctx, name)


def sync_now(ctx: ServiceContext, name: str) -> int:
    """An immediate incremental sync of the batch's synced users; how many were asked."""
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.SYNC_NOW, batch.status)
    admin_acted(ctx, batch.id)
    asked = ctx.store.update_batch_users(
        batch.id, {"sync_requested": True, "retry_at": None}, [U.SYNCED, U.INCREMENTAL_FAILED]
    )
    ctx.store.add_event("batch_sync_now", ctx.now(), batch_id=batch.id, users=asked)
    return asked


def add_users(
    ctx: ServiceContext,
    name: str,
    csv_data: bytes,
    csv_name: str = "CSV",
    *,
    allow_unknown_columns: bool = False,
) -> int:
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.ADD_USERS, batch.status)
    users = _parse_csv(ctx, csv_data, csv_name, allow_unknown_columns)
    endpoint = get_endpoint(ctx, batch.source_endpoint)
    rows = user_rows(ctx, endpoint, batch.target, users)
    admin_acted(ctx, batch.id)
    for row in rows:
        row["queued_since"] = ctx.now()
    ctx.store.add_users(batch.id, rows)
    if batch.status in (B.SYNCED, B.SYNCED_WITH_ERRORS):
        ctx.store.update_batch(batch.id, {"status": B.SYNCING}, expect=[batch.status])
    ctx.store.add_event("batch_users_added", ctx.now(), batch_id=batch.id, users=len(rows))
    return len(rows)


def set_batch(ctx: ServiceContext, name: str, changes: BatchChanges) -> Batch:
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.SET, batch.status)
    admin_acted(ctx, batch.id)
    values = {k: v for k, v in changes.__dict__.items() if v is not None}
    if "content_filter" in values:
        values["content_filter"] = checked_content_filter(values["content_filter"])
    if "target_secret" in values:
        values["target_secret"] = ctx.vault.encrypt(values["target_secret"])
    if values:
        ctx.store.update_batch(batch.id, values)
        ctx.store.add_event("batch_changed", ctx.now(), batch_id=batch.id, changes=sorted(values))
    return get_batch(ctx, name)


def admin_acted(ctx: ServiceContext, batch_id: int) -> None:
    """An administrator acted on the batch: the clean-up's idle clock starts again."""
    ctx.store.update_batch(batch_id, {"last_admin_activity_at": ctx.now()})


def _check_batch_cap(ctx: ServiceContext) -> None:
    cap = ctx.settings.max_number_of_batches
    if cap is not None and len(ctx.store.batches()) >= cap:
        raise LimitReached(
            f"MaxNumberOfBatches is {cap} and {cap} batches exist: remove one, or raise the "
            "cap with Set-MigrationConfig -MaxNumberOfBatches"
        )


def record_update(ctx: ServiceContext, name: str) -> None:
    """Set-MigrationBatch -Update: Exchange re-reads the endpoint's settings into the
    batch; every job here reads them when it starts, so it is only recorded."""
    batch = get_batch(ctx, name)
    check_action(batch.name, BatchAction.SET, batch.status)
    ctx.store.add_event("batch_update_requested", ctx.now(), batch_id=batch.id)


def record_mx_switch(ctx: ServiceContext, name: str, seen_at: dt.datetime) -> bool:
    """Record the first time the batch's domain was seen pointing at the target."""
    batch = get_batch(ctx, name)
    if batch.mx_switched_at is not None:
        return False
    ctx.store.update_batch(batch.id, {"mx_switched_at": seen_at})
    ctx.store.add_event("mx_switched", seen_at, batch_id=batch.id)
    return True


def _refuse_unsynced_removal(ctx: ServiceContext, batch: Batch) -> None:
    users = ctx.store.users(batch_id=batch.id)
    incomplete = incomplete_users(users)
    if incomplete:
        raise RemoveRefused(
            f"batch {batch.name!r}: {len(incomplete)} user(s) whose last sync left mail "
            f"behind, e.g. {incomplete[0].email_address}: {incomplete[0].error}; "
            + INCOMPLETE_WARNING
        )
    stale = synced_before_mx_switch(batch, users)
    if stale and batch.mx_switched_at is not None:
        raise RemoveRefused(
            f"batch {batch.name!r}: {len(stale)} user(s) last synced before the MX switch "
            f"({batch.mx_switched_at.isoformat()}), e.g. {stale[0].email_address}; " + LOSS_WARNING
        )


LOSS_WARNING = (
    "mail delivered to the old server since then would be lost. "
    "Run SyncNow first, or remove with --force"
)
"""The end of every RemoveRefused message (batch or user)."""


INCOMPLETE_WARNING = (
    "removing the batch forgets which messages were copied, and that mail is still only "
    "on the old server. Fix the cause and Start the batch, or remove with --force"
)
"""The end of every RemoveRefused message for an incomplete sync (batch or user)."""


def incomplete_users(users: Sequence[MigrationUser]) -> list[MigrationUser]:
    """Users whose last finished sync ran to its end but left folders or messages behind
    (ErrorKind IncompleteSync): Complete warns of them, Remove refuses them."""
    return [u for u in users if u.error_kind == INCOMPLETE_SYNC]


def synced_before_mx_switch(batch: Batch, users: Sequence[MigrationUser]) -> list[MigrationUser]:
    """The users whose last successful sync is older than the batch's recorded MX
    switch (or who never synced): removing them loses the mail delivered since."""
    switched = batch.mx_switched_at
    if switched is None:
        return []
    return [u for u in users if (u.last_successful_sync_at or _EPOCH) < switched]


def checked_content_filter(text: str | None) -> str | None:
    """The filter as given, once it parses (None or blank: no filter)."""
    if text is None or not text.strip():
        return None
    try:
        parse_content_filter(text)
    except ContentFilterError as error:
        raise InvalidSetting([f"ContentFilter: {error.reason}"]) from None
    return text.strip()


def _check_name(name: str) -> None:
    problems = []
    if not name:
        problems.append("Name must not be empty")
    elif len(name) > MAX_NAME:
        problems.append(f"Name is {len(name)} characters long; the limit is {MAX_NAME}")
    if problems:
        raise InvalidSetting(problems)


def _target(ctx: ServiceContext, request: BatchRequest) -> TargetSettings:
    target = request.target or ctx.settings.default_target
    if target is None:
        raise InvalidSetting(["no target given and no default target is configured"])
    problems = []
    if target.kind not in TARGET_KINDS:
        problems.append(f"target kind {target.kind!r} is not one of {', '.join(TARGET_KINDS)}")
    if target.kind == "imap" and target.login not in TARGET_LOGINS:
        problems.append(f"target login {target.login!r} is not one of {', '.join(TARGET_LOGINS)}")
    if target.kind == "imap" and request.target_secret is None:
        problems.append("an IMAP target needs its admin password, token or logins")
    if target.kind == "imap" and target.login == "per-user" and request.target_secret:
        try:
            json.loads(request.target_secret)
        except ValueError:
            problems.append("per-user target logins must be a JSON object")
    if problems:
        raise InvalidSetting(problems)
    return target


def _parse_csv(
    ctx: ServiceContext, data: bytes, csv_name: str, allow_unknown_columns: bool
) -> tuple[MigrationUserRow, ...]:
    return read_users_csv(
        data,
        source_name=csv_name,
        existing_addresses=ctx.store.active_addresses(),
        allow_unknown_columns=allow_unknown_columns,
    ).rows


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
