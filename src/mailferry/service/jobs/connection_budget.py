"""MaxConcurrentMigrations bounds the source connections of an endpoint (issue 10).

The claims count jobs, as Exchange's cap counts mailboxes; each job's first session pair
is the one its claim stands for. A job may copy folders in parallel over up to
``connections_per_mailbox`` pairs, and the extra ones take from the same budget:

- a job takes its extra pairs when it starts, as many as the budget leaves, and holds
  them until it ends (``take_extra_pairs``; released by ``JobSessions.close``);
- a claim counts them too (``claim_budget``, evaluated inside the claim's transaction),
  and the pairs of a finished job until they are closed.

This process knows its own pairs exactly (``PAIRS``). A job another worker claimed
counts as ``connections_per_mailbox`` (the most it may open): the budget then holds
across processes sharing the database, since each worker is exact only about itself.
So an endpoint with more users to run than its cap runs that many mailboxes over one
connection each; a small batch or a lone last user gets its extra pairs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping

from sqlalchemy import Connection

from mailferry.service.context import ServiceContext
from mailferry.state.listing_queries import live_claims_by_owner
from mailferry.state.migration_records import Endpoint


class PairLedger:
    """The session pairs this process's jobs hold, per (claim owner, endpoint) and user:
    what the database can't see (a live claim stands for one pair)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, int], dict[int, int]] = {}

    def held(self, owner: str, endpoint_id: int) -> dict[int, int]:
        with self._lock:
            return dict(self._held.get((owner, endpoint_id), {}))

    def hold(self, owner: str, endpoint_id: int, user_id: int, pairs: int) -> None:
        with self._lock:
            self._held.setdefault((owner, endpoint_id), {})[user_id] = pairs

    def release(self, owner: str, endpoint_id: int, user_id: int) -> None:
        with self._lock:
            held = self._held.get((owner, endpoint_id), {})
            held.pop(user_id, None)
            if not held:
                self._held.pop((owner, endpoint_id), None)


PAIRS = PairLedger()


def connections_in_use(
    held: Mapping[int, int], mine: Collection[int], others: int, per_job: int
) -> int:
    """The endpoint's source connections as one process counts them: its claimed jobs
    that hold no session yet (their claim: one each), the pairs its jobs hold (``held``),
    and ``per_job`` for each live claim of another owner."""
    return len(set(mine) - set(held)) + sum(held.values()) + per_job * others


def claim_budget(ctx: ServiceContext, endpoint_id: int, owner: str) -> Callable[[Connection], int]:
    """``ServiceStore.claim(beyond=...)``: the connections in use beyond one per live
    claim, counted in the claim's transaction (other workers' claims are then current)."""
    per_job = _per_job(ctx)

    def beyond(connection: Connection) -> int:
        mine, others = live_claims_by_owner(connection, endpoint_id, owner, ctx.now())
        used = connections_in_use(PAIRS.held(owner, endpoint_id), mine, others, per_job)
        return used - len(mine) - others

    return beyond


def take_extra_pairs(ctx: ServiceContext, endpoint: Endpoint, owner: str, user_id: int) -> int:
    """A job of ``owner`` has opened its first pair: hold it, and as many extra pairs as
    the budget leaves (at most ``connections_per_mailbox`` - 1); how many extra.

    Synchronous, so no other job or claim of this process runs in between."""
    per_job = _per_job(ctx)
    mine, others = ctx.store.live_claims_by_owner(endpoint.id, owner, ctx.now())
    held = {**PAIRS.held(owner, endpoint.id), user_id: 1}
    used = connections_in_use(held, mine, others, per_job)
    extra = max(0, min(per_job - 1, endpoint.max_concurrent_migrations - used))
    PAIRS.hold(owner, endpoint.id, user_id, 1 + extra)
    return extra


def _per_job(ctx: ServiceContext) -> int:
    return max(1, ctx.settings.connections_per_mailbox)
