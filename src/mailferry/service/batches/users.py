"""Migration users: Get-MigrationUser, Get-MigrationUserStatistics, SyncNow for one user,
and the batches' user tallies (Get-MigrationBatch's counters).

Listings cost a fixed number of queries whatever the number of users
(``state/listing_queries.py``); a ``-Status`` filter selects by the status shown
(``properties.shown_status``), in SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from mailferry.errors import InvalidSetting, NotFound
from mailferry.service.batches.manage import get_batch
from mailferry.service.context import ServiceContext
from mailferry.service.properties import iso_utc, shown_status, status_filter
from mailferry.service.statuses import BatchAction, UserStatus, action_not_allowed
from mailferry.service.users_csv.values import address_key
from mailferry.state.listing_queries import ListedUser, UserTally
from mailferry.state.migration_records import Batch, MigrationUser
from mailferry.values.results import SkippedItem


def list_users(
    ctx: ServiceContext,
    email: str | None = None,
    *,
    batch: str | None = None,
    status: UserStatus | None = None,
) -> list[ListedUser]:
    """Get-MigrationUser [-Identity] [-BatchId] [-Status]: the users as shown."""
    if email is not None:
        found = listed_user(ctx, email)
        shown = shown_status(found.user.status, found.batch_started)
        return [found] if status is None or shown == status else []
    wanted = None if status is None else status_filter(status)
    batch_id = None if batch is None else get_batch(ctx, batch).id
    return ctx.store.listed_users(batch_id=batch_id, statuses=wanted)


@dataclass(frozen=True)
class UserPage:
    """A page of a user listing: ``next_after`` is the address to continue after
    (None: this is the last page), ``total`` how many users match in all."""

    users: list[ListedUser]
    next_after: str | None
    total: int


def list_users_page(
    ctx: ServiceContext,
    *,
    batch: str | None = None,
    status: UserStatus | Collection[UserStatus] | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> UserPage:
    """Get-MigrationUser in pages, in address order (keyset on the address: a page
    costs the same at the start and the end of a 50,000-user batch). ``status``: one
    shown status or any of several (none: nobody matches, e.g. Exchange's Provisioning)."""
    if limit is not None and limit < 1:
        raise InvalidSetting([f"limit {limit} must be at least 1"])
    batch_id = None if batch is None else get_batch(ctx, batch).id
    if status is None:
        wanted = None
    else:
        shown = (status,) if isinstance(status, UserStatus) else tuple(status)
        wanted = tuple(where for one in shown for where in status_filter(one))
        if not wanted:
            return UserPage([], None, 0)
    after_key = None if after is None else _key(after)
    users, total = ctx.store.listed_users_page(
        batch_id=batch_id,
        statuses=wanted,
        after_key=after_key,
        limit=None if limit is None else limit + 1,  # one more: is there a next page?
    )
    if limit is None or len(users) <= limit:
        return UserPage(users, None, total)
    return UserPage(users[:limit], users[limit - 1].user.email_address, total)


def get_users(
    ctx: ServiceContext,
    email: str | None = None,
    *,
    batch: str | None = None,
    status: UserStatus | None = None,
) -> list[MigrationUser]:
    """``list_users`` without the display details."""
    return [listed.user for listed in list_users(ctx, email, batch=batch, status=status)]


def listed_user(ctx: ServiceContext, email: str) -> ListedUser:
    found = ctx.store.listed_users(email_key=_key(email))
    if not found:
        raise NotFound("migration user", email)
    return found[0]


def get_user(ctx: ServiceContext, email: str) -> MigrationUser:
    return listed_user(ctx, email).user


def user_tallies(ctx: ServiceContext, batches: Sequence[Batch]) -> dict[int, UserTally]:
    """Each batch's user tally (one aggregate query); ``UserTally()`` for none."""
    found = ctx.store.user_tallies([b.id for b in batches])
    return {b.id: found.get(b.id, UserTally()) for b in batches}


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


def skipped_items(
    ctx: ServiceContext, user: MigrationUser, limit: int | None = None
) -> list[SkippedItem]:
    """The user's skipped items in the order recorded (at most ``limit``): one query."""
    return ctx.store.mailbox_skipped(user.mailbox_key, limit)


def user_sync_now(ctx: ServiceContext, email: str) -> MigrationUser:
    """Set-MigrationUser -SyncNow: an incremental sync for one synced user."""
    listed = listed_user(ctx, email)
    user = listed.user
    if user.status not in (UserStatus.SYNCED, UserStatus.INCREMENTAL_FAILED):
        batch = get_batch(ctx, user.batch)
        shown = shown_status(user.status, listed.batch_started)
        raise action_not_allowed(
            batch.name,
            BatchAction.SYNC_NOW,
            batch.status,
            f"user {user.email_address} is {shown.value}; SyncNow needs Synced",
        )
    ctx.store.update_user(user.id, {"sync_requested": True, "retry_at": None}, expect=[user.status])
    ctx.store.add_event("user_sync_now", ctx.now(), batch_id=user.batch_id, user_id=user.id)
    return get_user(ctx, email)


def _key(email: str) -> str:
    return address_key(email.strip())
