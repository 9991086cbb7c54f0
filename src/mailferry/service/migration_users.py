"""Migration users: Get-MigrationUser, Get-MigrationUserStatistics, SyncNow for one user."""

from __future__ import annotations

from mailferry.service.batches import get_batch
from mailferry.service.context import ServiceContext
from mailferry.service.csv_values import address_key
from mailferry.service.properties import iso_utc
from mailferry.service.service_errors import NotFound
from mailferry.service.statuses import ActionNotAllowed, BatchAction, UserStatus
from mailferry.state.migration_records import MigrationUser
from mailferry.state.records import SkippedItem


def get_users(
    ctx: ServiceContext,
    email: str | None = None,
    *,
    batch: str | None = None,
    status: UserStatus | None = None,
) -> list[MigrationUser]:
    if email is not None:
        found = [get_user(ctx, email)]
    else:
        batch_id = None if batch is None else get_batch(ctx, batch).id
        found = ctx.store.users(batch_id=batch_id)
    return [u for u in found if status is None or u.status == status]


def get_user(ctx: ServiceContext, email: str) -> MigrationUser:
    found = ctx.store.users(email_key=address_key(email.strip()))
    if not found:
        raise NotFound("migration user", email)
    return found[0]


def user_statistics(ctx: ServiceContext, email: str) -> tuple[MigrationUser, list[SkippedItem]]:
    """The user and the items it skipped (LargeItem, CorruptItem, ItemLimit, FolderSkipped)."""
    user = get_user(ctx, email)
    return user, skipped_items(ctx, user)


def user_report(ctx: ServiceContext, user: MigrationUser) -> list[str]:
    """-IncludeReport: the user's timeline from the event log, a line per event
    (jobs started, finished, cancelled, recovered; SyncNow), oldest first."""
    lines = []
    for event in ctx.store.events(user_id=user.id):
        detail = {k: v for k, v in event.detail.items() if k != "email"}
        said = ", ".join(f"{key}={value}" for key, value in detail.items())
        lines.append(f"{iso_utc(event.at)} {event.kind}" + (f": {said}" if said else ""))
    return lines


def skipped_items(ctx: ServiceContext, user: MigrationUser) -> list[SkippedItem]:
    return ctx.store.skipped(ctx.store.mailbox_id(user.mailbox_key))


def user_sync_now(ctx: ServiceContext, email: str) -> MigrationUser:
    """Set-MigrationUser -SyncNow: an incremental sync for one synced user."""
    user = get_user(ctx, email)
    if user.status not in (UserStatus.SYNCED, UserStatus.INCREMENTAL_FAILED):
        batch = get_batch(ctx, user.batch)
        raise ActionNotAllowed(
            batch.name,
            BatchAction.SYNC_NOW,
            batch.status,
            f"user {user.email_address} is {user.status.value}; SyncNow needs Synced",
        )
    ctx.store.update_user(user.id, {"sync_requested": True, "retry_at": None}, expect=[user.status])
    ctx.store.add_event("user_sync_now", ctx.now(), batch_id=user.batch_id, user_id=user.id)
    return get_user(ctx, email)
