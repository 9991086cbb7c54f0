"""Which due users a scheduler pass claims, within each endpoint's caps.

Per endpoint with a batch that runs users: its live claims are counted (the claims in
the database, whoever holds them), and only as many due users are read as it has free
slots: initial syncs (Queued, CSV order, batch by batch), final syncs (Completing) and
incremental syncs (asked for, then due by time). So a pass reads what it can start,
whatever the number of users waiting behind. ``ServiceStore.claim`` recounts in its
write transaction: several schedulers can share the endpoint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from mailferry.service.context import ServiceContext
from mailferry.service.jobs.connection_budget import claim_budget
from mailferry.service.statuses import BatchStatus, UserStatus
from mailferry.state.migration_records import Batch, Endpoint
from mailferry.state.scheduler_queries import ClaimRow, UserRef
from mailferry.state.user_rows import INCREMENTAL_JOBS, Caps, ClaimRequest

B = BatchStatus
U = UserStatus
RUNS_USERS = frozenset({B.SYNCING, B.INCREMENTAL_SYNCING, B.SYNCED, B.SYNCED_WITH_ERRORS})
"""Batches whose Queued users start and whose Synced users get incremental syncs."""
STARTS_JOBS = RUNS_USERS | {B.COMPLETING}


@dataclass(frozen=True)
class Claimed:
    """A user this pass claimed: its job is to be started."""

    user_id: int
    batch_id: int


@dataclass(frozen=True)
class _Free:
    initial: int
    incremental: int


def claim_due(
    ctx: ServiceContext,
    owner: str,
    batches: Sequence[Batch],
    claims: Sequence[ClaimRow],
    winding_down: Collection[int],
    now: dt.datetime,
) -> list[Claimed]:
    """Claim the due users of every endpoint that runs users, up to its caps.

    ``batches``: the pass's batches as settled (the working ones: Queued and Completing
    users are due only there); ``claims``: every claim row; ``winding_down``: users whose
    old job of ours still closes its connections (they wait for the next pass)."""
    endpoints = ctx.store.endpoints_running(STARTS_JOBS)
    if not endpoints:
        return []
    endpoint_of = {b.id: b.source_endpoint_id for b in batches}
    missing = {c.batch_id for c in claims} - set(endpoint_of)
    endpoint_of.update(ctx.store.batch_endpoints(missing))
    claimed: list[Claimed] = []
    for endpoint in endpoints:
        free = _free(endpoint, claims, endpoint_of, now)
        if free.initial <= 0 and free.incremental <= 0:
            continue
        mine = [b for b in batches if b.source_endpoint_id == endpoint.id]
        due = _due(ctx, endpoint.id, mine, free, winding_down, now)
        claimed += _claim(ctx, endpoint, due, owner, now)
    return claimed


def _free(
    endpoint: Endpoint, claims: Iterable[ClaimRow], endpoint_of: dict[int, int], now: dt.datetime
) -> _Free:
    live = [c for c in claims if c.until >= now and endpoint_of.get(c.batch_id) == endpoint.id]
    incremental = sum(1 for c in live if c.status in INCREMENTAL_JOBS)
    initial = len(live) - incremental
    total = endpoint.max_concurrent_migrations - initial - incremental
    return _Free(
        initial=min(endpoint.max_concurrent_migrations - initial, total),
        incremental=min(endpoint.max_concurrent_incremental_syncs - incremental, total),
    )


def _due(
    ctx: ServiceContext,
    endpoint_id: int,
    batches: Sequence[Batch],
    free: _Free,
    winding_down: Collection[int],
    now: dt.datetime,
) -> list[UserRef]:
    """The due users of the endpoint, ``free`` of each kind at most, in batch order."""
    store = ctx.store
    found: list[UserRef] = []
    if free.initial > 0:
        running = [b for b in batches if b.status in RUNS_USERS]
        found += _first(running, U.QUEUED, free.initial, winding_down, ctx, now)
    if free.incremental > 0:
        completing = [b for b in batches if b.status == B.COMPLETING]
        final = _first(completing, U.COMPLETING, free.incremental, winding_down, ctx, now)
        found += final
        wanted = free.incremental - len(final)
        if wanted > 0:
            limit = wanted + len(winding_down)
            asked = store.requested_syncs(endpoint_id, RUNS_USERS, now, limit)
            timed = []
            if len(asked) < limit:
                timed = store.timed_syncs(endpoint_id, RUNS_USERS, now, limit)
            synced = _dedup(u for u in [*asked, *timed] if u.user_id not in winding_down)
            found += synced[:wanted]
    order = {b.id: n for n, b in enumerate(batches)}  # the pass's order (created_at, id)
    found.sort(key=lambda u: (order.get(u.batch_id, len(order)), u.batch_id, u.row, u.user_id))
    return found


def _first(
    batches: Sequence[Batch],
    status: UserStatus,
    wanted: int,
    winding_down: Collection[int],
    ctx: ServiceContext,
    now: dt.datetime,
) -> list[UserRef]:
    """Up to ``wanted`` due users in ``status``, batch by batch (in the batches' order)."""
    found: list[UserRef] = []
    for batch in batches:
        if len(found) >= wanted:
            break
        limit = wanted - len(found) + len(winding_down)
        users = ctx.store.due_in_batch(batch.id, status, now, limit)
        found += [u for u in users if u.user_id not in winding_down][: wanted - len(found)]
    return found


def _dedup(users: Iterable[UserRef]) -> list[UserRef]:
    seen: set[int] = set()
    unique = []
    for user in users:
        if user.user_id not in seen:
            seen.add(user.user_id)
            unique.append(user)
    return unique


def _request(user: UserRef) -> ClaimRequest:
    if user.status == U.QUEUED:
        return ClaimRequest(user.user_id, U.QUEUED, U.VALIDATING, False, {"error": None})
    if user.status == U.COMPLETING:
        return ClaimRequest(user.user_id, U.COMPLETING, U.COMPLETING, True, {})
    return ClaimRequest(user.user_id, U.SYNCED, U.INCREMENTAL_SYNCING, True, {})


def _claim(
    ctx: ServiceContext,
    endpoint: Endpoint,
    due: Sequence[UserRef],
    owner: str,
    now: dt.datetime,
) -> list[Claimed]:
    if not due:
        return []
    requests = [_request(user) for user in due]
    batch_of = {user.user_id: user.batch_id for user in due}
    caps = Caps(
        initial=endpoint.max_concurrent_migrations,
        incremental=endpoint.max_concurrent_incremental_syncs,
        total=endpoint.max_concurrent_migrations,
    )
    until = now + ctx.settings.lease
    beyond = claim_budget(ctx, endpoint.id, owner)  # extra session pairs
    taken = ctx.store.claim(endpoint.id, requests, caps, owner, now, until, beyond=beyond)
    return [Claimed(user_id, batch_of[user_id]) for user_id in taken]
